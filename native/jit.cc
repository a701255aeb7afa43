// TorchScript: torch::jit::load and method calls. Modules travel to JavaScript as type-tagged externals owning a
// torch::jit::Module. Arguments convert from JavaScript guided by the method's schema (so 1 becomes a float where the
// schema says float); results convert back: tensors, tuples/lists (arrays), dicts with string keys (objects), bools,
// numbers, strings and None (null).
// torch/script.h comes first: common.h defines short macros (T, NUM) that its templates would pick up.
#include <torch/script.h>

#include "common.h"

#include <memory>
#include <unordered_map>

namespace sgt {

namespace {
constexpr uint64_t kModuleMagic = 0x5347544a49544d31ull;  // marks externals that hold a JitBox
struct JitBox {
  uint64_t magic = kModuleMagic;
  std::unique_ptr<torch::jit::Module> module;
};

JitBox* jitBox(const Napi::Value& v) {
  if (!v.IsExternal()) return nullptr;
  auto* b = v.As<Napi::External<JitBox>>().Data();
  return b && b->magic == kModuleMagic ? b : nullptr;
}

torch::jit::Module& unwrapModule(const Napi::Value& v) {
  auto* b = jitBox(v);
  if (!b) throw Napi::TypeError::New(v.Env(), "expected a TorchScript module");
  if (!b->module) throw Napi::Error::New(v.Env(), "TorchScript module was disposed");
  return *b->module;
}

c10::IValue toIValue(const Napi::Value& v, const c10::TypePtr& hint);

c10::IValue toList(const Napi::Array& a, const c10::TypePtr& hint) {
  std::vector<c10::IValue> items;
  c10::TypePtr elem = nullptr;
  if (hint && hint->kind() == c10::TypeKind::ListType) elem = hint->expectRef<c10::ListType>().getElementType();
  auto tupleTypes = hint && hint->kind() == c10::TypeKind::TupleType ? hint->expectRef<c10::TupleType>().elements()
                                                                    : c10::ArrayRef<c10::TypePtr>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    c10::TypePtr h = elem ? elem : (i < tupleTypes.size() ? tupleTypes[i] : nullptr);
    items.push_back(toIValue(a.Get(i), h));
  }
  if (!hint || hint->kind() == c10::TypeKind::TupleType) return c10::ivalue::Tuple::create(std::move(items));
  // A typed list: its element type from the schema, or unified from the items.
  if (!elem) elem = items.empty() ? c10::TensorType::get() : items[0].type();
  c10::impl::GenericList list(elem);
  for (auto& x : items) list.push_back(std::move(x));
  return list;
}

c10::IValue toIValue(const Napi::Value& v, const c10::TypePtr& hintIn) {
  c10::TypePtr hint = hintIn;
  if (hint && hint->kind() == c10::TypeKind::OptionalType) hint = hint->expectRef<c10::OptionalType>().getElementType();
  if (v.IsUndefined() || v.IsNull()) return c10::IValue();
  if (isTensor(v)) return unwrap(v);
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value();
  if (v.IsString()) return v.As<Napi::String>().Utf8Value();
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    bool wantsFloat = hint && hint->kind() == c10::TypeKind::FloatType;
    bool wantsInt = hint && hint->kind() == c10::TypeKind::IntType;
    if (wantsInt || (!wantsFloat && std::floor(d) == d && std::abs(d) < 9.007199254740992e15))
      return static_cast<int64_t>(d);
    return d;
  }
  if (v.IsArray()) {
    if (!hint || hint->kind() == c10::TypeKind::ListType || hint->kind() == c10::TypeKind::TupleType)
      return toList(v.As<Napi::Array>(), hint);
    // Arrays without a list hint become lists when homogeneous in the schema's sense, tuples otherwise.
    return toList(v.As<Napi::Array>(), nullptr);
  }
  throw Napi::TypeError::New(v.Env(), "TorchScript arguments must be tensors, numbers, booleans, strings, null or arrays");
}

Napi::Value fromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isNone()) return env.Null();
  if (v.isTensor()) return wrap(env, v.toTensor());
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    auto a = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) a.Set(static_cast<uint32_t>(i), fromIValue(env, elems[i]));
    return a;
  }
  if (v.isList()) {
    auto list = v.toListRef();
    auto a = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) a.Set(static_cast<uint32_t>(i), fromIValue(env, list[i]));
    return a;
  }
  if (v.isGenericDict()) {
    auto o = Napi::Object::New(env);
    for (const auto& kv : v.toGenericDict()) {
      if (!kv.key().isString()) throw std::runtime_error("TorchScript result: dict keys must be strings");
      o.Set(kv.key().toStringRef(), fromIValue(env, kv.value()));
    }
    return o;
  }
  throw std::runtime_error("TorchScript result of type " + v.type()->str() + " has no JavaScript form");
}

void finalizeModule(Napi::Env, JitBox* box) { delete box; }
}  // namespace

// jitLoad(path, device?) → module (in eval mode)
SGT_FN(jitLoad) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  auto* box = new JitBox();
  try {
    box->module = std::make_unique<torch::jit::Module>(torch::jit::load(path, toDevice(info[1])));
    box->module->eval();
  } catch (...) {
    delete box;
    throw;
  }
  return Napi::External<JitBox>::New(env, box, finalizeModule);
}

// jitCall(module, method, args[], kwargs{}) → converted result
SGT_FN(jitCall) {
  auto& m = unwrapModule(info[0]);
  std::string name = info[1].As<Napi::String>().Utf8Value();
  auto method = m.get_method(name);
  const auto& schema = method.function().getSchema();
  const auto& formals = schema.arguments();  // formals[0] is self
  auto args = info[2].As<Napi::Array>();
  std::vector<c10::IValue> stack;
  for (uint32_t i = 0; i < args.Length(); i++) {
    c10::TypePtr hint = i + 1 < formals.size() ? formals[i + 1].type() : nullptr;
    stack.push_back(toIValue(args.Get(i), hint));
  }
  torch::jit::Kwargs kwargs;
  if (info.Length() > 3 && info[3].IsObject()) {
    auto o = info[3].As<Napi::Object>();
    auto keys = o.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); i++) {
      std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
      c10::TypePtr hint = nullptr;
      for (const auto& f : formals) if (f.name() == key) hint = f.type();
      kwargs[key] = toIValue(o.Get(key), hint);
    }
  }
  return fromIValue(env, method(std::move(stack), kwargs));
}

// jitMethods(module) → names of the module's methods
SGT_FN(jitMethods) {
  auto& m = unwrapModule(info[0]);
  auto methods = m.get_methods();
  auto a = Napi::Array::New(env);
  uint32_t i = 0;
  for (const auto& method : methods) a.Set(i++, Napi::String::New(env, method.name()));
  return a;
}

// jitParameters(module) → the module's parameters (recursively), as tensors sharing storage
SGT_FN(jitParameters) {
  auto& m = unwrapModule(info[0]);
  std::vector<at::Tensor> ts;
  for (const auto& p : m.parameters(true)) ts.push_back(p);
  return fromTensors(env, ts);
}

SGT_FN(jitDispose) {
  auto* b = jitBox(info[0]);
  if (!b) throw Napi::TypeError::New(env, "expected a TorchScript module for jitDispose");
  b->module.reset();
  return env.Undefined();
}

void registerJit(Napi::Env env, Exports exports) {
  SGT_EXPORT(jitLoad); SGT_EXPORT(jitCall); SGT_EXPORT(jitMethods); SGT_EXPORT(jitParameters); SGT_EXPORT(jitDispose);
}

}  // namespace sgt
