// JavaScript values <-> at::Tensor.
//   tensor inputs: Float32Array | Float64Array (1-D) or { data: Float32Array | Float64Array, shape }
//   labels:        Int32Array | BigInt64Array | number[]  -> int64 tensor
//   outputs:       Float32Array / Float64Array (matching the input dtype), copied from the tensor
// CPU inputs are wrapped without copying (at::from_blob on the typed array's memory): valid only
// while the JS call is on the stack, i.e. for synchronous calls. Asynchronous work must clone.
#pragma once
#include <ATen/ATen.h>
#include <napi.h>

namespace tl::binding {

// One JS argument, read once. Reading may run JavaScript (getters on `data` or `shape`, array
// elements, proxies), and that JavaScript could detach or resize a typed array read earlier in
// the same call. So a call reads every argument first (JsArg::read) and only then turns them
// into tensors (tensor(), labels()), which runs no JavaScript and takes the pointers.
class JsArg {
 public:
  static JsArg read(const Napi::Value& value);

  // A float tensor viewing the typed array's memory (zero-copy). `name` is for messages.
  at::Tensor tensor(const char* name) const;
  // Integer labels (Int32Array | BigInt64Array | number[]) as a new int64 tensor.
  at::Tensor labels(const char* name) const;
  // Whether the value is given as labels rather than as a float tensor.
  bool holdsLabels() const;
  bool present() const { return !value_.IsEmpty() && !value_.IsUndefined() && !value_.IsNull(); }
  // Whether the value is a JS Tensor (device-resident; see tensor_handle.h).
  bool isTensorHandle() const { return isHandle_; }
  // A JS Tensor's tensor, undefined when it was disposed (tensor() then names the argument).
  const at::Tensor& handleTensor() const { return handleTensor_; }
  const Napi::Value& value() const { return value_; }

 private:
  Napi::Value value_;
  bool isHandle_ = false;
  bool fakeHandle_ = false;               // an object inheriting Tensor.prototype, no handle
  at::Tensor handleTensor_;               // a JS Tensor's tensor (undefined once disposed)
  Napi::Value data_;                      // the typed array with the elements, when there is one
  std::vector<int64_t> shape_;            // from `shape`, when given
  bool hasShape_ = false;
  std::exception_ptr shapeError_;         // a malformed `shape`, raised when used as a tensor
  std::vector<double> numbers_;           // the elements of a plain array (labels)
  std::string firstNonNumber_;            // description of the first non-number element, if any
  int64_t firstNonNumberIndex_ = -1;
};

// Moves `tensor` to `device` (no-op on CPU).
at::Tensor onDevice(const at::Tensor& tensor, const c10::Device& device);

// A CPU copy (or, when large, a zero-copy view) of `tensor` as a Float32Array (float32) or
// Float64Array (float64).
// `external`: view the tensor's memory instead of copying it (the tensor lives until V8 collects
// the array). Only for results delivered on an event-loop turn (async calls): N-API finalizers
// run on such turns, so a synchronous loop would pile up external buffers.
Napi::Value typedArrayFromTensor(Napi::Env env, const at::Tensor& tensor, bool external = false);

// All inputs of one call must share a dtype.
void requireSameDtype(const char* name, const at::Tensor& tensor, const char* otherName,
                      const at::Tensor& other);

// Describes a JS value's type for error messages ("Float32Array", "an array", "null"...).
const char* describe(const Napi::Value& value);

}  // namespace tl::binding
