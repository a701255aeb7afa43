// Tensor operations: a mechanical mirror of the libtorch functions the networks and training need. Argument order and
// semantics follow libtorch; defaults are filled in by the TypeScript layer.
#include "common.h"

namespace sgt {

namespace {
bool given(const Napi::Value& v) { return !v.IsUndefined() && !v.IsNull(); }
c10::optional<at::Scalar> optScalar(const Napi::Value& v) {
  if (!given(v)) return c10::nullopt;
  return toScalar(v);
}
c10::optional<at::ScalarType> optDtype(const Napi::Value& v) {
  if (!given(v)) return c10::nullopt;
  return toDtype(v);
}
// Reduction dims: undefined/null means "all dims".
std::vector<int64_t> dimsOrAll(const Napi::Value& v, const at::Tensor& t) {
  if (given(v)) return toInts(v, "dims");
  std::vector<int64_t> all(t.dim());
  for (int64_t i = 0; i < t.dim(); i++) all[i] = i;
  return all;
}
}  // namespace

// ---- binary elementwise (tensor ⊕ tensor or tensor ⊕ number) ----
#define BINARY(name, fn)                                            \
  SGT_FN(name) {                                                    \
    if (isTensor(info[1])) return WRAP(at::fn(T(0), T(1)));         \
    return WRAP(at::fn(T(0), toScalar(info[1])));                   \
  }
SGT_FN(add) {
  at::Scalar alpha = given(info[2]) ? toScalar(info[2]) : at::Scalar(1);
  if (isTensor(info[1])) return WRAP(at::add(T(0), T(1), alpha));
  return WRAP(at::add(T(0), toScalar(info[1]), alpha));
}
SGT_FN(sub) {
  at::Scalar alpha = given(info[2]) ? toScalar(info[2]) : at::Scalar(1);
  if (isTensor(info[1])) return WRAP(at::sub(T(0), T(1), alpha));
  return WRAP(at::sub(T(0), toScalar(info[1]), alpha));
}
BINARY(mul, mul)
BINARY(div, div)
BINARY(pow, pow)
BINARY(remainder, remainder)
BINARY(eq, eq)
BINARY(ne, ne)
BINARY(lt, lt)
BINARY(le, le)
BINARY(gt, gt)
BINARY(ge, ge)
SGT_FN(rsub) { return WRAP(at::rsub(T(0), toScalar(info[1]))); }
SGT_FN(maximum) { return WRAP(at::maximum(T(0), T(1))); }
SGT_FN(minimum) { return WRAP(at::minimum(T(0), T(1))); }
SGT_FN(logicalAnd) { return WRAP(at::logical_and(T(0), T(1))); }
SGT_FN(logicalOr) { return WRAP(at::logical_or(T(0), T(1))); }
SGT_FN(atan2) { return WRAP(at::atan2(T(0), T(1))); }

// ---- unary elementwise ----
#define UNARY(name, fn) \
  SGT_FN(name) { return WRAP(at::fn(T(0))); }
UNARY(neg, neg)
UNARY(sqrt, sqrt)
UNARY(rsqrt, rsqrt)
UNARY(exp, exp)
UNARY(log, log)
UNARY(log1p, log1p)
UNARY(square, square)
UNARY(abs, abs)
UNARY(sign, sign)
UNARY(sin, sin)
UNARY(cos, cos)
UNARY(acos, acos)
UNARY(tanh, tanh)
UNARY(sigmoid, sigmoid)
UNARY(relu, relu)
UNARY(floor, floor)
UNARY(ceil, ceil)
UNARY(round, round)
UNARY(reciprocal, reciprocal)
UNARY(erf, erf)
UNARY(isnan, isnan)
UNARY(isfinite, isfinite)
UNARY(logicalNot, logical_not)
SGT_FN(leakyRelu) { return WRAP(at::leaky_relu(T(0), toScalar(info[1]))); }
SGT_FN(softplus) { return WRAP(at::softplus(T(0), toScalar(info[1]), toScalar(info[2]))); }
SGT_FN(clamp) { return WRAP(at::clamp(T(0), optScalar(info[1]), optScalar(info[2]))); }
SGT_FN(where) {
  if (isTensor(info[1]) && isTensor(info[2])) return WRAP(at::where(T(0), T(1), T(2)));
  if (isTensor(info[1])) return WRAP(at::where(T(0), T(1), toScalar(info[2])));
  if (isTensor(info[2])) return WRAP(at::where(T(0), toScalar(info[1]), T(2)));
  return WRAP(at::where(T(0), toScalar(info[1]), toScalar(info[2])));
}
SGT_FN(lerp) {
  if (isTensor(info[2])) return WRAP(at::lerp(T(0), T(1), T(2)));
  return WRAP(at::lerp(T(0), T(1), toScalar(info[2])));
}
SGT_FN(addcmul) { return WRAP(at::addcmul(T(0), T(1), T(2), toScalar(info[3]))); }
SGT_FN(cast) { return WRAP(T(0).to(toDtype(info[1]))); }
SGT_FN(to) { return WRAP(T(0).to(toDevice(info[1]), given(info[2]) && BOOL(2))); }

// ---- reductions ----
SGT_FN(sum) {
  at::Tensor& t = T(0);
  return WRAP(at::sum(t, dimsOrAll(info[1], t), given(info[2]) && BOOL(2), optDtype(info[3])));
}
SGT_FN(mean) {
  at::Tensor& t = T(0);
  return WRAP(at::mean(t, dimsOrAll(info[1], t), given(info[2]) && BOOL(2), optDtype(info[3])));
}
SGT_FN(var) {
  at::Tensor& t = T(0);
  return WRAP(at::var(t, at::OptionalIntArrayRef(dimsOrAll(info[1], t)), given(info[2]) && BOOL(2) ? 1 : 0, given(info[3]) && BOOL(3)));
}
SGT_FN(stdDev) {
  at::Tensor& t = T(0);
  return WRAP(at::std(t, at::OptionalIntArrayRef(dimsOrAll(info[1], t)), given(info[2]) && BOOL(2) ? 1 : 0, given(info[3]) && BOOL(3)));
}
SGT_FN(amax) {
  at::Tensor& t = T(0);
  return WRAP(at::amax(t, dimsOrAll(info[1], t), given(info[2]) && BOOL(2)));
}
SGT_FN(amin) {
  at::Tensor& t = T(0);
  return WRAP(at::amin(t, dimsOrAll(info[1], t), given(info[2]) && BOOL(2)));
}
SGT_FN(argmax) { return WRAP(at::argmax(T(0), INT(1), given(info[2]) && BOOL(2))); }
SGT_FN(logsumexp) { return WRAP(at::logsumexp(T(0), toInts(info[1], "dims"), given(info[2]) && BOOL(2))); }
SGT_FN(norm) {
  at::Tensor& t = T(0);
  return WRAP(at::norm(t, toScalar(info[1]), dimsOrAll(info[2], t), given(info[3]) && BOOL(3)));
}
SGT_FN(allclose) { return Napi::Boolean::New(env, at::allclose(T(0), T(1), NUM(2), NUM(3))); }
SGT_FN(equal) { return Napi::Boolean::New(env, at::equal(T(0), T(1))); }

// ---- views and shape ----
SGT_FN(reshape) { return WRAP(T(0).reshape(toInts(info[1]))); }
SGT_FN(view) { return WRAP(T(0).view(toInts(info[1]))); }
SGT_FN(permute) { return WRAP(T(0).permute(toInts(info[1], "dims"))); }
SGT_FN(transpose) { return WRAP(T(0).transpose(INT(1), INT(2))); }
SGT_FN(narrow) { return WRAP(T(0).narrow(INT(1), INT(2), INT(3))); }
SGT_FN(slice) { return WRAP(T(0).slice(INT(1), INT(2), INT(3), INT(4))); }
SGT_FN(select) { return WRAP(T(0).select(INT(1), INT(2))); }
SGT_FN(indexSelect) { return WRAP(at::index_select(T(0), INT(1), T(2))); }
SGT_FN(gather) { return WRAP(at::gather(T(0), INT(1), T(2))); }
SGT_FN(maskedFill) { return WRAP(at::masked_fill(T(0), T(1), toScalar(info[2]))); }
SGT_FN(cat) { return WRAP(at::cat(toTensors(info[0]), INT(1))); }
SGT_FN(stack) { return WRAP(at::stack(toTensors(info[0]), INT(1))); }
SGT_FN(split) { return fromTensors(env, at::split(T(0), INT(1), INT(2))); }
SGT_FN(unbind) { return fromTensors(env, at::unbind(T(0), INT(1))); }
SGT_FN(expand) { return WRAP(T(0).expand(toInts(info[1]))); }
SGT_FN(repeat) { return WRAP(T(0).repeat(toInts(info[1]))); }
SGT_FN(flip) { return WRAP(at::flip(T(0), toInts(info[1], "dims"))); }
SGT_FN(roll) { return WRAP(at::roll(T(0), toInts(info[1], "shifts"), toInts(info[2], "dims"))); }
SGT_FN(squeeze) { return WRAP(given(info[1]) ? T(0).squeeze(INT(1)) : T(0).squeeze()); }
SGT_FN(unsqueeze) { return WRAP(T(0).unsqueeze(INT(1))); }
SGT_FN(flatten) { return WRAP(T(0).flatten(INT(1), INT(2))); }
SGT_FN(contiguous) { return WRAP(T(0).contiguous()); }
SGT_FN(clone) { return WRAP(T(0).clone()); }
SGT_FN(detach) { return WRAP(T(0).detach()); }
SGT_FN(constantPad) { return WRAP(at::constant_pad_nd(T(0), toInts(info[1], "pad"), toScalar(info[2]))); }
SGT_FN(reflectionPad2d) { return WRAP(at::reflection_pad2d(T(0), toInts(info[1], "pad"))); }
SGT_FN(replicationPad2d) { return WRAP(at::replication_pad2d(T(0), toInts(info[1], "pad"))); }

// ---- linear algebra and convolution ----
SGT_FN(matmul) { return WRAP(at::matmul(T(0), T(1))); }
SGT_FN(linear) { return WRAP(at::linear(T(0), T(1), optTensor(info[2]))); }
SGT_FN(conv2d) {
  return WRAP(at::conv2d(T(0), T(1), optTensor(info[2]), toInts(info[3], "stride"), toInts(info[4], "padding"),
                         toInts(info[5], "dilation"), INT(6)));
}
SGT_FN(convTranspose2d) {
  return WRAP(at::conv_transpose2d(T(0), T(1), optTensor(info[2]), toInts(info[3], "stride"), toInts(info[4], "padding"),
                                   toInts(info[5], "output_padding"), INT(6), toInts(info[7], "dilation")));
}
SGT_FN(avgPool2d) {
  return WRAP(at::avg_pool2d(T(0), toInts(info[1], "kernel"), toInts(info[2], "stride"), toInts(info[3], "padding"),
                             BOOL(4), BOOL(5)));
}
SGT_FN(maxPool2d) {
  return WRAP(at::max_pool2d(T(0), toInts(info[1], "kernel"), toInts(info[2], "stride"), toInts(info[3], "padding")));
}
SGT_FN(adaptiveAvgPool2d) { return WRAP(at::adaptive_avg_pool2d(T(0), toInts(info[1], "output_size"))); }
SGT_FN(upsampleNearest2d) { return WRAP(at::upsample_nearest2d(T(0), toInts(info[1], "output_size"))); }
SGT_FN(upsampleBilinear2d) { return WRAP(at::upsample_bilinear2d(T(0), toInts(info[1], "output_size"), BOOL(2))); }
SGT_FN(softmax) { return WRAP(at::softmax(T(0), INT(1))); }
SGT_FN(logSoftmax) { return WRAP(at::log_softmax(T(0), INT(1))); }
SGT_FN(nllLoss) { return WRAP(at::nll_loss(T(0), T(1))); }
SGT_FN(linalgEigh) {
  auto [values, vectors] = at::linalg_eigh(T(0));
  return fromTensors(env, {values, vectors});
}

// ---- in place ----
SGT_FN(add_) {
  at::Scalar alpha = given(info[2]) ? toScalar(info[2]) : at::Scalar(1);
  if (isTensor(info[1])) T(0).add_(T(1), alpha);
  else T(0).add_(toScalar(info[1]), alpha);
  return info[0];
}
SGT_FN(mul_) {
  if (isTensor(info[1])) T(0).mul_(T(1));
  else T(0).mul_(toScalar(info[1]));
  return info[0];
}
SGT_FN(copy_) {
  T(0).copy_(T(1));
  return info[0];
}
SGT_FN(zero_) {
  T(0).zero_();
  return info[0];
}
SGT_FN(fill_) {
  T(0).fill_(toScalar(info[1]));
  return info[0];
}
SGT_FN(lerp_) {
  if (isTensor(info[2])) T(0).lerp_(T(1), T(2));
  else T(0).lerp_(T(1), toScalar(info[2]));
  return info[0];
}
SGT_FN(clamp_) {
  T(0).clamp_(optScalar(info[1]), optScalar(info[2]));
  return info[0];
}

void registerOps(Napi::Env env, Exports exports) {
  SGT_EXPORT(add); SGT_EXPORT(sub); SGT_EXPORT(mul); SGT_EXPORT(div); SGT_EXPORT(pow); SGT_EXPORT(remainder);
  SGT_EXPORT(eq); SGT_EXPORT(ne); SGT_EXPORT(lt); SGT_EXPORT(le); SGT_EXPORT(gt); SGT_EXPORT(ge); SGT_EXPORT(rsub);
  SGT_EXPORT(maximum); SGT_EXPORT(minimum); SGT_EXPORT(logicalAnd); SGT_EXPORT(logicalOr); SGT_EXPORT(atan2);
  SGT_EXPORT(neg); SGT_EXPORT(sqrt); SGT_EXPORT(rsqrt); SGT_EXPORT(exp); SGT_EXPORT(log); SGT_EXPORT(log1p);
  SGT_EXPORT(square); SGT_EXPORT(abs); SGT_EXPORT(sign); SGT_EXPORT(sin); SGT_EXPORT(cos); SGT_EXPORT(acos);
  SGT_EXPORT(tanh); SGT_EXPORT(sigmoid); SGT_EXPORT(relu); SGT_EXPORT(floor); SGT_EXPORT(ceil); SGT_EXPORT(round);
  SGT_EXPORT(reciprocal); SGT_EXPORT(erf); SGT_EXPORT(isnan); SGT_EXPORT(isfinite); SGT_EXPORT(logicalNot);
  SGT_EXPORT(leakyRelu); SGT_EXPORT(softplus); SGT_EXPORT(clamp); SGT_EXPORT(where); SGT_EXPORT(lerp);
  SGT_EXPORT(addcmul); SGT_EXPORT(cast); SGT_EXPORT(to);
  SGT_EXPORT(sum); SGT_EXPORT(mean); SGT_EXPORT(var); SGT_EXPORT(stdDev); SGT_EXPORT(amax); SGT_EXPORT(amin);
  SGT_EXPORT(argmax); SGT_EXPORT(logsumexp); SGT_EXPORT(norm); SGT_EXPORT(allclose); SGT_EXPORT(equal);
  SGT_EXPORT(reshape); SGT_EXPORT(view); SGT_EXPORT(permute); SGT_EXPORT(transpose); SGT_EXPORT(narrow);
  SGT_EXPORT(slice); SGT_EXPORT(select); SGT_EXPORT(indexSelect); SGT_EXPORT(gather); SGT_EXPORT(maskedFill);
  SGT_EXPORT(cat); SGT_EXPORT(stack); SGT_EXPORT(split); SGT_EXPORT(unbind); SGT_EXPORT(expand); SGT_EXPORT(repeat);
  SGT_EXPORT(flip); SGT_EXPORT(roll); SGT_EXPORT(squeeze); SGT_EXPORT(unsqueeze); SGT_EXPORT(flatten);
  SGT_EXPORT(contiguous); SGT_EXPORT(clone); SGT_EXPORT(detach); SGT_EXPORT(constantPad);
  SGT_EXPORT(reflectionPad2d); SGT_EXPORT(replicationPad2d);
  SGT_EXPORT(matmul); SGT_EXPORT(linear); SGT_EXPORT(conv2d); SGT_EXPORT(convTranspose2d); SGT_EXPORT(avgPool2d);
  SGT_EXPORT(maxPool2d); SGT_EXPORT(adaptiveAvgPool2d); SGT_EXPORT(upsampleNearest2d); SGT_EXPORT(upsampleBilinear2d);
  SGT_EXPORT(softmax); SGT_EXPORT(logSoftmax); SGT_EXPORT(nllLoss); SGT_EXPORT(linalgEigh);
  SGT_EXPORT(add_); SGT_EXPORT(mul_); SGT_EXPORT(copy_); SGT_EXPORT(zero_); SGT_EXPORT(fill_); SGT_EXPORT(lerp_);
  SGT_EXPORT(clamp_);
}

}  // namespace sgt
