#include "async_loss.h"

#include <ATen/Parallel.h>
#include <omp.h>

#include <algorithm>
#include <atomic>

namespace tl::binding {
namespace {

std::atomic<int> callsInFlight{0};

class LossWorker : public Napi::AsyncWorker {
 public:
  LossWorker(Napi::Env env, LossRunner run, ResultFormat format)
      : Napi::AsyncWorker(env, "torch-losses:loss"),
        deferred_(Napi::Promise::Deferred::New(env)),
        run_(std::move(run)),
        format_(std::move(format)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    IntraOpThreadShare share;
    try {
      out_ = run_();
    } catch (...) {
      error_ = std::current_exception();  // converted to its JS class on the JS thread
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    try {
      if (error_) rethrowAsJs(env, error_);
      deferred_.Resolve(format_.build(env, out_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
    out_ = {};
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  LossRunner run_;
  ResultFormat format_;
  ops::LossOutput out_;
  std::exception_ptr error_;
};

}  // namespace

IntraOpThreadShare::IntraOpThreadShare() {
  const int inFlight = ++callsInFlight;
  // ATen sets up a thread's OpenMP state lazily, from the process-wide setting: do it first, then
  // narrow this thread's share (omp_set_num_threads only affects the calling thread). One of the
  // configured threads is left to the JavaScript thread, so the event loop keeps its core.
  // Only once per libuv thread: init_num_threads re-creates libtorch's thread pool (ms).
  thread_local bool initialized = false;
  if (!initialized) {
    at::init_num_threads();
    initialized = true;
  }
  omp_set_num_threads(std::max(1, (at::get_num_threads() - 1) / inFlight));
}

IntraOpThreadShare::~IntraOpThreadShare() { --callsInFlight; }

Napi::Value queueLossWorker(Napi::Env env, LossRunner run, ResultFormat format) {
  auto* worker = new LossWorker(env, std::move(run), std::move(format));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace tl::binding
