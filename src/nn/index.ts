/** The papers' primitives: equalized-learning-rate layers and parameter-free ops, on official variable names. */
export * from './module.js';
export * from './layers.js';
export * from './ops.js';
export * from './autocast.js';
export * from './scripted.js';
