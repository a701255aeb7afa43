// c10d, mechanically: a TCPStore rendezvous, a process group (Gloo for CPU tensors; NCCL for CUDA tensors when the
// libtorch we build against has it), its collectives and their Work handles. Collectives are enqueued on the process
// group's own threads and return at once; a Work handle is waited on either here (blocking) or on a libuv worker
// thread that settles a Promise. Policy (environment variables, bucketing, data parallelism) lives in TypeScript.
#include "common.h"
#include "distributed.h"

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <torch/version.h>

#include <chrono>

namespace sgt {

namespace {

struct WorkBox {
  c10::intrusive_ptr<c10d::Work> work;
  std::vector<at::Tensor> outputs;  // allGather's results, kept alive and returned by workResult
};

GroupBox& group(const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "expected a process group");
  auto* g = v.As<Napi::External<GroupBox>>().Data();
  if (!g->group) throw Napi::Error::New(v.Env(), "process group was destroyed");
  return *g;
}
WorkBox& work(const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "expected a work handle");
  return *v.As<Napi::External<WorkBox>>().Data();
}
Napi::Value wrapWork(Napi::Env env, c10::intrusive_ptr<c10d::Work> w, std::vector<at::Tensor> outputs = {}) {
  auto* box = new WorkBox{std::move(w), std::move(outputs)};
  return Napi::External<WorkBox>::New(env, box, [](Napi::Env, WorkBox* b) { delete b; });
}
std::chrono::milliseconds millis(const Napi::Value& v) {
  return std::chrono::milliseconds(v.As<Napi::Number>().Int64Value());
}
c10d::ReduceOp reduceOp(const Napi::Value& v) {
  std::string op = v.As<Napi::String>().Utf8Value();
  if (op == "sum") return c10d::ReduceOp::SUM;
  if (op == "max") return c10d::ReduceOp::MAX;
  if (op == "min") return c10d::ReduceOp::MIN;
  if (op == "product") return c10d::ReduceOp::PRODUCT;
  throw Napi::RangeError::New(v.Env(), "unknown reduce op '" + op + "' (sum, max, min, product)");
}

// Waits for a Work on a libuv worker thread and settles a Promise with nothing, or with libtorch's error message.
class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, c10::intrusive_ptr<c10d::Work> w, std::chrono::milliseconds timeout)
      : Napi::AsyncWorker(env), work_(std::move(w)), timeout_(timeout), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      work_->wait(timeout_);
    } catch (const c10::Error& e) {
      SetError(e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  c10::intrusive_ptr<c10d::Work> work_;
  std::chrono::milliseconds timeout_;
  Napi::Promise::Deferred deferred_;
};

}  // namespace

GroupBox& groupBox(const Napi::Value& v) { return group(v); }

SGT_FN(distBackends) {
  auto out = Napi::Array::New(env);
  uint32_t i = 0;
#ifdef USE_C10D_GLOO
  out.Set(i++, "gloo");
#endif
#ifdef USE_C10D_NCCL
  out.Set(i++, "nccl");
#endif
  (void)i;
  return out;
}

// distInit(backend, host, port, rank, worldSize, timeoutMs, prefix): TCPStore (server on rank 0) → process group.
SGT_FN(distInit) {
  std::string backend = info[0].As<Napi::String>().Utf8Value();
  std::string host = info[1].As<Napi::String>().Utf8Value();
  int rank = static_cast<int>(INT(3)), size = static_cast<int>(INT(4));
  auto timeout = millis(info[5]);
  std::string prefix = info[6].As<Napi::String>().Utf8Value();
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(INT(2));
  so.isServer = rank == 0;
  so.numWorkers = static_cast<size_t>(size);
  so.waitWorkers = true;
  so.timeout = timeout;
  auto tcp = c10::make_intrusive<c10d::TCPStore>(host, so);
  c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::PrefixStore>(prefix, tcp);
  auto* box = new GroupBox{store, {}};
  try {
    if (backend == "gloo") {
#ifdef USE_C10D_GLOO
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
      opts->threads = 2;
      box->group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts);
#else
      throw std::runtime_error("this build of the addon has no Gloo (compile with USE_C10D_GLOO and the gloo headers)");
#endif
    } else if (backend == "nccl") {
#ifdef USE_C10D_NCCL
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = timeout;
      box->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts);
#else
      throw std::runtime_error("this build of the addon has no NCCL (it needs a CUDA libtorch built with NCCL)");
#endif
    } else {
      throw std::runtime_error("unknown backend '" + backend + "' (gloo, nccl)");
    }
  } catch (...) {
    delete box;
    throw;
  }
  return Napi::External<GroupBox>::New(env, box, [](Napi::Env, GroupBox* b) { delete b; });
}

SGT_FN(distDestroy) {
  auto& g = group(info[0]);
  g.group.reset();
  g.store.reset();
  return env.Undefined();
}

SGT_FN(distRank) { return Napi::Number::New(env, group(info[0]).group->getRank()); }
SGT_FN(distSize) { return Napi::Number::New(env, group(info[0]).group->getSize()); }

// allReduce(group, tensors[], op, timeoutMs) → work; in place.
SGT_FN(distAllReduce) {
  auto ts = toTensors(info[1]);
  c10d::AllreduceOptions o;
  o.reduceOp = reduceOp(info[2]);
  o.timeout = millis(info[3]);
  return wrapWork(env, group(info[0]).group->allreduce(ts, o));
}

// broadcast(group, tensors[], root, timeoutMs) → work; in place.
SGT_FN(distBroadcast) {
  auto ts = toTensors(info[1]);
  c10d::BroadcastOptions o;
  o.rootRank = INT(2);
  o.timeout = millis(info[3]);
  return wrapWork(env, group(info[0]).group->broadcast(ts, o));
}

// allGather(group, tensor, timeoutMs) → work whose result is one tensor per rank.
SGT_FN(distAllGather) {
  auto& g = group(info[0]);
  std::vector<at::Tensor> in{T(1)};
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < g.group->getSize(); r++) out[0].push_back(at::empty_like(in[0]));
  c10d::AllgatherOptions o;
  o.timeout = millis(info[2]);
  auto w = g.group->allgather(out, in, o);
  return wrapWork(env, w, out[0]);
}

SGT_FN(distBarrier) {
  c10d::BarrierOptions o;
  o.timeout = millis(info[1]);
  return wrapWork(env, group(info[0]).group->barrier(o));
}

// workWait(work, timeoutMs): blocks this thread until done; throws libtorch's error.
SGT_FN(workWait) {
  auto& w = work(info[0]);
  w.work->wait(millis(info[1]));
  return env.Undefined();
}
SGT_FN(workPromise) {
  auto* worker = new WaitWorker(env, work(info[0]).work, millis(info[1]));
  auto p = worker->promise();
  worker->Queue();
  return p;
}
SGT_FN(workIsCompleted) { return Napi::Boolean::New(env, work(info[0]).work->isCompleted()); }
SGT_FN(workResult) { return fromTensors(env, work(info[0]).outputs); }

// Store access for small rendezvous values (strings).
SGT_FN(storeSet) {
  std::string v = info[2].As<Napi::String>().Utf8Value();
  group(info[0]).store->set(info[1].As<Napi::String>().Utf8Value(), std::vector<uint8_t>(v.begin(), v.end()));
  return env.Undefined();
}
SGT_FN(storeGet) {
  auto v = group(info[0]).store->get(info[1].As<Napi::String>().Utf8Value());
  return Napi::String::New(env, std::string(v.begin(), v.end()));
}

void registerDistributed(Napi::Env env, Exports exports) {
  SGT_EXPORT(distBackends); SGT_EXPORT(distInit); SGT_EXPORT(distDestroy); SGT_EXPORT(distRank); SGT_EXPORT(distSize);
  SGT_EXPORT(distAllReduce); SGT_EXPORT(distBroadcast); SGT_EXPORT(distAllGather); SGT_EXPORT(distBarrier);
  SGT_EXPORT(workWait); SGT_EXPORT(workPromise); SGT_EXPORT(workIsCompleted); SGT_EXPORT(workResult);
  SGT_EXPORT(storeSet); SGT_EXPORT(storeGet);
}

}  // namespace sgt
