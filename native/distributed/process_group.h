// One process group per process (PyTorch's default group), on libtorch's c10d: a TCPStore
// rendezvous and a Gloo process group. No N-API here (see dist_binding.cpp).
//
// Ordering: c10d requires every rank to issue its collectives in the same order. Calls can come
// from the JS thread (sync) and be awaited from libuv workers (async), so each collective is a
// task on one FIFO thread per process: issue order == JS call order, on every rank.
//
// Without c10d / Gloo headers at build time (TL_WITH_DISTRIBUTED undefined) available() is false
// and every other call is a DeviceError that says why.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <future>
#include <string>
#include <vector>

namespace tl::dist {

struct InitOptions {
  std::string backend;     // "gloo" | "nccl"
  int64_t rank = 0;
  int64_t worldSize = 1;
  std::string masterAddr;  // the TCPStore server (rank 0's host)
  int64_t masterPort = 29500;
  int64_t timeoutMs = 1800000;  // rendezvous and every collective (PyTorch's default: 30 min)
};

enum class ReduceOp { Sum, Mean, Max, Min };

// Rows of every rank, concatenated in rank order; counts[r] rows came from rank r.
struct Gathered {
  at::Tensor rows;
  std::vector<int64_t> counts;
};

// A batch of every rank: embeddings rows and their labels, concatenated in rank order.
struct GatheredBatch {
  at::Tensor rows;    // (sum of counts, ...) in the embeddings' dtype
  at::Tensor labels;  // int64 (sum of counts)
  std::vector<int64_t> counts;
};

// Whether this build has c10d with Gloo.
bool available();
// Why not, when it has not ("" when it has).
std::string unavailableReason();

// Checks the options (RangeError / DeviceError) and joins the group: blocks until all worldSize
// ranks have joined or timeoutMs has passed. A second call without destroy() is an error.
void init(const InitOptions& options);
// Leaves the group (waits for the collectives already issued). No-op when not initialised.
void destroy();
bool initialized();
int64_t rank();
int64_t worldSize();
std::string backend();

// Collectives. Each returns at once with a future of its result; the inputs are not modified
// (c10d works in place on copies). Tensors on any device: Gloo reduces host copies, the result
// goes back to the input's device. Every rank must pass the same shape (allGather: the same
// shape after dim 0) and dtype, else every rank gets a RangeError rather than corrupt data.
std::future<at::Tensor> allReduce(at::Tensor tensor, ReduceOp op);
std::future<Gathered> allGather(at::Tensor tensor);
// allGather of embeddings (rows may differ per rank) and their int64 labels in one exchange:
// each row's bytes and its label's travel together, so it costs one collective, not two.
std::future<GatheredBatch> allGatherBatch(at::Tensor embeddings, at::Tensor labels);
std::future<at::Tensor> broadcast(at::Tensor tensor, int64_t src);
std::future<void> barrier();
// init() on the collective thread, so that an async init does not block the JS thread.
std::future<void> initAsync(const InitOptions& options);

}  // namespace tl::dist
