// Device strings: 'cpu' | 'cuda' | 'cuda:N' | 'auto' (CUDA when available, else CPU).
#pragma once
#include <c10/core/Device.h>

#include <string>

namespace tl::binding {

// Parses and checks a device string. RangeError for a malformed string; DeviceError when
// CUDA is asked for and this libtorch has no CUDA, or the device index does not exist.
c10::Device resolveDevice(const std::string& spec);

bool cudaCompiled();
int64_t cudaDeviceCount();
std::string deviceName(const c10::Device& device);

}  // namespace tl::binding
