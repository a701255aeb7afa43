/** ProGAN and StyleGAN networks, built from a config. */
export * from './config.js';
export * from './labels.js';
export * from './mapping.js';
export * from './synthesis-layer.js';
export * from './synthesis.js';
export * from './stylegan.js';
export * from './discriminator.js';
export * from './progan.js';
export * from './networks.js';
export { resolveLod } from './progressive.js';
