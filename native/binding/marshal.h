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

// `name` is the argument's name in error messages ("anchor", "input1"...).
at::Tensor tensorFromJs(const Napi::Value& value, const char* name);

// Moves `tensor` to `device` (no-op on CPU) and checks it agrees in dtype with `like`.
at::Tensor onDevice(const at::Tensor& tensor, const c10::Device& device);

at::Tensor labelsFromJs(const Napi::Value& value, const char* name);

// A CPU copy of `tensor` as a Float32Array (float32) or Float64Array (float64).
Napi::Value typedArrayFromTensor(Napi::Env env, const at::Tensor& tensor);

// All inputs of one call must share a dtype.
void requireSameDtype(const char* name, const at::Tensor& tensor, const char* otherName,
                      const at::Tensor& other);

}  // namespace tl::binding
