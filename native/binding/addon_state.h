// Per-environment state: one per main thread / worker thread that loads the addon, which is
// what makes the addon context-aware (no process-wide JS handles).
#pragma once
#include <napi.h>

namespace tl::binding {

struct AddonState {
  // Error classes of the JavaScript realm that loaded the facade (jest, vm contexts and
  // several copies of the package each have their own TypeError and RangeError).
  Napi::FunctionReference deviceErrorClass;
  Napi::FunctionReference torchErrorClass;
  Napi::FunctionReference typeErrorClass;
  Napi::FunctionReference rangeErrorClass;
  // The Tensor class of this environment (tensor_handle.cpp).
  Napi::FunctionReference tensorClass;

  static AddonState* of(Napi::Env env) { return env.GetInstanceData<AddonState>(); }
};

}  // namespace tl::binding
