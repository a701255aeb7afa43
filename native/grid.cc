// Spatial sampling: a mechanical mirror of libtorch's affine_grid_generator and grid_sampler_2d (differentiable).
#include "common.h"

namespace sgt {

// affineGrid(theta [N,2,3], size [N,C,H,W], alignCorners) → grid [N,H,W,2]
SGT_FN(affineGrid) { return WRAP(at::affine_grid_generator(T(0), toInts(info[1], "size"), BOOL(2))); }

// gridSampler2d(input, grid, interpolation (0 bilinear, 1 nearest, 2 bicubic), padding (0 zeros, 1 border,
// 2 reflection), alignCorners)
SGT_FN(gridSampler2d) { return WRAP(at::grid_sampler_2d(T(0), T(1), INT(2), INT(3), BOOL(4))); }

void registerGrid(Napi::Env env, Exports exports) {
  SGT_EXPORT(affineGrid);
  SGT_EXPORT(gridSampler2d);
}

}  // namespace sgt
