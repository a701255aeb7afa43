/** Progressive training of ProGAN and StyleGAN. */
export * from './schedule.js';
export * from './losses.js';
export * from './ema.js';
export * from './presets.js';
export * from './trainer.js';
export * from './augment.js';
export * from './run-options.js';
export * from './run-dir.js';
export * from './progress.js';
export * from './transfer.js';
export * from './distributed.js';
