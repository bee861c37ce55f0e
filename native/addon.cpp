// Module entry point. N-API modules are context-aware: each thread that loads the addon gets
// its own AddonState, so several worker_threads and jest's per-file reloads are safe.
#include <napi.h>

#include "binding/addon_state.h"
#include "binding/losses.h"
#include "binding/param_module.h"
#include "binding/retrieval_metrics.h"
#include "binding/runtime.h"
#include "binding/tensor_handle.h"
#include "distributed/dist_binding.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new tl::binding::AddonState());
  tl::binding::exportRuntime(env, exports);
  tl::binding::TensorHandle::exportClass(env, exports);
  tl::binding::exportLosses(env, exports);
  tl::binding::ParamModule::exportClass(env, exports);
  tl::binding::exportRetrievalMetrics(env, exports);
  tl::binding::exportDist(env, exports);
  return exports;
}

NODE_API_MODULE(torch_losses, Init)
