/**
 * libtorch random generators. `manualSeed` seeds the global generator; a `Generator` is an independent stream with
 * its own seed and a state that can be saved and restored (training resume restores it exactly).
 */
import { native, type GeneratorHandle } from './native.js';
import { Tensor, wrap } from './tensor.js';

export class Generator {
  readonly handle: GeneratorHandle;
  readonly device: string;
  constructor(seed: number, device = 'cpu') {
    this.handle = native.generator(seed, device);
    this.device = device;
  }
  /** Re-seeds this stream. */
  seed(seed: number): this {
    native.generatorSeed(this.handle, seed);
    return this;
  }
  /** The full generator state as a uint8 tensor. */
  getState(): Tensor {
    return wrap(native.generatorGetState(this.handle));
  }
  setState(state: Tensor): this {
    native.generatorSetState(this.handle, state.handle);
    return this;
  }
}

/** Seeds libtorch's global generator (CPU and, where present, CUDA). */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}
