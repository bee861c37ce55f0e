// The shared path of every loss binding: JS arguments -> tensors on the call's device -> op ->
// { loss, losses?, grad?, ... }, synchronously or, for the *Async exports, on a worker thread.
//
//   LossCall call(info, optionsIndex);
//   const at::Tensor x = call.tensor(0, "input");               // read every argument first,
//   const double margin = call.options().number("margin", 1);   // then
//   return call.finish([=] { return ops::someLoss(x, margin); }, {"input"});
//
// Device: a JS Tensor argument fixes the device (all Tensor arguments must agree, and so must an
// explicit `device` option); otherwise the `device` option (default 'cpu'). Gradients of Tensor
// arguments come back as Tensors on that device, the others as typed arrays.
#pragma once
#include <napi.h>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../ops/loss_output.h"
#include "errors.h"
#include "marshal.h"
#include "options.h"

namespace tl::binding {

using LossRunner = std::function<ops::LossOutput()>;
// Adds loss-specific fields (e.g. mining stats) to the result object, on the JS thread.
using ResultExtras = std::function<void(Napi::Env, Napi::Object&, const ops::LossOutput&)>;

// How a finished LossOutput becomes a JS object.
class JsResultMemory;

struct ResultFormat {
  std::vector<std::string> gradNames;
  std::set<std::string> tensorInputs;  // names whose gradients are returned as Tensors
  bool perElement = false;             // reduction 'none': also return `losses`
  bool externalArrays = false;         // async: large arrays view tensor memory (no copy)
  const JsResultMemory* jsMemory = nullptr;  // sync: result tensors allocated in JS ArrayBuffers
  ResultExtras extras;

  Napi::Object build(Napi::Env env, const ops::LossOutput& out) const;
};

class LossCall {
 public:
  // Options are read from info[optionsIndex]; the positional arguments before it are read too.
  // `info.Data()` non-null marks the *Async export of the binding.
  LossCall(const Napi::CallbackInfo& info, size_t optionsIndex);

  const OptionReader& options() const { return options_; }
  bool needGrad() const { return options_.wantsGrad(); }
  const c10::Device& device() const { return device_; }
  bool isAsync() const { return async_; }

  // A float tensor argument. All float arguments of one call share the first one's dtype.
  // Asynchronous calls get a copy of JS memory, so the caller may reuse its arrays at once.
  at::Tensor tensor(size_t index, const char* name);
  // An integer label argument (Int32Array | BigInt64Array | number[]) as a new int64 tensor.
  at::Tensor labels(size_t index, const char* name);
  // Whether argument `index` is given as labels rather than as a float tensor.
  bool holdsLabels(size_t index) const;
  // A float tensor option such as `weight`, in the call's dtype; nullopt when absent.
  std::optional<at::Tensor> optionalTensor(const char* key);

  // Runs `run` now (sync: returns the result object) or on a worker thread (async: returns a
  // Promise of it). gradNames name out.grads in order.
  Napi::Value finish(LossRunner run, std::initializer_list<const char*> gradNames,
                     std::optional<bool> perElement = std::nullopt, ResultExtras extras = nullptr);

  // The synchronous formatting of an already computed output.
  Napi::Value result(const ops::LossOutput& out, std::initializer_list<const char*> gradNames,
                     bool perElement) const;
  Napi::Value result(const ops::LossOutput& out, std::initializer_list<const char*> gradNames) const {
    return result(out, gradNames, options_.reduction() == ops::Reduction::None);
  }

 private:
  at::Tensor prepare(at::Tensor t, bool fromJsMemory) const;
  ResultFormat format(std::initializer_list<const char*> gradNames, bool perElement) const;

  Napi::Env env_;
  bool async_;
  OptionReader options_;
  std::vector<JsArg> args_;  // every positional argument, read before any pointer is taken
  c10::Device device_{c10::kCPU};
  std::optional<at::ScalarType> dtype_;
  const char* firstName_ = nullptr;
  at::Tensor firstTensor_;
  std::set<std::string> tensorInputs_;
  int64_t inputElements_ = 0;  // of every tensor argument: decides whether a sync call is small
};

// Registers `name` (sync) and `name + "Async"` (Promise) for a binding built on LossCall.
// Errors of the async form reject the promise with the same typed errors.
void exportLoss(Napi::Env env, Napi::Object exports, const char* name,
                Napi::Value (*binding)(const Napi::CallbackInfo&));

}  // namespace tl::binding
