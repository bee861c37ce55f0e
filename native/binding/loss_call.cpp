#include "loss_call.h"

#include "../common/errors.h"
#include "../ops/kernel_choice.h"
#include "async_loss.h"
#include "device.h"
#include "tensor_handle.h"

#include <omp.h>

namespace tl::binding {
namespace {

// A synchronous call on fewer input elements than ATen's own grain size runs on the JavaScript
// thread alone. Some ATen kernels still open an OpenMP region for such tensors, and waking the
// team costs more than the work: tens of µs on an idle machine, milliseconds on a busy one.
constexpr int64_t kSingleThreadElements = 32768;

// omp_set_num_threads affects only the calling thread, so other threads' calls are untouched.
class SingleThreadScope {
 public:
  SingleThreadScope() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~SingleThreadScope() { omp_set_num_threads(saved_); }
  SingleThreadScope(const SingleThreadScope&) = delete;
  SingleThreadScope& operator=(const SingleThreadScope&) = delete;

 private:
  int saved_;
};

}  // namespace

// For a synchronous CPU call with host inputs: the fused kernels allocate their results in fresh
// JS ArrayBuffers (ops::OutputAllocator), which the result object then views instead of copying
// them — for large gradients that copy costs more than the loss. The buffers are handles of the
// current callback scope; no tensor outlives the call (Tensor inputs, whose gradients stay
// tensors, do not use this).
class JsResultMemory {
 public:
  explicit JsResultMemory(Napi::Env env)
      : env_(env), allocate_([this](at::IntArrayRef sizes, const at::TensorOptions& options) {
          const int64_t count = c10::multiply_integers(sizes);
          Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env_, static_cast<size_t>(count) * options.dtype().itemsize());
          buffers_.push_back({buffer.Data(), buffer.ByteLength(), buffer});
          return at::from_blob(buffer.Data(), sizes, options);
        }) {}

  const ops::OutputAllocator* allocator() const { return &allocate_; }

  // A typed array over the ArrayBuffer that holds exactly `tensor`'s memory, if one does.
  std::optional<Napi::Value> view(const at::Tensor& tensor) const {
    if (!tensor.defined() || tensor.nbytes() == 0 || !tensor.is_cpu() || !tensor.is_contiguous()) return std::nullopt;
    const bool isDouble = tensor.scalar_type() == at::kDouble;
    if (!isDouble && tensor.scalar_type() != at::kFloat) return std::nullopt;
    for (const Allocation& allocation : buffers_) {
      if (allocation.data != tensor.data_ptr() || allocation.bytes != tensor.nbytes()) continue;
      const size_t count = static_cast<size_t>(tensor.numel());
      if (isDouble) return Napi::Float64Array::New(env_, count, allocation.buffer, 0);
      return Napi::Float32Array::New(env_, count, allocation.buffer, 0);
    }
    return std::nullopt;
  }

 private:
  struct Allocation {
    const void* data;
    size_t bytes;
    Napi::ArrayBuffer buffer;
  };
  Napi::Env env_;
  std::vector<Allocation> buffers_;
  ops::OutputAllocator allocate_;
};

LossCall::LossCall(const Napi::CallbackInfo& info, size_t optionsIndex)
    : env_(info.Env()), async_(info.Data() != nullptr), options_(info[optionsIndex]) {
  args_.reserve(optionsIndex);
  for (size_t i = 0; i < optionsIndex; ++i) args_.push_back(JsArg::read(info[i]));

  // JS Tensors decide the device; they must agree with each other and with an explicit option.
  std::optional<c10::Device> tensorDevice;
  for (const JsArg& arg : args_) {
    if (!arg.isTensorHandle() || !arg.handleTensor().defined()) continue;
    const at::Tensor& t = arg.handleTensor();
    if (tensorDevice && *tensorDevice != t.device()) {
      deviceError("the Tensor arguments live on different devices (", deviceName(*tensorDevice), " and ",
                  deviceName(t.device()), "); move them with tensor.to(device)");
    }
    tensorDevice = t.device();
  }
  device_ = options_.device();
  if (tensorDevice) {
    if (options_.hasDevice() && device_ != *tensorDevice) {
      deviceError("`device` is '", deviceName(device_), "' but the Tensor arguments live on ",
                  deviceName(*tensorDevice));
    }
    device_ = *tensorDevice;
  }
}

at::Tensor LossCall::prepare(at::Tensor t, bool fromJsMemory) const {
  if (!device_.is_cpu() || t.device() != device_) return t.to(device_);
  // A worker thread must not read JS memory: the caller may change or free it meanwhile.
  return async_ && fromJsMemory ? t.clone() : t;
}

at::Tensor LossCall::tensor(size_t index, const char* name) {
  const JsArg& arg = args_.at(index);
  at::Tensor t = arg.tensor(name);
  if (arg.isTensorHandle()) tensorInputs_.insert(name);
  inputElements_ += t.numel();
  if (firstName_ == nullptr) {
    firstName_ = name;
    firstTensor_ = t;
    dtype_ = t.scalar_type();
  } else {
    requireSameDtype(name, t, firstName_, firstTensor_);
  }
  return prepare(t, !arg.isTensorHandle());
}

at::Tensor LossCall::labels(size_t index, const char* name) {
  const JsArg& arg = args_.at(index);
  if (arg.isTensorHandle()) typeError("`", name, "` must be labels (Int32Array, BigInt64Array or number[]), got a Tensor");
  at::Tensor t = arg.labels(name);
  inputElements_ += t.numel();
  return prepare(t, /*fromJsMemory=*/false);  // labels are copies already
}

bool LossCall::holdsLabels(size_t index) const { return args_.at(index).holdsLabels(); }

std::optional<at::Tensor> LossCall::optionalTensor(const char* key) {
  const JsArg* arg = options_.tensorArg(key);
  if (arg == nullptr) return std::nullopt;
  at::Tensor t = arg->tensor(key);
  inputElements_ += t.numel();
  if (dtype_ && t.scalar_type() != *dtype_) return prepare(t.to(*dtype_), false);
  return prepare(t, !arg->isTensorHandle());
}

ResultFormat LossCall::format(std::initializer_list<const char*> gradNames, bool perElement) const {
  ResultFormat f;
  f.gradNames.assign(gradNames.begin(), gradNames.end());
  f.tensorInputs = tensorInputs_;
  f.perElement = perElement;
  return f;
}

Napi::Value LossCall::finish(LossRunner run, std::initializer_list<const char*> gradNames,
                             std::optional<bool> perElement, ResultExtras extras) {
  ResultFormat f = format(gradNames, perElement ? *perElement : options_.reduction() == ops::Reduction::None);
  f.extras = std::move(extras);
  if (options_.flag("_referenceKernels", false)) {  // tests: the ATen + autograd path only
    run = [inner = std::move(run)] {
      ops::ReferenceKernelsScope referenceOnly;
      return inner();
    };
  }
  if (!async_) {
    std::optional<JsResultMemory> jsMemory;
    if (device_.is_cpu() && tensorInputs_.empty()) f.jsMemory = &jsMemory.emplace(env_);
    ops::OutputAllocatorScope allocator(jsMemory ? jsMemory->allocator() : nullptr);
    if (inputElements_ >= kSingleThreadElements || !device_.is_cpu()) return f.build(env_, run());
    SingleThreadScope small;
    return f.build(env_, run());
  }
  f.externalArrays = true;
  return queueLossWorker(env_, std::move(run), std::move(f));
}

Napi::Value LossCall::result(const ops::LossOutput& out, std::initializer_list<const char*> gradNames,
                             bool perElement) const {
  return format(gradNames, perElement).build(env_, out);
}

Napi::Object ResultFormat::build(Napi::Env env, const ops::LossOutput& out) const {
  const auto hostArray = [&](const at::Tensor& tensor) -> Napi::Value {
    if (jsMemory) {
      if (std::optional<Napi::Value> view = jsMemory->view(tensor)) return *view;
    }
    return typedArrayFromTensor(env, tensor, externalArrays);
  };
  Napi::Object result = Napi::Object::New(env);
  result.Set("loss", ops::lossTotal(out));
  if (perElement) result.Set("losses", hostArray(out.loss));
  if (!out.grads.empty()) {
    Napi::Object grads = Napi::Object::New(env);
    for (size_t i = 0; i < gradNames.size() && i < out.grads.size(); ++i) {
      const std::string& name = gradNames[i];
      grads.Set(name, tensorInputs.count(name) ? Napi::Value(TensorHandle::create(env, out.grads[i]))
                                               : hostArray(out.grads[i]));
    }
    result.Set("grad", grads);
  }
  if (extras) extras(env, result, out);
  return result;
}

void exportLoss(Napi::Env env, Napi::Object exports, const char* name,
                Napi::Value (*binding)(const Napi::CallbackInfo&)) {
  exports.Set(name, Napi::Function::New(env, [binding](const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value { return binding(info); });
  }, name));
  static int asyncMarker = 1;
  const std::string asyncName = std::string(name) + "Async";
  exports.Set(asyncName, Napi::Function::New(env, [binding](const Napi::CallbackInfo& info) -> Napi::Value {
    try {
      return guarded(info, [&]() -> Napi::Value { return binding(info); });
    } catch (const Napi::Error& e) {
      // Bad arguments reject the promise too: the async form never throws synchronously.
      Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(info.Env());
      deferred.Reject(e.Value());
      return deferred.Promise();
    }
  }, asyncName, &asyncMarker));
}

}  // namespace tl::binding
