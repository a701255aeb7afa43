// Foreach ops: libtorch's _foreach_* functions over lists of tensors (one call for a whole parameter list). A
// mechanical mirror: the optimizers that combine them live in TypeScript (src/engine/optim.ts).
#include "common.h"

namespace sgt {

// foreachMul_(self[], scalar): self[i] *= scalar.
SGT_FN(foreachMul_) {
  at::_foreach_mul_(toTensors(info[0]), toScalar(info[1]));
  return env.Undefined();
}
// foreachDiv_(self[], scalar): self[i] /= scalar.
SGT_FN(foreachDiv_) {
  at::_foreach_div_(toTensors(info[0]), toScalar(info[1]));
  return env.Undefined();
}
// foreachAdd_(self[], other[] | scalar, alpha?): self[i] += alpha · other[i], or self[i] += scalar.
SGT_FN(foreachAdd_) {
  if (info[1].IsArray()) {
    at::Scalar alpha = info[2].IsUndefined() || info[2].IsNull() ? at::Scalar(1) : toScalar(info[2]);
    at::_foreach_add_(toTensors(info[0]), toTensors(info[1]), alpha);
  } else {
    at::_foreach_add_(toTensors(info[0]), toScalar(info[1]));
  }
  return env.Undefined();
}
// foreachAddcmul_(self[], a[], b[], value): self[i] += value · a[i] · b[i].
SGT_FN(foreachAddcmul_) {
  at::_foreach_addcmul_(toTensors(info[0]), toTensors(info[1]), toTensors(info[2]), toScalar(info[3]));
  return env.Undefined();
}
// foreachAddcdiv_(self[], a[], b[], value): self[i] += value · a[i] / b[i].
SGT_FN(foreachAddcdiv_) {
  at::_foreach_addcdiv_(toTensors(info[0]), toTensors(info[1]), toTensors(info[2]), toScalar(info[3]));
  return env.Undefined();
}
// foreachSqrt(self[]): [sqrt(self[i])].
SGT_FN(foreachSqrt) { return fromTensors(env, at::_foreach_sqrt(toTensors(info[0]))); }

void registerForeach(Napi::Env env, Exports exports) {
  SGT_EXPORT(foreachMul_); SGT_EXPORT(foreachDiv_); SGT_EXPORT(foreachAdd_); SGT_EXPORT(foreachAddcmul_);
  SGT_EXPORT(foreachAddcdiv_); SGT_EXPORT(foreachSqrt);
}

}  // namespace sgt
