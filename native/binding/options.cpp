#include "options.h"

#include <cmath>

#include "../common/errors.h"
#include "device.h"

namespace tl::binding {

OptionReader::OptionReader(const Napi::Value& value) {
  if (!value.IsEmpty() && !value.IsUndefined() && !value.IsNull()) {
    if (!value.IsObject() || value.IsArray() || value.IsTypedArray()) typeError("`options` must be an object");
    const Napi::Object object = value.As<Napi::Object>();
    const Napi::Array keys = object.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      const Napi::Value key = keys.Get(i);
      if (!key.IsString()) continue;
      values_.emplace(key.As<Napi::String>().Utf8Value(), JsArg::read(object.Get(key)));
    }
  }
  device_ = resolveDevice(text("device", "cpu"));
}

Napi::Value OptionReader::get(const char* key) const {
  const auto found = values_.find(key);
  return found == values_.end() ? Napi::Value() : found->second.value();
}

const JsArg* OptionReader::tensorArg(const char* key) const {
  const auto found = values_.find(key);
  return found == values_.end() || !found->second.present() ? nullptr : &found->second;
}

double OptionReader::number(const char* key, double fallback, bool allowInfinity) const {
  const Napi::Value value = get(key);
  if (value.IsEmpty() || value.IsUndefined()) return fallback;
  if (!value.IsNumber()) typeError("`", key, "` must be a number");
  const double number = value.As<Napi::Number>().DoubleValue();
  if (std::isnan(number) || (!allowInfinity && std::isinf(number))) {
    rangeError("`", key, "` must be a finite number, got ", number);
  }
  return number;
}

int64_t OptionReader::integer(const char* key, int64_t fallback) const {
  const Napi::Value value = get(key);
  if (value.IsEmpty() || value.IsUndefined()) return fallback;
  if (!value.IsNumber()) typeError("`", key, "` must be an integer");
  const double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number) || std::floor(number) != number || std::fabs(number) > 9007199254740991.0) {
    rangeError("`", key, "` must be an integer, got ", number);
  }
  return static_cast<int64_t>(number);
}

bool OptionReader::isNull(const char* key) const {
  const Napi::Value value = get(key);
  return !value.IsEmpty() && value.IsNull();
}

bool OptionReader::flag(const char* key, bool fallback) const {
  const Napi::Value value = get(key);
  if (value.IsEmpty() || value.IsUndefined()) return fallback;
  if (!value.IsBoolean()) typeError("`", key, "` must be a boolean");
  return value.As<Napi::Boolean>().Value();
}

std::string OptionReader::text(const char* key, const std::string& fallback) const {
  const Napi::Value value = get(key);
  if (value.IsEmpty() || value.IsUndefined()) return fallback;
  if (!value.IsString()) typeError("`", key, "` must be a string");
  return value.As<Napi::String>().Utf8Value();
}

ops::Reduction OptionReader::reduction() const {
  const std::string name = text("reduction", "mean");
  if (name == "mean") return ops::Reduction::Mean;
  if (name == "sum") return ops::Reduction::Sum;
  if (name == "none") return ops::Reduction::None;
  rangeError("`reduction` must be 'mean', 'sum' or 'none', got '", name, "'");
}

}  // namespace tl::binding
