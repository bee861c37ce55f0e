#include "marshal.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "../common/errors.h"
#include "tensor_handle.h"

namespace tl::binding {
namespace {

constexpr size_t kMaxDims = 16;
constexpr double kMaxSafeInteger = 9007199254740991.0;

}  // namespace

const char* describe(const Napi::Value& value) {
  if (value.IsUndefined()) return "undefined";
  if (value.IsNull()) return "null";
  if (value.IsTypedArray()) {
    switch (value.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_int8_array: return "Int8Array";
      case napi_uint8_array: return "Uint8Array";
      case napi_uint8_clamped_array: return "Uint8ClampedArray";
      case napi_int16_array: return "Int16Array";
      case napi_uint16_array: return "Uint16Array";
      case napi_int32_array: return "Int32Array";
      case napi_uint32_array: return "Uint32Array";
      case napi_float32_array: return "Float32Array";
      case napi_float64_array: return "Float64Array";
      case napi_bigint64_array: return "BigInt64Array";
      case napi_biguint64_array: return "BigUint64Array";
      default: return "a typed array";
    }
  }
  if (value.IsArray()) return "an array";
  if (value.IsNumber()) return "a number";
  if (value.IsString()) return "a string";
  if (value.IsBoolean()) return "a boolean";
  if (value.IsBigInt()) return "a bigint";
  if (value.IsFunction()) return "a function";
  if (value.IsSymbol()) return "a symbol";
  return "an object";
}

namespace {

bool isFloatArray(const Napi::Value& value) {
  if (!value.IsTypedArray()) return false;
  const auto type = value.As<Napi::TypedArray>().TypedArrayType();
  return type == napi_float32_array || type == napi_float64_array;
}

std::vector<int64_t> shapeFromJs(const Napi::Value& value, const char* name) {
  if (!value.IsArray()) typeError("`", name, ".shape` must be an array of integers, got ", describe(value));
  const Napi::Array array = value.As<Napi::Array>();
  const uint32_t dims = array.Length();
  if (dims > kMaxDims) rangeError("`", name, ".shape` has ", dims, " dimensions; at most ", kMaxDims, " are supported");
  std::vector<int64_t> shape;
  shape.reserve(dims);
  for (uint32_t i = 0; i < dims; ++i) {
    const Napi::Value entry = array.Get(i);
    if (!entry.IsNumber()) typeError("`", name, ".shape[", i, "]` must be an integer, got ", describe(entry));
    const double size = entry.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(size) || std::floor(size) != size) {
      typeError("`", name, ".shape[", i, "]` must be an integer, got ", size);
    }
    if (size < 0 || size > static_cast<double>(std::numeric_limits<int64_t>::max() / 2)) {
      rangeError("`", name, ".shape[", i, "]` must be a non-negative size, got ", size);
    }
    shape.push_back(static_cast<int64_t>(size));
  }
  return shape;
}

// The typed array's first element. Works for views on ArrayBuffers and SharedArrayBuffers alike;
// a detached buffer reports length 0 (and possibly a null pointer, never dereferenced then).
uint8_t* elementData(const Napi::TypedArray& array) {
  void* data = nullptr;
  napi_status status = napi_get_typedarray_info(array.Env(), array, nullptr, nullptr, &data,
                                                nullptr, nullptr);
  if (status != napi_ok) typeError("cannot read the typed array's memory");
  return static_cast<uint8_t*>(data);
}

std::string shapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace

JsArg JsArg::read(const Napi::Value& value) {
  JsArg arg;
  arg.value_ = value;
  if (auto handle = TensorHandle::peek(value)) {
    arg.isHandle_ = true;
    arg.handleTensor_ = *handle;
  } else if (TensorHandle::inheritsTensor(value)) {
    arg.fakeHandle_ = true;  // its accessors would throw: read nothing from it
  } else if (value.IsTypedArray()) {
    arg.data_ = value;
  } else if (value.IsArray()) {
    const Napi::Array array = value.As<Napi::Array>();
    const uint32_t length = array.Length();
    arg.numbers_.reserve(length);
    for (uint32_t i = 0; i < length; ++i) {
      const Napi::Value entry = array.Get(i);
      if (!entry.IsNumber() && arg.firstNonNumberIndex_ < 0) {
        arg.firstNonNumberIndex_ = i;
        arg.firstNonNumber_ = describe(entry);
      }
      arg.numbers_.push_back(entry.IsNumber() ? entry.As<Napi::Number>().DoubleValue() : NAN);
    }
  } else if (value.IsObject() && !value.IsFunction()) {
    const Napi::Object object = value.As<Napi::Object>();
    arg.data_ = object.Get("data");
    const Napi::Value shape = object.Get("shape");
    try {
      arg.shape_ = shapeFromJs(shape, "value");
      arg.hasShape_ = true;
    } catch (const tl::Error&) {
      arg.shapeError_ = std::current_exception();
    }
  }
  return arg;
}

at::Tensor JsArg::tensor(const char* name) const {
  if (fakeHandle_) typeError("`", name, "` has Tensor's prototype but was not made by tensor()");
  if (isHandle_) {
    if (!handleTensor_.defined()) typeError("`", name, "` is a disposed Tensor");
    if (handleTensor_.scalar_type() != at::kFloat && handleTensor_.scalar_type() != at::kDouble) {
      typeError("`", name, "` must be a float32 or float64 Tensor");
    }
    return handleTensor_;
  }
  const bool direct = isFloatArray(value_);
  if (!direct) {
    if (!value_.IsObject() || value_.IsArray() || value_.IsTypedArray() || value_.IsFunction()) {
      typeError("`", name, "` must be a Float32Array or { data: Float32Array, shape: number[] }, got ",
                describe(value_));
    }
    if (!isFloatArray(data_)) {
      typeError("`", name, ".data` must be a Float32Array or Float64Array, got ", describe(data_));
    }
    if (shapeError_) {
      // Re-raise with the argument's name in place of the placeholder.
      try {
        std::rethrow_exception(shapeError_);
      } catch (const tl::Error& e) {
        std::string message = e.what();
        const std::string placeholder = "`value.shape";
        if (message.rfind(placeholder, 0) == 0) message = "`" + std::string(name) + ".shape" + message.substr(placeholder.size());
        throw tl::Error(e.kind(), message);
      }
    }
  }
  const Napi::TypedArray array = data_.As<Napi::TypedArray>();
  const size_t length = array.ElementLength();
  const std::vector<int64_t> shape = direct ? std::vector<int64_t>{static_cast<int64_t>(length)} : shape_;

  int64_t numel = 1;
  for (const int64_t size : shape) {
    if (__builtin_mul_overflow(numel, size, &numel)) {
      rangeError("`", name, ".shape` ", shapeText(shape), " has more elements than can be addressed");
    }
  }
  if (static_cast<uint64_t>(numel) != length) {
    rangeError("`", name, ".shape` ", shapeText(shape), " holds ", numel, " elements but `", name,
               ".data` has ", length, length == 0 ? " (is its buffer detached?)" : "");
  }
  const bool isDouble = array.TypedArrayType() == napi_float64_array;
  const auto dtype = isDouble ? at::kDouble : at::kFloat;
  if (numel == 0) return at::empty(shape, at::TensorOptions().dtype(dtype));
  return at::from_blob(elementData(array), shape, at::TensorOptions().dtype(dtype));
}

at::Tensor onDevice(const at::Tensor& tensor, const c10::Device& device) {
  return device.is_cpu() ? tensor : tensor.to(device);
}

void requireSameDtype(const char* name, const at::Tensor& tensor, const char* otherName,
                      const at::Tensor& other) {
  if (tensor.scalar_type() != other.scalar_type()) {
    typeError("`", name, "` is ", tensor.scalar_type() == at::kDouble ? "Float64Array" : "Float32Array",
              " but `", otherName, "` is ", other.scalar_type() == at::kDouble ? "Float64Array" : "Float32Array",
              "; pass both in the same precision");
  }
}

bool JsArg::holdsLabels() const {
  if (value_.IsArray()) return true;
  if (!value_.IsTypedArray()) return false;
  const auto type = value_.As<Napi::TypedArray>().TypedArrayType();
  return type == napi_int32_array || type == napi_bigint64_array;
}

at::Tensor JsArg::labels(const char* name) const {
  if (!holdsLabels()) {
    typeError("`", name, "` must be an Int32Array, BigInt64Array or number[], got ", describe(value_));
  }
  if (value_.IsTypedArray()) {
    const Napi::TypedArray array = value_.As<Napi::TypedArray>();
    const auto length = static_cast<int64_t>(array.ElementLength());
    if (length == 0) return at::empty({0}, at::kLong);
    // A plain copy loop: ATen's dtype conversion costs ~1 µs of dispatch, a lot for a small batch.
    at::Tensor labels = at::empty({length}, at::kLong);
    int64_t* out = labels.data_ptr<int64_t>();
    if (array.TypedArrayType() == napi_int32_array) {
      const auto* in = reinterpret_cast<const int32_t*>(elementData(array));
      std::copy(in, in + length, out);
    } else {
      std::memcpy(out, elementData(array), static_cast<size_t>(length) * sizeof(int64_t));
    }
    return labels;
  }
  if (firstNonNumberIndex_ >= 0) {
    typeError("`", name, "[", firstNonNumberIndex_, "]` must be an integer label, got ", firstNonNumber_);
  }
  at::Tensor labels = at::empty({static_cast<int64_t>(numbers_.size())}, at::kLong);
  int64_t* out = labels.data_ptr<int64_t>();
  for (size_t i = 0; i < numbers_.size(); ++i) {
    const double label = numbers_[i];
    if (!std::isfinite(label) || std::floor(label) != label) {
      typeError("`", name, "[", i, "]` must be an integer label, got ", label);
    }
    if (std::fabs(label) > kMaxSafeInteger) {
      rangeError("`", name, "[", i, "]` is ", label, ", beyond the safe integer range (|label| <= 2^53 - 1)");
    }
    out[i] = static_cast<int64_t>(label);
  }
  return labels;
}

// Gradients are copied into V8-owned ArrayBuffers rather than wrapped as external buffers:
// V8 frees its own buffers during GC, while external buffers wait for their finalizers, which
// Node runs only when the event loop turns, so a synchronous training loop would pile up
// gigabytes of gradients before they could be released.
Napi::Value typedArrayFromTensor(Napi::Env env, const at::Tensor& tensor, bool external) {
  const bool isDouble = tensor.scalar_type() == at::kDouble;
  const at::Tensor host = tensor.to(at::kCPU, isDouble ? at::kDouble : at::kFloat).contiguous();
  const size_t count = static_cast<size_t>(host.numel());
  const size_t bytes = host.nbytes();
  Napi::ArrayBuffer buffer;
  if (external && bytes >= 64 * 1024) {
    // Zero-copy, so that the JS thread does not spend milliseconds copying a large result.
    auto* owner = new at::Tensor(host);
    buffer = Napi::ArrayBuffer::New(
        env, owner->data_ptr(), bytes,
        [](Napi::Env finalizeEnv, void*, at::Tensor* kept) {
          Napi::MemoryManagement::AdjustExternalMemory(finalizeEnv, -static_cast<int64_t>(kept->nbytes()));
          delete kept;
        },
        owner);
    Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes));
  } else {
    buffer = Napi::ArrayBuffer::New(env, bytes);
    if (bytes) std::memcpy(buffer.Data(), host.data_ptr(), bytes);
  }
  if (isDouble) return Napi::Float64Array::New(env, count, buffer, 0);
  return Napi::Float32Array::New(env, count, buffer, 0);
}

}  // namespace tl::binding
