/**
 * stylegan-ts, the library. Each layer of the architecture is one namespace, from the bottom up:
 *   engine  → tensors on libtorch (scopes, autograd, Adam, generators, threads, devices)
 *   nn      → the papers' primitives (equalized-lr layers, pixel/instance norm, blur, mbstd, style modulation)
 *   nets    → ProGAN and StyleGAN generators and discriminators under official variable names
 *   io      → checkpoints (safetensors), .npy, images, the safe pickle reader, the official-network importers and
 *             the ONNX export (io.onnx.exportOnnx)
 *   data    → datasets (stylegan2-ada layout) and the batch loader
 *   train   → the progressive training loop, schedule, losses, presets
 *   gen     → generation and the papers' figures, videos, time-lapses
 *   metrics → FID, KID, precision/recall, PPL, IS on NVIDIA's detector files; FID on Fashion-MNIST classifier features
 *   project → projection of images into W / W+ (project.project)
 *
 *   import { engine, nets } from 'stylegan-ts';
 *   const G = new nets.StyleGANGenerator(nets.styleganConfig({ resolution: 256 }));
 *   const img = engine.tidy(() => G.forward(engine.randn([1, 512]), { truncationPsi: 0.7 }));
 */
export * as engine from './engine/index.js';
export * as nn from './nn/index.js';
export * as nets from './nets/index.js';
export * as io from './io/index.js';
export * as data from './data/index.js';
export * as train from './train/index.js';
export * as gen from './gen/index.js';
export * as metrics from './metrics/index.js';
export * as project from './project/index.js';
