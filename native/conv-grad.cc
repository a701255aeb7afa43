// A 2-D convolution whose gradients are convolution primitives at every order. y = conv(x, w) is linear in x and in
// w, and so are its two gradients:
//   dataGrad(gy, w)   = ∂⟨gy, conv(x, w)⟩/∂x   (the backward-data kernel)
//   weightGrad(gy, x) = ∂⟨gy, conv(x, w)⟩/∂w   (the backward-weights kernel)
// and the gradients of those are again the three of them:
//   dataGrad:   ∂/∂gy ⟨g, dataGrad(gy, w)⟩   = conv(g, w),         ∂/∂w = weightGrad(gy, g)
//   weightGrad: ∂/∂gy ⟨g, weightGrad(gy, x)⟩ = conv(x, g),         ∂/∂x = dataGrad(gy, g)
// libtorch differentiates its own convolution backward (R1's double backward through D) by a convolution with batch
// and channels swapped (batch = Cin, a kernel as large as the image), which oneDNN runs 2–3× slower than its
// backward-weights kernel for the same product; here every product goes to the kernel made for it.
#include "common.h"

#include <torch/csrc/autograd/custom_function.h>

namespace sgt {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Geometry {
  std::vector<int64_t> stride, padding;
};

void save(AutogradContext* ctx, const Geometry& g) {
  ctx->saved_data["stride"] = g.stride;
  ctx->saved_data["padding"] = g.padding;
}
Geometry restore(AutogradContext* ctx) {
  return {ctx->saved_data["stride"].toIntVector(), ctx->saved_data["padding"].toIntVector()};
}
std::vector<int64_t> sizesOf(const at::Tensor& t) { return t.sizes().vec(); }

at::Tensor forwardConv(const at::Tensor& x, const at::Tensor& w, const Geometry& g) {
  return at::convolution(x, w, {}, g.stride, g.padding, {1, 1}, false, {0, 0}, 1);
}
// The backward kernels read only the shape of the operand they differentiate for: an unwritten tensor stands in.
at::Tensor dataGradConv(const at::Tensor& gy, const at::Tensor& w, at::IntArrayRef xSizes, const Geometry& g) {
  at::Tensor shape = at::empty(xSizes, gy.options().memory_format(gy.suggest_memory_format()));
  return std::get<0>(at::convolution_backward(gy, shape, w, c10::nullopt, g.stride, g.padding, {1, 1}, false, {0, 0}, 1, {true, false, false}));
}
at::Tensor weightGradConv(const at::Tensor& gy, const at::Tensor& x, at::IntArrayRef wSizes, const Geometry& g) {
  at::Tensor shape = at::empty(wSizes, gy.options());
  return std::get<1>(at::convolution_backward(gy, x, shape, c10::nullopt, g.stride, g.padding, {1, 1}, false, {0, 0}, 1, {false, true, false}));
}

class ConvFn : public torch::autograd::Function<ConvFn> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, const Geometry& g) {
    save(ctx, g);
    ctx->save_for_backward({x, w});
    return forwardConv(x, w, g);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads);
};

// Data: gx = dataGrad(gy, w) for an input of `sizes`; otherwise gw = weightGrad(gy, x) for a weight of `sizes`.
template <bool Data>
class GradFn : public torch::autograd::Function<GradFn<Data>> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gy, const at::Tensor& operand, std::vector<int64_t> sizes, const Geometry& g) {
    save(ctx, g);
    ctx->save_for_backward({gy, operand});
    return Data ? dataGradConv(gy, operand, sizes, g) : weightGradConv(gy, operand, sizes, g);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads);
};
using DataGradFn = GradFn<true>;
using WeightGradFn = GradFn<false>;

variable_list ConvFn::backward(AutogradContext* ctx, variable_list grads) {
  auto saved = ctx->get_saved_variables();
  const at::Tensor &x = saved[0], &w = saved[1], &gy = grads[0];
  Geometry g = restore(ctx);
  at::Tensor gx, gw;
  if (gy.defined() && ctx->needs_input_grad(0)) gx = DataGradFn::apply(gy, w, sizesOf(x), g);
  if (gy.defined() && ctx->needs_input_grad(1)) gw = WeightGradFn::apply(gy, x, sizesOf(w), g);
  return {gx, gw, at::Tensor()};
}

// dataGrad(gy, w):   ∂/∂gy = conv(gg, w),  ∂/∂w = weightGrad(gy, gg).
// weightGrad(gy, x): ∂/∂gy = conv(x, gg),  ∂/∂x = dataGrad(gy, gg).
template <bool Data>
variable_list GradFn<Data>::backward(AutogradContext* ctx, variable_list grads) {
  auto saved = ctx->get_saved_variables();
  const at::Tensor &gy = saved[0], &operand = saved[1], &gg = grads[0];
  Geometry g = restore(ctx);
  at::Tensor dgy, dOperand;
  if (gg.defined() && ctx->needs_input_grad(0)) dgy = Data ? ConvFn::apply(gg, operand, g) : ConvFn::apply(operand, gg, g);
  if (gg.defined() && ctx->needs_input_grad(1))
    dOperand = Data ? WeightGradFn::apply(gy, gg, sizesOf(operand), g) : DataGradFn::apply(gy, gg, sizesOf(operand), g);
  return {dgy, dOperand, at::Tensor(), at::Tensor()};
}

}  // namespace

// conv2dGradConv(x [N, Cin, H, W], w [Cout, Cin, kh, kw], stride [2], padding [2]) → conv2d(x, w) without bias,
// groups or dilation, differentiable to any order through the backward-data and backward-weights kernels.
SGT_FN(conv2dGradConv) {
  const at::Tensor& x = T(0);
  const at::Tensor& w = T(1);
  auto fail = [&](const std::string& problem) { return Napi::Error::New(env, "conv2dGradConv: " + problem); };
  if (x.dim() != 4 || w.dim() != 4) throw fail("x and w must be 4-D ([N, Cin, H, W] and [Cout, Cin, kh, kw])");
  if (w.size(1) != x.size(1)) throw fail("w has " + std::to_string(w.size(1)) + " input channels, x has " + std::to_string(x.size(1)));
  Geometry g{toInts(info[2], "stride"), toInts(info[3], "padding")};
  if (g.stride.size() != 2 || g.padding.size() != 2) throw fail("stride and padding must have 2 entries");
  return WRAP(ConvFn::apply(x, w, g));
}

void registerConvGrad(Napi::Env env, Exports exports) { SGT_EXPORT(conv2dGradConv); }

}  // namespace sgt
