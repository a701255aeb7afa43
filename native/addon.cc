// Core of the binding: tensor ownership, conversions, memory accounting, creation, data transfer, threads, RNG and
// devices.
#include "common.h"

#include <dlfcn.h>

#include <torch/cuda.h>

#include <cstring>
#include <unordered_map>

namespace sgt {

namespace {
constexpr uint64_t kMagic = 0x5347545445535231ull;  // marks externals that hold a TensorBox
struct Tagged {
  uint64_t magic = kMagic;
  TensorBox box;
};

int64_t storageBytes(const at::Tensor& t) {
  if (!t.defined() || t.is_view()) return 0;
  // Only CPU memory is reported to V8: it is what competes with the JS heap for RAM.
  if (!t.device().is_cpu()) return 0;
  return static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size());
}

void finalizeTensor(Napi::Env env, Tagged* tagged) {
  release(env, &tagged->box);
  delete tagged;
}
}  // namespace

Stats& stats() {
  static Stats s;
  return s;
}

void release(Napi::Env env, TensorBox* box) {
  if (!box->t.defined()) return;
  stats().live--;
  stats().bytes -= box->bytes;
  if (box->bytes) Napi::MemoryManagement::AdjustExternalMemory(env, -box->bytes);
  box->t = at::Tensor();
  box->bytes = 0;
}

Napi::Value wrap(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Null();
  auto* tagged = new Tagged();
  tagged->box.t = std::move(t);
  tagged->box.bytes = storageBytes(tagged->box.t);
  stats().live++;
  stats().bytes += tagged->box.bytes;
  if (tagged->box.bytes) Napi::MemoryManagement::AdjustExternalMemory(env, tagged->box.bytes);
  return Napi::External<Tagged>::New(env, tagged, finalizeTensor);
}

static Tagged* tagged(const Napi::Value& v) {
  if (!v.IsExternal()) return nullptr;
  auto* t = v.As<Napi::External<Tagged>>().Data();
  return t && t->magic == kMagic ? t : nullptr;
}

bool isTensor(const Napi::Value& v) { return tagged(v) != nullptr; }

at::Tensor& unwrap(const Napi::Value& v, const char* what) {
  auto* t = tagged(v);
  if (!t) throw Napi::TypeError::New(v.Env(), std::string("expected a tensor for ") + what);
  if (!t->box.t.defined()) throw Napi::Error::New(v.Env(), "tensor was disposed");
  return t->box.t;
}

static const std::unordered_map<std::string, at::ScalarType>& dtypes() {
  static const std::unordered_map<std::string, at::ScalarType> m = {
      {"float32", at::kFloat}, {"float16", at::kHalf}, {"bfloat16", at::kBFloat16}, {"float64", at::kDouble},
      {"int64", at::kLong},    {"int32", at::kInt},    {"int16", at::kShort},       {"int8", at::kChar},
      {"uint8", at::kByte},    {"bool", at::kBool},
  };
  return m;
}

at::ScalarType toDtype(const Napi::Value& v) {
  auto name = v.As<Napi::String>().Utf8Value();
  auto it = dtypes().find(name);
  if (it == dtypes().end()) throw Napi::TypeError::New(v.Env(), "unknown dtype '" + name + "'");
  return it->second;
}

const char* dtypeName(at::ScalarType t) {
  for (const auto& [name, type] : dtypes())
    if (type == t) return name.c_str();
  return "unknown";
}

at::Device toDevice(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return at::Device(at::kCPU);
  return at::Device(v.As<Napi::String>().Utf8Value());
}

std::vector<int64_t> toInts(const Napi::Value& v, const char* what) {
  if (v.IsNumber()) return {v.As<Napi::Number>().Int64Value()};
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string("expected an array of integers for ") + what);
  auto a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out[i] = a.Get(i).As<Napi::Number>().Int64Value();
  return out;
}

Napi::Array fromInts(Napi::Env env, at::IntArrayRef v) {
  auto a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(v[i])));
  return a;
}

at::Scalar toScalar(const Napi::Value& v) {
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  double d = v.As<Napi::Number>().DoubleValue();
  // Integral JS numbers act like Python ints (keep integer tensors integral); others like Python floats.
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0) return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

std::vector<at::Tensor> toTensors(const Napi::Value& v) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), "expected an array of tensors");
  auto a = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    out.push_back(e.IsNull() || e.IsUndefined() ? at::Tensor() : unwrap(e));
  }
  return out;
}

Napi::Array fromTensors(Napi::Env env, const std::vector<at::Tensor>& ts) {
  auto a = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); i++) a.Set(static_cast<uint32_t>(i), wrap(env, ts[i]));
  return a;
}

c10::optional<at::Tensor> optTensor(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  return unwrap(v);
}

at::Generator* toGenerator(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return nullptr;
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "expected a generator");
  return v.As<Napi::External<at::Generator>>().Data();
}

static at::TensorOptions options(const Napi::Value& dtype, const Napi::Value& device) {
  auto o = at::TensorOptions().dtype(dtype.IsUndefined() || dtype.IsNull() ? at::kFloat : toDtype(dtype));
  return o.device(toDevice(device));
}

static c10::optional<at::Generator> optGenerator(const Napi::Value& v) {
  auto* g = toGenerator(v);
  if (!g) return c10::nullopt;
  return *g;
}

// ---- lifetime and memory ----
SGT_FN(dispose) {
  auto* t = tagged(info[0]);
  if (!t) throw Napi::TypeError::New(env, "expected a tensor for dispose");
  release(env, &t->box);
  return env.Undefined();
}
SGT_FN(isDisposed) {
  auto* t = tagged(info[0]);
  if (!t) throw Napi::TypeError::New(env, "expected a tensor");
  return Napi::Boolean::New(env, !t->box.t.defined());
}
SGT_FN(memoryStats) {
  auto o = Napi::Object::New(env);
  o.Set("liveTensors", Napi::Number::New(env, static_cast<double>(stats().live.load())));
  o.Set("liveBytes", Napi::Number::New(env, static_cast<double>(stats().bytes.load())));
  return o;
}

// ---- creation ----
SGT_FN(empty) { return WRAP(at::empty(toInts(info[0]), options(info[1], info[2]))); }
SGT_FN(zeros) { return WRAP(at::zeros(toInts(info[0]), options(info[1], info[2]))); }
SGT_FN(ones) { return WRAP(at::ones(toInts(info[0]), options(info[1], info[2]))); }
SGT_FN(full) { return WRAP(at::full(toInts(info[0]), toScalar(info[1]), options(info[2], info[3]))); }
SGT_FN(arange) { return WRAP(at::arange(toScalar(info[0]), toScalar(info[1]), toScalar(info[2]), options(info[3], info[4]))); }
SGT_FN(linspace) { return WRAP(at::linspace(toScalar(info[0]), toScalar(info[1]), INT(2), options(info[3], info[4]))); }
SGT_FN(randn) { return WRAP(at::randn(toInts(info[0]), optGenerator(info[3]), options(info[1], info[2]))); }
SGT_FN(rand) { return WRAP(at::rand(toInts(info[0]), optGenerator(info[3]), options(info[1], info[2]))); }
SGT_FN(randint) {
  return WRAP(at::randint(INT(0), INT(1), toInts(info[2]), optGenerator(info[5]), options(info[3], info[4])));
}
SGT_FN(randperm) { return WRAP(at::randperm(INT(0), optGenerator(info[3]), options(info[1], info[2]))); }
SGT_FN(normal_) {
  at::Tensor& t = T(0);
  t.normal_(NUM(1), NUM(2), optGenerator(info[3]));
  return info[0];
}
SGT_FN(uniform_) {
  at::Tensor& t = T(0);
  t.uniform_(NUM(1), NUM(2), optGenerator(info[3]));
  return info[0];
}
SGT_FN(bernoulli) { return WRAP(at::bernoulli(T(0), optGenerator(info[1]))); }

// fromBuffer(typedArrayOrArrayBuffer, dtype, shape): one copy from JS memory into a new CPU tensor.
SGT_FN(fromBuffer) {
  const uint8_t* data;
  size_t length;
  if (info[0].IsTypedArray()) {
    auto ta = info[0].As<Napi::TypedArray>();
    data = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    length = ta.ByteLength();
  } else if (info[0].IsArrayBuffer()) {
    auto ab = info[0].As<Napi::ArrayBuffer>();
    data = static_cast<const uint8_t*>(ab.Data());
    length = ab.ByteLength();
  } else {
    throw Napi::TypeError::New(env, "fromBuffer expects a typed array or ArrayBuffer");
  }
  auto dtype = toDtype(info[1]);
  auto shape = toInts(info[2]);
  auto t = at::empty(shape, at::TensorOptions().dtype(dtype));
  size_t need = static_cast<size_t>(t.numel()) * t.element_size();
  if (need != length) {
    throw Napi::RangeError::New(env, "buffer has " + std::to_string(length) + " bytes but shape " + c10::str(t.sizes()) +
                                         " of " + dtypeName(dtype) + " needs " + std::to_string(need));
  }
  if (need) std::memcpy(t.data_ptr(), data, need);
  return WRAP(std::move(t));
}

// toBuffer(t): one copy of the (contiguous, CPU) data into a new ArrayBuffer.
SGT_FN(toBuffer) {
  at::Tensor t = T(0).detach();
  if (!t.device().is_cpu()) t = t.to(at::kCPU);
  t = t.contiguous();
  size_t n = static_cast<size_t>(t.numel()) * t.element_size();
  auto ab = Napi::ArrayBuffer::New(env, n);
  if (n) std::memcpy(ab.Data(), t.data_ptr(), n);
  return ab;
}

// copyIntoBuffer(t, typedArray): copies into existing JS memory (lets callers reuse buffers).
SGT_FN(copyIntoBuffer) {
  at::Tensor t = T(0).detach();
  if (!t.device().is_cpu()) t = t.to(at::kCPU);
  t = t.contiguous();
  auto ta = info[1].As<Napi::TypedArray>();
  size_t n = static_cast<size_t>(t.numel()) * t.element_size();
  if (ta.ByteLength() != n) throw Napi::RangeError::New(env, "destination has " + std::to_string(ta.ByteLength()) + " bytes, tensor has " + std::to_string(n));
  if (n) std::memcpy(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset(), t.data_ptr(), n);
  return env.Undefined();
}

// ---- introspection ----
SGT_FN(shape) { return fromInts(env, T(0).sizes()); }
SGT_FN(strides) { return fromInts(env, T(0).strides()); }
SGT_FN(dtype) { return Napi::String::New(env, dtypeName(T(0).scalar_type())); }
SGT_FN(device) { return Napi::String::New(env, T(0).device().str()); }
SGT_FN(numel) { return Napi::Number::New(env, static_cast<double>(T(0).numel())); }
SGT_FN(dim) { return Napi::Number::New(env, static_cast<double>(T(0).dim())); }
SGT_FN(isContiguous) { return Napi::Boolean::New(env, T(0).is_contiguous()); }
SGT_FN(requiresGrad) { return Napi::Boolean::New(env, T(0).requires_grad()); }
SGT_FN(isLeaf) { return Napi::Boolean::New(env, T(0).is_leaf()); }
SGT_FN(item) {
  at::Tensor& t = T(0);
  if (t.numel() != 1) throw Napi::RangeError::New(env, "item() needs a tensor with one element, got shape " + c10::str(t.sizes()));
  return Napi::Number::New(env, t.item().toDouble());
}
SGT_FN(toString) { return Napi::String::New(env, c10::str(T(0))); }

// ---- threads, seeds, devices ----
SGT_FN(setNumThreads) {
  at::set_num_threads(static_cast<int>(INT(0)));
  return env.Undefined();
}
SGT_FN(getNumThreads) { return Napi::Number::New(env, at::get_num_threads()); }
// OpenBLAS's own thread count (libtorch's CPU matrix products go to the system BLAS, which keeps its own pool):
// looked up at run time, so another BLAS (or none) leaves these as no-ops. setBlasThreads → whether OpenBLAS was
// found; getBlasThreads → its count, or null.
namespace {
using SetThreadsFn = void (*)(int);
using GetThreadsFn = int (*)();
SetThreadsFn openblasSet() { return reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")); }
GetThreadsFn openblasGet() { return reinterpret_cast<GetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")); }
}  // namespace
SGT_FN(setBlasThreads) {
  SetThreadsFn set = openblasSet();
  if (set) set(static_cast<int>(INT(0)));
  return Napi::Boolean::New(env, set != nullptr);
}
SGT_FN(getBlasThreads) {
  GetThreadsFn get = openblasGet();
  return get ? Napi::Number::New(env, get()) : env.Null();
}
SGT_FN(manualSeed) {
  at::manual_seed(static_cast<uint64_t>(INT(0)));
  return env.Undefined();
}
SGT_FN(generator) {
  at::Device dev = toDevice(info[1]);
  at::Generator g = dev.is_cpu() ? at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(INT(0)))
                                 : at::globalContext().defaultGenerator(dev).clone();
  g.set_current_seed(static_cast<uint64_t>(INT(0)));
  return Napi::External<at::Generator>::New(env, new at::Generator(std::move(g)),
                                            [](Napi::Env, at::Generator* p) { delete p; });
}
SGT_FN(generatorSeed) {
  auto* g = toGenerator(info[0]);
  std::lock_guard<std::mutex> lock(g->mutex());
  g->set_current_seed(static_cast<uint64_t>(INT(1)));
  return env.Undefined();
}
SGT_FN(generatorGetState) {
  auto* g = toGenerator(info[0]);
  std::lock_guard<std::mutex> lock(g->mutex());
  return WRAP(g->get_state());
}
SGT_FN(generatorSetState) {
  auto* g = toGenerator(info[0]);
  std::lock_guard<std::mutex> lock(g->mutex());
  g->set_state(T(1));
  return env.Undefined();
}
SGT_FN(cudaAvailable) { return Napi::Boolean::New(env, torch::cuda::is_available()); }
SGT_FN(cudaDeviceCount) { return Napi::Number::New(env, static_cast<double>(torch::cuda::device_count())); }
SGT_FN(cudaSynchronize) {
  if (torch::cuda::is_available()) torch::cuda::synchronize();
  return env.Undefined();
}
SGT_FN(version) {
  auto o = Napi::Object::New(env);
  o.Set("torch", Napi::String::New(env, TORCH_VERSION));
  o.Set("parallel", Napi::String::New(env, at::get_parallel_info()));
  o.Set("config", Napi::String::New(env, at::show_config()));
  return o;
}

void registerCore(Napi::Env env, Exports exports) {
  SGT_EXPORT(dispose); SGT_EXPORT(isDisposed); SGT_EXPORT(memoryStats);
  SGT_EXPORT(empty); SGT_EXPORT(zeros); SGT_EXPORT(ones); SGT_EXPORT(full); SGT_EXPORT(arange); SGT_EXPORT(linspace);
  SGT_EXPORT(randn); SGT_EXPORT(rand); SGT_EXPORT(randint); SGT_EXPORT(randperm); SGT_EXPORT(normal_);
  SGT_EXPORT(uniform_); SGT_EXPORT(bernoulli);
  SGT_EXPORT(fromBuffer); SGT_EXPORT(toBuffer); SGT_EXPORT(copyIntoBuffer);
  SGT_EXPORT(shape); SGT_EXPORT(strides); SGT_EXPORT(dtype); SGT_EXPORT(device); SGT_EXPORT(numel); SGT_EXPORT(dim);
  SGT_EXPORT(isContiguous); SGT_EXPORT(requiresGrad); SGT_EXPORT(isLeaf); SGT_EXPORT(item); SGT_EXPORT(toString);
  SGT_EXPORT(setNumThreads); SGT_EXPORT(getNumThreads); SGT_EXPORT(setBlasThreads); SGT_EXPORT(getBlasThreads); SGT_EXPORT(manualSeed); SGT_EXPORT(generator);
  SGT_EXPORT(generatorSeed); SGT_EXPORT(generatorGetState); SGT_EXPORT(generatorSetState);
  SGT_EXPORT(cudaAvailable); SGT_EXPORT(cudaDeviceCount); SGT_EXPORT(cudaSynchronize); SGT_EXPORT(version);
}

}  // namespace sgt

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  sgt::registerCore(env, exports);
  sgt::registerOps(env, exports);
  sgt::registerAutograd(env, exports);
  sgt::registerGrid(env, exports);
  sgt::registerForeach(env, exports);
  sgt::registerAlloc(env, exports);
  sgt::registerFused(env, exports);
  sgt::registerLayout(env, exports);
  sgt::registerDistributed(env, exports);
  sgt::registerJit(env, exports);
  sgt::registerPixelNorm(env, exports);
  sgt::registerFusedGrad(env, exports);
  sgt::registerAdam(env, exports);
  sgt::registerTapMap(env, exports);
  sgt::registerBlur(env, exports);
  sgt::registerConvGrad(env, exports);
  sgt::registerToUint8(env, exports);
  sgt::registerReducer(env, exports);
  return exports;
}

NODE_API_MODULE(stylegan_torch, Init)
