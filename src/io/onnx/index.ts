/** ONNX export of the generators (graphs built from the config and official variables) and network.json. */
export * from './export.js';
export { OnnxGraph, OPSET } from './graph.js';
export { mappingGraph, synthesisGraph, layerResolution, layerScope } from './stylegan.js';
export { proganGeneratorGraph } from './progan.js';
