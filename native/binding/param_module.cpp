#include "param_module.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../common/errors.h"
#include "../modules/checkpoint.h"
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

int64_t positiveInteger(const OptionReader& options, const char* key) {
  const int64_t v = options.integer(key, 0);
  if (v <= 0) rangeError("`", key, "` must be a positive integer, got ", v);
  return v;
}

}  // namespace

void ParamModule::exportClass(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(
      env, "ParamModule",
      {
          InstanceMethod<&ParamModule::jsAddParameter>("addParameter"),
          InstanceMethod<&ParamModule::jsParameters>("parameters"),
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
          InstanceMethod<&ParamModule::jsArcFaceForward>("arcFaceForward"),
          InstanceMethod<&ParamModule::jsArcFaceLogits>("arcFaceLogits"),
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
    if (kind == "center") {
      Center c;
      c.numClasses = positiveInteger(options, "numClasses");
      c.featDim = positiveInteger(options, "featDim");
      const std::string formula = options.text("formula", "mean");
      if (formula != "mean" && formula != "paper") rangeError("`formula` must be 'mean' or 'paper', got '", formula, "'");
      c.formula = formula == "mean" ? ops::CenterFormula::Mean : ops::CenterFormula::Paper;
      const std::string update = options.text("update", "optimizer");
      if (update != "optimizer" && update != "paper") rangeError("`update` must be 'optimizer' or 'paper', got '", update, "'");
      c.paperUpdate = update == "paper";
      c.alpha = options.number("alpha", 0.5);
      if (!(c.alpha >= 0 && c.alpha <= 1)) rangeError("`alpha` must be in [0, 1], got ", c.alpha);
      c.lossWeight = options.number("lossWeight", 1.0);
      if (!(c.lossWeight > 0)) rangeError("`lossWeight` must be > 0, got ", c.lossWeight);
      // torch.randn(numClasses, featDim) on the CPU generator, then moved (as the reference does).
      at::Tensor centers = at::randn({c.numClasses, c.featDim}, at::TensorOptions().dtype(at::kFloat));
      if (c.paperUpdate) {
        c.offsetSums = at::zeros({c.numClasses, c.featDim}, at::TensorOptions().dtype(at::kFloat).device(device_));
        c.counts = at::zeros({c.numClasses}, at::TensorOptions().dtype(at::kFloat).device(device_));
      }
      center_ = std::move(c);
      addParameter("centers", centers);
    } else if (kind == "arcface") {
      ArcFace a;
      a.inFeatures = positiveInteger(options, "inFeatures");
      a.numClasses = positiveInteger(options, "numClasses");
      a.options.m = options.number("m", 0.5);
      if (!(a.options.m >= 0 && a.options.m <= M_PI / 2)) rangeError("`m` must be in [0, pi/2] (radians), got ", a.options.m);
      a.options.s = options.number("s", 64.0);
      if (!(a.options.s > 0)) rangeError("`s` must be > 0, got ", a.options.s);
      a.options.easyMargin = options.flag("easyMargin", false);
      a.options.reduction = options.reduction();
      if (a.options.reduction == ops::Reduction::None) rangeError("`reduction` must be 'mean' or 'sum', got 'none'");
      // nn.init.xavier_uniform_(torch.empty(numClasses, inFeatures)) on the CPU generator.
      const double bound = std::sqrt(6.0 / static_cast<double>(a.inFeatures + a.numClasses));
      at::Tensor weight = at::empty({a.numClasses, a.inFeatures}, at::TensorOptions().dtype(at::kFloat)).uniform_(-bound, bound);
      arcface_ = a;
      addParameter("weight", weight);
    } else if (kind == "embedding") {
      initEmbeddingHead(options);
    } else if (kind != "dict") {
      rangeError("`kind` must be 'dict', 'center', 'arcface' or 'embedding', got '", kind, "'");
    }
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
  if (center_) center_->offsetSums = center_->counts = at::Tensor();
  headOutputs_.clear();
  buffers_.clear();
  head_.reset();
}

// The CPU bytes this module holds: parameters, gradients, update buffers, optimiser state.
void ParamModule::reportMemory() {
  int64_t bytes = 0, paramBytes = 0;
  for (const auto& p : params_) paramBytes += static_cast<int64_t>(p.nbytes());
  bytes = 2 * paramBytes;
  for (const auto& b : buffers_) bytes += static_cast<int64_t>(b.nbytes());
  if (center_ && center_->offsetSums.defined()) bytes += center_->offsetSums.nbytes() + center_->counts.nbytes();
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

void ParamModule::addParameter(const std::string& name, const at::Tensor& value) {
  if (std::find(names_.begin(), names_.end(), name) != names_.end()) rangeError("parameter '", name, "' exists already");
  if (value.numel() == 0) rangeError("parameter '", name, "' is empty");
  adoptParameter(name, value.to(device_, at::kFloat, false, /*copy=*/true).contiguous());
}

void ParamModule::adoptParameter(const std::string& name, const at::Tensor& p) {
  at::Tensor g = at::zeros_like(p);
  p.mutable_grad() = g;
  names_.push_back(name);
  params_.push_back(p);
  grads_.push_back(g);
  resetOptimizer();
}

std::vector<std::pair<size_t, at::Tensor>> ParamModule::readNamed(const Napi::Value& value, const char* what) {
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
    if (found == names_.end()) {
      std::string known;
      for (const auto& n : names_) known += (known.empty() ? "'" : ", '") + n + "'";
      rangeError(what, ": unknown parameter '", key, "'; parameters: ", known);
    }
    const size_t index = static_cast<size_t>(found - names_.begin());
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

std::pair<at::Tensor, at::Tensor> ParamModule::readBatch(const JsArg& inputArg, const JsArg& labelsArg, int64_t featDim,
                                                         int64_t numClasses) const {
  const at::Tensor input = inputArg.tensor("input");
  if (labelsArg.isTensorHandle()) typeError("`labels` must be labels (Int32Array, BigInt64Array or number[]), got a Tensor");
  const at::Tensor labels = labelsArg.labels("labels");
  if (input.dim() != 2 || input.size(1) != featDim) {
    rangeError("`input` must have shape [batch, ", center_ ? "featDim" : "inFeatures", " = ", featDim, "], got ",
               shapeText(input.sizes()));
  }
  const int64_t batch = input.size(0);
  if (batch == 0) rangeError("`input` is empty (batch size 0)");
  if (labels.dim() != 1 || labels.size(0) != batch) {
    rangeError("`labels` must hold ", batch, " class indices (one per row of `input`), got ", labels.numel());
  }
  const at::Tensor bad = labels.lt(0).logical_or_(labels.ge(numClasses));
  if (bad.any().item<bool>()) {
    const int64_t i = bad.nonzero()[0][0].item<int64_t>();
    rangeError("`labels[", i, "]` is ", labels[i].item<int64_t>(), "; expected class indices in [0, ", numClasses, ")");
  }
  return {input, labels};
}

Napi::Value ParamModule::jsAddParameter(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("addParameter");
    if (center_ || arcface_) typeError("addParameter: this module's parameters are fixed");
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
    Napi::Object out = Napi::Object::New(info.Env());
    for (size_t i = 0; i < names_.size(); ++i) out.Set(names_[i], hostValue(info.Env(), params_[i]));
    return out;
  });
}

Napi::Value ParamModule::jsGradients(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("gradients");
    Napi::Object out = Napi::Object::New(info.Env());
    for (size_t i = 0; i < names_.size(); ++i) out.Set(names_[i], hostValue(info.Env(), grads_[i]));
    return out;
  });
}

Napi::Value ParamModule::jsSetParameters(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("setParameters");
    const auto values = readNamed(info[0], "setParameters");  // every check before any change
    at::NoGradGuard noGrad;
    for (const auto& [index, t] : values) params_[index].copy_(t);
    return info.Env().Undefined();
  });
}

Napi::Value ParamModule::jsSetGradients(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("setGradients");
    const auto values = readNamed(info[0], "setGradients");
    at::NoGradGuard noGrad;
    for (const auto& [index, t] : values) grads_[index].copy_(t);
    return info.Env().Undefined();
  });
}

Napi::Value ParamModule::jsZeroGrad(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("zeroGrad");
    at::NoGradGuard noGrad;
    for (auto& g : grads_) g.zero_();
    if (center_ && center_->offsetSums.defined()) {
      center_->offsetSums.zero_();
      center_->counts.zero_();
    }
    return info.Env().Undefined();
  });
}

Napi::Value ParamModule::jsStep(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("step");
    if (center_ && center_->paperUpdate) {
      ops::paperCenterUpdate(params_[0], center_->offsetSums, center_->counts, center_->alpha);
      return info.Env().Undefined();
    }
    if (params_.empty()) return info.Env().Undefined();
    if (!optimizer_) optimizer_ = modules::makeOptimizer(params_, spec_);
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
    if (target == device_) return info.Env().Undefined();
    if (head_) {
      moveEmbeddingHead(target);
      device_ = target;
      resetOptimizer();
      reportMemory();
      return info.Env().Undefined();
    }
    // Everything is copied first, so that a failure (out of memory) leaves the module as it was.
    std::vector<at::Tensor> params, grads;
    for (size_t i = 0; i < params_.size(); ++i) {
      params.push_back(params_[i].to(target, false, true));
      grads.push_back(grads_[i].to(target, false, true));
    }
    at::Tensor sums, counts;
    if (center_ && center_->offsetSums.defined()) {
      sums = center_->offsetSums.to(target);
      counts = center_->counts.to(target);
    }
    for (size_t i = 0; i < params.size(); ++i) params[i].mutable_grad() = grads[i];
    params_ = std::move(params);
    grads_ = std::move(grads);
    if (center_ && sums.defined()) {
      center_->offsetSums = sums;
      center_->counts = counts;
    }
    device_ = target;
    resetOptimizer();  // its state lived on the old device (as in PyTorch: move, then build the optimiser)
    reportMemory();
    return info.Env().Undefined();
  });
}

Napi::Value ParamModule::jsDevice(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), deviceName(device_));
}

Napi::Value ParamModule::jsDispose(const Napi::CallbackInfo& info) {
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
    modules::NamedTensors named;
    for (size_t i = 0; i < names_.size(); ++i) named.emplace_back(names_[i], params_[i]);
    for (size_t i = 0; i < bufferNames_.size(); ++i) named.emplace_back(bufferNames_[i], buffers_[i]);
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
    // Every check before any change: same names, tensors of the same shapes (float parameters),
    // over the parameters and then the buffers.
    std::vector<std::string> names = names_;
    names.insert(names.end(), bufferNames_.begin(), bufferNames_.end());
    std::vector<at::Tensor> targets = params_;
    targets.insert(targets.end(), buffers_.begin(), buffers_.end());
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
    at::NoGradGuard noGrad;
    for (size_t i = 0; i < names.size(); ++i) targets[i].copy_(values[i]);
    return info.Env().Undefined();
  });
}

// forward(input [B, featDim], labels [B], { grad }) of a center-loss module: { loss, grad: { input } }.
// The centres' gradient dL/dc (without lossWeight: KaiyangZhou's rescaling by 1/lossWeight) is
// accumulated for step(); with update 'paper', so are the paper's numerators and counts.
Napi::Value ParamModule::jsCenterForward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("forward");
    if (!center_) typeError("forward: this module is not a loss");
    const JsArg inputArg = JsArg::read(info[0]);
    const JsArg labelsArg = JsArg::read(info[1]);
    const OptionReader options(info[2]);
    const bool needGrad = options.wantsGrad();
    if (inputArg.isTensorHandle() && !inputArg.handleTensor().defined()) typeError("`input` is a disposed Tensor");
    const Center& c = *center_;
    const auto [input, labels] = readBatch(inputArg, labelsArg, c.featDim, c.numClasses);
    const at::Tensor x = input.to(device_, at::kFloat);
    const at::Tensor y = labels.to(device_);
    ops::CenterLossOutput out = ops::centerLoss(x, y, params_[0], c.formula, needGrad);
    Napi::Object result = Napi::Object::New(info.Env());
    result.Set("loss", out.loss.item<double>() * c.lossWeight);
    if (needGrad) {
      at::NoGradGuard noGrad;
      grads_[0].index_add_(0, y, out.gradCenters);
      if (c.paperUpdate) {
        center_->offsetSums.index_add_(0, y, out.offsets);
        center_->counts.index_add_(0, y, at::ones({x.size(0)}, center_->counts.options()));
      }
      at::Tensor gradInput = out.gradInput.mul_(c.lossWeight).to(input.scalar_type());
      Napi::Object grad = Napi::Object::New(info.Env());
      grad.Set("input", inputArg.isTensorHandle() ? Napi::Value(TensorHandle::create(info.Env(), gradInput))
                                                  : typedArrayFromTensor(info.Env(), gradInput));
      result.Set("grad", grad);
    }
    return result;
  });
}

// forward(input [B, inFeatures], labels [B], { grad }) of an ArcFace module: { loss, grad: { input } };
// the gradient w.r.t. the class weights is accumulated for step().
Napi::Value ParamModule::jsArcFaceForward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("forward");
    if (!arcface_) typeError("forward: this module is not an ArcFace loss");
    const JsArg inputArg = JsArg::read(info[0]);
    const JsArg labelsArg = JsArg::read(info[1]);
    const OptionReader options(info[2]);
    const bool needGrad = options.wantsGrad();
    const ArcFace& a = *arcface_;
    const auto [input, labels] = readBatch(inputArg, labelsArg, a.inFeatures, a.numClasses);
    const at::Tensor x = input.to(device_, at::kFloat);
    const at::Tensor y = labels.to(device_);
    const ops::LossOutput out = ops::arcFaceLoss(x, y, params_[0], a.options, needGrad);
    Napi::Object result = Napi::Object::New(info.Env());
    result.Set("loss", out.loss.item<double>());
    if (needGrad) {
      at::NoGradGuard noGrad;
      grads_[0].add_(out.grads[1]);
      const at::Tensor gradInput = out.grads[0].to(input.scalar_type());
      Napi::Object grad = Napi::Object::New(info.Env());
      grad.Set("input", inputArg.isTensorHandle() ? Napi::Value(TensorHandle::create(info.Env(), gradInput))
                                                  : typedArrayFromTensor(info.Env(), gradInput));
      result.Set("grad", grad);
    }
    return result;
  });
}

// getLogits(input): s * cos(theta) for every class, [B, numClasses], without the margin.
Napi::Value ParamModule::jsArcFaceLogits(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("getLogits");
    if (!arcface_) typeError("getLogits: this module is not an ArcFace loss");
    const JsArg inputArg = JsArg::read(info[0]);
    const at::Tensor input = inputArg.tensor("input");
    if (input.dim() != 2 || input.size(1) != arcface_->inFeatures) {
      rangeError("`input` must have shape [batch, inFeatures = ", arcface_->inFeatures, "], got ", shapeText(input.sizes()));
    }
    const at::Tensor logits = ops::arcFaceLogits(input.to(device_, at::kFloat), params_[0], arcface_->options.s);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("data", typedArrayFromTensor(info.Env(), logits));
    Napi::Array shape = Napi::Array::New(info.Env(), 2);
    shape.Set(0u, static_cast<double>(logits.size(0)));
    shape.Set(1u, static_cast<double>(logits.size(1)));
    out.Set("shape", shape);
    return out;
  });
}

}  // namespace tl::binding
