// The shared path of every loss binding: JS arguments -> tensors on the requested device ->
// op -> { loss, losses?, grad? } with gradients in the input's layout and precision.
#pragma once
#include <napi.h>

#include <array>

#include "../ops/loss_output.h"
#include "errors.h"
#include "marshal.h"
#include "options.h"

namespace tl::binding {

template <size_t N>
using TensorNames = std::array<const char*, N>;

// Reads N tensor arguments (all the same dtype, moved to the options' device).
template <size_t N>
std::array<at::Tensor, N> tensorArguments(const Napi::CallbackInfo& info,
                                          const TensorNames<N>& names, const c10::Device& device) {
  std::array<at::Tensor, N> tensors;
  for (size_t i = 0; i < N; ++i) {
    tensors[i] = tensorFromJs(info[i], names[i]);
    if (i > 0) requireSameDtype(names[i], tensors[i], names[0], tensors[0]);
  }
  for (auto& tensor : tensors) tensor = onDevice(tensor, device);
  return tensors;
}

// { loss: number } for mean/sum, { loss: sum, losses: TypedArray } for 'none'; plus
// grad: { <name>: TypedArray } when gradients were computed.
template <size_t N>
Napi::Object lossResult(Napi::Env env, const ops::LossOutput& out, const TensorNames<N>& names,
                        ops::Reduction reduction) {
  Napi::Object result = Napi::Object::New(env);
  if (reduction == ops::Reduction::None) {
    result.Set("loss", out.loss.sum().item<double>());
    result.Set("losses", typedArrayFromTensor(env, out.loss));
  } else {
    result.Set("loss", out.loss.item<double>());
  }
  if (!out.grads.empty()) {
    Napi::Object grads = Napi::Object::New(env);
    for (size_t i = 0; i < N && i < out.grads.size(); ++i) {
      grads.Set(names[i], typedArrayFromTensor(env, out.grads[i]));
    }
    result.Set("grad", grads);
  }
  return result;
}

// A loss of N tensors: fn(tensors..., options, needGrad). `parse` reads its options.
template <size_t N, typename Options, typename Parse, typename Fn>
Napi::Value runLoss(const Napi::CallbackInfo& info, const TensorNames<N>& names, Parse parse,
                    Fn fn) {
  return guarded(info, [&]() -> Napi::Value {
    const OptionReader reader(info[N]);
    const Options options = parse(reader);
    const auto tensors = tensorArguments<N>(info, names, reader.device());
    ops::LossOutput out = std::apply(
        [&](const auto&... t) { return fn(t..., options, reader.wantsGrad()); }, tensors);
    return lossResult<N>(info.Env(), out, names, reader.reduction());
  });
}

}  // namespace tl::binding
