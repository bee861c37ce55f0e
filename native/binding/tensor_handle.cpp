#include "tensor_handle.h"

#include <array>
#include <atomic>

#include "../common/errors.h"
#include "addon_state.h"
#include "device.h"
#include "errors.h"
#include "marshal.h"
#include "options.h"
#include "promise_worker.h"

namespace tl::binding {
namespace {

// Live JS Tensors per device: slot 0 is the CPU, slot 1 + i is cuda:i.
constexpr size_t kDeviceSlots = 17;
struct Usage {
  std::atomic<int64_t> tensors{0};
  std::atomic<int64_t> bytes{0};
};
std::array<Usage, kDeviceSlots> usage;

size_t slotOf(const at::Tensor& t) {
  if (t.is_cpu()) return 0;
  return std::min<size_t>(kDeviceSlots - 1, 1 + static_cast<size_t>(std::max<int>(0, t.device().index())));
}

}  // namespace

void TensorHandle::exportClass(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(
      env, "Tensor",
      {
          InstanceAccessor<&TensorHandle::shape>("shape"),
          InstanceAccessor<&TensorHandle::device>("device"),
          InstanceAccessor<&TensorHandle::dtype>("dtype"),
          InstanceAccessor<&TensorHandle::disposed>("disposed"),
          InstanceMethod<&TensorHandle::toTypedArray>("toFloat32Array"),
          InstanceMethod<&TensorHandle::toTypedArrayAsync>("toFloat32ArrayAsync"),
          InstanceMethod<&TensorHandle::to>("to"),
          InstanceMethod<&TensorHandle::dispose>("dispose"),
      });
  AddonState::of(env)->tensorClass = Napi::Persistent(cls);
  exports.Set("Tensor", cls);

  // tensor(input, { device }): a Tensor holding a copy of `input` on `device`.
  exports.Set("tensor", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      const OptionReader options(info[1]);
      const JsArg input = JsArg::read(info[0]);
      if (auto existing = unwrap(info[0], "data")) return create(info.Env(), existing->to(options.device(), false, true));
      at::Tensor t = input.tensor("data");
      t = options.device().is_cpu() ? t.clone() : t.to(options.device());
      return create(info.Env(), t);
    });
  }));
  exports.Set("memory", Napi::Function::New(env, memoryReport));
}

Napi::Object TensorHandle::create(Napi::Env env, at::Tensor tensor) {
  Napi::Object object = AddonState::of(env)->tensorClass.New({});
  TensorHandle* handle = Unwrap(object);
  handle->tensor_ = std::move(tensor);
  handle->bytes_ = static_cast<int64_t>(handle->tensor_.nbytes());
  Usage& u = usage[slotOf(handle->tensor_)];
  u.tensors += 1;
  u.bytes += handle->bytes_;
  if (handle->tensor_.is_cpu()) Napi::MemoryManagement::AdjustExternalMemory(env, handle->bytes_);
  return object;
}

bool TensorHandle::inheritsTensor(const Napi::Value& value) {
  if (!value.IsObject() || value.IsTypedArray() || value.IsArray() || value.IsFunction()) return false;
  AddonState* state = AddonState::of(value.Env());
  return state != nullptr && !state->tensorClass.IsEmpty() &&
         value.As<Napi::Object>().InstanceOf(state->tensorClass.Value());
}

std::optional<at::Tensor> TensorHandle::peek(const Napi::Value& value) {
  if (!value.IsObject() || value.IsTypedArray() || value.IsArray() || value.IsFunction()) return std::nullopt;
  AddonState* state = AddonState::of(value.Env());
  if (state == nullptr || state->tensorClass.IsEmpty()) return std::nullopt;
  if (!value.As<Napi::Object>().InstanceOf(state->tensorClass.Value())) return std::nullopt;
  // An object that only inherits Tensor's prototype has no native handle: not a Tensor.
  void* native = nullptr;
  if (napi_unwrap(value.Env(), value, &native) != napi_ok || native == nullptr) return std::nullopt;
  return static_cast<TensorHandle*>(native)->tensor_;
}

std::optional<at::Tensor> TensorHandle::unwrap(const Napi::Value& value, const char* name) {
  std::optional<at::Tensor> tensor = peek(value);
  if (tensor && !tensor->defined()) typeError("`", name, "` is a disposed Tensor");
  return tensor;
}

TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info), env_(info.Env()) {}

TensorHandle::~TensorHandle() { release(); }

void TensorHandle::release() {
  if (!tensor_.defined()) return;
  Usage& u = usage[slotOf(tensor_)];
  u.tensors -= 1;
  u.bytes -= bytes_;
  if (tensor_.is_cpu()) Napi::MemoryManagement::AdjustExternalMemory(env_, -bytes_);
  tensor_ = at::Tensor();
}

const at::Tensor& TensorHandle::live(const char* what) const {
  if (!tensor_.defined()) typeError("Tensor.", what, ": this Tensor was disposed");
  return tensor_;
}

Napi::Value TensorHandle::shape(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const auto sizes = live("shape").sizes();
    Napi::Array out = Napi::Array::New(info.Env(), sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i) out.Set(static_cast<uint32_t>(i), static_cast<double>(sizes[i]));
    return out;
  });
}

Napi::Value TensorHandle::device(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    return Napi::String::New(info.Env(), deviceName(live("device").device()));
  });
}

Napi::Value TensorHandle::dtype(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    return Napi::String::New(info.Env(), live("dtype").scalar_type() == at::kDouble ? "float64" : "float32");
  });
}

Napi::Value TensorHandle::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor_.defined());
}

Napi::Value TensorHandle::toTypedArray(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return typedArrayFromTensor(info.Env(), live("toFloat32Array")); });
}

Napi::Value TensorHandle::toTypedArrayAsync(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    // The device-to-host copy runs on a worker thread.
    return PromiseWorker<at::Tensor>::queue(
        info.Env(), "torch-losses:toHost",
        [tensor = live("toFloat32ArrayAsync")] { return tensor.to(at::kCPU).contiguous(); },
        [](Napi::Env env, at::Tensor& host) { return typedArrayFromTensor(env, host); });
  });
}

Napi::Value TensorHandle::to(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (!info[0].IsString()) typeError("Tensor.to(device): `device` must be a string");
    const c10::Device target = resolveDevice(info[0].As<Napi::String>().Utf8Value());
    return create(info.Env(), live("to").to(target, false, /*copy=*/true));
  });
}

Napi::Value TensorHandle::dispose(const Napi::CallbackInfo& info) {
  release();
  return info.Env().Undefined();
}

Napi::Value memoryReport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  for (size_t slot = 0; slot < kDeviceSlots; ++slot) {
    const int64_t tensors = usage[slot].tensors.load();
    if (slot != 0 && tensors == 0) continue;
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("tensors", static_cast<double>(tensors));
    entry.Set("bytes", static_cast<double>(usage[slot].bytes.load()));
    out.Set(slot == 0 ? std::string("cpu") : "cuda:" + std::to_string(slot - 1), entry);
  }
  return out;
}

}  // namespace tl::binding
