/** Quality measures: FID, KID, precision/recall, PPL and IS on NVIDIA's detectors; FID on Fashion-MNIST classifier features. */
export * from './frechet.js';
export * from './fid-fmnist.js';
export * from './fmnist-classifier.js';
export * from './detector.js';
export * from './feature-stats.js';
export * from './dataset-stats.js';
export * from './generator-stats.js';
export * from './kid.js';
export * from './precision-recall.js';
export * from './inception-score.js';
export * from './ppl.js';
export * from './calc.js';
export * from './sharded-stats.js';
