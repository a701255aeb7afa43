// CPU allocators for libtorch: a caching allocator for large blocks, glibc's malloc with retention, or libtorch's
// default. Which one is used is chosen by TypeScript (src/engine/allocator.ts); this file only provides them.
//
// The caching allocator keeps freed blocks of >= 1 MiB (rounded up to 2 MiB, mapped 2 MiB-aligned and advised for
// transparent huge pages) and hands them out again for requests that fit within a slack factor, so that a network
// that allocates the same activation sizes every call stops paying first-touch page faults. A miss that would take
// the mapped total over a limit first releases cached blocks, smallest first. The limit is the larger of the one set
// and 1.5× the peak of the bytes in use, so a loop whose live set alone exceeds the set limit still reuses its blocks.
#include "common.h"

#include <c10/core/CPUAllocator.h>
#include <malloc.h>
#include <sys/mman.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>

namespace sgt {
namespace {

constexpr size_t kMinCached = 1 << 20;
constexpr size_t kGranule = 2 << 20;

class CachingCPUAllocator final : public c10::Allocator {
 public:
  explicit CachingCPUAllocator(c10::Allocator* fallback) : fallback_(fallback) {}

  c10::DataPtr allocate(size_t n) const override {
    if (n < kMinCached) return fallback_->allocate(n);
    return const_cast<CachingCPUAllocator*>(this)->take(n);
  }
  // oneDNN allocates through raw_allocate, which needs a deleter of the pointer alone.
  c10::DeleterFnPtr raw_deleter() const override { return &CachingCPUAllocator::giveBack; }

  void emptyCache() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, ptr] : free_) unmap(ptr, size);
    free_.clear();
    cached_ = 0;
  }
  struct Stats {
    size_t cached, mapped, hits, misses;
  };
  Stats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {cached_, mapped_, hits_, misses_};
  }

 private:
  c10::DataPtr take(size_t n) {
    size_t size = (n + kGranule - 1) / kGranule * kGranule;
    void* ptr = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.lower_bound(size);
      if (it != free_.end() && it->first <= size * slack_) {
        size = it->first;
        ptr = it->second;
        free_.erase(it);
        cached_ -= size;
        hits_++;
      } else {
        misses_++;
        // Over the limit: release cached blocks, smallest first, until the new block fits under it.
        size_t limit = std::max(limit_, static_cast<size_t>(peakLive_ * liveFactor_));
        for (auto s = free_.begin(); s != free_.end() && mapped_ + size > limit;) {
          unmap(s->second, s->first);
          cached_ -= s->first;
          s = free_.erase(s);
        }
      }
    }
    if (!ptr) ptr = map(size);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      live_.emplace(ptr, size);
      liveBytes_ += size;
      peakLive_ = std::max(peakLive_, liveBytes_);
    }
    return {ptr, ptr, &CachingCPUAllocator::giveBack, c10::Device(c10::DeviceType::CPU)};
  }

  static void giveBack(void* ctx);

  void* map(size_t size) {
    void* raw = mmap(nullptr, size + kGranule, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
      emptyCache();
      raw = mmap(nullptr, size + kGranule, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (raw == MAP_FAILED) throw std::bad_alloc();
    }
    auto start = reinterpret_cast<uintptr_t>(raw);
    uintptr_t aligned = (start + kGranule - 1) / kGranule * kGranule;
    if (aligned > start) munmap(raw, aligned - start);
    uintptr_t end = start + size + kGranule;
    if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - aligned - size);
    auto* ptr = reinterpret_cast<void*>(aligned);

    std::lock_guard<std::mutex> lock(mutex_);
    mapped_ += size;
    return ptr;
  }
  void unmap(void* ptr, size_t size) {  // mutex_ held
    munmap(ptr, size);
    mapped_ -= size;
  }
  // Caches a block of ours; false for a pointer of the fallback allocator.
  bool put(void* ptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(ptr);
    if (it == live_.end()) return false;
    free_.emplace(it->second, ptr);
    cached_ += it->second;
    liveBytes_ -= it->second;
    live_.erase(it);
    return true;
  }

  c10::Allocator* fallback_;
  std::mutex mutex_;
  std::multimap<size_t, void*> free_;
  std::unordered_map<void*, size_t> live_;
  size_t cached_ = 0, mapped_ = 0, hits_ = 0, misses_ = 0, liveBytes_ = 0, peakLive_ = 0;

 public:
  double slack_ = 1.125;      // a cached block serves requests down to 1/slack of its size
  size_t limit_ = SIZE_MAX;   // mapped bytes above which cached blocks are released before mapping more
  // The limit grows to this multiple of the most bytes ever in use at once: a working set larger than the limit
  // (training keeps every activation for backward) would otherwise release and map blocks on every step.
  double liveFactor_ = 1.5;
};

CachingCPUAllocator* caching = nullptr;
c10::Allocator* system = nullptr;

void CachingCPUAllocator::giveBack(void* ptr) {
  if (!caching->put(ptr)) caching->fallback_->raw_deleter()(ptr);
}

void ensureAllocators() {
  if (caching) return;
  system = c10::GetCPUAllocator();
  caching = new CachingCPUAllocator(system);  // lives as long as the process: blocks may outlive any scope
}

}  // namespace

// setCpuAllocator(kind, slack, limitBytes): 'caching' | 'system'. Later allocations use it; live tensors keep their
// own deleters. slack and limitBytes tune the caching allocator (0 leaves a value as it is).
SGT_FN(setCpuAllocator) {
  ensureAllocators();
  auto kind = info[0].As<Napi::String>().Utf8Value();
  if (info.Length() > 1 && NUM(1) > 0) caching->slack_ = NUM(1);
  if (info.Length() > 2 && NUM(2) > 0) caching->limit_ = static_cast<size_t>(NUM(2));
  if (kind == "caching") c10::SetCPUAllocator(caching, 100);
  else if (kind == "system") c10::SetCPUAllocator(system, 100);
  else throw Napi::Error::New(env, "setCpuAllocator: expected 'caching' or 'system', got '" + kind + "'");
  return env.Undefined();
}
// mallopt(param, value) for the glibc tunables: 'mmapThreshold' | 'trimThreshold' | 'topPad' | 'mmapMax' | 'arenaMax'.
SGT_FN(mallopt) {
  auto name = info[0].As<Napi::String>().Utf8Value();
  int param = name == "mmapThreshold" ? M_MMAP_THRESHOLD : name == "trimThreshold" ? M_TRIM_THRESHOLD
            : name == "topPad" ? M_TOP_PAD : name == "mmapMax" ? M_MMAP_MAX : name == "arenaMax" ? M_ARENA_MAX : 0;
  if (!param) throw Napi::Error::New(env, "mallopt: unknown parameter '" + name + "'");
  return Napi::Boolean::New(env, ::mallopt(param, static_cast<int>(INT(1))) == 1);
}
SGT_FN(cpuAllocatorStats) {
  ensureAllocators();
  auto s = caching->stats();
  auto o = Napi::Object::New(env);
  o.Set("cachedBytes", Napi::Number::New(env, static_cast<double>(s.cached)));
  o.Set("mappedBytes", Napi::Number::New(env, static_cast<double>(s.mapped)));
  o.Set("hits", Napi::Number::New(env, static_cast<double>(s.hits)));
  o.Set("misses", Napi::Number::New(env, static_cast<double>(s.misses)));
  return o;
}
SGT_FN(emptyCpuCache) {
  ensureAllocators();
  caching->emptyCache();
  return env.Undefined();
}

void registerAlloc(Napi::Env env, Exports exports) {
  SGT_EXPORT(setCpuAllocator); SGT_EXPORT(mallopt); SGT_EXPORT(cpuAllocatorStats); SGT_EXPORT(emptyCpuCache);
}

}  // namespace sgt
