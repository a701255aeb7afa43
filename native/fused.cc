// The StyleGAN synthesis-layer epilogue without autograd, fused into two passes over the activation, in place:
//   y = lrelu(x + noise · strength[c] + bias[c], slope)           (pass 1, also accumulates Σy and Σy² per n, c)
//   y = (y − mean) · rsqrt(var + eps) · (ys[n, c] + 1) + yb[n, c]  (pass 2, a subtract and a multiply-add per element)
// Instance norm and the style are optional (without both, pass 2 is skipped). Works on contiguous NCHW and
// channels-last NHWC tensors of float32 or bfloat16 (computed in float32, statistics accumulated in double).
#include "common.h"
#include "vec512.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#pragma GCC optimize("O3")

namespace sgt {
namespace {

struct Epilogue {
  const float* noise = nullptr;     // [N or 1, H·W]
  bool noiseBatched = false;
  const float* strength = nullptr;  // [C]
  const float* bias = nullptr;      // [C]
  const float* style = nullptr;     // [N, 2C]
  bool norm = false;
  float slope = 0.2f, eps = 1e-8f;
  int64_t n = 0, c = 0, hw = 0;
};

inline float load(const float* p) { return *p; }
inline void store(float* p, float v) { *p = v; }

// Per-(n, c) centre, scale and shift of pass 2 from the sums of pass 1: y = (v − m)·a + b.
// sum = Σv, sq = Σ(v − k)² for the shift k. The centre is subtracted before scaling (not folded into b): a plane of
// (nearly) zero variance has a ≈ 1/√eps, and folding would leave the rounding error of a·m in the output.
inline void affine(const Epilogue& e, int64_t n, int64_t ch, double sum, double sq, double k, float* center, float* scale,
                   float* shift) {
  float m = 0.f, a = 1.f, b = 0.f;
  if (e.norm) {
    double mean = sum / e.hw;
    double var = std::max(sq / e.hw - (mean - k) * (mean - k), 0.0);
    m = static_cast<float>(mean);
    a = static_cast<float>(1.0 / std::sqrt(var + e.eps));
  }
  if (e.style) {
    float ys = e.style[n * 2 * e.c + ch] + 1.f, yb = e.style[n * 2 * e.c + e.c + ch];
    a *= ys;
    b = yb;
  }
  *center = m;
  *scale = a;
  *shift = b;
}

template <typename S>
__attribute__((target_clones("avx512f", "avx2", "default")))
void planeNCHW(S* x, const float* noise, float s, float bias, float slope, int64_t hw, double* sum, double* sq, float* shift) {
  // Sums of (v − k) and (v − k)² around k = the plane's first output: no cancellation when the mean dwarfs the spread.
  float k0 = load(x) + bias + (noise ? noise[0] * s : 0.f);
  const float k = k0 < 0 ? k0 * slope : k0;
  double total = 0, total2 = 0;
  constexpr int64_t kBlock = 4096;
  for (int64_t b0 = 0; b0 < hw; b0 += kBlock) {
    int64_t b1 = std::min(hw, b0 + kBlock);
    float acc = 0, acc2 = 0;
    for (int64_t i = b0; i < b1; i++) {
      float v = load(x + i) + bias + (noise ? noise[i] * s : 0.f);
      v = v < 0 ? v * slope : v;
      store(x + i, v);
      acc += v - k;
      acc2 += (v - k) * (v - k);
    }
    total += acc;
    total2 += acc2;
  }
  *sum = total + static_cast<double>(k) * hw;  // Σv
  *sq = total2;                                  // Σ(v − k)², with *shift = k
  *shift = k;
}

template <typename S>
__attribute__((target_clones("avx512f", "avx2", "default")))
void scalePlane(S* x, float m, float a, float b, int64_t hw) {
  for (int64_t i = 0; i < hw; i++) store(x + i, (load(x + i) - m) * a + b);
}

template <typename S>
void runNCHW(S* data, const Epilogue& e) {
  bool second = e.norm || e.style;
  at::parallel_for(0, e.n * e.c, 1, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; p++) {
      int64_t n = p / e.c, ch = p % e.c;
      S* x = data + p * e.hw;
      const float* noise = e.noise ? e.noise + (e.noiseBatched ? n * e.hw : 0) : nullptr;
      double sum, sq;
      float k;
      planeNCHW(x, noise, e.strength ? e.strength[ch] : 0.f, e.bias ? e.bias[ch] : 0.f, e.slope, e.hw, &sum, &sq, &k);
      if (!second) continue;
      float m, a, b;
      affine(e, n, ch, sum, sq, k, &m, &a, &b);
      scalePlane(x, m, a, b, e.hw);
    }
  });
}

template <typename S>
__attribute__((target_clones("avx512f", "avx2", "default")))
void rowsNHWC(S* x, const float* noise, const float* s, const float* bias, float slope, int64_t rows, int64_t c,
              const float* k, float* sum, float* sq) {
  for (int64_t r = 0; r < rows; r++) {
    S* row = x + r * c;
    float z = noise ? noise[r] : 0.f;
    for (int64_t ch = 0; ch < c; ch++) {
      float v = load(row + ch) + (bias ? bias[ch] : 0.f) + (s ? z * s[ch] : 0.f);
      v = v < 0 ? v * slope : v;
      store(row + ch, v);
      sum[ch] += v - k[ch];
      sq[ch] += (v - k[ch]) * (v - k[ch]);
    }
  }
}

template <typename S>
__attribute__((target_clones("avx512f", "avx2", "default")))
void scaleRows(S* x, const float* m, const float* a, const float* b, int64_t rows, int64_t c) {
  for (int64_t r = 0; r < rows; r++) {
    S* row = x + r * c;
    for (int64_t ch = 0; ch < c; ch++) store(row + ch, (load(row + ch) - m[ch]) * a[ch] + b[ch]);
  }
}

constexpr int64_t kRows = 256;  // channels-last: float partial sums per chunk of rows, then double across chunks

// Per channel, sample n's first output lrelu(x + bias + noise·s): the shift of the sums (see planeNCHW).
template <typename S>
std::vector<float> firstOutputs(const S* base, const float* noise, const Epilogue& e) {
  std::vector<float> shift(e.c);
  for (int64_t ch = 0; ch < e.c; ch++) {
    float v = static_cast<float>(base[ch]) + (e.bias ? e.bias[ch] : 0.f) + (noise && e.strength ? noise[0] * e.strength[ch] : 0.f);
    shift[ch] = v < 0 ? v * e.slope : v;
  }
  return shift;
}

// Pass 2's per-channel centre, scale and shift of sample n from the chunks' partial sums ([chunk][Σ | Σ²][C]).
void chunkAffine(const Epilogue& e, int64_t n, const std::vector<float>& partial, const std::vector<float>& shift,
                 std::vector<float>& m, std::vector<float>& a, std::vector<float>& b) {
  int64_t chunks = static_cast<int64_t>(partial.size()) / (2 * e.c);
  m.resize(e.c); a.resize(e.c); b.resize(e.c);
  for (int64_t ch = 0; ch < e.c; ch++) {
    double sum = 0, sq = 0;
    for (int64_t k = 0; k < chunks; k++) {
      sum += partial[k * e.c * 2 + ch];
      sq += partial[k * e.c * 2 + e.c + ch];
    }
    affine(e, n, ch, sum + static_cast<double>(shift[ch]) * e.hw, sq, shift[ch], &m[ch], &a[ch], &b[ch]);
  }
}

template <typename S>
void runNHWC(S* data, const Epilogue& e) {
  int64_t chunks = (e.hw + kRows - 1) / kRows;
  std::vector<double> sums(e.n * e.c * 2, 0.0);
  for (int64_t n = 0; n < e.n; n++) {
    S* base = data + n * e.hw * e.c;
    const float* noise = e.noise ? e.noise + (e.noiseBatched ? n * e.hw : 0) : nullptr;
    std::vector<float> partial(chunks * e.c * 2, 0.f);
    std::vector<float> shift = firstOutputs(base, noise, e);
    at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; k++) {
        int64_t r0 = k * kRows, rows = std::min(kRows, e.hw - r0);
        rowsNHWC(base + r0 * e.c, noise ? noise + r0 : nullptr, e.strength, e.bias, e.slope, rows, e.c, shift.data(),
                 &partial[k * e.c * 2], &partial[k * e.c * 2 + e.c]);
      }
    });
    if (!(e.norm || e.style)) continue;
    std::vector<float> m, a, b;
    chunkAffine(e, n, partial, shift, m, a, b);
    at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; k++) {
        int64_t r0 = k * kRows;
        scaleRows(base + r0 * e.c, m.data(), a.data(), b.data(), std::min(kRows, e.hw - r0), e.c);
      }
    });
  }
}

// The channels-last path in AVX-512 when C is a multiple of 16, straight on float32 or bfloat16 storage. Pass 1 only
// reads (the sums); pass 2 recomputes lrelu(x + noise·s + bias) from x and writes the result once, so a bfloat16
// activation is read twice and written once instead of converted to a float32 copy and back. Per element and per
// channel the operations and their order are those of rowsNHWC / scaleRows, so the results are the same bits.
struct Row512 {
  const float* noise;
  const float* s;
  const float* bias;
  float slope;
  int64_t c;
};

// lrelu(x + bias + z·s) for the 16 channels at g of one row; absent bias / strength add +0 as the scalar code does.
__attribute__((target("avx512f"), always_inline)) inline __m512 rowValue(__m512 x, const Row512& o, float z, int64_t g) {
  __m512 b = o.bias ? _mm512_loadu_ps(o.bias + g) : _mm512_setzero_ps();
  __m512 s = o.s ? _mm512_loadu_ps(o.s + g) : _mm512_setzero_ps();
  __m512 v = _mm512_add_ps(_mm512_add_ps(x, b), _mm512_mul_ps(_mm512_set1_ps(z), s));
  return lrelu16(v, _mm512_set1_ps(o.slope));
}

template <typename S>
__attribute__((target("avx512f"))) void statsRows512(const S* x, const Row512& o, int64_t rows, const float* k, float* sum, float* sq) {
  for (int64_t g = 0; g < o.c; g += 16) {
    const __m512 kk = _mm512_loadu_ps(k + g);
    __m512 acc = _mm512_setzero_ps(), acc2 = _mm512_setzero_ps();
    for (int64_t r = 0; r < rows; r++) {
      __m512 d = _mm512_sub_ps(rowValue(load16(x + r * o.c + g), o, o.noise ? o.noise[r] : 0.f, g), kk);
      acc = _mm512_add_ps(acc, d);
      acc2 = _mm512_add_ps(acc2, _mm512_mul_ps(d, d));
    }
    _mm512_storeu_ps(sum + g, acc);
    _mm512_storeu_ps(sq + g, acc2);
  }
}

// Pass 2: (v − m)·a + b per element, or v itself when m, a, b are null (no norm, no style).
template <typename S>
__attribute__((target("avx512f"))) void writeRows512(S* x, const Row512& o, int64_t rows, const float* m, const float* a, const float* b) {
  for (int64_t r = 0; r < rows; r++) {
    float z = o.noise ? o.noise[r] : 0.f;
    for (int64_t g = 0; g < o.c; g += 16) {
      __m512 v = rowValue(load16(x + r * o.c + g), o, z, g);
      if (m) v = _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(v, _mm512_loadu_ps(m + g)), _mm512_loadu_ps(a + g)), _mm512_loadu_ps(b + g));
      store16(x + r * o.c + g, v);
    }
  }
}

template <typename S>
void runNHWC512(S* data, const Epilogue& e) {
  int64_t chunks = (e.hw + kRows - 1) / kRows;
  bool second = e.norm || e.style;
  for (int64_t n = 0; n < e.n; n++) {
    S* base = data + n * e.hw * e.c;
    Row512 o{e.noise ? e.noise + (e.noiseBatched ? n * e.hw : 0) : nullptr, e.strength, e.bias, e.slope, e.c};
    std::vector<float> m, a, b;
    if (second) {
      std::vector<float> partial(chunks * e.c * 2, 0.f), shift = firstOutputs(base, o.noise, e);
      at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
        for (int64_t k = begin; k < end; k++) {
          int64_t r0 = k * kRows;
          Row512 ok = o;
          if (ok.noise) ok.noise += r0;
          statsRows512(base + r0 * e.c, ok, std::min(kRows, e.hw - r0), shift.data(), &partial[k * e.c * 2], &partial[k * e.c * 2 + e.c]);
        }
      });
      chunkAffine(e, n, partial, shift, m, a, b);
    }
    at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; k++) {
        int64_t r0 = k * kRows;
        Row512 ok = o;
        if (ok.noise) ok.noise += r0;
        writeRows512(base + r0 * e.c, ok, std::min(kRows, e.hw - r0), second ? m.data() : nullptr, a.data(), b.data());
      }
    });
  }
}

at::Tensor floatVector(const c10::optional<at::Tensor>& t, int64_t numel, const char* what) {
  at::Tensor v = vectorArg(t, numel, std::string("fusedEpilogue_: ") + what);
  return v.defined() ? v.to(at::kFloat).contiguous() : v;
}

}  // namespace

// fusedEpilogue_(x [N, C, H, W], noise [N|1, 1, H, W] | null, strength [C] | null, bias [C] | null,
//                style [N, 2C] | null, instanceNorm, slope, eps) → x, modified in place. No autograd.
SGT_FN(fusedEpilogue_) {
  at::Tensor x = T(0);
  bool nhwc = checkInPlaceActivation(env, x, "fusedEpilogue_");
  Epilogue e;
  e.n = x.size(0); e.c = x.size(1); e.hw = x.size(2) * x.size(3);
  auto noiseOpt = optTensor(info[1]);
  at::Tensor noise, strength, bias, style;
  if (noiseOpt) {
    if (noiseOpt->dim() != 4 || noiseOpt->size(1) != 1 || noiseOpt->size(2) != x.size(2) || noiseOpt->size(3) != x.size(3) ||
        (noiseOpt->size(0) != 1 && noiseOpt->size(0) != e.n)) throw Napi::Error::New(env, "fusedEpilogue_: noise must be [N|1, 1, H, W]");
    noise = noiseOpt->to(at::kFloat).contiguous();
    e.noise = noise.data_ptr<float>();
    e.noiseBatched = noise.size(0) == e.n && e.n > 1;
    strength = floatVector(optTensor(info[2]), e.c, "strength");
    if (!strength.defined()) throw Napi::Error::New(env, "fusedEpilogue_: noise needs a strength");
    e.strength = strength.data_ptr<float>();
  }
  bias = floatVector(optTensor(info[3]), e.c, "bias");
  if (bias.defined()) e.bias = bias.data_ptr<float>();
  style = floatVector(optTensor(info[4]), e.n * 2 * e.c, "style");
  if (style.defined()) e.style = style.data_ptr<float>();
  e.norm = BOOL(5);
  e.slope = static_cast<float>(NUM(6));
  e.eps = static_cast<float>(NUM(7));
  if (nhwc && e.c % 16 == 0 && hasAvx512()) {
    at::NoGradGuard guard;
    if (x.scalar_type() == at::kFloat) runNHWC512(x.data_ptr<float>(), e);
    else runNHWC512(x.data_ptr<c10::BFloat16>(), e);
  } else {
    inPlaceAsFloat32(x, [&](float* data) { nhwc ? runNHWC(data, e) : runNCHW(data, e); });
  }
  return info[0];
}

void registerFused(Napi::Env env, Exports exports) { SGT_EXPORT(fusedEpilogue_); }

}  // namespace sgt
