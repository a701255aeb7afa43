// Adam's update in one pass per parameter (the optimizer itself, its moments and step count live in
// src/engine/optim.ts). Per element, in the order of the separate libtorch ops it replaces (mul_, add_ with alpha,
// mul_, addcmul_, sqrt, div_ by a scalar (a reciprocal multiply), add_, addcdiv_), each rounded to float32:
//   m = m·β1 + (1 − β1)·g;  v = v·β2 + ((1 − β2)·g)·g;  d = √v · (1 / √(1 − β2^t)) + ε;  p = p + (−step)·(m / d)
// equal to them to float rounding (their vector kernels fuse some multiply-adds); one read of p, g, m, v and one
// write of p, m, v instead of eight passes over the parameters.
#include "common.h"
#include "vec512.h"

#include <ATen/Parallel.h>

#include <cmath>

#pragma GCC optimize("O3")

namespace sgt {
namespace {

struct AdamScalars {
  float b1, c1, b2, c2, invBc2, eps, negStep;
};

// One element of the update (the tail of a vector loop, and CPUs without AVX-512).
inline void adamOne(float* p, const float* g, float* m, float* v, const AdamScalars& k, int64_t i) {
  float mi = m[i] * k.b1;
  mi = mi + k.c1 * g[i];
  float vi = v[i] * k.b2;
  vi = vi + k.c2 * g[i] * g[i];
  float d = std::sqrt(vi) * k.invBc2;
  d = d + k.eps;
  p[i] = p[i] + k.negStep * (mi / d);
  m[i] = mi;
  v[i] = vi;
}

// The same in 16-lane AVX-512, op for op (separate multiplies and adds: no fused multiply-add, as libtorch's kernels).
__attribute__((target("avx512f"))) void adamRangeAvx512(float* p, const float* g, float* m, float* v, const AdamScalars& k, int64_t i0, int64_t i1) {
  const __m512 b1 = _mm512_set1_ps(k.b1), c1 = _mm512_set1_ps(k.c1), b2 = _mm512_set1_ps(k.b2), c2 = _mm512_set1_ps(k.c2);
  const __m512 inv = _mm512_set1_ps(k.invBc2), eps = _mm512_set1_ps(k.eps), neg = _mm512_set1_ps(k.negStep);
  int64_t i = i0;
  for (; i + 16 <= i1; i += 16) {
    __m512 gi = _mm512_loadu_ps(g + i);
    __m512 mi = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(m + i), b1), _mm512_mul_ps(c1, gi));
    __m512 vi = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(v + i), b2), _mm512_mul_ps(_mm512_mul_ps(c2, gi), gi));
    __m512 d = _mm512_add_ps(_mm512_mul_ps(_mm512_sqrt_ps(vi), inv), eps);
    _mm512_storeu_ps(p + i, _mm512_add_ps(_mm512_loadu_ps(p + i), _mm512_mul_ps(neg, _mm512_div_ps(mi, d))));
    _mm512_storeu_ps(m + i, mi);
    _mm512_storeu_ps(v + i, vi);
  }
  for (; i < i1; i++) adamOne(p, g, m, v, k, i);
}

void adamRange(float* p, const float* g, float* m, float* v, const AdamScalars& k, int64_t i0, int64_t i1) {
  if (hasAvx512()) return adamRangeAvx512(p, g, m, v, k, i0, i1);
  for (int64_t i = i0; i < i1; i++) adamOne(p, g, m, v, k, i);
}

bool sameLayout(const at::Tensor& a, const at::Tensor& b) {
  return a.sizes() == b.sizes() && a.strides() == b.strides() && a.scalar_type() == b.scalar_type() && a.device() == b.device();
}

}  // namespace

// adamStep_(params[], grads[], m[], v[], beta1, beta2, stepSize, bc2Sqrt, eps): the update above on float32 CPU
// tensors in place; p, m and v dense with the same strides (a gradient in another layout is copied into p's first).
SGT_FN(adamStep_) {
  auto ps = toTensors(info[0]), gs = toTensors(info[1]), ms = toTensors(info[2]), vs = toTensors(info[3]);
  if (gs.size() != ps.size() || ms.size() != ps.size() || vs.size() != ps.size())
    throw Napi::Error::New(env, "adamStep_: params, grads and moments must be lists of the same length");
  const double beta1 = NUM(4), beta2 = NUM(5);
  AdamScalars k{static_cast<float>(beta1), static_cast<float>(1 - beta1), static_cast<float>(beta2), static_cast<float>(1 - beta2),
                1.0f / static_cast<float>(NUM(7)), static_cast<float>(NUM(8)), static_cast<float>(-NUM(6))};
  at::NoGradGuard noGrad;
  for (size_t i = 0; i < ps.size(); i++) {
    at::Tensor &p = ps[i], &m = ms[i], &v = vs[i];
    if (!p.device().is_cpu() || p.scalar_type() != at::kFloat || !p.is_non_overlapping_and_dense() || !sameLayout(p, m) || !sameLayout(p, v))
      throw Napi::Error::New(env, "adamStep_: parameter " + std::to_string(i) + ": float32 CPU, dense, moments in its layout");
    at::Tensor g = gs[i];
    if (!sameLayout(p, g)) g = at::empty_like(p).copy_(g);
    float *pd = p.data_ptr<float>(), *md = m.data_ptr<float>(), *vd = v.data_ptr<float>();
    const float* gd = g.data_ptr<float>();
    at::parallel_for(0, p.numel(), 1 << 15, [&](int64_t i0, int64_t i1) { adamRange(pd, gd, md, vd, k, i0, i1); });
  }
  return env.Undefined();
}

void registerAdam(Napi::Env env, Exports exports) { SGT_EXPORT(adamStep_); }

}  // namespace sgt
