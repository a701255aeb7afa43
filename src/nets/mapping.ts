/** StyleGAN's mapping network f: z (+ class embedding) → w (StyleGAN §2, G_mapping). */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { Network } from '../nn/module.js';
import { Dense } from '../nn/layers.js';
import { pixelNorm, lrelu } from '../nn/ops.js';
import type { StyleGANConfig } from './config.js';
import { requireLabels } from './labels.js';

/** G_mapping: z (+ label embedding) → pixel norm → `mappingLayers` dense layers with lrmul → w. */
export class MappingNetwork extends Network {
  readonly layers: Dense[] = [];
  constructor(readonly cfg: StyleGANConfig, seed = 0, device = 'cpu') {
    super(seed, device);
    let features = cfg.latentSize;
    if (cfg.labelSize > 0) {
      this.vars.add('LabelConcat/weight', this.vars.randn([cfg.labelSize, cfg.latentSize]), { trainable: true });
      features += cfg.latentSize;
    }
    for (let i = 0; i < cfg.mappingLayers; i++) {
      const out = i === cfg.mappingLayers - 1 ? cfg.dlatentSize : cfg.mappingFmaps;
      this.layers.push(new Dense(this.vars, `Dense${i}`, { inFeatures: features, outFeatures: out, lrmul: cfg.mappingLrmul, bias: true }));
      features = out;
    }
  }

  /** z [N, latentSize] (+ one-hot labels [N, labelSize]) → w [N, dlatentSize]. */
  forward(z: Tensor, labels?: Tensor | null): Tensor {
    return E.tidy(() => {
      let x = z;
      if (this.cfg.labelSize > 0) {
        const y = requireLabels('G_mapping', this.cfg.labelSize, labels);
        x = E.cat([z, y.matmul(this.vars.get('LabelConcat/weight'))], 1);
      }
      x = pixelNorm(x);
      for (const layer of this.layers) x = lrelu(layer.forward(x));
      return x;
    });
  }
}
