#include "runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <cmath>

#include "../common/errors.h"
#include "../ops/kernel_choice.h"
#include "device.h"
#include "errors.h"
#include "marshal.h"

namespace tl::binding {
namespace {

Napi::Value info(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("libtorchVersion", TORCH_VERSION);
    out.Set("cudaCompiled", cudaCompiled());
    const int64_t devices = cudaDeviceCount();
    out.Set("cudaAvailable", devices > 0);
    out.Set("cudaDeviceCount", static_cast<double>(devices));
    out.Set("numThreads", at::get_num_threads());
    out.Set("numInteropThreads", at::get_num_interop_threads());
    out.Set("parallelInfo", at::get_parallel_info());
    return out;
  });
}

int32_t threadCount(const Napi::CallbackInfo& info, const char* name) {
  if (info.Length() < 1 || !info[0].IsNumber()) typeError("`", name, "` must be an integer");
  const double n = info[0].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(n) || std::floor(n) != n) typeError("`", name, "` must be an integer, got ", n);
  if (n < 1 || n > 1024) rangeError("`", name, "` must be between 1 and 1024, got ", n);
  return static_cast<int32_t>(n);
}

Napi::Value setNumThreads(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    at::set_num_threads(threadCount(info, "threads"));
    return info.Env().Undefined();
  });
}

Napi::Value getNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value manualSeed(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    uint64_t seed = 0;
    if (info.Length() >= 1 && info[0].IsBigInt()) {
      bool lossless = true;
      seed = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
      if (!lossless) rangeError("`seed` must fit in 64 bits (0 <= seed < 2^64)");
    } else if (info.Length() >= 1 && info[0].IsNumber()) {
      const double s = info[0].As<Napi::Number>().DoubleValue();
      if (!std::isfinite(s) || std::floor(s) != s || s < 0 || s > 9007199254740991.0) {
        rangeError("`seed` must be a non-negative safe integer or a bigint, got ", s);
      }
      seed = static_cast<uint64_t>(s);
    } else {
      typeError("`seed` must be a number or a bigint");
    }
    at::manual_seed(seed);
    return info.Env().Undefined();
  });
}

Napi::Value cudaIsAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), cudaDeviceCount() > 0);
}

Napi::Value cudaCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(cudaDeviceCount()));
}

// Normalises a device string ('auto' -> 'cpu' or 'cuda:0') or throws DeviceError / RangeError.
Napi::Value checkDevice(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) typeError("`device` must be a string");
    return Napi::String::New(info.Env(),
                             deviceName(resolveDevice(info[0].As<Napi::String>().Utf8Value())));
  });
}

// Labels as the native layer sees them (int64), for tests of the label marshaling.
Napi::Value labelsToBigInt64(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const at::Tensor labels = JsArg::read(info[0]).labels("labels");
    Napi::BigInt64Array out = Napi::BigInt64Array::New(info.Env(), labels.numel());
    std::copy_n(labels.data_ptr<int64_t>(), labels.numel(), out.Data());
    return out;
  });
}

}  // namespace

void exportRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, info));
  exports.Set("setNumThreads", Napi::Function::New(env, setNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, getNumThreads));
  exports.Set("manualSeed", Napi::Function::New(env, manualSeed));
  exports.Set("cudaIsAvailable", Napi::Function::New(env, cudaIsAvailable));
  exports.Set("cudaDeviceCount", Napi::Function::New(env, cudaCount));
  exports.Set("checkDevice", Napi::Function::New(env, checkDevice));
  exports.Set("labelsToBigInt64", Napi::Function::New(env, labelsToBigInt64));
  exports.Set("registerErrorClasses", Napi::Function::New(env, registerErrorClasses));
  // Tests: how many calls the fused CPU kernels served.
  exports.Set("_fusedKernelCalls", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(ops::fusedKernelCalls.load()));
  }));
}

}  // namespace tl::binding
