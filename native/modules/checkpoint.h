// Checkpoints: a dict of named tensors in the format of Python's torch.save / torch.load
// (torch::pickle_save / pickle_load). Only checkpoint.cpp includes <torch/serialize.h>.
#pragma once
#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

namespace tl::modules {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// The bytes of `torch.save({name: tensor, ...})` (tensors copied to the CPU).
std::vector<char> saveTensorDict(const NamedTensors& tensors);

// The dict of a torch.save'd file. A file that is not one (corrupt, truncated) is a TorchError
// (libtorch's message); a readable file that holds something other than a dict of str -> tensor
// is a RangeError.
NamedTensors loadTensorDict(const std::vector<char>& bytes);

}  // namespace tl::modules
