// Memory formats: converting a tensor to channels-last (NHWC in memory, NCHW in shape) or back, and testing for one.
#include "common.h"

namespace sgt {
namespace {
at::MemoryFormat toFormat(const Napi::Value& v) {
  auto name = v.As<Napi::String>().Utf8Value();
  if (name == "channels_last") return at::MemoryFormat::ChannelsLast;
  if (name == "contiguous") return at::MemoryFormat::Contiguous;
  throw std::runtime_error("memory format must be 'contiguous' or 'channels_last', got '" + name + "'");
}
}  // namespace

SGT_FN(contiguousAs) { return WRAP(T(0).contiguous(toFormat(info[1]))); }
SGT_FN(isContiguousAs) { return Napi::Boolean::New(env, T(0).is_contiguous(toFormat(info[1]))); }

void registerLayout(Napi::Env env, Exports exports) { SGT_EXPORT(contiguousAs); SGT_EXPORT(isContiguousAs); }

}  // namespace sgt
