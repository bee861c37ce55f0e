// Runs a prepared loss on a libuv worker thread and settles a Promise with its result object.
#pragma once
#include <napi.h>

#include "loss_call.h"

namespace tl::binding {

Napi::Value queueLossWorker(Napi::Env env, LossRunner run, ResultFormat format);

// Intra-op threads for the async call about to run: the configured count (setNumThreads) less
// one for the JavaScript thread, divided among the calls in flight (at least 1 each), so that
// libuv's pool and OpenMP together stay within the cores.
class IntraOpThreadShare {
 public:
  IntraOpThreadShare();
  ~IntraOpThreadShare();
};

}  // namespace tl::binding
