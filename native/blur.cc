// The blur of StyleGAN's resampling layers with the gradient the official code gives it: a depthwise convolution
// with a kernel symmetric under a 180° turn and zero padding is its own adjoint, so its gradient is the same blur of
// the incoming gradient, and so on to any order. libtorch's convolution would instead differentiate its own backward
// (R1's double backward through D), which for a depthwise convolution runs a slow generic path.
#include "common.h"

#include <torch/csrc/autograd/custom_function.h>

namespace sgt {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class SymmetricBlurFn : public torch::autograd::Function<SymmetricBlurFn> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& k) {
    ctx->saved_data["k"] = k;
    int64_t pad = k.size(2) / 2;
    return at::conv2d(x, k, {}, 1, pad, 1, x.size(1));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    at::Tensor k = ctx->saved_data["k"].toTensor();
    return {SymmetricBlurFn::apply(grads[0], k), at::Tensor()};
  }
};

}  // namespace

// symmetricBlur(x [N, C, H, W], k [C, 1, kh, kw]) → the depthwise convolution of x with k, "SAME" zero padding (odd
// kh = kw), differentiable w.r.t. x to any order by the same convolution; k must be symmetric under a 180° turn and
// gets no gradient.
SGT_FN(symmetricBlur) {
  const at::Tensor& x = T(0);
  const at::Tensor& k = T(1);
  auto fail = [&](const std::string& problem) { return Napi::Error::New(env, "symmetricBlur: " + problem); };
  if (x.dim() != 4) throw fail("x must be [N, C, H, W]");
  if (k.dim() != 4 || k.size(0) != x.size(1) || k.size(1) != 1 || k.size(2) != k.size(3) || k.size(2) % 2 != 1)
    throw fail("k must be [C, 1, k, k] with odd k");
  if (!at::equal(k, k.flip({2, 3}))) throw fail("k must be symmetric under a 180° turn (its gradient is the same blur)");
  return WRAP(SymmetricBlurFn::apply(x, k.detach()));
}

void registerBlur(Napi::Env env, Exports exports) { SGT_EXPORT(symmetricBlur); }

}  // namespace sgt
