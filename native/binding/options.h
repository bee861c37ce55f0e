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

  // An integer (e.g. ignoreIndex), within ±2^53.
  int64_t integer(const char* key, int64_t fallback) const;
  // The raw value, for options that are tensors (weight, posWeight); empty when absent.
  Napi::Value raw(const char* key) const { return get(key); }

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
