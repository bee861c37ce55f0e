// The JavaScript side of the stateful modules (CenterLoss, ParameterDict): an ObjectWrap that
// owns named parameters (on the module's device), their gradients (accumulated by forward()
// until zeroGrad(), as in PyTorch) and an optimiser (native/modules/optimizer.h, created at
// the first step()). CPU bytes are reported to V8; dispose() frees everything at once.
#pragma once
#include <ATen/ATen.h>
#include <napi.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../modules/optimizer.h"
#include "../ops/arcface.h"
#include "marshal.h"
#include "../ops/center_loss.h"

namespace tl::modules {
class EmbeddingHead;  // ../modules/embedding_head.h
}  // namespace tl::modules

namespace tl::binding {

class OptionReader;

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
  };

  struct ArcFace {
    int64_t inFeatures = 0;
    int64_t numClasses = 0;
    ops::ArcFaceOptions options;
  };

  void live(const char* what) const;
  // input [B, featDim] and labels [B] in [0, numClasses), checked; `what` names the loss.
  std::pair<at::Tensor, at::Tensor> readBatch(const JsArg& input, const JsArg& labels, int64_t featDim,
                                              int64_t numClasses) const;
  void addParameter(const std::string& name, const at::Tensor& value);
  // Registers `value` itself (no copy) as a parameter, with a zero gradient.
  void adoptParameter(const std::string& name, const at::Tensor& value);
  void resetOptimizer() { optimizer_.reset(); stepped_ = false; }
  void reportMemory();
  void release();
  // { name: value } -> (index, tensor) for every entry; checks names and shapes first.
  std::vector<std::pair<size_t, at::Tensor>> readNamed(const Napi::Value& value, const char* what);

  Napi::Value jsAddParameter(const Napi::CallbackInfo& info);
  Napi::Value jsParameters(const Napi::CallbackInfo& info);
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
  Napi::Value jsArcFaceForward(const Napi::CallbackInfo& info);
  Napi::Value jsArcFaceLogits(const Napi::CallbackInfo& info);

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
  std::vector<at::Tensor> grads_;
  modules::OptimizerSpec spec_;
  std::unique_ptr<modules::Optimizer> optimizer_;
  bool stepped_ = false;
  bool disposed_ = false;
  std::optional<Center> center_;
  std::optional<ArcFace> arcface_;
  std::shared_ptr<modules::EmbeddingHead> head_;
  std::vector<at::Tensor> headOutputs_;  // the last forward's outputs, graph attached, until backward
  // Saved and loaded with the parameters, not optimised (BatchNorm running statistics).
  std::vector<std::string> bufferNames_;
  std::vector<at::Tensor> buffers_;
  int64_t reported_ = 0;
};

}  // namespace tl::binding
