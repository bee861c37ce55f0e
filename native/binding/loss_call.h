// The shared path of every loss binding: JS arguments -> tensors on the requested device ->
// op -> { loss, losses?, grad? } with gradients in the input's layout and precision.
#pragma once
#include <napi.h>

#include <initializer_list>
#include <optional>

#include "../ops/loss_output.h"
#include "errors.h"
#include "marshal.h"
#include "options.h"

namespace tl::binding {

class LossCall {
 public:
  // Options are read from info[optionsIndex] (absent = defaults).
  LossCall(const Napi::CallbackInfo& info, size_t optionsIndex);

  const OptionReader& options() const { return options_; }
  bool needGrad() const { return options_.wantsGrad(); }
  const c10::Device& device() const { return device_; }

  // A float tensor argument. All float arguments of one call share the first one's dtype.
  at::Tensor tensor(size_t index, const char* name);
  // An integer label argument (Int32Array | BigInt64Array | number[]) as int64.
  at::Tensor labels(size_t index, const char* name);
  // Whether argument `index` is given as labels rather than as a float tensor.
  bool holdsLabels(size_t index) const;
  // A float tensor option such as `weight`, converted to the call's dtype; nullopt when absent.
  std::optional<at::Tensor> optionalTensor(const char* key);

  // { loss, losses? (when perElement), grad?: { gradNames[i]: out.grads[i] } }.
  Napi::Value result(const ops::LossOutput& out, std::initializer_list<const char*> gradNames,
                     bool perElement) const;
  Napi::Value result(const ops::LossOutput& out, std::initializer_list<const char*> gradNames) const {
    return result(out, gradNames, options_.reduction() == ops::Reduction::None);
  }

 private:
  const Napi::CallbackInfo& info_;
  OptionReader options_;
  std::vector<JsArg> args_;  // every positional argument, read before any pointer is taken
  c10::Device device_;
  std::optional<at::ScalarType> dtype_;
  const char* firstName_ = nullptr;
  at::Tensor firstTensor_;
};

}  // namespace tl::binding
