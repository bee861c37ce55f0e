#include "loss_call.h"

#include "../common/errors.h"

namespace tl::binding {

LossCall::LossCall(const Napi::CallbackInfo& info, size_t optionsIndex)
    : info_(info), options_(info[optionsIndex]), device_(options_.device()) {
  args_.reserve(optionsIndex);
  for (size_t i = 0; i < optionsIndex; ++i) args_.push_back(JsArg::read(info[i]));
}

at::Tensor LossCall::tensor(size_t index, const char* name) {
  at::Tensor t = args_.at(index).tensor(name);
  if (firstName_ == nullptr) {
    firstName_ = name;
    firstTensor_ = t;
    dtype_ = t.scalar_type();
  } else {
    requireSameDtype(name, t, firstName_, firstTensor_);
  }
  return onDevice(t, device_);
}

at::Tensor LossCall::labels(size_t index, const char* name) {
  return onDevice(args_.at(index).labels(name), device_);
}

bool LossCall::holdsLabels(size_t index) const { return args_.at(index).holdsLabels(); }

std::optional<at::Tensor> LossCall::optionalTensor(const char* key) {
  const JsArg* arg = options_.tensorArg(key);
  if (arg == nullptr) return std::nullopt;
  at::Tensor t = arg->tensor(key);
  if (dtype_) t = t.to(*dtype_);
  return onDevice(t, device_);
}

Napi::Value LossCall::result(const ops::LossOutput& out, std::initializer_list<const char*> gradNames,
                             bool perElement) const {
  Napi::Env env = info_.Env();
  Napi::Object result = Napi::Object::New(env);
  if (perElement) {
    result.Set("loss", out.loss.sum().item<double>());
    result.Set("losses", typedArrayFromTensor(env, out.loss));
  } else {
    result.Set("loss", out.loss.item<double>());
  }
  if (!out.grads.empty()) {
    Napi::Object grads = Napi::Object::New(env);
    size_t i = 0;
    for (const char* name : gradNames) {
      if (i < out.grads.size()) grads.Set(name, typedArrayFromTensor(env, out.grads[i]));
      ++i;
    }
    result.Set("grad", grads);
  }
  return result;
}

}  // namespace tl::binding
