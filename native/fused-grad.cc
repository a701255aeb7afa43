// The StyleGAN synthesis-layer epilogue with autograd (training): a torch::autograd::Function whose forward and
// backward are each two passes over the activation.
//   u = x + noise · strength[c] + bias[c],  v = lrelu(u, slope)
//   h = (v − mean) · rstd   (instance norm over H, W; h = v without it)
//   y = h · (ys[n, c] + 1) + yb[n, c]   (style = [ys | yb]; y = h without it)
// Forward saves v and the per-(n, c) mean and rstd. Backward, per (n, c) plane with A = ys + 1:
//   gyb = Σ gy,  gys = Σ gy·h,  gv = A·rstd·(gy − Σgy/HW − h·Σ(gy·h)/HW)  (gv = A·gy without the norm)
//   gx = gu = gv · (v > 0 ? 1 : slope),  gbias[c] = Σ_n,hw gu,  gstrength[c] = Σ_n,hw gu · noise
// First-order only (the generator's path; R1's double backward runs through D): a backward with create_graph
// throws. Computes in float64 for float64 inputs and in float32 otherwise (bfloat16 through float32 copies);
// statistics accumulate in double. Any memory layout (the kernels run on NCHW copies where needed); CPU only.
#include "common.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <vector>

#pragma GCC optimize("O3")

namespace sgt {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Shape {
  int64_t n = 0, c = 0, hw = 0;
  bool noiseBatched = false;
  bool norm = false;
  double slope = 0.2, eps = 1e-8;
};

template <typename V>
struct Inputs {
  const V* noise = nullptr;     // [N or 1, HW]
  const V* strength = nullptr;  // [C]
  const V* bias = nullptr;      // [C]
  const V* style = nullptr;     // [N, 2C]
};

template <typename V>
const V* ptr(const at::Tensor& t) { return t.defined() ? t.data_ptr<V>() : nullptr; }

template <typename V>
Inputs<V> inputs(const at::Tensor& noise, const at::Tensor& strength, const at::Tensor& bias, const at::Tensor& style) {
  return {ptr<V>(noise), ptr<V>(strength), ptr<V>(bias), ptr<V>(style)};
}

// *s1 = Σ a_i and *s2 = Σ b_i over i < hw, where term(i, a, b) adds a_i to a and b_i to b: partial sums in V per
// block of 4096 elements, double across blocks. Inlined into the callers' target clones.
template <typename V, typename F>
__attribute__((always_inline)) inline void blockSums(int64_t hw, F&& term, double* s1, double* s2) {
  double t1 = 0, t2 = 0;
  constexpr int64_t kBlock = 4096;
  for (int64_t b0 = 0; b0 < hw; b0 += kBlock) {
    int64_t b1 = std::min(hw, b0 + kBlock);
    V a1 = 0, a2 = 0;
    for (int64_t i = b0; i < b1; i++) term(i, a1, a2);
    t1 += a1;
    t2 += a2;
  }
  *s1 = t1;
  *s2 = t2;
}

// Pass 1 of one plane: v = lrelu(x + noise·s + b), Σv and Σ(v − k)² around k = the first v (no cancellation).
template <typename V>
__attribute__((target_clones("avx512f", "avx2", "default")))
void activatePlane(const V* x, const V* noise, V s, V b, V slope, int64_t hw, V* v, double* sum, double* sq) {
  V k0 = x[0] + b + (noise ? noise[0] * s : V(0));
  const V k = k0 < 0 ? k0 * slope : k0;
  double total, total2;
  blockSums<V>(hw, [&](int64_t i, V& acc, V& acc2) {
    V u = x[i] + b + (noise ? noise[i] * s : V(0));
    V a = u < 0 ? u * slope : u;
    v[i] = a;
    acc += a - k;
    acc2 += (a - k) * (a - k);
  }, &total, &total2);
  *sum = total + static_cast<double>(k) * hw;
  *sq = total2 - total * total / hw;  // Σ(v − mean)²
}

template <typename V>
__attribute__((target_clones("avx512f", "avx2", "default")))
void affinePlane(const V* v, V m, V a, V b, int64_t hw, V* y) {
  for (int64_t i = 0; i < hw; i++) y[i] = (v[i] - m) * a + b;
}

template <typename V>
void forwardKernel(const V* x, const Inputs<V>& in, const Shape& s, V* v, V* y, V* mean, V* rstd) {
  at::parallel_for(0, s.n * s.c, 1, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; p++) {
      int64_t n = p / s.c, ch = p % s.c;
      const V* noise = in.noise ? in.noise + (s.noiseBatched ? n * s.hw : 0) : nullptr;
      double sum, sq;
      activatePlane<V>(x + p * s.hw, noise, in.strength ? in.strength[ch] : V(0), in.bias ? in.bias[ch] : V(0),
                       static_cast<V>(s.slope), s.hw, v + p * s.hw, &sum, &sq);
      V m = 0, r = 1;
      if (s.norm) {
        m = static_cast<V>(sum / s.hw);
        r = static_cast<V>(1.0 / std::sqrt(std::max(sq / s.hw, 0.0) + s.eps));
      }
      mean[p] = m;
      rstd[p] = r;
      V a = r, b = 0;
      if (in.style) {
        a *= in.style[n * 2 * s.c + ch] + V(1);
        b = in.style[n * 2 * s.c + s.c + ch];
      }
      affinePlane<V>(v + p * s.hw, m, a, b, s.hw, y + p * s.hw);
    }
  });
}

// Σgy and Σgy·h of one plane.
template <typename V>
__attribute__((target_clones("avx512f", "avx2", "default")))
void gradSums(const V* gy, const V* v, V m, V r, int64_t hw, double* sg, double* sgh) {
  blockSums<V>(hw, [&](int64_t i, V& a1, V& a2) {
    a1 += gy[i];
    a2 += gy[i] * ((v[i] - m) * r);
  }, sg, sgh);
}

// gx = (c0·gy + c1 + c2·h) · lrelu'(v), with Σgx and Σgx·noise.
template <typename V>
__attribute__((target_clones("avx512f", "avx2", "default")))
void gradPlane(const V* gy, const V* v, const V* noise, V m, V r, V c0, V c1, V c2, V slope, int64_t hw, V* gx, double* sb,
               double* ss) {
  blockSums<V>(hw, [&](int64_t i, V& a1, V& a2) {
    V g = (c0 * gy[i] + c1 + c2 * ((v[i] - m) * r)) * (v[i] > 0 ? V(1) : slope);
    gx[i] = g;
    a1 += g;
    a2 += noise ? g * noise[i] : V(0);
  }, sb, ss);
}

template <typename V>
void backwardKernel(const V* gy, const V* v, const V* mean, const V* rstd, const Inputs<V>& in, const Shape& s, V* gx,
                    V* gstyle, double* gbias, double* gstrength) {
  at::parallel_for(0, s.n * s.c, 1, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; p++) {
      int64_t n = p / s.c, ch = p % s.c;
      const V* g = gy + p * s.hw;
      const V* vp = v + p * s.hw;
      V m = mean[p], r = rstd[p];
      double sg, sgh;
      gradSums<V>(g, vp, m, r, s.hw, &sg, &sgh);
      V A = in.style ? in.style[n * 2 * s.c + ch] + V(1) : V(1);
      if (gstyle) {
        gstyle[n * 2 * s.c + ch] = static_cast<V>(sgh);
        gstyle[n * 2 * s.c + s.c + ch] = static_cast<V>(sg);
      }
      // gv = A·r·(gy − Σgy/HW − h·Σ(gy·h)/HW) with the norm, A·gy without.
      V c0 = A * r;
      V c1 = s.norm ? static_cast<V>(-A * r * sg / s.hw) : V(0);
      V c2 = s.norm ? static_cast<V>(-A * r * sgh / s.hw) : V(0);
      const V* noise = in.noise ? in.noise + (s.noiseBatched ? n * s.hw : 0) : nullptr;
      gradPlane<V>(g, vp, noise, m, r, c0, c1, c2, static_cast<V>(s.slope), s.hw, gx + p * s.hw, &gbias[p], &gstrength[p]);
    }
  });
}

// The compute dtype of an input dtype: float64 stays, everything else runs in float32.
at::ScalarType computeType(const at::Tensor& x) { return x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat; }

at::Tensor asCompute(const at::Tensor& t, at::ScalarType type) {
  return t.defined() ? t.detach().to(type).contiguous() : at::Tensor();
}

// Per-channel sums over the batch of per-plane values [N·C] → [C].
at::Tensor channelSums(const std::vector<double>& planes, int64_t n, int64_t c, const at::Tensor& like) {
  at::Tensor out = at::zeros({c}, at::TensorOptions().dtype(at::kDouble));
  double* o = out.data_ptr<double>();
  for (int64_t i = 0; i < n; i++)
    for (int64_t ch = 0; ch < c; ch++) o[ch] += planes[i * c + ch];
  return out.to(like.scalar_type());
}

class FusedEpilogueFn : public torch::autograd::Function<FusedEpilogueFn> {
 public:
  // Optional inputs are c10::optional (an undefined tensor is not a valid autograd input).
  using Opt = c10::optional<at::Tensor>;
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const Opt& noiseIn, const Opt& strengthIn, const Opt& biasIn,
                            const Opt& styleIn, bool norm, double slope, double eps) {
    at::Tensor noise = noiseIn.value_or(at::Tensor()), strength = strengthIn.value_or(at::Tensor());
    at::Tensor bias = biasIn.value_or(at::Tensor()), style = styleIn.value_or(at::Tensor());
    at::ScalarType type = computeType(x);
    Shape s;
    s.n = x.size(0); s.c = x.size(1); s.hw = x.size(2) * x.size(3);
    s.noiseBatched = noise.defined() && noise.size(0) == s.n && s.n > 1;
    s.norm = norm; s.slope = slope; s.eps = eps;
    at::Tensor xc = asCompute(x, type), nc = asCompute(noise, type), sc = asCompute(strength, type);
    at::Tensor bc = asCompute(bias, type), stc = asCompute(style, type);
    at::Tensor v = at::empty_like(xc), y = at::empty_like(xc);
    at::Tensor mean = at::empty({s.n * s.c}, xc.options()), rstd = at::empty({s.n * s.c}, xc.options());
    AT_DISPATCH_FLOATING_TYPES(type, "fusedEpilogue", [&] {
      forwardKernel<scalar_t>(xc.data_ptr<scalar_t>(), inputs<scalar_t>(nc, sc, bc, stc), s, v.data_ptr<scalar_t>(),
                              y.data_ptr<scalar_t>(), mean.data_ptr<scalar_t>(), rstd.data_ptr<scalar_t>());
    });
    ctx->save_for_backward({v, mean, rstd, nc, stc});
    ctx->saved_data["norm"] = norm;
    ctx->saved_data["slope"] = slope;
    ctx->saved_data["noiseBatched"] = s.noiseBatched;
    ctx->saved_data["x"] = c10::IValue(x.scalar_type());
    ctx->saved_data["format"] = c10::IValue(static_cast<int64_t>(x.suggest_memory_format()));
    ctx->saved_data["strength"] = strength.defined() ? c10::IValue(strength.scalar_type()) : c10::IValue();
    ctx->saved_data["bias"] = bias.defined() ? c10::IValue(bias.scalar_type()) : c10::IValue();
    ctx->saved_data["style"] = style.defined() ? c10::IValue(style.scalar_type()) : c10::IValue();
    return y.to(x.options(), false, false, x.suggest_memory_format());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    if (c10::GradMode::is_enabled()) throw std::runtime_error("fusedEpilogue: no double backward (create_graph through the fused epilogue)");
    auto saved = ctx->get_saved_variables();
    at::Tensor v = saved[0], mean = saved[1], rstd = saved[2], noise = saved[3], style = saved[4];
    at::ScalarType type = v.scalar_type();
    Shape s;
    s.n = v.size(0); s.c = v.size(1); s.hw = v.size(2) * v.size(3);
    s.norm = ctx->saved_data["norm"].toBool();
    s.slope = ctx->saved_data["slope"].toDouble();
    s.noiseBatched = ctx->saved_data["noiseBatched"].toBool();
    at::Tensor gy = grads[0].to(type).contiguous();
    at::Tensor gx = at::empty_like(v);
    at::Tensor gstyle = style.defined() ? at::empty_like(style) : at::Tensor();
    std::vector<double> gbias(s.n * s.c), gstrength(s.n * s.c);
    AT_DISPATCH_FLOATING_TYPES(type, "fusedEpilogueBackward", [&] {
      Inputs<scalar_t> in;
      in.noise = ptr<scalar_t>(noise);
      in.style = ptr<scalar_t>(style);
      backwardKernel<scalar_t>(gy.data_ptr<scalar_t>(), v.data_ptr<scalar_t>(), mean.data_ptr<scalar_t>(), rstd.data_ptr<scalar_t>(),
                               in, s, gx.data_ptr<scalar_t>(), gstyle.defined() ? gstyle.data_ptr<scalar_t>() : nullptr,
                               gbias.data(), gstrength.data());
    });
    auto typeOf = [&](const char* key) { return ctx->saved_data[key].toScalarType(); };
    auto format = static_cast<at::MemoryFormat>(ctx->saved_data["format"].toInt());
    at::Tensor gxOut = gx.to(at::TensorOptions().dtype(typeOf("x")), false, false, format);
    at::Tensor gStrength, gBias, gStyle;
    if (noise.defined() && !ctx->saved_data["strength"].isNone()) {
      gStrength = channelSums(gstrength, s.n, s.c, at::empty({0}, at::TensorOptions().dtype(typeOf("strength"))));
    }
    if (!ctx->saved_data["bias"].isNone()) gBias = channelSums(gbias, s.n, s.c, at::empty({0}, at::TensorOptions().dtype(typeOf("bias"))));
    if (gstyle.defined()) gStyle = gstyle.to(typeOf("style"));
    return {gxOut, at::Tensor(), gStrength, gBias, gStyle, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

at::Tensor vectorOf(const c10::optional<at::Tensor>& t, int64_t numel, const char* what) {
  return vectorArg(t, numel, std::string("fusedEpilogue: ") + what);
}

}  // namespace

// fusedEpilogue(x [N, C, H, W], noise [N|1, 1, H, W] | null, strength [C] | null, bias [C] | null, style [N, 2C] | null,
//               instanceNorm, slope, eps) → a new tensor in x's dtype and memory layout, differentiable w.r.t. x,
//               strength, bias and style (first order; the noise map gets no gradient).
SGT_FN(fusedEpilogue) {
  const at::Tensor& x = T(0);
  if (x.dim() != 4) throw Napi::Error::New(env, "fusedEpilogue: x must be [N, C, H, W]");
  if (!x.device().is_cpu()) throw Napi::Error::New(env, "fusedEpilogue: CPU tensors only");
  auto t = x.scalar_type();
  if (t != at::kFloat && t != at::kDouble && t != at::kBFloat16) throw Napi::Error::New(env, "fusedEpilogue: float32, float64 or bfloat16 only");
  int64_t n = x.size(0), c = x.size(1);
  at::Tensor noise, strength;
  if (auto no = optTensor(info[1])) {
    if (no->dim() != 4 || no->size(1) != 1 || no->size(2) != x.size(2) || no->size(3) != x.size(3) || (no->size(0) != 1 && no->size(0) != n))
      throw Napi::Error::New(env, "fusedEpilogue: noise must be [N|1, 1, H, W]");
    if (no->requires_grad()) throw Napi::Error::New(env, "fusedEpilogue: the noise map gets no gradient (detach it)");
    noise = *no;
    strength = vectorOf(optTensor(info[2]), c, "strength");
    if (!strength.defined()) throw Napi::Error::New(env, "fusedEpilogue: noise needs a strength");
  }
  at::Tensor bias = vectorOf(optTensor(info[3]), c, "bias");
  at::Tensor style = vectorOf(optTensor(info[4]), n * 2 * c, "style");
  if (style.defined()) style = style.reshape({n, 2 * c});
  auto opt = [](const at::Tensor& t) { return t.defined() ? c10::optional<at::Tensor>(t) : c10::nullopt; };
  return WRAP(FusedEpilogueFn::apply(x, opt(noise), opt(strength), opt(bias), opt(style), BOOL(5), NUM(6), NUM(7)));
}

void registerFusedGrad(Napi::Env env, Exports exports) { SGT_EXPORT(fusedEpilogue); }

}  // namespace sgt
