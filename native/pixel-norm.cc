// The ProGAN layer epilogue without autograd, in place: y = lrelu(x + bias[c], slope), then optionally pixel norm
// y · rsqrt(mean_c(y²) + eps) per pixel. One pass per pixel row on channels-last NHWC tensors (a row of C values stays
// in cache), two on contiguous NCHW (per block of pixels: bias + lrelu + Σy² over the channels, then the scaling).
// float32 or bfloat16 (computed in float32).
#include "common.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#pragma GCC optimize("O3")

namespace sgt {
namespace {

struct PixelEpilogue {
  const float* bias = nullptr;  // [C] or null
  bool norm = false;
  float slope = 0.2f, eps = 1e-8f;
  int64_t n = 0, c = 0, hw = 0;
};

__attribute__((target_clones("avx512f", "avx2", "default")))
void rowNHWC(float* x, const PixelEpilogue& e) {
  float sq = 0.f;
  for (int64_t ch = 0; ch < e.c; ch++) {
    float v = x[ch] + (e.bias ? e.bias[ch] : 0.f);
    v = v < 0 ? v * e.slope : v;
    x[ch] = v;
    sq += v * v;
  }
  if (!e.norm) return;
  const float s = 1.f / std::sqrt(sq / static_cast<float>(e.c) + e.eps);
  for (int64_t ch = 0; ch < e.c; ch++) x[ch] *= s;
}

void runNHWC(float* data, const PixelEpilogue& e) {
  at::parallel_for(0, e.n * e.hw, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) rowNHWC(data + r * e.c, e);
  });
}

// Pixels [p0, p0 + len) of one sample: bias + lrelu per channel plane with Σy² per pixel, then the scaling.
__attribute__((target_clones("avx512f", "avx2", "default")))
void blockNCHW(float* x, const PixelEpilogue& e, int64_t len, float* acc) {
  std::fill(acc, acc + len, 0.f);
  for (int64_t ch = 0; ch < e.c; ch++) {
    float* p = x + ch * e.hw;
    const float b = e.bias ? e.bias[ch] : 0.f;
    for (int64_t i = 0; i < len; i++) {
      float v = p[i] + b;
      v = v < 0 ? v * e.slope : v;
      p[i] = v;
      acc[i] += v * v;
    }
  }
  if (!e.norm) return;
  const float inv = 1.f / static_cast<float>(e.c);
  for (int64_t i = 0; i < len; i++) acc[i] = 1.f / std::sqrt(acc[i] * inv + e.eps);
  for (int64_t ch = 0; ch < e.c; ch++) {
    float* p = x + ch * e.hw;
    for (int64_t i = 0; i < len; i++) p[i] *= acc[i];
  }
}

void runNCHW(float* data, const PixelEpilogue& e) {
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (e.hw + kBlock - 1) / kBlock;
  at::parallel_for(0, e.n * blocks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> acc(kBlock);
    for (int64_t t = begin; t < end; t++) {
      const int64_t n = t / blocks, p0 = (t % blocks) * kBlock;
      blockNCHW(data + n * e.c * e.hw + p0, e, std::min(kBlock, e.hw - p0), acc.data());
    }
  });
}

}  // namespace

// biasLreluPixelNorm_(x [N, C, H, W], bias [C] | null, pixelNorm, slope, eps) → x, modified in place. No autograd.
SGT_FN(biasLreluPixelNorm_) {
  at::Tensor x = T(0);
  bool nhwc = checkInPlaceActivation(env, x, "biasLreluPixelNorm_");
  PixelEpilogue e;
  e.n = x.size(0); e.c = x.size(1); e.hw = x.size(2) * x.size(3);
  at::Tensor bias;
  if (auto b = optTensor(info[1])) {
    if (b->numel() != e.c) throw Napi::Error::New(env, "biasLreluPixelNorm_: bias must have C elements");
    bias = b->to(at::kFloat).contiguous();
    e.bias = bias.data_ptr<float>();
  }
  e.norm = BOOL(2);
  e.slope = static_cast<float>(NUM(3));
  e.eps = static_cast<float>(NUM(4));
  inPlaceAsFloat32(x, [&](float* data) { nhwc ? runNHWC(data, e) : runNCHW(data, e); });
  return info[0];
}

void registerPixelNorm(Napi::Env env, Exports exports) { SGT_EXPORT(biasLreluPixelNorm_); }

}  // namespace sgt
