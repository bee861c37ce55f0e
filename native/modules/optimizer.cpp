// The one translation unit that includes <torch/optim.h>.
#include "optimizer.h"

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <cmath>

#include "../common/errors.h"

namespace tl::modules {

OptimizerKind optimizerKind(const std::string& name) {
  if (name == "sgd") return OptimizerKind::SGD;
  if (name == "adam") return OptimizerKind::Adam;
  if (name == "adamw") return OptimizerKind::AdamW;
  rangeError("`optimizer.type` must be 'sgd', 'adam' or 'adamw', got '", name, "'");
}

const char* optimizerName(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::Adam: return "adam";
    case OptimizerKind::AdamW: return "adamw";
    default: return "sgd";
  }
}

void checkOptimizerSpec(const OptimizerSpec& s) {
  const auto nonNegative = [](const char* name, double v) {
    if (!(std::isfinite(v) && v >= 0)) rangeError("`optimizer.", name, "` must be a finite number >= 0, got ", v);
  };
  nonNegative("lr", s.lr);
  nonNegative("weightDecay", s.weightDecay);
  if (s.kind == OptimizerKind::SGD) {
    nonNegative("momentum", s.momentum);
    nonNegative("dampening", s.dampening);
    if (s.nesterov && (s.momentum <= 0 || s.dampening != 0)) {
      rangeError("`optimizer.nesterov` needs momentum > 0 and dampening 0 (as torch.optim.SGD), got momentum ",
                 s.momentum, " and dampening ", s.dampening);
    }
  } else {
    nonNegative("eps", s.eps);
    if (!(s.beta1 >= 0 && s.beta1 < 1)) rangeError("`optimizer.betas[0]` must be in [0, 1), got ", s.beta1);
    if (!(s.beta2 >= 0 && s.beta2 < 1)) rangeError("`optimizer.betas[1]` must be in [0, 1), got ", s.beta2);
  }
}

namespace {

template <typename Torch, typename Options>
class Wrapped final : public Optimizer {
 public:
  Wrapped(const std::vector<at::Tensor>& params, Options options) : optimizer_(params, options) {}
  void step() override { optimizer_.step(); }
  void setLearningRate(double lr) override {
    for (auto& group : optimizer_.param_groups()) static_cast<Options&>(group.options()).lr(lr);
  }

 private:
  Torch optimizer_;
};

}  // namespace

std::unique_ptr<Optimizer> makeOptimizer(const std::vector<at::Tensor>& params, const OptimizerSpec& s) {
  checkOptimizerSpec(s);
  switch (s.kind) {
    case OptimizerKind::Adam:
      return std::make_unique<Wrapped<torch::optim::Adam, torch::optim::AdamOptions>>(
          params, torch::optim::AdamOptions(s.lr)
                      .betas({s.beta1, s.beta2})
                      .eps(s.eps)
                      .weight_decay(s.weightDecay)
                      .amsgrad(s.amsgrad));
    case OptimizerKind::AdamW:
      return std::make_unique<Wrapped<torch::optim::AdamW, torch::optim::AdamWOptions>>(
          params, torch::optim::AdamWOptions(s.lr)
                      .betas({s.beta1, s.beta2})
                      .eps(s.eps)
                      .weight_decay(s.weightDecay)
                      .amsgrad(s.amsgrad));
    default:
      return std::make_unique<Wrapped<torch::optim::SGD, torch::optim::SGDOptions>>(
          params, torch::optim::SGDOptions(s.lr)
                      .momentum(s.momentum)
                      .dampening(s.dampening)
                      .weight_decay(s.weightDecay)
                      .nesterov(s.nesterov));
  }
}

}  // namespace tl::modules
