// A small trainable embedding model (the ReID "head"): Linear -> [BatchNorm1d] -> ReLU blocks, a
// last Linear to the embedding, an optional BNNeck (Luo et al., "Bag of Tricks and A Strong
// Baseline for Deep Person Re-identification", CVPR-W 2019) with a bias-free classifier after it,
// and optional L2 normalisation. Built from torch::nn modules and trained by libtorch autograd;
// only embedding_head.cpp includes the heavy <torch/nn.h> (pimpl).
#pragma once
#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "checkpoint.h"

namespace tl::modules {

struct EmbeddingHeadOptions {
  int64_t inFeatures = 0;
  std::vector<int64_t> hiddenFeatures;  // one Linear [+ BatchNorm1d] + ReLU block per entry
  int64_t outFeatures = 0;
  bool batchNorm = true;   // BatchNorm1d in the hidden blocks
  bool bnNeck = false;     // BatchNorm1d (bias frozen at 0) on the embedding, before the classifier
  bool normalize = false;  // L2-normalise the returned embeddings
  int64_t numClasses = 0;  // > 0: a bias-free Linear classifier giving logits
};

struct EmbeddingHeadOutput {
  at::Tensor embeddings;  // [B, outFeatures]
  at::Tensor logits;      // [B, numClasses], undefined without a classifier
};

class EmbeddingHead {
 public:
  // Parameters initialised as PyTorch's nn.Linear / nn.BatchNorm1d do, on the CPU generator.
  explicit EmbeddingHead(const EmbeddingHeadOptions& options);
  ~EmbeddingHead();

  const EmbeddingHeadOptions& options() const { return options_; }
  // The trainable parameters, named as Python's state_dict names them ("body.0.weight", ...).
  NamedTensors parameters() const;
  // What a state_dict holds besides them: BatchNorm running statistics, the frozen neck bias.
  NamedTensors buffers() const;

  // input [B, inFeatures] on the module's device. In training mode with the BNNeck, the
  // embeddings are the features before the neck (for the metric losses) and the logits come
  // after it; in eval mode the embeddings are the neck's output (the BNNeck recipe). The
  // autograd graph is recorded when grad mode is on.
  EmbeddingHeadOutput forward(const at::Tensor& input);

  void train(bool on);
  bool isTraining() const;
  // Moves parameters and buffers in place (the same tensors, as nn.Module.to does).
  void to(c10::Device device);

 private:
  struct Impl;
  EmbeddingHeadOptions options_;
  std::unique_ptr<Impl> impl_;
};

// One backward pass from several outputs with their upstream gradients (undefined entries are
// skipped); returns d(sum_i <outputs_i, grads_i>) / d(inputs_j), zeros where an input is unused.
// The graph is freed afterwards.
std::vector<at::Tensor> gradientsOf(const std::vector<at::Tensor>& outputs, const std::vector<at::Tensor>& grads,
                                    const std::vector<at::Tensor>& inputs);

}  // namespace tl::modules
