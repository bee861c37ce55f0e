// The JavaScript side of the stateful modules (CenterLoss, the margin-softmax family, OIM,
// ParameterDict): an ObjectWrap that owns named parameters (on the module's device), their
// gradients (accumulated by forward() until zeroGrad(), as in PyTorch), buffers (state that is
// saved and loaded but not optimised: OIM's lookup table) and an optimiser (native/modules/
// optimizer.h, created at the first step()). CPU bytes are reported to V8; dispose() frees
// everything at once.
//
// Concurrency: forwardAsync runs on a libuv worker while JavaScript goes on. Every method that
// reads or writes the module's state takes the module's mutex, so calls on one module are
// serialised in call order: async forwards run one after the other in the order they were made,
// and a synchronous call (forward, step, zeroGrad, setParameters, save, dispose, ...) waits until
// the async forwards made before it have run (blocking the event loop for that long). The loss bodies live in param_losses.cpp.
#pragma once
#include <ATen/ATen.h>
#include <napi.h>

#include <functional>
#include <memory>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "../modules/optimizer.h"
#include "../ops/margin_softmax.h"
#include "../ops/oim.h"
#include "marshal.h"
#include "../ops/center_loss.h"
#include "options.h"

namespace tl::modules {
class EmbeddingHead;  // ../modules/embedding_head.h
}  // namespace tl::modules

namespace tl::binding {

class ParamModule : public Napi::ObjectWrap<ParamModule> {
 public:
  static void exportClass(Napi::Env env, Napi::Object exports);

  // new ParamModule({ kind: 'dict' | 'center', device, optimizer, lr, ..., numClasses, featDim, ... })
  explicit ParamModule(const Napi::CallbackInfo& info);
  ~ParamModule() override;

 private:
  struct Center {
    int64_t numClasses = 0;
    int64_t featDim = 0;
    ops::CenterFormula formula = ops::CenterFormula::Mean;
    bool paperUpdate = false;
    double alpha = 0.5;
    double lossWeight = 1.0;
    at::Tensor offsetSums;  // paper update: sum of (c_j - x_i) per class since zeroGrad()
    at::Tensor counts;      // paper update: n_j since zeroGrad()
    // The labels whose rows got gradient since zeroGrad() (which then clears only those), unless
    // touchedAll (setGradients, to(), or too many batches: clear everything).
    std::vector<at::Tensor> touched;
    bool touchedAll = false;
    void touch(const at::Tensor& labels) {
      if (touchedAll) return;
      touched.push_back(labels);
      if (static_cast<int64_t>(touched.size()) * labels.size(0) > numClasses) {
        touchedAll = true;  // clearing everything is cheaper by then
        touched.clear();
      }
    }
    // The centres' gradient rows of the forwards since the last flush, not yet added into the
    // dense gradient: (labels, dL/dc rows). A training step (zeroGrad, forward, step) then writes
    // the table's rows once, in step(), instead of in every forward and zeroGrad().
    std::vector<std::pair<at::Tensor, at::Tensor>> pending;
    int64_t pendingRows = 0;
  };

  // Adds the pending centre-gradient rows into the dense gradient (before anything reads it).
  void flushCenterGradients();

  // ArcFace, CosFace, sub-center ArcFace, NormalizedSoftmax (one fused op), with an optional MLP
  // projector in front (ArcFaceLossWithMLP): parameters mlp.{i}.weight / mlp.{i}.bias, then weight.
  struct MarginSoftmax {
    int64_t inFeatures = 0;     // of the input (the projector's input when there is one)
    int64_t numClasses = 0;
    int64_t mlpParams = 0;      // 2 * number of projector layers
    ops::MarginSoftmaxOptions options;
    ops::MarginSoftmaxWorkspace workspace;  // reused between forwards; freed by dispose()
  };

  struct Oim {
    int64_t numClasses = 0;     // labelled identities (lookup-table rows)
    int64_t featDim = 0;
    int64_t queueHead = 0;      // next write position in the circular queue
    ops::OimOptions options;
  };

  // What a forward computes off the JS thread: the loss and the gradient w.r.t. its input.
  struct ForwardOutput {
    double loss = 0;
    at::Tensor gradInput;
  };
  using ForwardJob = std::function<ForwardOutput()>;
  class ForwardWorker;

  void live(const char* what) const;
  // input [B, featDim] and labels [B] in [0, numClasses), checked; `what` names the loss.
  // `firstLabel` -1 admits OIM's unlabelled samples. `featName` names featDim in messages. NaN or
  // Inf in the input is a RangeError unless the forward's options say `allowNonFinite: true`.
  std::pair<at::Tensor, at::Tensor> readBatch(const JsArg& input, const JsArg& labels, const OptionReader& options,
                                              int64_t featDim, int64_t numClasses, const char* featName,
                                              int64_t firstLabel = 0) const;
  void addParameter(const std::string& name, const at::Tensor& value, bool buffer = false);
  // Registers `value` itself (no copy, any dtype for a buffer) as a parameter with a zero
  // gradient, or as a buffer.
  void adoptParameter(const std::string& name, const at::Tensor& value, bool buffer = false);
  std::vector<at::Tensor> trainable() const;
  // Runs `job` under the module's mutex, now (sync) or on a worker (info[3] true: a Promise), and
  // returns { loss, grad: { input } } (a Tensor gradient for a Tensor input).
  Napi::Value runForward(const Napi::CallbackInfo& info, bool tensorInput, ForwardJob job);
  // The batch for a forward: copies JS memory for async calls (the caller may reuse its arrays).
  // The module's lock, once every async forward queued so far has run.
  std::unique_lock<std::mutex> exclusive();
  at::Tensor forwardInput(const Napi::CallbackInfo& info, const at::Tensor& input) const;
  void resetOptimizer() { optimizer_.reset(); stepped_ = false; }
  void reportMemory();
  void release();
  // { name: value } -> (index, tensor) for every entry; checks names and shapes first.
  std::vector<std::pair<size_t, at::Tensor>> readNamed(const Napi::Value& value, const char* what, bool buffers);

  Napi::Value jsAddParameter(const Napi::CallbackInfo& info);
  Napi::Value jsParameters(const Napi::CallbackInfo& info);
  Napi::Value jsBuffers(const Napi::CallbackInfo& info);
  Napi::Value jsGradients(const Napi::CallbackInfo& info);
  Napi::Value jsSetParameters(const Napi::CallbackInfo& info);
  Napi::Value jsSetGradients(const Napi::CallbackInfo& info);
  Napi::Value jsZeroGrad(const Napi::CallbackInfo& info);
  Napi::Value jsStep(const Napi::CallbackInfo& info);
  Napi::Value jsGetLearningRate(const Napi::CallbackInfo& info);
  Napi::Value jsSetLearningRate(const Napi::CallbackInfo& info);
  Napi::Value jsTo(const Napi::CallbackInfo& info);
  Napi::Value jsDevice(const Napi::CallbackInfo& info);
  Napi::Value jsDispose(const Napi::CallbackInfo& info);
  Napi::Value jsDisposed(const Napi::CallbackInfo& info);
  Napi::Value jsSaveBytes(const Napi::CallbackInfo& info);
  Napi::Value jsLoadBytes(const Napi::CallbackInfo& info);
  Napi::Value jsMemoryBytes(const Napi::CallbackInfo& info);
  Napi::Value jsCenterForward(const Napi::CallbackInfo& info);
  Napi::Value jsMarginForward(const Napi::CallbackInfo& info);
  Napi::Value jsMarginLogits(const Napi::CallbackInfo& info);
  Napi::Value jsOimForward(const Napi::CallbackInfo& info);
  // Constructors of the loss kinds (param_losses.cpp), from the module's options.
  void initCenter(const OptionReader& options);
  void initMarginSoftmax(const OptionReader& options, const std::string& kind);
  void initOim(const OptionReader& options);

  // kind 'embedding' (nn.EmbeddingHead), in embedding_head.cpp
  void initEmbeddingHead(const OptionReader& options);
  void moveEmbeddingHead(c10::Device target);
  Napi::Value jsHeadForward(const Napi::CallbackInfo& info);
  Napi::Value jsHeadBackward(const Napi::CallbackInfo& info);
  Napi::Value jsSetTraining(const Napi::CallbackInfo& info);
  Napi::Value jsTraining(const Napi::CallbackInfo& info);

  Napi::Env env_;
  c10::Device device_{c10::kCPU};
  std::vector<std::string> names_;
  std::vector<at::Tensor> params_;
  std::vector<at::Tensor> grads_;   // undefined for buffers
  std::vector<bool> isBuffer_;
  modules::OptimizerSpec spec_;
  std::unique_ptr<modules::Optimizer> optimizer_;
  bool stepped_ = false;
  bool disposed_ = false;
  std::optional<Center> center_;
  std::optional<MarginSoftmax> margin_;
  std::optional<Oim> oim_;
  std::shared_ptr<modules::EmbeddingHead> head_;
  std::vector<at::Tensor> headOutputs_;  // the last forward's outputs, graph attached, until backward
  // The head's BatchNorm running statistics (int64 num_batches_tracked included): saved and
  // loaded with the parameters, outside params_ because the head's backward differentiates params_.
  std::vector<std::string> headBufferNames_;
  std::vector<at::Tensor> headBuffers_;
  // Serialisation (see the top of this file): async forwards take tickets in call order and run
  // when served; synchronous calls wait until every forward queued before them has run.
  std::mutex mutex_;
  std::condition_variable turn_;
  uint64_t nextTicket_ = 0;
  uint64_t serving_ = 0;
  int64_t reported_ = 0;
  // The margin-softmax workspace's bytes, written by forwards (under the mutex, maybe on a worker)
  // and read by reportMemory() on the JS thread.
  std::atomic<int64_t> workspaceBytes_{0};
};

}  // namespace tl::binding
