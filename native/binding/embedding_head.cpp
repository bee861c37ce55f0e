// nn.EmbeddingHead's native side: the ParamModule kind 'embedding'. The parameters registered
// with the module are the torch::nn modules' own tensors (no copies), so the optimiser, save /
// load, setParameters and to(device) of ParamModule act on the model directly.
#include <ATen/ATen.h>

#include "../common/errors.h"
#include "../modules/embedding_head.h"
#include "errors.h"
#include "marshal.h"
#include "options.h"
#include "param_module.h"
#include "tensor_handle.h"

namespace tl::binding {
namespace {

int64_t positiveOption(const OptionReader& options, const char* key, int64_t fallback) {
  const int64_t v = options.integer(key, fallback);
  if (v <= 0) rangeError("`", key, "` must be a positive integer, got ", v);
  return v;
}

// A float result for JS: a Tensor for Tensor inputs (on the module's device), else a typed array.
Napi::Value output(Napi::Env env, const at::Tensor& t, bool asTensor) {
  const at::Tensor value = t.detach();  // a result must not keep the graph alive
  if (asTensor) return TensorHandle::create(env, value);
  Napi::Object out = Napi::Object::New(env);
  out.Set("data", typedArrayFromTensor(env, value));
  Napi::Array shape = Napi::Array::New(env, 2);
  shape.Set(0u, static_cast<double>(value.size(0)));
  shape.Set(1u, static_cast<double>(value.size(1)));
  out.Set("shape", shape);
  return out;
}

}  // namespace

void ParamModule::initEmbeddingHead(const OptionReader& options) {
  modules::EmbeddingHeadOptions o;
  o.inFeatures = positiveOption(options, "inFeatures", 0);
  o.outFeatures = positiveOption(options, "outFeatures", 0);
  if (const JsArg* hidden = options.tensorArg("hiddenFeatures")) {
    const at::Tensor sizes = hidden->labels("hiddenFeatures");
    const int64_t* values = sizes.data_ptr<int64_t>();
    o.hiddenFeatures.assign(values, values + sizes.numel());
  }
  o.batchNorm = options.flag("batchNorm", true);
  o.bnNeck = options.flag("bnNeck", false);
  o.normalize = options.flag("normalize", false);
  o.numClasses = options.integer("numClasses", 0);
  if (o.numClasses < 0) rangeError("`numClasses` must be a positive integer, got ", o.numClasses);
  head_ = std::make_shared<modules::EmbeddingHead>(o);  // initialised on the CPU generator (manualSeed)
  moveEmbeddingHead(device_);
}

// Moves the model (in place) and re-registers its tensors with gradients on `target`.
void ParamModule::moveEmbeddingHead(c10::Device target) {
  const std::vector<at::Tensor> oldGrads = std::move(grads_);  // accumulated gradients move along
  head_->to(target);
  headOutputs_.clear();
  names_.clear();
  params_.clear();
  grads_.clear();
  isBuffer_.clear();
  for (const auto& [name, p] : head_->parameters()) adoptParameter(name, p);
  if (oldGrads.size() == grads_.size()) {
    for (size_t i = 0; i < grads_.size(); ++i) grads_[i].copy_(oldGrads[i]);
  }
  headBufferNames_.clear();
  headBuffers_.clear();
  for (const auto& [name, b] : head_->buffers()) {
    headBufferNames_.push_back(name);
    headBuffers_.push_back(b);
  }
}

// headForward(input [B, inFeatures], { grad }) -> { embeddings, logits? }. With grad (default)
// the graph is kept for one headBackward().
Napi::Value ParamModule::jsHeadForward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("forward");
    if (!head_) typeError("forward: this module is not an EmbeddingHead");
    const JsArg inputArg = JsArg::read(info[0]);
    const OptionReader options(info[1]);
    const bool needGrad = options.wantsGrad();
    if (inputArg.isTensorHandle() && !inputArg.handleTensor().defined()) typeError("`input` is a disposed Tensor");
    const at::Tensor input = inputArg.tensor("input");
    const modules::EmbeddingHeadOptions& o = head_->options();
    if (input.dim() != 2 || input.size(1) != o.inFeatures) {
      rangeError("`input` must have shape [batch, inFeatures = ", o.inFeatures, "], got ", input.sizes());
    }
    const bool batchStats = head_->isTraining() && (o.bnNeck || (o.batchNorm && !o.hiddenFeatures.empty()));
    if (input.size(0) < (batchStats ? 2 : 1)) {
      rangeError("`input` must hold at least ", batchStats ? "2 rows (BatchNorm in training mode)" : "1 row", ", got ",
                 input.size(0));
    }
    headOutputs_.clear();  // a new forward drops the previous graph
    // A copy: the graph keeps the input for the backward pass, after the typed array is gone.
    const at::Tensor x = input.to(device_, at::kFloat, false, /*copy=*/true);
    modules::EmbeddingHeadOutput out;
    {
      at::AutoGradMode gradMode(needGrad);
      out = head_->forward(x);
    }
    if (needGrad) headOutputs_ = {out.embeddings, out.logits};
    Napi::Object result = Napi::Object::New(info.Env());
    const bool asTensor = inputArg.isTensorHandle();
    result.Set("embeddings", output(info.Env(), out.embeddings, asTensor));
    if (out.logits.defined()) result.Set("logits", output(info.Env(), out.logits, asTensor));
    return result;
  });
}

// headBackward({ embeddings?, logits? }): one backward pass from the last forward's outputs with
// these upstream gradients; the parameters' gradients are accumulated (until zeroGrad()).
Napi::Value ParamModule::jsHeadBackward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("backward");
    if (!head_) typeError("backward: this module is not an EmbeddingHead");
    if (!info[0].IsObject() || info[0].IsArray() || info[0].IsTypedArray()) {
      typeError("backward: expected { embeddings?, logits? } gradients, got ", describe(info[0]));
    }
    const OptionReader grads(info[0]);
    if (headOutputs_.empty()) {
      rangeError("backward: no graph to go back through; call forward() (with grad) first, once per backward()");
    }
    const char* names[2] = {"embeddings", "logits"};
    std::vector<at::Tensor> seeds(2);
    for (size_t i = 0; i < 2; ++i) {
      const JsArg* arg = grads.tensorArg(names[i]);
      if (!arg) continue;
      const std::string label = std::string("grad.") + names[i];
      if (!headOutputs_[i].defined()) rangeError("backward: `", label, "` given, but this model has no classifier (numClasses)");
      const at::Tensor g = arg->tensor(label.c_str());
      // The output's shape, or flat with as many elements (a loss's gradient is a flat array).
      const bool flat = g.dim() == 1 && g.numel() == headOutputs_[i].numel();
      if (g.sizes() != headOutputs_[i].sizes() && !flat) {
        rangeError("backward: `", label, "` must have shape ", headOutputs_[i].sizes(), " (or be flat with ",
                   headOutputs_[i].numel(), " elements), got ", g.sizes());
      }
      seeds[i] = g.reshape(headOutputs_[i].sizes()).to(device_, at::kFloat, false, /*copy=*/true);
    }
    if (!seeds[0].defined() && !seeds[1].defined()) rangeError("backward: give `embeddings` and/or `logits` gradients");
    const std::vector<at::Tensor> outputs = std::move(headOutputs_);
    headOutputs_.clear();
    const std::vector<at::Tensor> g = modules::gradientsOf(outputs, seeds, params_);
    at::NoGradGuard noGrad;
    for (size_t i = 0; i < g.size(); ++i) grads_[i].add_(g[i]);
    return info.Env().Undefined();
  });
}

Napi::Value ParamModule::jsSetTraining(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("train");
    if (!head_) typeError("train: this module has no training mode");
    if (!info[0].IsBoolean()) typeError("train: `mode` must be a boolean, got ", describe(info[0]));
    head_->train(info[0].As<Napi::Boolean>().Value());
    return info.Env().Undefined();
  });
}

Napi::Value ParamModule::jsTraining(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), head_ && head_->isTraining());
}

}  // namespace tl::binding
