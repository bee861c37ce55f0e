#include "param_module.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../common/errors.h"
#include "../modules/checkpoint.h"
#include "../ops/finite_check.h"
#include "addon_state.h"
#include "device.h"
#include "errors.h"
#include "marshal.h"
#include "options.h"
#include "tensor_handle.h"

namespace tl::binding {
namespace {

std::string shapeText(at::IntArrayRef sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + "]";
}

Napi::Object hostValue(Napi::Env env, const at::Tensor& t) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("data", typedArrayFromTensor(env, t.to(at::kCPU, at::kFloat, false, /*copy=*/true)));
  Napi::Array shape = Napi::Array::New(env, t.dim());
  for (int64_t i = 0; i < t.dim(); ++i) shape.Set(static_cast<uint32_t>(i), static_cast<double>(t.size(i)));
  out.Set("shape", shape);
  return out;
}


}  // namespace

void ParamModule::exportClass(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(
      env, "ParamModule",
      {
          InstanceMethod<&ParamModule::jsAddParameter>("addParameter"),
          InstanceMethod<&ParamModule::jsParameters>("parameters"),
          InstanceMethod<&ParamModule::jsBuffers>("buffers"),
          InstanceMethod<&ParamModule::jsGradients>("gradients"),
          InstanceMethod<&ParamModule::jsSetParameters>("setParameters"),
          InstanceMethod<&ParamModule::jsSetGradients>("setGradients"),
          InstanceMethod<&ParamModule::jsZeroGrad>("zeroGrad"),
          InstanceMethod<&ParamModule::jsStep>("step"),
          InstanceMethod<&ParamModule::jsGetLearningRate>("getLearningRate"),
          InstanceMethod<&ParamModule::jsSetLearningRate>("setLearningRate"),
          InstanceMethod<&ParamModule::jsTo>("to"),
          InstanceMethod<&ParamModule::jsDevice>("device"),
          InstanceMethod<&ParamModule::jsDispose>("dispose"),
          InstanceMethod<&ParamModule::jsDisposed>("disposed"),
          InstanceMethod<&ParamModule::jsSaveBytes>("saveBytes"),
          InstanceMethod<&ParamModule::jsLoadBytes>("loadBytes"),
          InstanceMethod<&ParamModule::jsMemoryBytes>("memoryBytes"),
          InstanceMethod<&ParamModule::jsCenterForward>("centerForward"),
          InstanceMethod<&ParamModule::jsMarginForward>("marginForward"),
          InstanceMethod<&ParamModule::jsMarginLogits>("marginLogits"),
          InstanceMethod<&ParamModule::jsOimForward>("oimForward"),
          InstanceMethod<&ParamModule::jsHeadForward>("headForward"),
          InstanceMethod<&ParamModule::jsHeadBackward>("headBackward"),
          InstanceMethod<&ParamModule::jsSetTraining>("setTraining"),
          InstanceMethod<&ParamModule::jsTraining>("training"),
      });
  exports.Set("ParamModule", cls);
}

ParamModule::ParamModule(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ParamModule>(info), env_(info.Env()) {
  try {
    const OptionReader options(info[0]);
    device_ = options.device();
    spec_.kind = modules::optimizerKind(options.text("optimizer", "sgd"));
    const bool adamw = spec_.kind == modules::OptimizerKind::AdamW;
    const bool sgd = spec_.kind == modules::OptimizerKind::SGD;
    spec_.lr = options.number("lr", sgd ? 0.01 : 1e-3);
    spec_.momentum = options.number("momentum", 0.0);
    spec_.dampening = options.number("dampening", 0.0);
    spec_.nesterov = options.flag("nesterov", false);
    spec_.beta1 = options.number("beta1", 0.9);
    spec_.beta2 = options.number("beta2", 0.999);
    spec_.eps = options.number("eps", 1e-8);
    spec_.amsgrad = options.flag("amsgrad", false);
    spec_.weightDecay = options.number("weightDecay", adamw ? 1e-2 : 0.0);
    modules::checkOptimizerSpec(spec_);

    const std::string kind = options.text("kind", "dict");
    if (kind == "center") initCenter(options);
    else if (kind == "arcface" || kind == "cosface" || kind == "normsoftmax") initMarginSoftmax(options, kind);
    else if (kind == "oim") initOim(options);
    else if (kind == "embedding") initEmbeddingHead(options);
    else if (kind != "dict") rangeError("`kind` must be 'dict', 'center', 'arcface', 'cosface', 'normsoftmax', 'oim' or 'embedding', got '", kind, "'");
    reportMemory();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    rethrowAsJs(info.Env(), std::current_exception());
  }
}

ParamModule::~ParamModule() { release(); }

void ParamModule::release() {
  if (reported_ != 0) Napi::MemoryManagement::AdjustExternalMemory(env_, -reported_);
  reported_ = 0;
  optimizer_.reset();
  params_.clear();
  grads_.clear();
  if (center_) {
    center_->offsetSums = center_->counts = at::Tensor();
    center_->pending.clear();
    center_->pendingRows = 0;
  }
  if (margin_) margin_->workspace = {};
  workspaceBytes_ = 0;
  headOutputs_.clear();
  headBufferNames_.clear();
  headBuffers_.clear();
  head_.reset();
}

// The CPU bytes this module holds: parameters, gradients, update buffers, workspace, optimiser
// state. Called on the JS thread (after each forward: the workspace follows the batch size).
void ParamModule::reportMemory() {
  int64_t bytes = 0, paramBytes = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    paramBytes += static_cast<int64_t>(params_[i].nbytes());
    if (!isBuffer_[i]) bytes += static_cast<int64_t>(grads_[i].nbytes());
  }
  bytes += paramBytes;
  for (const auto& b : headBuffers_) bytes += static_cast<int64_t>(b.nbytes());
  if (center_ && center_->offsetSums.defined()) bytes += center_->offsetSums.nbytes() + center_->counts.nbytes();
  bytes += workspaceBytes_.load();
  if (stepped_) {
    int64_t states = 0;
    if (spec_.kind == modules::OptimizerKind::SGD) states = spec_.momentum != 0 ? 1 : 0;
    else states = spec_.amsgrad ? 3 : 2;
    bytes += states * paramBytes;
  }
  if (!device_.is_cpu()) bytes = 0;
  if (bytes != reported_) Napi::MemoryManagement::AdjustExternalMemory(env_, bytes - reported_);
  reported_ = bytes;
}

void ParamModule::live(const char* what) const {
  if (disposed_) typeError(what, ": this module was disposed");
}

void ParamModule::addParameter(const std::string& name, const at::Tensor& value, bool buffer) {
  if (std::find(names_.begin(), names_.end(), name) != names_.end()) rangeError("parameter '", name, "' exists already");
  if (value.numel() == 0 && !buffer) rangeError("parameter '", name, "' is empty");
  adoptParameter(name, value.to(device_, at::kFloat, false, /*copy=*/true).contiguous(), buffer);
}

void ParamModule::adoptParameter(const std::string& name, const at::Tensor& p, bool buffer) {
  at::Tensor g;
  if (!buffer) {
    g = at::zeros_like(p);
    p.mutable_grad() = g;
  }
  names_.push_back(name);
  params_.push_back(p);
  grads_.push_back(g);
  isBuffer_.push_back(buffer);
  resetOptimizer();
}

std::vector<at::Tensor> ParamModule::trainable() const {
  std::vector<at::Tensor> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!isBuffer_[i]) out.push_back(params_[i]);
  }
  return out;
}

std::vector<std::pair<size_t, at::Tensor>> ParamModule::readNamed(const Napi::Value& value, const char* what,
                                                                   bool buffers) {
  if (!value.IsObject() || value.IsArray() || value.IsTypedArray()) {
    typeError(what, ": expected an object { name: { data, shape } }, got ", describe(value));
  }
  const Napi::Object object = value.As<Napi::Object>();
  const Napi::Array keys = object.GetPropertyNames();
  std::vector<std::pair<std::string, JsArg>> args;  // read everything before taking pointers
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).ToString().Utf8Value();
    args.emplace_back(key, JsArg::read(object.Get(key)));
  }
  std::vector<std::pair<size_t, at::Tensor>> out;
  for (const auto& [key, arg] : args) {
    const auto found = std::find(names_.begin(), names_.end(), key);
    const size_t index = static_cast<size_t>(found - names_.begin());
    if (found == names_.end() || (isBuffer_[index] && !buffers)) {
      std::string known;
      for (size_t i = 0; i < names_.size(); ++i) {
        if (!isBuffer_[i] || buffers) known += (known.empty() ? "'" : ", '") + names_[i] + "'";
      }
      rangeError(what, ": unknown parameter '", key, "'; parameters: ", known);
    }
    const std::string label = key;
    const at::Tensor t = arg.tensor(label.c_str());
    if (t.sizes() != params_[index].sizes()) {
      rangeError(what, ": `", key, "` must have shape ", shapeText(params_[index].sizes()), ", got ", shapeText(t.sizes()));
    }
    // A copy now: the typed array may be reused by the caller.
    out.emplace_back(index, t.to(device_, at::kFloat, false, /*copy=*/true));
  }
  return out;
}

std::pair<at::Tensor, at::Tensor> ParamModule::readBatch(const JsArg& inputArg, const JsArg& labelsArg,
                                                         const OptionReader& options, int64_t featDim,
                                                         int64_t numClasses, const char* featName,
                                                         int64_t firstLabel) const {
  if (inputArg.isTensorHandle() && !inputArg.handleTensor().defined()) typeError("`input` is a disposed Tensor");
  const at::Tensor input = inputArg.tensor("input");
  if (labelsArg.isTensorHandle()) typeError("`labels` must be labels (Int32Array, BigInt64Array or number[]), got a Tensor");
  const at::Tensor labels = labelsArg.labels("labels");
  if (input.dim() != 2 || input.size(1) != featDim) {
    rangeError("`input` must have shape [batch, ", featName, " = ", featDim, "], got ",
               shapeText(input.sizes()));
  }
  const int64_t batch = input.size(0);
  if (batch == 0) rangeError("`input` is empty (batch size 0)");
  if (labels.dim() != 1 || labels.size(0) != batch) {
    rangeError("`labels` must hold ", batch, " class indices (one per row of `input`), got ", labels.numel());
  }
  const at::Tensor bad = labels.lt(firstLabel).logical_or_(labels.ge(numClasses));
  if (bad.any().item<bool>()) {
    const int64_t i = bad.nonzero()[0][0].item<int64_t>();
    rangeError("`labels[", i, "]` is ", labels[i].item<int64_t>(), "; expected class indices in [", firstLabel, ", ",
               numClasses, ")", firstLabel < 0 ? " (-1: unlabelled)" : "");
  }
  ops::requireFinite("input", input, options.flag("allowNonFinite", false));
  return {input, labels};
}

Napi::Value ParamModule::jsAddParameter(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("addParameter");
    const auto lock = exclusive();
    if (center_ || margin_ || oim_) typeError("addParameter: this module's parameters are fixed");
    if (!info[0].IsString()) typeError("addParameter: `name` must be a string, got ", describe(info[0]));
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    const JsArg arg = JsArg::read(info[1]);
    addParameter(name, arg.tensor(name.c_str()));
    reportMemory();
    return info.Env().Undefined();
  });
}

Napi::Value ParamModule::jsParameters(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("parameters");
    const auto lock = exclusive();
    Napi::Object out = Napi::Object::New(info.Env());
    for (size_t i = 0; i < names_.size(); ++i) {
      if (!isBuffer_[i]) out.Set(names_[i], hostValue(info.Env(), params_[i]));
    }
    return out;
  });
}

Napi::Value ParamModule::jsBuffers(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("buffers");
    const auto lock = exclusive();
    Napi::Object out = Napi::Object::New(info.Env());
    for (size_t i = 0; i < names_.size(); ++i) {
      if (isBuffer_[i]) out.Set(names_[i], hostValue(info.Env(), params_[i]));
    }
    return out;
  });
}

Napi::Value ParamModule::jsGradients(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("gradients");
    const auto lock = exclusive();
    flushCenterGradients();
    Napi::Object out = Napi::Object::New(info.Env());
    for (size_t i = 0; i < names_.size(); ++i) {
      if (!isBuffer_[i]) out.Set(names_[i], hostValue(info.Env(), grads_[i]));
    }
    return out;
  });
}

Napi::Value ParamModule::jsSetParameters(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("setParameters");
    const auto values = readNamed(info[0], "setParameters", true);  // every check before any change
    const auto lock = exclusive();
    at::NoGradGuard noGrad;
    for (const auto& [index, t] : values) params_[index].copy_(t);
    return info.Env().Undefined();
  });
}

Napi::Value ParamModule::jsSetGradients(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("setGradients");
    const auto values = readNamed(info[0], "setGradients", false);
    const auto lock = exclusive();
    at::NoGradGuard noGrad;
    flushCenterGradients();  // then overwritten, as a dense gradient would be
    for (const auto& [index, t] : values) grads_[index].copy_(t);
    if (center_) center_->touchedAll = true;
    return info.Env().Undefined();
  });
}

Napi::Value ParamModule::jsZeroGrad(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("zeroGrad");
    const auto lock = exclusive();
    at::NoGradGuard noGrad;
    if (center_) {
      center_->pending.clear();  // never added: nothing to clear for them
      center_->pendingRows = 0;
    }
    if (center_ && !center_->touchedAll) {
      // Only the rows of the labels seen since the last zeroGrad() are non-zero: clearing them
      // keeps a training step's cost independent of numClasses.
      const at::Tensor rows = center_->touched.empty() ? at::Tensor() : at::cat(center_->touched);
      if (rows.defined()) {
        grads_[0].index_fill_(0, rows, 0);
        if (center_->offsetSums.defined()) {
          center_->offsetSums.index_fill_(0, rows, 0);
          center_->counts.index_fill_(0, rows, 0);
        }
      }
    } else {
      for (auto& g : grads_) {
        if (g.defined()) g.zero_();
      }
      if (center_ && center_->offsetSums.defined()) {
        center_->offsetSums.zero_();
        center_->counts.zero_();
      }
    }
    if (center_) {
      center_->touched.clear();
      center_->touchedAll = false;
    }
    return info.Env().Undefined();
  });
}

Napi::Value ParamModule::jsStep(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("step");
    const auto lock = exclusive();
    if (center_ && center_->paperUpdate) {
      ops::paperCenterUpdate(params_[0], center_->offsetSums, center_->counts, center_->alpha);
      return info.Env().Undefined();
    }
    flushCenterGradients();
    const std::vector<at::Tensor> params = trainable();
    if (params.empty()) return info.Env().Undefined();  // OIM: its table is updated by forward()
    if (!optimizer_) optimizer_ = modules::makeOptimizer(params, spec_);
    optimizer_->step();
    if (!stepped_) {
      stepped_ = true;
      reportMemory();
    }
    return info.Env().Undefined();
  });
}

Napi::Value ParamModule::jsGetLearningRate(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), spec_.lr);
}

Napi::Value ParamModule::jsSetLearningRate(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("setLearningRate");
    if (!info[0].IsNumber()) typeError("`lr` must be a number, got ", describe(info[0]));
    const double lr = info[0].As<Napi::Number>().DoubleValue();
    if (!(std::isfinite(lr) && lr >= 0)) rangeError("`lr` must be a finite number >= 0, got ", lr);
    const auto lock = exclusive();
    spec_.lr = lr;
    if (optimizer_) optimizer_->setLearningRate(lr);
    return info.Env().Undefined();
  });
}

Napi::Value ParamModule::jsTo(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("to");
    if (!info[0].IsString()) typeError("to(device): `device` must be a string, got ", describe(info[0]));
    const c10::Device target = resolveDevice(info[0].As<Napi::String>().Utf8Value());
    const auto lock = exclusive();
    if (target == device_) return info.Env().Undefined();
    if (head_) {  // the head moves its own modules; the parameters are re-adopted from it
      moveEmbeddingHead(target);
      device_ = target;
      resetOptimizer();
      reportMemory();
      return info.Env().Undefined();
    }
    flushCenterGradients();
    // Everything is copied first, so that a failure (out of memory) leaves the module as it was.
    std::vector<at::Tensor> params, grads;
    for (size_t i = 0; i < params_.size(); ++i) {
      params.push_back(params_[i].to(target, false, true));
      grads.push_back(grads_[i].defined() ? grads_[i].to(target, false, true) : at::Tensor());
    }
    at::Tensor sums, counts;
    if (center_ && center_->offsetSums.defined()) {
      sums = center_->offsetSums.to(target);
      counts = center_->counts.to(target);
    }
    for (size_t i = 0; i < params.size(); ++i) {
      if (grads[i].defined()) params[i].mutable_grad() = grads[i];
    }
    params_ = std::move(params);
    grads_ = std::move(grads);
    if (center_ && sums.defined()) {
      center_->offsetSums = sums;
      center_->counts = counts;
    }
    device_ = target;
    if (center_) center_->touchedAll = true;  // the recorded rows live on the old device
    resetOptimizer();  // its state lived on the old device (as in PyTorch: move, then build the optimiser)
    reportMemory();
    return info.Env().Undefined();
  });
}

Napi::Value ParamModule::jsDevice(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), deviceName(device_));
}

Napi::Value ParamModule::jsDispose(const Napi::CallbackInfo& info) {
  const auto lock = exclusive();  // waits for the async forwards queued before
  disposed_ = true;
  release();
  return info.Env().Undefined();
}

Napi::Value ParamModule::jsDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), disposed_); }

Napi::Value ParamModule::jsMemoryBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(reported_));
}

Napi::Value ParamModule::jsSaveBytes(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("save");
    const auto lock = exclusive();
    modules::NamedTensors named;
    for (size_t i = 0; i < names_.size(); ++i) named.emplace_back(names_[i], params_[i]);
    for (size_t i = 0; i < headBufferNames_.size(); ++i) named.emplace_back(headBufferNames_[i], headBuffers_[i]);
    const std::vector<char> bytes = modules::saveTensorDict(named);
    Napi::Buffer<char> out = Napi::Buffer<char>::New(info.Env(), bytes.size());
    if (!bytes.empty()) std::memcpy(out.Data(), bytes.data(), bytes.size());
    return out;
  });
}

Napi::Value ParamModule::jsLoadBytes(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("load");
    if (!info[0].IsTypedArray() && !info[0].IsBuffer()) typeError("load: expected the file's bytes as a Buffer");
    const Napi::Uint8Array data = info[0].As<Napi::Uint8Array>();
    std::vector<char> bytes(data.ByteLength());
    if (!bytes.empty()) std::memcpy(bytes.data(), data.Data(), bytes.size());
    const modules::NamedTensors loaded = modules::loadTensorDict(bytes);
    // Every check before any change: same names, tensors of the same shapes (floating point where
    // the module's are), over the parameters and buffers and then the head's buffers.
    std::vector<std::string> names = names_;
    names.insert(names.end(), headBufferNames_.begin(), headBufferNames_.end());
    std::vector<at::Tensor> targets = params_;
    targets.insert(targets.end(), headBuffers_.begin(), headBuffers_.end());
    std::vector<at::Tensor> values(names.size());
    for (const auto& [name, t] : loaded) {
      const auto found = std::find(names.begin(), names.end(), name);
      if (found == names.end()) rangeError("load: the checkpoint holds '", name, "', which is not a parameter of this module");
      const size_t index = static_cast<size_t>(found - names.begin());
      const bool isFloat = at::isFloatingType(targets[index].scalar_type());
      if (isFloat && !at::isFloatingType(t.scalar_type())) rangeError("load: '", name, "' must be a floating-point tensor, got ", t.scalar_type());
      if (t.sizes() != targets[index].sizes()) {
        rangeError("load: '", name, "' must have shape ", shapeText(targets[index].sizes()), ", the checkpoint's has ",
                   shapeText(t.sizes()));
      }
      values[index] = t.to(device_, targets[index].scalar_type(), false, true);
    }
    for (size_t i = 0; i < names.size(); ++i) {
      if (!values[i].defined()) rangeError("load: the checkpoint lacks the parameter '", names[i], "'");
    }
    const auto lock = exclusive();
    at::NoGradGuard noGrad;
    for (size_t i = 0; i < names.size(); ++i) targets[i].copy_(values[i]);
    if (oim_) oim_->queueHead = 0;  // the queue's write position is not saved: it restarts
    return info.Env().Undefined();
  });
}

}  // namespace tl::binding
