// 16-lane AVX-512 loads and stores of float32 activations and of bfloat16 ones computed in float32, for the fused
// kernels' vector paths. A bfloat16 store rounds to nearest even as c10::BFloat16 does (NaN → 0x7FC0), so a kernel
// that computes in float32 and stores here writes the same bits as one that writes a float32 copy and converts it.
// Callers compile these inline into functions with target("avx512f") and check hasAvx512() before calling them.
#pragma once

#include <c10/util/BFloat16.h>
#include <immintrin.h>

#include <cstdint>

#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // inside avx512fintrin.h

namespace sgt {

inline bool hasAvx512() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
}

__attribute__((target("avx512f"), always_inline)) inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }

__attribute__((target("avx512f"), always_inline)) inline __m512 load16(const c10::BFloat16* p) {
  __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}

__attribute__((target("avx512f"), always_inline)) inline void store16(float* p, __m512 v) { _mm512_storeu_ps(p, v); }

__attribute__((target("avx512f"), always_inline)) inline void store16(c10::BFloat16* p, __m512 v) {
  __m512i bits = _mm512_castps_si512(v);
  __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF))), 16);
  __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  rounded = _mm512_mask_mov_epi32(rounded, nan, _mm512_set1_epi32(0x7FC0));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi32_epi16(rounded));
}

// Leaky ReLU as the scalar kernels write it (v < 0 ? v · slope : v): NaN and −0 pass through.
__attribute__((target("avx512f"), always_inline)) inline __m512 lrelu16(__m512 v, __m512 slope) {
  return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ), v, slope);
}

}  // namespace sgt
