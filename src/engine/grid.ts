/** Spatial sampling as torch.nn.functional.affine_grid and grid_sample (differentiable in the input and grid). */
import { native } from './native.js';
import { Tensor, wrap } from './tensor.js';

/** Sampling grid [N, H, W, 2] of the affine maps `theta` [N, 2, 3] for an output of `size` [N, C, H, W]. */
export const affineGrid = (theta: Tensor, size: readonly number[], alignCorners = false): Tensor =>
  wrap(native.affineGrid(theta.handle, [...size], alignCorners));

const modes = { bilinear: 0, nearest: 1, bicubic: 2 } as const;
const paddings = { zeros: 0, border: 1, reflection: 2 } as const;

export interface GridSampleOptions {
  mode?: keyof typeof modes;
  padding?: keyof typeof paddings;
  alignCorners?: boolean;
}

/** Samples `x` [N, C, H, W] at the normalised coordinates of `grid` [N, Ho, Wo, 2] (PyTorch's defaults). */
export const gridSample = (x: Tensor, grid: Tensor, o: GridSampleOptions = {}): Tensor =>
  wrap(native.gridSampler2d(x.handle, grid.handle, modes[o.mode ?? 'bilinear'], paddings[o.padding ?? 'zeros'], o.alignCorners ?? false));
