// Per-environment state: one per main thread / worker thread that loads the addon, which is
// what makes the addon context-aware (no process-wide JS handles).
#pragma once
#include <napi.h>

namespace tl::binding {

struct AddonState {
  Napi::FunctionReference deviceErrorClass;
  Napi::FunctionReference torchErrorClass;

  static AddonState* of(Napi::Env env) { return env.GetInstanceData<AddonState>(); }
};

}  // namespace tl::binding
