/** Quality measures: Fréchet distance on Fashion-MNIST classifier features. */
export * from './frechet.js';
export * from './fid-fmnist.js';
export * from './fmnist-classifier.js';
