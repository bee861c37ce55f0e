// Reads a loss's options object ({ margin, reduction, grad, device, ... }). The TypeScript
// facade has validated it already; these checks are for callers that reach the binding directly.
#pragma once
#include <c10/core/Device.h>
#include <napi.h>

#include "../ops/loss_output.h"

namespace tl::binding {

class OptionReader {
 public:
  explicit OptionReader(const Napi::Value& value);

  // A finite number (or ±Infinity with allowInfinity); `fallback` when absent/undefined.
  double number(const char* key, double fallback, bool allowInfinity = false) const;
  bool flag(const char* key, bool fallback) const;
  std::string text(const char* key, const std::string& fallback) const;

  ops::Reduction reduction() const;  // 'mean' (default) | 'sum' | 'none'
  bool wantsGrad() const { return flag("grad", true); }
  c10::Device device() const { return device_; }

 private:
  Napi::Value get(const char* key) const;
  Napi::Object object_;
  bool present_ = false;
  c10::Device device_{c10::kCPU};
};

}  // namespace tl::binding
