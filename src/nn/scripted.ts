/**
 * A TorchScript network used as a fixed function (a metric detector such as NVIDIA's Inception or VGG16, the LPIPS
 * distance of projection): loaded through engine.jit with its parameters frozen, called with one set of keyword
 * arguments; gray images are repeated to RGB first. Gradients still flow to the input.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as E from '../engine/index.js';
import type { Tensor, JitKwargs, JitModule } from '../engine/index.js';

/** SHA-256 of a file's bytes (streamed). */
export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** A TorchScript network with the keyword arguments of one use (e.g. `{ return_features: true }`). */
export class ScriptedNetwork {
  #sha: Promise<string> | undefined;
  private constructor(readonly module: JitModule, readonly path: string, readonly kwargs: JitKwargs) {}

  /** Loads a TorchScript file; its parameters are frozen (gradients still flow to its input, as projection needs). */
  static load(path: string, kwargs: JitKwargs, device = 'cpu'): ScriptedNetwork {
    const module = E.jit.load(path, { device });
    E.tidy(() => {
      for (const p of module.parameters()) p.requiresGrad_(false);
    });
    return new ScriptedNetwork(module, path, kwargs);
  }

  /** A view of the same module called with other keyword arguments (shares the module: dispose only one). */
  with(kwargs: JitKwargs): ScriptedNetwork {
    return new ScriptedNetwork(this.module, this.path, kwargs);
  }

  get device(): string {
    return this.module.device;
  }

  /** Content hash of the file (cache keys). */
  sha256(): Promise<string> {
    return (this.#sha ??= fileSha256(this.path));
  }

  /**
   * Features of a batch of images [N, C, H, W] (uint8 0…255 as the metrics pass them, or float): gray images are
   * repeated to 3 channels first. Returns what the module returns for `kwargs`, on the detector's device.
   */
  run(images: Tensor): Tensor {
    return E.tidy(() => {
      let x = images.to(this.device);
      if (x.shape[1] === 1) x = x.repeat(1, 3, 1, 1);
      return this.module.callTensor(x, this.kwargs);
    });
  }

  dispose(): void {
    this.module.dispose();
  }
}
