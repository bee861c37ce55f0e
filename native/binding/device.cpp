#include "device.h"

#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <algorithm>
#include <cctype>

#include "../common/errors.h"

namespace tl::binding {

bool cudaCompiled() {
  // The CPU-only libtorch answers this with an exception ("without ATen_cuda library").
  try {
    return at::detail::getCUDAHooks().versionCUDART() > 0;
  } catch (...) {
    return false;
  }
}

int64_t cudaDeviceCount() { return static_cast<int64_t>(torch::cuda::device_count()); }

std::string deviceName(const c10::Device& device) {
  return device.is_cpu() ? "cpu" : "cuda:" + std::to_string(device.has_index() ? device.index() : 0);
}

c10::Device resolveDevice(const std::string& spec) {
  if (spec == "cpu") return c10::Device(c10::kCPU);
  if (spec == "auto") {
    return cudaDeviceCount() > 0 ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  }
  int64_t index = 0;
  if (spec.rfind("cuda", 0) != 0) {
    rangeError("`device` must be 'cpu', 'cuda', 'cuda:N' or 'auto', got '", spec, "'");
  }
  if (spec.size() > 4) {
    const std::string digits = spec.substr(5);
    const bool wellFormed = spec[4] == ':' && !digits.empty() && digits.size() <= 4 &&
                            std::all_of(digits.begin(), digits.end(), ::isdigit);
    if (!wellFormed) {
      rangeError("`device` must be 'cpu', 'cuda', 'cuda:N' or 'auto', got '", spec, "'");
    }
    index = std::stoll(digits);
  }
  if (!cudaCompiled()) {
    deviceError("device '", spec, "' asks for CUDA, but the libtorch this addon was built against (",
                TORCH_VERSION, ") has no CUDA support; use device 'cpu' or 'auto', or rebuild "
                "against a CUDA libtorch (LIBTORCH=... or LIBTORCH_USE_PYTORCH=1)");
  }
  const int64_t count = cudaDeviceCount();
  if (index >= count) {
    deviceError("device '", spec, "' does not exist: ", count, " CUDA device",
                count == 1 ? " is" : "s are", " visible", count ? "" : " (driver missing or CUDA_VISIBLE_DEVICES empty?)");
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

}  // namespace tl::binding
