// Turns C++ exceptions into the JavaScript errors of the design's table. Every exported
// function runs its body through `guarded`, so no exception can cross into V8 unconverted
// and no input can abort the process.
#pragma once
#include <napi.h>

#include <exception>

namespace tl::binding {

// Throws (as a pending JS exception) the JavaScript error that matches `error`.
[[noreturn]] void rethrowAsJs(Napi::Env env, std::exception_ptr error);

template <typename Body>
Napi::Value guarded(const Napi::CallbackInfo& info, Body&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;  // already a JS exception
  } catch (...) {
    rethrowAsJs(info.Env(), std::current_exception());
  }
}

// Lets the JavaScript facade supply its DeviceError / TorchError classes and its realm's
// TypeError / RangeError, so that errors thrown here are instances of them. Without it, errors
// of this addon's realm are thrown (custom ones as plain Errors with the right `name`).
Napi::Value registerErrorClasses(const Napi::CallbackInfo& info);

// Makes an error of the given class ("DeviceError", "TorchError", "TypeError", "RangeError").
Napi::Error makeNamedError(Napi::Env env, const char* className, const std::string& message);

}  // namespace tl::binding
