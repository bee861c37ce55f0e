// The JavaScript `Tensor`: a handle on an at::Tensor that stays where it is (CPU or a CUDA
// device) between calls. Freed by dispose() or, failing that, by the GC; V8 is told of its
// bytes so that it collects in time. Live handles are counted per device for memory().
#pragma once
#include <ATen/ATen.h>
#include <napi.h>

#include <optional>

namespace tl::binding {

class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static void exportClass(Napi::Env env, Napi::Object exports);
  // A new JS Tensor owning `tensor`.
  static Napi::Object create(Napi::Env env, at::Tensor tensor);
  // The tensor of a JS Tensor; nullopt for any other value. A disposed Tensor is a TypeError.
  static std::optional<at::Tensor> unwrap(const Napi::Value& value, const char* name);
  // Like unwrap, without throwing: an undefined at::Tensor for a disposed Tensor.
  static std::optional<at::Tensor> peek(const Napi::Value& value);
  // Whether `value` has Tensor's prototype (true also for Object.create(Tensor.prototype)).
  static bool inheritsTensor(const Napi::Value& value);

  explicit TensorHandle(const Napi::CallbackInfo& info);
  ~TensorHandle() override;

 private:
  const at::Tensor& live(const char* what) const;
  void release();

  Napi::Value shape(const Napi::CallbackInfo& info);
  Napi::Value device(const Napi::CallbackInfo& info);
  Napi::Value dtype(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  Napi::Value toTypedArray(const Napi::CallbackInfo& info);
  Napi::Value toTypedArrayAsync(const Napi::CallbackInfo& info);
  Napi::Value to(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);

  at::Tensor tensor_;
  int64_t bytes_ = 0;
  Napi::Env env_;
};

// memory(): { [device]: { tensors, bytes } } over the live JS Tensors of the whole process.
Napi::Value memoryReport(const Napi::CallbackInfo& info);

}  // namespace tl::binding
