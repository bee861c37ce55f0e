#include "errors.h"

#include <c10/util/Exception.h>

#include <new>

#include "../common/errors.h"
#include "addon_state.h"

namespace tl::binding {

Napi::Error makeNamedError(Napi::Env env, const char* className, const std::string& message) {
  AddonState* state = AddonState::of(env);
  const std::string name(className);
  Napi::FunctionReference* ctor = nullptr;
  if (state != nullptr) {
    ctor = name == "DeviceError"  ? &state->deviceErrorClass
           : name == "TorchError" ? &state->torchErrorClass
           : name == "TypeError"  ? &state->typeErrorClass
                                  : &state->rangeErrorClass;
  }
  if (ctor != nullptr && !ctor->IsEmpty()) {
    Napi::Object instance = ctor->New({Napi::String::New(env, message)});
    return Napi::Error(env, instance);
  }
  if (name == "TypeError") return Napi::TypeError::New(env, message);
  if (name == "RangeError") return Napi::RangeError::New(env, message);
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("name", Napi::String::New(env, className));
  return error;
}

// c10 messages end with a C++ backtrace ("Exception raised from ..."); users need the first part.
static std::string withoutBacktrace(const c10::Error& error) {
  std::string message = error.what_without_backtrace();
  const auto cut = message.find("\nException raised from");
  if (cut != std::string::npos) message.resize(cut);
  return message;
}

void rethrowAsJs(Napi::Env env, std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const tl::Error& e) {
    switch (e.kind()) {
      case ErrorKind::Type: throw makeNamedError(env, "TypeError", e.what());
      case ErrorKind::Range: throw makeNamedError(env, "RangeError", e.what());
      case ErrorKind::Device: throw makeNamedError(env, "DeviceError", e.what());
    }
    throw Napi::Error::New(env, e.what());
  } catch (const c10::Error& e) {
    std::string message = withoutBacktrace(e);
    // An allocation that failed (CPU or CUDA) is a size problem of the caller's input.
    if (message.find("out of memory") != std::string::npos ||
        message.find("DefaultCPUAllocator: can't allocate") != std::string::npos) {
      throw makeNamedError(env, "RangeError", "out of memory: " + message);
    }
    throw makeNamedError(env, "TorchError", message);
  } catch (const std::bad_alloc&) {
    throw makeNamedError(env, "RangeError", "out of memory: the requested tensors cannot be allocated");
  } catch (const std::length_error& e) {
    throw makeNamedError(env, "RangeError", std::string("size too large: ") + e.what());
  } catch (const std::exception& e) {
    throw makeNamedError(env, "TorchError", e.what());
  } catch (...) {
    throw makeNamedError(env, "TorchError", "unknown native exception");
  }
}

Napi::Value registerErrorClasses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  for (size_t i = 0; i < 4; ++i) {
    if (!info[i].IsFunction()) {
      throw Napi::TypeError::New(env, "registerErrorClasses(DeviceError, TorchError, TypeError, RangeError) needs four classes");
    }
  }
  AddonState* state = AddonState::of(env);
  state->deviceErrorClass = Napi::Persistent(info[0].As<Napi::Function>());
  state->torchErrorClass = Napi::Persistent(info[1].As<Napi::Function>());
  state->typeErrorClass = Napi::Persistent(info[2].As<Napi::Function>());
  state->rangeErrorClass = Napi::Persistent(info[3].As<Napi::Function>());
  return env.Undefined();
}

}  // namespace tl::binding
