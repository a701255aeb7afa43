/** File formats: checkpoints, safetensors, .npy, images, and NVIDIA's official pickles (read safely, imported). */
export * from './checkpoint.js';
export * from './safetensors.js';
export * from './npy.js';
export * from './images.js';
export { writeFileAtomic } from './atomic.js';
export { readPickle, readPickleFile } from './pickle.js';
export * from './import-official.js';
export * from './open-network.js';
export * from './network-info.js';
export * as onnx from './onnx/index.js';
