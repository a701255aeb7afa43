// Autograd (backward, grad with create_graph for double backward, grad mode).
#include "common.h"

#include <torch/csrc/autograd/autograd.h>

#include <cmath>

namespace sgt {

SGT_FN(requiresGrad_) {
  T(0).requires_grad_(BOOL(1));
  return info[0];
}
SGT_FN(getGrad) { return WRAP(T(0).grad()); }
SGT_FN(setGrad) {
  at::Tensor& t = T(0);
  if (info[1].IsNull() || info[1].IsUndefined()) t.mutable_grad() = at::Tensor();
  else t.mutable_grad() = T(1);
  return env.Undefined();
}
SGT_FN(retainGrad) {
  T(0).retain_grad();
  return env.Undefined();
}
// backward(tensor, gradient?, retainGraph, createGraph)
SGT_FN(backward) {
  at::Tensor& t = T(0);
  at::Tensor g = info[1].IsNull() || info[1].IsUndefined() ? at::Tensor() : T(1);
  bool create = BOOL(3);
  c10::optional<bool> retain = BOOL(2) || create ? c10::optional<bool>(true) : c10::nullopt;
  t.backward(g, retain, create);
  return env.Undefined();
}
// grad(outputs[], inputs[], gradOutputs[]|null, retainGraph, createGraph, allowUnused) → (tensor|null)[]
SGT_FN(grad) {
  auto outputs = toTensors(info[0]);
  auto inputs = toTensors(info[1]);
  std::vector<at::Tensor> gradOutputs;
  if (!info[2].IsNull() && !info[2].IsUndefined()) gradOutputs = toTensors(info[2]);
  bool create = BOOL(4);
  c10::optional<bool> retain = BOOL(3) || create ? c10::optional<bool>(true) : c10::nullopt;
  auto grads = torch::autograd::grad(outputs, inputs, gradOutputs, retain, create, BOOL(5));
  return fromTensors(env, grads);
}
SGT_FN(setGradEnabled) {
  bool previous = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(BOOL(0));
  return Napi::Boolean::New(env, previous);
}
SGT_FN(isGradEnabled) { return Napi::Boolean::New(env, c10::GradMode::is_enabled()); }

void registerAutograd(Napi::Env env, Exports exports) {
  SGT_EXPORT(requiresGrad_); SGT_EXPORT(getGrad); SGT_EXPORT(setGrad); SGT_EXPORT(retainGrad); SGT_EXPORT(backward);
  SGT_EXPORT(grad); SGT_EXPORT(setGradEnabled); SGT_EXPORT(isGradEnabled);
}

}  // namespace sgt
