#include "async_loss.h"

#include <ATen/Parallel.h>
#include <omp.h>

#include <algorithm>
#include <atomic>

#include "promise_worker.h"

namespace tl::binding {
namespace {

std::atomic<int> callsInFlight{0};

}  // namespace

IntraOpThreadShare::IntraOpThreadShare() {
  const int inFlight = ++callsInFlight;
  // ATen sets up a thread's OpenMP state lazily, from the process-wide setting: do it first, then
  // narrow this thread's share (omp_set_num_threads only affects the calling thread). One of the
  // configured threads is left to the JavaScript thread, so the event loop keeps its core.
  // Only once per libuv thread: init_num_threads re-creates libtorch's thread pool (ms).
  thread_local bool initialized = false;
  if (!initialized) {
    at::init_num_threads();
    initialized = true;
  }
  omp_set_num_threads(std::max(1, (at::get_num_threads() - 1) / inFlight));
}

IntraOpThreadShare::~IntraOpThreadShare() { --callsInFlight; }

Napi::Value queueLossWorker(Napi::Env env, LossRunner run, ResultFormat format) {
  return PromiseWorker<ops::LossOutput>::queue(
      env, "torch-losses:loss",
      [run = std::move(run)] {
        IntraOpThreadShare share;
        return run();
      },
      [format = std::move(format)](Napi::Env resultEnv, ops::LossOutput& out) -> Napi::Value {
        return format.build(resultEnv, out);
      });
}

}  // namespace tl::binding
