/** Progressive training of ProGAN and StyleGAN. */
export * from './schedule.js';
export * from './losses.js';
export * from './ema.js';
export * from './presets.js';
export * from './trainer.js';
export * from './distributed.js';
