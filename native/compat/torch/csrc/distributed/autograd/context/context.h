// Stand-in for libtorch's torch/csrc/distributed/autograd/context/context.h, which Debian's libtorch-dev does not
// ship although c10d/reducer.hpp includes it. binding.gyp puts this directory after libtorch's own include
// directories, so a libtorch that has the real header uses it. reducer.hpp needs only the two names below: the
// Reducer holds the (RPC) distributed-autograd context by shared_ptr and checks GradCallback's type. The addon never
// creates, dereferences or destroys such a context itself (the Reducer's own code, compiled into libtorch, does).
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
