// N-API side of dist (process_group.h): argument checks, sync and Promise forms of each call.
// A sync call waits for the collective on the JS thread, as torch.distributed does; the *Async
// form waits on a libuv worker so that the event loop goes on (collectives block on peers).
#include "dist_binding.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <type_traits>

#include "../binding/errors.h"
#include "../binding/marshal.h"
#include "../binding/promise_worker.h"
#include "../binding/tensor_handle.h"
#include "../common/errors.h"
#include "process_group.h"

namespace tl::binding {
namespace {

// How a collective's input came in, so that its result goes back in the same form:
// Tensor -> Tensor, { data, shape } or a typed array -> { data, shape }, labels -> BigInt64Array.
enum class Form { Tensor, Host, Labels };

struct Input {
  at::Tensor tensor;
  Form form;
};

// Reads a collective's tensor argument. `ownCopy`: async calls must not keep JS memory, which
// the caller may change or free while the collective runs.
Input readInput(const Napi::Value& value, bool ownCopy, bool allowLabels) {
  const JsArg arg = JsArg::read(value);
  if (allowLabels && arg.holdsLabels()) return {arg.labels("labels"), Form::Labels};
  at::Tensor t = arg.tensor("tensor");
  if (arg.isTensorHandle()) return {t, Form::Tensor};
  return {ownCopy ? t.clone() : t, Form::Host};
}

Napi::Value output(Napi::Env env, const at::Tensor& t, Form form) {
  switch (form) {
    case Form::Tensor: return TensorHandle::create(env, t);
    case Form::Labels: {
      const at::Tensor host = t.to(at::kCPU, at::kLong).contiguous();
      Napi::BigInt64Array out = Napi::BigInt64Array::New(env, static_cast<size_t>(host.numel()));
      if (host.numel()) std::memcpy(out.Data(), host.data_ptr(), host.nbytes());
      return out;
    }
    case Form::Host: break;
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("data", typedArrayFromTensor(env, t));
  Napi::Array shape = Napi::Array::New(env, t.dim());
  for (int64_t d = 0; d < t.dim(); ++d) shape.Set(static_cast<uint32_t>(d), static_cast<double>(t.size(d)));
  out.Set("shape", shape);
  return out;
}

// A future<void> as a future<bool>, so that one worker template serves every call.
std::future<bool> asValue(std::future<void> done) {
  return std::async(std::launch::deferred, [done = std::move(done)]() mutable {
    done.get();
    return true;
  });
}

// Sync: wait here and convert. Async: a libuv worker waits for the collective's future, then the
// Promise settles on the JS thread.
template <typename T>
Napi::Value settle(Napi::Env env, bool async, std::future<T> future,
                   typename PromiseWorker<T>::Settle convert) {
  if (!async) {
    T value = future.get();
    return convert(env, value);
  }
  // std::function needs a copyable callable: the move-only future is shared.
  auto shared = std::make_shared<std::future<T>>(std::move(future));
  return PromiseWorker<T>::queue(env, "torch-losses:dist", [shared] { return shared->get(); }, std::move(convert));
}

bool isAsync(const Napi::CallbackInfo& info) { return info.Data() != nullptr; }

int64_t integer(const Napi::Value& value, const char* name) {
  if (!value.IsNumber()) typeError("`", name, "` must be an integer, got ", describe(value));
  const double n = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(n) || std::floor(n) != n || std::fabs(n) > 9007199254740991.0) {
    typeError("`", name, "` must be an integer, got ", n);
  }
  return static_cast<int64_t>(n);
}

std::string text(const Napi::Value& value, const char* name) {
  if (!value.IsString()) typeError("`", name, "` must be a string, got ", describe(value));
  return value.As<Napi::String>().Utf8Value();
}

dist::InitOptions initOptions(const Napi::Value& value) {
  if (!value.IsObject()) typeError("`options` must be an object, got ", describe(value));
  const Napi::Object o = value.As<Napi::Object>();
  dist::InitOptions out;
  out.backend = text(o.Get("backend"), "backend");
  out.rank = integer(o.Get("rank"), "rank");
  out.worldSize = integer(o.Get("worldSize"), "worldSize");
  out.masterAddr = text(o.Get("masterAddr"), "masterAddr");
  out.masterPort = integer(o.Get("masterPort"), "masterPort");
  out.timeoutMs = integer(o.Get("timeoutMs"), "timeoutMs");
  return out;
}

dist::ReduceOp reduceOp(const Napi::Value& value) {
  if (value.IsUndefined()) return dist::ReduceOp::Sum;
  const std::string op = text(value, "op");
  if (op == "sum") return dist::ReduceOp::Sum;
  if (op == "mean") return dist::ReduceOp::Mean;
  if (op == "max") return dist::ReduceOp::Max;
  if (op == "min") return dist::ReduceOp::Min;
  rangeError("`op` must be 'sum', 'mean', 'max' or 'min', got '", op, "'");
}

Napi::Value undefinedOf(Napi::Env env, bool&) { return env.Undefined(); }

Napi::Value support(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("available", dist::available());
  out.Set("reason", dist::unavailableReason());
  return out;
}

Napi::Value state(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("initialized", dist::initialized());
  out.Set("rank", static_cast<double>(dist::rank()));
  out.Set("worldSize", static_cast<double>(dist::worldSize()));
  out.Set("backend", dist::backend());
  return out;
}

Napi::Value init(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    return settle<bool>(info.Env(), isAsync(info), asValue(dist::initAsync(initOptions(info[0]))), undefinedOf);
  });
}

Napi::Value destroy(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    dist::destroy();
    return info.Env().Undefined();
  });
}

Napi::Value allReduce(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const Input in = readInput(info[0], isAsync(info), false);
    const dist::ReduceOp op = reduceOp(info[1]);
    return settle<at::Tensor>(info.Env(), isAsync(info), dist::allReduce(in.tensor, op),
                              [form = in.form](Napi::Env env, at::Tensor& t) { return output(env, t, form); });
  });
}

// { result, counts }: counts[r] rows came from rank r (the facade's wrapper needs them).
Napi::Array countsArray(Napi::Env env, const std::vector<int64_t>& counts);

Napi::Value allGather(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const Input in = readInput(info[0], isAsync(info), true);
    return settle<dist::Gathered>(info.Env(), isAsync(info), dist::allGather(in.tensor),
                                  [form = in.form](Napi::Env env, dist::Gathered& g) -> Napi::Value {
                                    Napi::Object out = Napi::Object::New(env);
                                    out.Set("result", output(env, g.rows, form));
                                    out.Set("counts", countsArray(env, g.counts));
                                    return out;
                                  });
  });
}

Napi::Array countsArray(Napi::Env env, const std::vector<int64_t>& counts) {
  Napi::Array out = Napi::Array::New(env, counts.size());
  for (size_t r = 0; r < counts.size(); ++r) out.Set(static_cast<uint32_t>(r), static_cast<double>(counts[r]));
  return out;
}

// allGatherBatch(embeddings, labels, asTensor) -> { embeddings, labels: BigInt64Array, counts }:
// the DistributedLoss wrapper's one exchange per step. `asTensor`: the gathered embeddings as a
// Tensor whatever the input's form (the wrapper keeps them native: no copy into JS memory).
Napi::Value allGatherBatch(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const Input embeddings = readInput(info[0], isAsync(info), false);
    const at::Tensor labels = JsArg::read(info[1]).labels("labels");
    const Form form = info[2].ToBoolean().Value() ? Form::Tensor : embeddings.form;
    return settle<dist::GatheredBatch>(info.Env(), isAsync(info), dist::allGatherBatch(embeddings.tensor, labels),
                                       [form](Napi::Env env, dist::GatheredBatch& g) -> Napi::Value {
                                         Napi::Object out = Napi::Object::New(env);
                                         out.Set("embeddings", output(env, g.rows, form));
                                         out.Set("labels", output(env, g.labels, Form::Labels));
                                         out.Set("counts", countsArray(env, g.counts));
                                         return out;
                                       });
  });
}

Napi::Value broadcast(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const Input in = readInput(info[0], isAsync(info), false);
    const int64_t src = integer(info[1], "src");
    return settle<at::Tensor>(info.Env(), isAsync(info), dist::broadcast(in.tensor, src),
                              [form = in.form](Napi::Env env, at::Tensor& t) { return output(env, t, form); });
  });
}

Napi::Value barrier(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    return settle<bool>(info.Env(), isAsync(info), asValue(dist::barrier()), undefinedOf);
  });
}

// rows(tensor, start, count, scale = 1): rows [start, start + count) of a Tensor times scale (a
// new Tensor), for the wrapper to hand each rank its own rows of a gathered gradient.
Napi::Value rows(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const JsArg arg = JsArg::read(info[0]);
    if (!arg.isTensorHandle()) typeError("`tensor` must be a Tensor, got ", describe(info[0]));
    const at::Tensor t = arg.tensor("tensor");
    if (t.dim() < 1) rangeError("`tensor` needs at least 1 dimension");
    const int64_t start = integer(info[1], "start");
    const int64_t count = integer(info[2], "count");
    if (start < 0 || count < 0 || start + count > t.size(0)) {
      rangeError("rows [", start, ", ", start + count, ") are outside the tensor's ", t.size(0), " rows");
    }
    double scale = 1;
    if (!info[3].IsUndefined()) {
      if (!info[3].IsNumber()) typeError("`scale` must be a number, got ", describe(info[3]));
      scale = info[3].As<Napi::Number>().DoubleValue();
    }
    return TensorHandle::create(info.Env(), t.narrow(0, start, count).mul(scale));
  });
}

void exportPair(Napi::Env env, Napi::Object exports, const char* name, Napi::Function::Callback body) {
  static int asyncMarker = 0;  // non-null Data() marks the *Async export, as in loss_call.h
  exports.Set(name, Napi::Function::New(env, body, name));
  const std::string asyncName = std::string(name) + "Async";
  exports.Set(asyncName, Napi::Function::New(env, body, asyncName, &asyncMarker));
}

}  // namespace

void exportDist(Napi::Env env, Napi::Object exports) {
  exports.Set("distSupport", Napi::Function::New(env, support, "distSupport"));
  exports.Set("distState", Napi::Function::New(env, state, "distState"));
  exports.Set("distDestroy", Napi::Function::New(env, destroy, "distDestroy"));
  exports.Set("distRows", Napi::Function::New(env, rows, "distRows"));
  exportPair(env, exports, "distInit", init);
  exportPair(env, exports, "distAllReduce", allReduce);
  exportPair(env, exports, "distAllGather", allGather);
  exportPair(env, exports, "distAllGatherBatch", allGatherBatch);
  exportPair(env, exports, "distBroadcast", broadcast);
  exportPair(env, exports, "distBarrier", barrier);
}

}  // namespace tl::binding
