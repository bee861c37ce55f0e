// The losses of ParamModule (param_module.h): their construction from options, forward (sync and
// async, serialised by the module's mutex) and inference logits.
#include <cmath>

#include "../common/errors.h"
#include "../ops/center_loss.h"
#include "../ops/margin_softmax.h"
#include "../ops/mlp_projector.h"
#include "../ops/oim.h"
#include "async_loss.h"
#include "errors.h"
#include "margin_options.h"
#include "param_module.h"
#include "tensor_handle.h"

namespace tl::binding {
namespace {

int64_t positiveInteger(const OptionReader& options, const char* key) {
  const int64_t v = options.integer(key, 0);
  if (v <= 0) rangeError("`", key, "` must be a positive integer, got ", v);
  return v;
}

at::TensorOptions floatCpu() { return at::TensorOptions().dtype(at::kFloat); }

Napi::Object forwardResult(Napi::Env env, double loss, const at::Tensor& gradInput, bool tensorInput, bool external) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("loss", loss);
  if (gradInput.defined()) {
    Napi::Object grad = Napi::Object::New(env);
    grad.Set("input", tensorInput ? Napi::Value(TensorHandle::create(env, gradInput))
                                  : typedArrayFromTensor(env, gradInput, external));
    result.Set("grad", grad);
  }
  return result;
}

}  // namespace

// forwardAsync: the job runs on a libuv thread under the module's mutex; the JS object is kept
// alive (a reference) until the promise settles.
class ParamModule::ForwardWorker : public Napi::AsyncWorker {
 public:
  ForwardWorker(Napi::Env env, ParamModule* module, bool tensorInput, ForwardJob job)
      : Napi::AsyncWorker(env, "torch-losses:module"),
        deferred_(Napi::Promise::Deferred::New(env)),
        module_(module),
        tensorInput_(tensorInput),
        job_(std::move(job)),
        ticket_(module->nextTicket_++) {
    module_->Ref();
  }
  ~ForwardWorker() override { module_->Unref(); }

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    IntraOpThreadShare share;
    // In call order: libuv starts workers first in, first out, so the ticket before this one is
    // running or done, never waiting behind it.
    std::unique_lock<std::mutex> lock(module_->mutex_);
    module_->turn_.wait(lock, [&] { return module_->serving_ == ticket_; });
    try {
      if (module_->disposed_) typeError("forwardAsync: this module was disposed");
      out_ = job_();
    } catch (...) {
      error_ = std::current_exception();
    }
    ++module_->serving_;
    module_->turn_.notify_all();
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    try {
      if (error_) rethrowAsJs(env, error_);
      module_->reportMemory();
      deferred_.Resolve(forwardResult(env, out_.loss, out_.gradInput, tensorInput_, /*external=*/true));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  ParamModule* module_;
  bool tensorInput_;
  ForwardJob job_;
  uint64_t ticket_;
  ForwardOutput out_;
  std::exception_ptr error_;
};

std::unique_lock<std::mutex> ParamModule::exclusive() {
  std::unique_lock<std::mutex> lock(mutex_);
  turn_.wait(lock, [&] { return serving_ == nextTicket_; });
  return lock;
}

at::Tensor ParamModule::forwardInput(const Napi::CallbackInfo& info, const at::Tensor& input) const {
  const bool async = info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  // async: JS memory may be reused once the call returns; a Tensor's memory is its own.
  return async && input.is_cpu() ? input.clone() : input;
}

Napi::Value ParamModule::runForward(const Napi::CallbackInfo& info, bool tensorInput, ForwardJob job) {
  const bool async = info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  if (async) {
    auto* worker = new ForwardWorker(info.Env(), this, tensorInput, std::move(job));
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  }
  const auto lock = exclusive();
  const ForwardOutput out = job();
  reportMemory();
  return forwardResult(info.Env(), out.loss, out.gradInput, tensorInput, false);
}

void ParamModule::initCenter(const OptionReader& options) {
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
  at::Tensor centers = at::randn({c.numClasses, c.featDim}, floatCpu());
  if (c.paperUpdate) {
    c.offsetSums = at::zeros({c.numClasses, c.featDim}, floatCpu().device(device_));
    c.counts = at::zeros({c.numClasses}, floatCpu().device(device_));
  }
  center_ = std::move(c);
  addParameter("centers", centers);
}

void ParamModule::initMarginSoftmax(const OptionReader& options, const std::string& kind) {
  MarginSoftmax a;
  a.inFeatures = positiveInteger(options, "inFeatures");
  a.numClasses = positiveInteger(options, "numClasses");
  a.options = readMarginSoftmaxOptions(options, kind, a.numClasses, device_);
  if (a.options.reduction == ops::Reduction::None) rangeError("`reduction` must be 'mean' or 'sum', got 'none'");
  // The projector (ArcFaceLossWithMLP): nn.Linear's init (kaiming_uniform_(a = sqrt(5)), i.e.
  // U(+-1/sqrt(fan_in)) for weight then bias), layer by layer, before the class weights.
  int64_t features = a.inFeatures;
  if (const JsArg* mlp = options.tensorArg("mlpFeatures")) {
    const at::Tensor sizes = mlp->labels("mlpFeatures");
    if (sizes.dim() != 1 || sizes.numel() == 0) rangeError("`mlpFeatures` must list at least one layer size");
    for (int64_t i = 0; i < sizes.numel(); ++i) {
      const int64_t out = sizes[i].item<int64_t>();
      if (out <= 0) rangeError("`mlpFeatures[", i, "]` must be a positive integer, got ", out);
      const double bound = 1.0 / std::sqrt(static_cast<double>(features));
      addParameter("mlp." + std::to_string(i) + ".weight", at::empty({out, features}, floatCpu()).uniform_(-bound, bound));
      addParameter("mlp." + std::to_string(i) + ".bias", at::empty({out}, floatCpu()).uniform_(-bound, bound));
      features = out;
    }
    a.mlpParams = 2 * sizes.numel();
  }
  // nn.init.xavier_uniform_(torch.empty(numClasses * subCenters, features)) on the CPU generator.
  const int64_t rows = a.numClasses * a.options.subCenters;
  const double bound = std::sqrt(6.0 / static_cast<double>(features + rows));
  addParameter("weight", at::empty({rows, features}, floatCpu()).uniform_(-bound, bound));
  margin_ = std::move(a);
}

void ParamModule::initOim(const OptionReader& options) {
  Oim o;
  o.numClasses = positiveInteger(options, "numClasses");
  o.featDim = positiveInteger(options, "featDim");
  o.options.scalar = options.number("scalar", 1.0);
  if (!(o.options.scalar > 0)) rangeError("`scalar` must be > 0, got ", o.options.scalar);
  o.options.momentum = options.number("momentum", 0.5);
  if (!(o.options.momentum >= 0 && o.options.momentum <= 1)) rangeError("`momentum` must be in [0, 1], got ", o.options.momentum);
  o.options.reduction = options.reduction();
  if (o.options.reduction == ops::Reduction::None) rangeError("`reduction` must be 'mean' or 'sum', got 'none'");
  const int64_t queueSize = options.integer("queueSize", 0);
  if (queueSize < 0) rangeError("`queueSize` must be an integer >= 0, got ", queueSize);
  // Zeros, as open-reid and person_search register them.
  addParameter("lut", at::zeros({o.numClasses, o.featDim}, floatCpu()), /*buffer=*/true);
  if (queueSize > 0) addParameter("queue", at::zeros({queueSize, o.featDim}, floatCpu()), /*buffer=*/true);
  oim_ = o;
}

// centerForward(input [B, featDim], labels [B], { grad }, async): { loss, grad: { input } }.
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
    const auto [input, labels] = readBatch(inputArg, labelsArg, options, center_->featDim, center_->numClasses, "featDim");
    const at::Tensor x = forwardInput(info, input);
    return runForward(info, inputArg.isTensorHandle(), [this, x, labels = labels, needGrad]() -> ForwardOutput {
      Center& c = *center_;
      const at::Tensor y = labels.to(device_);
      ops::CenterLossOutput out = ops::centerLoss(x.to(device_, at::kFloat), y, params_[0], c.formula, needGrad);
      ForwardOutput result{out.loss.item<double>() * c.lossWeight, {}};
      if (!needGrad) return result;
      at::NoGradGuard noGrad;
      c.pending.emplace_back(y, -out.gradInput);  // dL/dc_{y_i} = -dL/dx_i, added at the next flush
      c.pendingRows += x.size(0);
      if (c.pendingRows > c.numClasses) flushCenterGradients();  // bounded memory
      if (c.paperUpdate) {
        c.touch(y);
        c.offsetSums.index_add_(0, y, out.diff, /*alpha=*/-1);  // sum of c_j - x_i
        c.counts.index_add_(0, y, at::ones({x.size(0)}, c.counts.options()));
      }
      result.gradInput = (c.lossWeight == 1 ? out.gradInput : out.gradInput * c.lossWeight).to(x.scalar_type());
      return result;
    });
  });
}

void ParamModule::flushCenterGradients() {
  if (!center_) return;
  Center& c = *center_;
  at::NoGradGuard noGrad;
  for (const auto& [y, rows] : c.pending) {
    grads_[0].index_add_(0, y, rows);
    if (!c.paperUpdate) c.touch(y);  // (the paper update recorded them at the forward)
  }
  c.pending.clear();
  c.pendingRows = 0;
}

// marginForward(input [B, inFeatures], labels [B], { grad }, async) of the margin-softmax family:
// { loss, grad: { input } }; the gradients of the class weights (and of the projector) accumulate.
Napi::Value ParamModule::jsMarginForward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("forward");
    if (!margin_) typeError("forward: this module is not a margin-softmax loss");
    const JsArg inputArg = JsArg::read(info[0]);
    const JsArg labelsArg = JsArg::read(info[1]);
    const OptionReader options(info[2]);
    const bool needGrad = options.wantsGrad();
    const auto [input, labels] = readBatch(inputArg, labelsArg, options, margin_->inFeatures, margin_->numClasses, "inFeatures");
    const at::Tensor x = forwardInput(info, input);
    return runForward(info, inputArg.isTensorHandle(), [this, x, labels = labels, needGrad]() -> ForwardOutput {
      MarginSoftmax& a = *margin_;
      const at::Tensor features = x.to(device_, at::kFloat);
      const std::vector<at::Tensor> mlp(params_.begin(), params_.begin() + a.mlpParams);
      const at::Tensor embeddings = mlp.empty() ? features : ops::mlpForward(features, mlp);
      const ops::LossOutput out =
          ops::marginSoftmaxLoss(embeddings, labels.to(device_), params_.back(), a.options, needGrad, &a.workspace);
      int64_t held = 0;
      for (const at::Tensor* t : {&a.workspace.logits, &a.workspace.unitWeight, &a.workspace.gradWeight}) {
        if (t->defined() && t->is_cpu()) held += static_cast<int64_t>(t->nbytes());
      }
      workspaceBytes_ = held;
      ForwardOutput result{out.loss.item<double>(), {}};
      if (!needGrad) return result;
      at::NoGradGuard noGrad;
      grads_.back().add_(out.grads[1]);
      at::Tensor gradInput = out.grads[0];
      if (!mlp.empty()) {
        const std::vector<at::Tensor> g = ops::mlpBackward(features, mlp, gradInput);
        for (size_t i = 0; i < mlp.size(); ++i) grads_[i].add_(g[i + 1]);
        gradInput = g[0];
      }
      result.gradInput = gradInput.to(x.scalar_type());
      return result;
    });
  });
}

// marginLogits(input): s * cos(theta) (through the projector, max over sub-centres) for every
// class, [B, numClasses], without the margin.
Napi::Value ParamModule::jsMarginLogits(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("getLogits");
    if (!margin_) typeError("getLogits: this module is not a margin-softmax loss");
    const JsArg inputArg = JsArg::read(info[0]);
    const at::Tensor input = inputArg.tensor("input");
    if (input.dim() != 2 || input.size(1) != margin_->inFeatures) {
      rangeError("`input` must have shape [batch, inFeatures = ", margin_->inFeatures, "], got ", input.sizes());
    }
    const auto lock = exclusive();
    const MarginSoftmax& a = *margin_;
    const std::vector<at::Tensor> mlp(params_.begin(), params_.begin() + a.mlpParams);
    at::Tensor embeddings = input.to(device_, at::kFloat);
    if (!mlp.empty()) embeddings = ops::mlpForward(embeddings, mlp);
    const at::Tensor logits = ops::marginSoftmaxLogits(embeddings, params_.back(), a.options.s, a.options.subCenters);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("data", typedArrayFromTensor(info.Env(), logits));
    Napi::Array shape = Napi::Array::New(info.Env(), 2);
    shape.Set(0u, static_cast<double>(logits.size(0)));
    shape.Set(1u, static_cast<double>(logits.size(1)));
    out.Set("shape", shape);
    return out;
  });
}

// oimForward(input [B, featDim], labels [B] in [-1, numClasses), { grad }, async): { loss, grad:
// { input } }. With grad (training), the lookup table and queue are updated after the gradient.
Napi::Value ParamModule::jsOimForward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    live("forward");
    if (!oim_) typeError("forward: this module is not an OIM loss");
    const JsArg inputArg = JsArg::read(info[0]);
    const JsArg labelsArg = JsArg::read(info[1]);
    const OptionReader options(info[2]);
    const bool needGrad = options.wantsGrad();
    const auto [input, labels] = readBatch(inputArg, labelsArg, options, oim_->featDim, oim_->numClasses, "featDim", -1);
    const at::Tensor x = forwardInput(info, input);
    return runForward(info, inputArg.isTensorHandle(), [this, x, labels = labels, needGrad]() -> ForwardOutput {
      Oim& o = *oim_;
      const at::Tensor features = x.to(device_, at::kFloat);
      const at::Tensor y = labels.to(device_);
      at::Tensor queue = params_.size() > 1 ? params_[1] : at::empty({0, o.featDim}, params_[0].options());
      const ops::LossOutput out = ops::oimLoss(features, y, params_[0], queue, o.options, needGrad);
      ForwardOutput result{out.loss.item<double>(), {}};
      if (!needGrad) return result;
      o.queueHead = ops::oimUpdate(params_[0], queue, o.queueHead, features, y, o.options.momentum);
      result.gradInput = out.grads[0].to(x.scalar_type());
      return result;
    });
  });
}

}  // namespace tl::binding
