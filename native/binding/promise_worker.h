// The one shape of an async call: `compute` runs on a libuv worker thread (no N-API there; an
// exception is kept and rethrown as its JS class on the JS thread), then `settle` turns the
// result into the value the Promise resolves with. Used by async losses, Tensor copies to the
// host and collectives; parameter modules add call ordering on top (param_losses.cpp).
#pragma once
#include <napi.h>

#include <exception>
#include <functional>
#include <optional>
#include <utility>

#include "errors.h"

namespace tl::binding {

template <typename Result>
class PromiseWorker final : public Napi::AsyncWorker {
 public:
  using Compute = std::function<Result()>;
  using Settle = std::function<Napi::Value(Napi::Env, Result&)>;

  // Queues the work and returns its Promise. `name` labels the work in async_hooks.
  static Napi::Promise queue(Napi::Env env, const char* name, Compute compute, Settle settle) {
    auto* worker = new PromiseWorker(env, name, std::move(compute), std::move(settle));
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();  // libuv owns the worker from here; it deletes itself when settled
    return promise;
  }

 private:
  PromiseWorker(Napi::Env env, const char* name, Compute compute, Settle settle)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        compute_(std::move(compute)),
        settle_(std::move(settle)) {}

  void Execute() override {
    try {
      result_.emplace(compute_());
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    try {
      if (error_) rethrowAsJs(env, error_);
      deferred_.Resolve(settle_(env, *result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
    result_.reset();  // free the result's memory now, not when the worker object goes
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

  Napi::Promise::Deferred deferred_;
  Compute compute_;
  Settle settle_;
  std::optional<Result> result_;
  std::exception_ptr error_;
};

}  // namespace tl::binding
