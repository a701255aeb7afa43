/** Projection of images into a StyleGAN's latent space (W or W+). */
export * from './projector.js';
export * from './target.js';
