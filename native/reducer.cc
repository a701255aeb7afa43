// c10d's Reducer, the gradient engine of torch.nn.parallel.DistributedDataParallel, mechanically: post-hooks on the
// parameters' gradient accumulators copy each gradient into its bucket as backward produces it, and a bucket whose
// gradients are all in is all-reduced at once on the process group's threads while backward goes on; at the end of
// backward the engine runs the Reducer's callback, which waits for the buckets and writes the averages into .grad.
// The hooks run on the autograd thread and need no JavaScript. Bucket membership and order come from TypeScript.
// Also `backwardInputs`, torch::autograd::backward accumulating into chosen leaves' .grad (what the hooks watch).
#include "common.h"
#include "distributed.h"

#include <torch/csrc/autograd/autograd.h>
#if TORCH_VERSION_MAJOR < 2
#include <torch/csrc/distributed/c10d/reducer.hpp>
#endif

#include <memory>

namespace sgt {

namespace {

#if TORCH_VERSION_MAJOR < 2
// The Reducer with one accessor more: whether it still expects hooks, i.e. a prepared backward has not finished
// reducing (a parameter that got no gradient although the graph reaches it leaves its bucket pending).
struct ReducerMirror : c10d::Reducer {
  using c10d::Reducer::Reducer;
  bool pending() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return expect_autograd_hooks_;
  }
};
struct ReducerBox {
  std::unique_ptr<ReducerMirror> reducer;
};

ReducerMirror& reducer(const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "expected a reducer");
  auto* b = v.As<Napi::External<ReducerBox>>().Data();
  if (!b->reducer) throw Napi::Error::New(v.Env(), "reducer was destroyed");
  return *b->reducer;
}
#endif

}  // namespace

// Whether this build has the Reducer (libtorch 1.x, whose Gloo / NCCL groups are c10d::ProcessGroup).
SGT_FN(reducerAvailable) { return Napi::Boolean::New(env, TORCH_VERSION_MAJOR < 2); }

// reducerNew(group, params[], bucketIndices[][], bucketBytes, findUnusedParameters) → reducer.
SGT_FN(reducerNew) {
#if TORCH_VERSION_MAJOR < 2
  auto& g = groupBox(info[0]);
  auto params = toTensors(info[1]);
  auto lists = info[2].As<Napi::Array>();
  std::vector<std::vector<size_t>> indices;
  for (uint32_t i = 0; i < lists.Length(); i++) {
    auto list = lists.Get(i).As<Napi::Array>();
    std::vector<size_t> bucket;
    for (uint32_t j = 0; j < list.Length(); j++) bucket.push_back(list.Get(j).As<Napi::Number>().Int64Value());
    indices.push_back(std::move(bucket));
  }
  int64_t cap = info[3].As<Napi::Number>().Int64Value();
  std::vector<size_t> limits(indices.size(), static_cast<size_t>(cap));
  std::vector<bool> sparse(params.size(), false);
  auto* box = new ReducerBox{std::make_unique<ReducerMirror>(
      params, indices, limits, g.group, sparse, cap, BOOL(4), /*gradient_as_bucket_view=*/false,
      std::unordered_map<size_t, std::string>{}, cap)};
  return Napi::External<ReducerBox>::New(env, box, [](Napi::Env, ReducerBox* b) { delete b; });
#else
  throw std::runtime_error("c10d::Reducer takes a c10d::ProcessGroup; this libtorch's groups are c10d::Backend");
#endif
}

// reducerPrepare(reducer, outputs[]): the Reducer's per-iteration reset before a backward from `outputs`.
SGT_FN(reducerPrepare) {
#if TORCH_VERSION_MAJOR < 2
  auto& r = reducer(info[0]);
  r.prepare_for_forward();
  r.prepare_for_backward(toTensors(info[1]));
#endif
  return env.Undefined();
}

SGT_FN(reducerPending) {
#if TORCH_VERSION_MAJOR < 2
  return Napi::Boolean::New(env, reducer(info[0]).pending());
#else
  return Napi::Boolean::New(env, false);
#endif
}

SGT_FN(reducerDestroy) {
#if TORCH_VERSION_MAJOR < 2
  if (info[0].IsExternal()) info[0].As<Napi::External<ReducerBox>>().Data()->reducer.reset();
#endif
  return env.Undefined();
}

// backwardInputs(outputs[], inputs[], retainGraph, createGraph): accumulates d(sum of outputs)/d(input) into each
// input's .grad; the graph runs only as far as the inputs need.
SGT_FN(backwardInputs) {
  auto outputs = toTensors(info[0]);
  auto inputs = toTensors(info[1]);
  bool create = BOOL(3);
  c10::optional<bool> retain = BOOL(2) || create ? c10::optional<bool>(true) : c10::nullopt;
  torch::autograd::backward(outputs, {}, retain, create, inputs);
  return env.Undefined();
}

void registerReducer(Napi::Env env, Exports exports) {
  SGT_EXPORT(reducerAvailable); SGT_EXPORT(reducerNew); SGT_EXPORT(reducerPrepare); SGT_EXPORT(reducerPending);
  SGT_EXPORT(reducerDestroy); SGT_EXPORT(backwardInputs);
}

}  // namespace sgt
