// The one translation unit that includes <torch/nn.h>.
#include "embedding_head.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/nn.h>

#include "../common/errors.h"

namespace tl::modules {

struct EmbeddingHead::Impl : torch::nn::Module {
  torch::nn::Sequential body;
  torch::nn::BatchNorm1d neck{nullptr};
  torch::nn::Linear classifier{nullptr};

  explicit Impl(const EmbeddingHeadOptions& o) {
    int64_t width = o.inFeatures;
    for (const int64_t hidden : o.hiddenFeatures) {
      body->push_back(torch::nn::Linear(width, hidden));
      if (o.batchNorm) body->push_back(torch::nn::BatchNorm1d(hidden));
      body->push_back(torch::nn::ReLU());
      width = hidden;
    }
    body->push_back(torch::nn::Linear(width, o.outFeatures));
    register_module("body", body);
    if (o.bnNeck) {
      neck = register_module("neck", torch::nn::BatchNorm1d(o.outFeatures));
      neck->bias.requires_grad_(false);  // Bag of Tricks: the neck's shift is not learned
    }
    if (o.numClasses > 0) {
      classifier = register_module("classifier",
                                   torch::nn::Linear(torch::nn::LinearOptions(o.outFeatures, o.numClasses).bias(false)));
    }
  }
};

EmbeddingHead::EmbeddingHead(const EmbeddingHeadOptions& options) : options_(options) {
  if (options.inFeatures <= 0) rangeError("`inFeatures` must be a positive integer, got ", options.inFeatures);
  if (options.outFeatures <= 0) rangeError("`outFeatures` must be a positive integer, got ", options.outFeatures);
  for (size_t i = 0; i < options.hiddenFeatures.size(); ++i) {
    if (options.hiddenFeatures[i] <= 0) {
      rangeError("`hiddenFeatures[", i, "]` must be a positive integer, got ", options.hiddenFeatures[i]);
    }
  }
  if (options.numClasses < 0) rangeError("`numClasses` must be a positive integer, got ", options.numClasses);
  impl_ = std::make_unique<Impl>(options);
}

EmbeddingHead::~EmbeddingHead() = default;

NamedTensors EmbeddingHead::parameters() const {
  NamedTensors out;
  for (const auto& p : impl_->named_parameters()) {
    if (p.value().requires_grad()) out.emplace_back(p.key(), p.value());
  }
  return out;
}

NamedTensors EmbeddingHead::buffers() const {
  NamedTensors out;
  for (const auto& p : impl_->named_parameters()) {
    if (!p.value().requires_grad()) out.emplace_back(p.key(), p.value());
  }
  for (const auto& b : impl_->named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

EmbeddingHeadOutput EmbeddingHead::forward(const at::Tensor& input) {
  EmbeddingHeadOutput out;
  at::Tensor features = impl_->body->forward(input);
  at::Tensor necked = impl_->neck ? impl_->neck->forward(features) : features;
  if (impl_->classifier) out.logits = impl_->classifier->forward(necked);
  out.embeddings = impl_->is_training() ? features : necked;
  if (options_.normalize) {
    out.embeddings = torch::nn::functional::normalize(out.embeddings, torch::nn::functional::NormalizeFuncOptions().dim(1));
  }
  return out;
}

void EmbeddingHead::train(bool on) { impl_->train(on); }

bool EmbeddingHead::isTraining() const { return impl_->is_training(); }

void EmbeddingHead::to(c10::Device device) { impl_->to(device); }

std::vector<at::Tensor> gradientsOf(const std::vector<at::Tensor>& outputs, const std::vector<at::Tensor>& grads,
                                    const std::vector<at::Tensor>& inputs) {
  torch::autograd::variable_list roots, seeds;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].defined() || !grads[i].defined()) continue;
    roots.push_back(outputs[i]);
    seeds.push_back(grads[i]);
  }
  std::vector<at::Tensor> result =
      torch::autograd::grad(roots, inputs, seeds, /*retain_graph=*/false, /*create_graph=*/false, /*allow_unused=*/true);
  for (size_t i = 0; i < result.size(); ++i) {
    if (!result[i].defined()) result[i] = at::zeros_like(inputs[i]);
  }
  return result;
}

}  // namespace tl::modules
