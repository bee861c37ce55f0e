// The optimisers of the modules' parameters: libtorch's own torch::optim::SGD / Adam / AdamW
// (the update rules of torch.optim), behind a small interface so that only optimizer.cpp
// includes the heavy <torch/optim.h>.
#pragma once
#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

namespace tl::modules {

enum class OptimizerKind { SGD, Adam, AdamW };

// PyTorch's defaults (torch.optim, 1.13). SGD's lr has no default there; callers supply one.
struct OptimizerSpec {
  OptimizerKind kind = OptimizerKind::SGD;
  double lr = 0.01;
  // SGD
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;
  // Adam / AdamW
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  bool amsgrad = false;
  // both (AdamW's default is 1e-2, the others' 0)
  double weightDecay = 0.0;
};

// 'sgd' | 'adam' | 'adamw'; a RangeError for anything else.
OptimizerKind optimizerKind(const std::string& name);
const char* optimizerName(OptimizerKind kind);

// RangeError (naming the option) for values torch.optim rejects.
void checkOptimizerSpec(const OptimizerSpec& spec);

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of every parameter from its .grad() (set with mutable_grad()).
  virtual void step() = 0;
  virtual void setLearningRate(double lr) = 0;
};

// An optimiser over `params` (their TensorImpls key its state: keep updating them in place).
std::unique_ptr<Optimizer> makeOptimizer(const std::vector<at::Tensor>& params, const OptimizerSpec& spec);

}  // namespace tl::modules
