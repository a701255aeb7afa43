// Shared helpers of the stylegan-ts libtorch binding.
// The binding is mechanical: each exported function mirrors one libtorch call. Tensors travel to JavaScript as
// type-tagged externals owning an at::Tensor; JavaScript frees them deterministically with `dispose`.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <atomic>
#include <string>
#include <vector>

namespace sgt {

// A tensor owned by JavaScript. `bytes` is what was reported to V8 for it (0 for views, which share storage).
struct TensorBox {
  at::Tensor t;
  int64_t bytes = 0;
};

struct Stats {
  std::atomic<int64_t> live{0};
  std::atomic<int64_t> bytes{0};
};
Stats& stats();

// Wraps / unwraps tensors. `wrap` takes ownership of `t` (an undefined tensor becomes JS null).
Napi::Value wrap(Napi::Env env, at::Tensor t);
at::Tensor& unwrap(const Napi::Value& v, const char* what = "tensor");
bool isTensor(const Napi::Value& v);
void release(Napi::Env env, TensorBox* box);

// Argument conversion.
at::ScalarType toDtype(const Napi::Value& v);
const char* dtypeName(at::ScalarType t);
at::Device toDevice(const Napi::Value& v);
std::vector<int64_t> toInts(const Napi::Value& v, const char* what = "shape");
at::Scalar toScalar(const Napi::Value& v);
std::vector<at::Tensor> toTensors(const Napi::Value& v);
Napi::Array fromTensors(Napi::Env env, const std::vector<at::Tensor>& ts);
c10::optional<at::Tensor> optTensor(const Napi::Value& v);
at::Generator* toGenerator(const Napi::Value& v);  // nullptr for undefined / null
Napi::Array fromInts(Napi::Env env, at::IntArrayRef v);

// The activation an in-place no-grad CPU kernel writes: [N, C, H, W] on the CPU, contiguous NCHW or channels-last,
// float32 or bfloat16, not requiring grad under autograd. Throws "<what>: ..." otherwise; returns whether it is NHWC.
inline bool checkInPlaceActivation(Napi::Env env, const at::Tensor& x, const std::string& what) {
  auto fail = [&](const char* problem) { return Napi::Error::New(env, what + ": " + problem); };
  if (x.dim() != 4) throw fail("x must be [N, C, H, W]");
  if (x.requires_grad() && c10::GradMode::is_enabled()) throw fail("no autograd (x requires grad)");
  if (!x.device().is_cpu()) throw fail("CPU tensors only");
  bool nhwc = x.is_contiguous(at::MemoryFormat::ChannelsLast) && !x.is_contiguous();
  if (!nhwc && !x.is_contiguous()) throw fail("x must be contiguous (NCHW or channels-last)");
  if (x.scalar_type() != at::kFloat && x.scalar_type() != at::kBFloat16) throw fail("float32 or bfloat16 only");
  return nhwc;
}

// An optional per-channel (or per-sample) argument of a fused kernel: undefined when absent, else `t` as a 1-D
// tensor of `numel` elements; throws "<what> must have <numel> elements" otherwise.
inline at::Tensor vectorArg(const c10::optional<at::Tensor>& t, int64_t numel, const std::string& what) {
  if (!t) return at::Tensor();
  if (t->numel() != numel) throw std::runtime_error(what + " must have " + std::to_string(numel) + " elements");
  return t->reshape({numel});
}

// Runs `kernel(float* data)` on x in place without autograd. bfloat16 goes through a float32 copy: libtorch's
// vectorized conversions make that ~5x faster than converting element by element inside the kernels' loops.
template <typename Kernel>
void inPlaceAsFloat32(at::Tensor& x, Kernel kernel) {
  at::NoGradGuard guard;
  if (x.scalar_type() == at::kFloat) {
    kernel(x.data_ptr<float>());
    return;
  }
  at::Tensor xf = x.to(at::kFloat);
  kernel(xf.data_ptr<float>());
  x.copy_(xf);
}

// Turns any libtorch / std exception inside `body` into a JavaScript Error carrying libtorch's message.
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, F&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

using Exports = Napi::Object;
void registerCore(Napi::Env env, Exports exports);
void registerOps(Napi::Env env, Exports exports);
void registerAutograd(Napi::Env env, Exports exports);
void registerGrid(Napi::Env env, Exports exports);
void registerForeach(Napi::Env env, Exports exports);
void registerAlloc(Napi::Env env, Exports exports);
void registerFused(Napi::Env env, Exports exports);
void registerLayout(Napi::Env env, Exports exports);
void registerDistributed(Napi::Env env, Exports exports);
void registerJit(Napi::Env env, Exports exports);
void registerPixelNorm(Napi::Env env, Exports exports);
void registerFusedGrad(Napi::Env env, Exports exports);
void registerReducer(Napi::Env env, Exports exports);
void registerAdam(Napi::Env env, Exports exports);
void registerTapMap(Napi::Env env, Exports exports);
void registerBlur(Napi::Env env, Exports exports);
void registerConvGrad(Napi::Env env, Exports exports);
void registerToUint8(Napi::Env env, Exports exports);

}  // namespace sgt

// Declares an exported function `name` whose body runs inside `guarded` with `info` and `env` in scope.
#define SGT_FN(name)                                                                    \
  static Napi::Value name##_impl(const Napi::CallbackInfo& info, Napi::Env env);        \
  static Napi::Value name(const Napi::CallbackInfo& info) {                             \
    return sgt::guarded(info, [&]() { return name##_impl(info, info.Env()); });         \
  }                                                                                     \
  static Napi::Value name##_impl(const Napi::CallbackInfo& info, Napi::Env env)

#define SGT_EXPORT(name) exports.Set(#name, Napi::Function::New(env, name, #name))
#define T(i) sgt::unwrap(info[i])
#define NUM(i) info[i].As<Napi::Number>().DoubleValue()
#define INT(i) info[i].As<Napi::Number>().Int64Value()
#define BOOL(i) info[i].ToBoolean().Value()
#define WRAP(expr) sgt::wrap(env, (expr))
