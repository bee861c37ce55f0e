// Reads a loss's options object ({ margin, reduction, grad, device, ... }). The TypeScript
// facade has validated it already; these checks are for callers that reach the binding directly.
// Every property is read once, in the constructor, so that no getter runs after a call has
// started taking pointers into typed arrays (see JsArg).
#pragma once
#include <c10/core/Device.h>
#include <napi.h>

#include <map>
#include <string>

#include "marshal.h"

#include "../ops/loss_output.h"

namespace tl::binding {

class OptionReader {
 public:
  explicit OptionReader(const Napi::Value& value);

  // A finite number (or ±Infinity with allowInfinity); `fallback` when absent/undefined.
  double number(const char* key, double fallback, bool allowInfinity = false) const;
  bool flag(const char* key, bool fallback) const;
  // Whether the option is given as null (e.g. `margin: null`, the soft-margin triplet loss).
  bool isNull(const char* key) const;
  std::string text(const char* key, const std::string& fallback) const;

  // An integer (e.g. ignoreIndex), within ±2^53.
  int64_t integer(const char* key, int64_t fallback) const;
  // A tensor-valued option (weight, posWeight); nullptr when absent.
  const JsArg* tensorArg(const char* key) const;

  ops::Reduction reduction() const;  // 'mean' (default) | 'sum' | 'none'
  bool wantsGrad() const { return flag("grad", true); }
  c10::Device device() const { return device_; }
  // Whether `device` was given explicitly.
  bool hasDevice() const { return !get("device").IsEmpty() && !get("device").IsUndefined(); }

 private:
  Napi::Value get(const char* key) const;
  std::map<std::string, JsArg> values_;
  c10::Device device_{c10::kCPU};
};

}  // namespace tl::binding
