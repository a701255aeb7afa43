// A linear map of every convolution kernel's spatial taps, with autograd to any order: the derived kernels of the
// resampling convolutions (the fused 4×4 kernel of a 3×3 one, the four 2×2 phase kernels of an upsampling
// convolution) in one pass over the weight, instead of a chain of pads, shifted adds and copies over it.
//   out[g·O + o, c, r, s] = Σ_t m[t, (g·qh + r)·qw + s] · w[o, c, t]      w [O, C, kh, kw], t = i·kw + j
// m is a constant [kh·kw, G·qh·qw] matrix (no gradient). The backward is the transposed map, itself differentiable.
// float32 and float64 on the CPU; the output in the requested memory format (NCHW or channels-last).
#include "common.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <vector>

#pragma GCC optimize("O3")

namespace sgt {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Map {
  int64_t o, c, taps, groups, qh, qw;
  int64_t kh, kw;
  std::vector<double> m;  // [taps, groups·qh·qw]
  int64_t outs() const { return groups * qh * qw; }
};

// The map of O × C kernels of kh × kw taps onto groups × qh × qw taps by m.
Map mapOf(int64_t o, int64_t c, int64_t kh, int64_t kw, const at::Tensor& m, int64_t groups, int64_t qh, int64_t qw) {
  Map map{o, c, kh * kw, groups, qh, qw, kh, kw, {}};
  at::Tensor md = m.to(at::kDouble).contiguous();
  map.m.assign(md.data_ptr<double>(), md.data_ptr<double>() + md.numel());
  return map;
}

// The nonzero coefficients of each output tap j, flattened: (tap[i], coef[i]) for i in [begin[j], begin[j + 1]).
template <typename V>
struct Columns {
  std::vector<int64_t> begin, tap;
  std::vector<V> coef;
  explicit Columns(const Map& map) : begin{0} {
    for (int64_t j = 0; j < map.outs(); j++) {
      for (int64_t t = 0; t < map.taps; t++) {
        double k = map.m[t * map.outs() + j];
        if (k != 0) tap.push_back(t), coef.push_back(static_cast<V>(k));
      }
      begin.push_back(static_cast<int64_t>(tap.size()));
    }
  }
};

// Offset of output tap j of output-channel row o in a [G·O, C, qh, qw] tensor with strides st (channel 0).
inline int64_t tapOffset(const Map& map, at::IntArrayRef st, int64_t o, int64_t j) {
  int64_t g = j / (map.qh * map.qw), r = j / map.qw % map.qh, s = j % map.qw;
  return (g * map.o + o) * st[0] + r * st[2] + s * st[3];
}

// Both directions work on one output-channel row o at a time through channel-minor buffers ([taps][C] and [J][C]),
// so the inner loops run over C with unit stride (vectorized); each element still sums its terms in tap order.

// w (contiguous [O, C, taps]) → out [G·O, C, qh, qw] in `format`.
at::Tensor forwardMap(const at::Tensor& wIn, const Map& map, at::MemoryFormat format) {
  at::Tensor w = wIn.contiguous();
  at::Tensor out = at::empty({map.groups * map.o, map.c, map.qh, map.qw}, w.options().memory_format(format));
  auto st = out.strides();
  const int64_t C = map.c, T = map.taps, J = map.outs();
  AT_DISPATCH_FLOATING_TYPES(w.scalar_type(), "tapMap", [&] {
    Columns<scalar_t> cols(map);
    const scalar_t* src = w.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    at::parallel_for(0, map.o, 1, [&](int64_t begin, int64_t end) {
      std::vector<scalar_t> wt(T * C), row(C);
      for (int64_t o = begin; o < end; o++) {
        for (int64_t c = 0; c < C; c++)
          for (int64_t t = 0; t < T; t++) wt[t * C + c] = src[(o * C + c) * T + t];
        for (int64_t j = 0; j < J; j++) {
          scalar_t* y = st[1] == 1 ? dst + tapOffset(map, st, o, j) : row.data();
          std::fill(y, y + C, scalar_t(0));
          for (int64_t i = cols.begin[j]; i < cols.begin[j + 1]; i++) {
            const scalar_t k = cols.coef[i];
            const scalar_t* x = wt.data() + cols.tap[i] * C;
            for (int64_t c = 0; c < C; c++) y[c] += k * x[c];
          }
          if (st[1] != 1) {
            scalar_t* d = dst + tapOffset(map, st, o, j);
            for (int64_t c = 0; c < C; c++) d[c * st[1]] = row[c];
          }
        }
      }
    });
  });
  return out;
}

// g [G·O, C, qh, qw] (any strides) → the gradient of w, [O, C, kh, kw] contiguous: Σ_j m[t, j] · g[j-th tap of (o, c)].
at::Tensor backwardMap(const at::Tensor& g, const Map& map) {
  at::Tensor out = at::empty({map.o, map.c, map.kh, map.kw}, g.options().memory_format(at::MemoryFormat::Contiguous));
  auto st = g.strides();
  const int64_t C = map.c, T = map.taps, J = map.outs();
  AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "tapMapBackward", [&] {
    Columns<scalar_t> cols(map);
    const scalar_t* src = g.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    at::parallel_for(0, map.o, 1, [&](int64_t begin, int64_t end) {
      std::vector<scalar_t> acc(T * C), row(C);
      for (int64_t o = begin; o < end; o++) {
        std::fill(acc.begin(), acc.end(), scalar_t(0));
        for (int64_t j = 0; j < J; j++) {
          const scalar_t* x = src + tapOffset(map, st, o, j);
          if (st[1] != 1) {
            for (int64_t c = 0; c < C; c++) row[c] = x[c * st[1]];
            x = row.data();
          }
          for (int64_t i = cols.begin[j]; i < cols.begin[j + 1]; i++) {
            const scalar_t k = cols.coef[i];
            scalar_t* a = acc.data() + cols.tap[i] * C;
            for (int64_t c = 0; c < C; c++) a[c] += k * x[c];
          }
        }
        for (int64_t c = 0; c < C; c++)
          for (int64_t t = 0; t < T; t++) dst[(o * C + c) * T + t] = acc[t * C + c];
      }
    });
  });
  return out;
}

void saveMap(AutogradContext* ctx, const at::Tensor& m, int64_t groups, int64_t qh, int64_t qw, int64_t kh, int64_t kw) {
  ctx->saved_data["m"] = m;
  ctx->saved_data["groups"] = groups;
  ctx->saved_data["qh"] = qh;
  ctx->saved_data["qw"] = qw;
  ctx->saved_data["kh"] = kh;
  ctx->saved_data["kw"] = kw;
}

class TapMapBackwardFn;

// w → derived kernels.
class TapMapFn : public torch::autograd::Function<TapMapFn> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& w, const at::Tensor& m, int64_t groups, int64_t qh, int64_t qw, bool channelsLast) {
    saveMap(ctx, m, groups, qh, qw, w.size(2), w.size(3));
    Map map = mapOf(w.size(0), w.size(1), w.size(2), w.size(3), m, groups, qh, qw);
    return forwardMap(w, map, channelsLast ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads);
};

// The transposed map (derived-kernel gradient → weight gradient); its own backward is TapMapFn again.
class TapMapBackwardFn : public torch::autograd::Function<TapMapBackwardFn> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& g, const at::Tensor& m, int64_t groups, int64_t qh, int64_t qw, int64_t kh, int64_t kw) {
    saveMap(ctx, m, groups, qh, qw, kh, kw);
    ctx->saved_data["cl"] = g.is_contiguous(at::MemoryFormat::ChannelsLast) && !g.is_contiguous();
    return backwardMap(g, mapOf(g.size(0) / groups, g.size(1), kh, kw, m, groups, qh, qw));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto& d = ctx->saved_data;
    at::Tensor gg = TapMapFn::apply(grads[0], d["m"].toTensor(), d["groups"].toInt(), d["qh"].toInt(), d["qw"].toInt(), d["cl"].toBool());
    return {gg, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

variable_list TapMapFn::backward(AutogradContext* ctx, variable_list grads) {
  auto& d = ctx->saved_data;
  at::Tensor gw = TapMapBackwardFn::apply(grads[0], d["m"].toTensor(), d["groups"].toInt(), d["qh"].toInt(), d["qw"].toInt(), d["kh"].toInt(), d["kw"].toInt());
  return {gw, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
}

}  // namespace

// tapMap(w [O, C, kh, kw], m [kh·kw, G·qh·qw], G, qh, qw, channelsLast) → [G·O, C, qh, qw], differentiable w.r.t. w.
SGT_FN(tapMap) {
  const at::Tensor& w = T(0);
  const at::Tensor& m = T(1);
  int64_t groups = INT(2), qh = INT(3), qw = INT(4);
  auto fail = [&](const std::string& problem) { return Napi::Error::New(env, "tapMap: " + problem); };
  if (w.dim() != 4) throw fail("w must be [O, C, kh, kw]");
  if (!w.device().is_cpu()) throw fail("CPU tensors only");
  if (w.scalar_type() != at::kFloat && w.scalar_type() != at::kDouble) throw fail("float32 or float64 only");
  if (groups < 1 || qh < 1 || qw < 1) throw fail("groups and output taps must be positive");
  if (m.dim() != 2 || m.size(0) != w.size(2) * w.size(3) || m.size(1) != groups * qh * qw)
    throw fail("m must be [kh·kw, groups·qh·qw] = [" + std::to_string(w.size(2) * w.size(3)) + ", " + std::to_string(groups * qh * qw) + "]");
  return WRAP(TapMapFn::apply(w, m.detach(), groups, qh, qw, BOOL(5)));
}

void registerTapMap(Napi::Env env, Exports exports) { SGT_EXPORT(tapMap); }

}  // namespace sgt
