// The one translation unit that includes <torch/serialize.h>.
#include "checkpoint.h"

#include <ATen/core/Dict.h>
#include <torch/serialize.h>

#include "../common/errors.h"

namespace tl::modules {

std::vector<char> saveTensorDict(const NamedTensors& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, tensor] : tensors) dict.insert(name, tensor.detach().to(at::kCPU).contiguous());
  return torch::pickle_save(c10::IValue(dict));
}

NamedTensors loadTensorDict(const std::vector<char>& bytes) {
  if (bytes.empty()) rangeError("the checkpoint is empty (0 bytes)");
  const c10::IValue value = torch::pickle_load(bytes);
  if (!value.isGenericDict()) {
    rangeError("the checkpoint must hold a dict of name -> tensor (torch.save({...})), got ", value.tagKind());
  }
  NamedTensors out;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString()) rangeError("the checkpoint's dict keys must be strings, got ", entry.key().tagKind());
    const std::string name = entry.key().toStringRef();
    if (!entry.value().isTensor()) {
      rangeError("the checkpoint's entry '", name, "' must be a tensor, got ", entry.value().tagKind());
    }
    out.emplace_back(name, entry.value().toTensor());
  }
  return out;
}

}  // namespace tl::modules
