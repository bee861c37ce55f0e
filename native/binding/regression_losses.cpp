// Bindings of the pointwise regression losses: (input, target, options), gradients for both.
#include "../ops/regression_losses.h"

#include "../common/errors.h"
#include "loss_call.h"
#include "losses.h"

namespace tl::binding {
namespace {

const std::initializer_list<const char*> kGradNames{"input", "target"};

// Reads input and target, then runs op(input, target, call).
template <typename Op>
Napi::Value pointwise(const Napi::CallbackInfo& info, Op op) {
  LossCall call(info, 2);
  const at::Tensor input = call.tensor(0, "input"), target = call.tensor(1, "target");
  return op(call, input, target);
}

Napi::Value klDiv(const Napi::CallbackInfo& info) {
  return pointwise(info, [](LossCall& call, const at::Tensor& input, const at::Tensor& target) {
    const std::string name = call.options().text("reduction", "mean");
    ops::KlDivReduction reduction;
    if (name == "batchmean") reduction = ops::KlDivReduction::BatchMean;
    else if (name == "mean") reduction = ops::KlDivReduction::Mean;
    else if (name == "sum") reduction = ops::KlDivReduction::Sum;
    else if (name == "none") reduction = ops::KlDivReduction::None;
    else rangeError("`reduction` must be 'none', 'batchmean', 'sum' or 'mean', got '", name, "'");
    const bool logTarget = call.options().flag("logTarget", false);
    const bool needGrad = call.needGrad();
    return call.finish([=] { return ops::klDivLoss(input, target, logTarget, reduction, needGrad); }, kGradNames,
                       reduction == ops::KlDivReduction::None);
  });
}

}  // namespace

void exportRegressionLosses(Napi::Env env, Napi::Object exports) {
  exportLoss(env, exports, "l1Loss", [](const Napi::CallbackInfo& info) {
    return pointwise(info, [](LossCall& c, const at::Tensor& x, const at::Tensor& y) {
      const bool needGrad = c.needGrad();
      const ops::Reduction reduction = c.options().reduction();
      return c.finish([=] { return ops::l1Loss(x, y, reduction, needGrad); }, kGradNames);
    });
  });
  exportLoss(env, exports, "mseLoss", [](const Napi::CallbackInfo& info) {
    return pointwise(info, [](LossCall& c, const at::Tensor& x, const at::Tensor& y) {
      const bool needGrad = c.needGrad();
      const ops::Reduction reduction = c.options().reduction();
      return c.finish([=] { return ops::mseLoss(x, y, reduction, needGrad); }, kGradNames);
    });
  });
  exportLoss(env, exports, "smoothL1Loss", [](const Napi::CallbackInfo& info) {
    return pointwise(info, [](LossCall& c, const at::Tensor& x, const at::Tensor& y) {
      const double beta = c.options().number("beta", 1.0);
      const bool needGrad = c.needGrad();
      const ops::Reduction reduction = c.options().reduction();
      return c.finish([=] { return ops::smoothL1Loss(x, y, beta, reduction, needGrad); }, kGradNames);
    });
  });
  exportLoss(env, exports, "huberLoss", [](const Napi::CallbackInfo& info) {
    return pointwise(info, [](LossCall& c, const at::Tensor& x, const at::Tensor& y) {
      const double delta = c.options().number("delta", 1.0);
      const bool needGrad = c.needGrad();
      const ops::Reduction reduction = c.options().reduction();
      return c.finish([=] { return ops::huberLoss(x, y, delta, reduction, needGrad); }, kGradNames);
    });
  });
  exportLoss(env, exports, "poissonNllLoss", [](const Napi::CallbackInfo& info) {
    return pointwise(info, [](LossCall& c, const at::Tensor& x, const at::Tensor& y) {
      ops::PoissonNllOptions o;
      o.logInput = c.options().flag("logInput", o.logInput);
      o.full = c.options().flag("full", o.full);
      o.eps = c.options().number("eps", o.eps);
      o.reduction = c.options().reduction();
      const bool needGrad = c.needGrad();
      return c.finish([=] { return ops::poissonNllLoss(x, y, o, needGrad); }, kGradNames);
    });
  });
  exportLoss(env, exports, "klDivLoss", klDiv);
}

}  // namespace tl::binding
