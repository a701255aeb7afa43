// Images as bytes in one pass: float32 [N, C, H, W] (NCHW or channels-last storage) → uint8 [N, H, W, C],
//   floor((x − offset) · scale + 0.5) clamped to [0, 255],
// each step rounded to float32 as libtorch's sub, mul, add, floor and clamp are (NaN → 0), without their five
// image-sized intermediates (60 MB at 1024², batch 1) and passes.
#include "common.h"

#include <ATen/Parallel.h>

#include <cstdint>

#include "vec512.h"

#pragma GCC optimize("O3")

namespace sgt {
namespace {

// After the clamp the value is in [0, 255], where truncation is floor.
inline uint8_t toByte(float v, float offset, float scale) {
  float t = (v - offset) * scale;
  t = t + 0.5f;
  t = t > 0.f ? t : 0.f;  // NaN → 0
  t = t < 255.f ? t : 255.f;
  return static_cast<uint8_t>(static_cast<int32_t>(t));
}

void bytesScalar(const float* __restrict src, uint8_t* __restrict dst, int64_t n, float offset, float scale) {
  for (int64_t i = 0; i < n; i++) dst[i] = toByte(src[i], offset, scale);
}

__attribute__((target("avx512f"))) void bytes512(const float* __restrict src, uint8_t* __restrict dst, int64_t n, float offset, float scale) {
  const __m512 off = _mm512_set1_ps(offset), s = _mm512_set1_ps(scale), half = _mm512_set1_ps(0.5f);
  const __m512 zero = _mm512_setzero_ps(), top = _mm512_set1_ps(255.f);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 t = _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(load16(src + i), off), s), half);
    t = _mm512_min_ps(_mm512_max_ps(t, zero), top);  // max(NaN, 0) = 0: the second operand when unordered
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm512_cvtusepi32_epi8(_mm512_cvttps_epi32(t)));
  }
  bytesScalar(src + i, dst + i, n - i, offset, scale);
}

}  // namespace

// toUint8Images(x [N, C, H, W] float32 on the CPU, offset, scale) → uint8 [N, H, W, C] contiguous.
SGT_FN(toUint8Images) {
  const at::Tensor& x = T(0);
  const float offset = static_cast<float>(NUM(1)), scale = static_cast<float>(NUM(2));
  auto fail = [&](const std::string& problem) { return Napi::Error::New(env, "toUint8Images: " + problem); };
  if (x.dim() != 4) throw fail("expected images [N, C, H, W]");
  if (x.scalar_type() != at::kFloat || !x.device().is_cpu()) throw fail("expected float32 on the CPU");
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  // Channels-last storage is the output's own order: one flat pass. Anything else is first made so (one copy).
  at::Tensor src = x.is_contiguous(at::MemoryFormat::ChannelsLast) ? x : x.contiguous(at::MemoryFormat::ChannelsLast);
  at::Tensor out = at::empty({n, h, w, c}, x.options().dtype(at::kByte));
  const float* s = src.data_ptr<float>();
  uint8_t* d = out.data_ptr<uint8_t>();
  const bool wide = hasAvx512();
  at::parallel_for(0, out.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
    if (wide) bytes512(s + begin, d + begin, end - begin, offset, scale);
    else bytesScalar(s + begin, d + begin, end - begin, offset, scale);
  });
  return WRAP(out);
}

void registerToUint8(Napi::Env env, Exports exports) { SGT_EXPORT(toUint8Images); }

}  // namespace sgt
