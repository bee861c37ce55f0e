#include "process_group.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <numeric>
#include <sstream>
#include <thread>

#include "../common/errors.h"

#ifdef TL_WITH_DISTRIBUTED
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace tl::dist {
namespace {

// Read from the JS thread while the collective thread may be changing the group.
std::atomic<int64_t> currentRank{-1};
std::atomic<int64_t> currentWorldSize{0};

void checkOptions(const InitOptions& o) {
  if (o.backend != "gloo" && o.backend != "nccl") {
    rangeError("`backend` must be 'gloo' or 'nccl', got '", o.backend, "'");
  }
  if (o.worldSize < 1) rangeError("`worldSize` must be >= 1, got ", o.worldSize);
  if (o.rank < 0 || o.rank >= o.worldSize) {
    rangeError("`rank` must be in [0, worldSize) = [0, ", o.worldSize, "), got ", o.rank);
  }
  if (o.masterAddr.empty()) rangeError("`masterAddr` must be a host name or address, got ''");
  if (o.masterPort < 1 || o.masterPort > 65535) rangeError("`masterPort` must be in [1, 65535], got ", o.masterPort);
  if (o.timeoutMs < 1) rangeError("`timeoutMs` must be >= 1, got ", o.timeoutMs);
  if (o.backend == "nccl") {
    deviceError("backend 'nccl' needs a CUDA build of libtorch with NCCL; this torch-losses build has no NCCL "
                "support. Use backend 'gloo' (it also reduces CUDA tensors, through host copies).");
  }
}

}  // namespace

#ifdef TL_WITH_DISTRIBUTED
namespace {

// The FIFO thread every collective runs on (see the header). Created on first use and never
// destroyed: at process exit a thread still waiting on a dead peer must not be joined.
class TaskQueue {
 public:
  template <typename F>
  auto submit(F body) -> std::future<decltype(body())> {
    using R = decltype(body());
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(body));
    std::future<R> result = task->get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_.emplace_back([task] { (*task)(); });
      if (!started_) {
        std::thread([this] { loop(); }).detach();
        started_ = true;
      }
    }
    ready_.notify_one();
    return result;
  }

 private:
  void loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !tasks_.empty(); });
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();  // a packaged_task: exceptions go to its future
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool started_ = false;
};

TaskQueue& queue() {
  static TaskQueue* instance = new TaskQueue();  // leaked on purpose, see TaskQueue
  return *instance;
}

struct Group {
  InitOptions options;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
};
Group* group = nullptr;  // touched only on the collective thread
int64_t generation = 0;  // inits so far: keeps a re-init's store keys apart from the last one's

std::string shapeText(const std::vector<int64_t>& dims) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < dims.size(); ++i) out << (i ? ", " : "") << dims[i];
  out << ']';
  return out.str();
}

// libtorch's message without its C++ backtrace.
std::string messageOf(const std::exception& e) {
  if (auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

Group& current(const char* what) {
  if (group == nullptr) {
    throw std::runtime_error(std::string("dist.") + what +
                             ": no process group in this process; call dist.initProcessGroup() first");
  }
  return *group;
}

// Runs a collective's body on the collective thread. Failures of the transport (a peer that
// exited, a timeout) become one message that says which call, which rank and what to check.
template <typename F>
auto collective(const char* what, F body) {
  return queue().submit([what, body = std::move(body)]() {
    Group& g = current(what);
    try {
      return body(g);
    } catch (const tl::Error&) {
      throw;
    } catch (const std::exception& e) {
      std::ostringstream out;
      out << "dist." << what << " failed on rank " << g.options.rank << " of " << g.options.worldSize
          << " (a peer exited, or did not reach the same call within timeoutMs = " << g.options.timeoutMs
          << "): " << messageOf(e);
      throw std::runtime_error(out.str());
    }
  });
}

void waitFor(const c10::intrusive_ptr<c10d::Work>& work) { work->wait(); }

// Every rank's dtype, dims and one call-specific value (the reduce op, the broadcast source),
// so that a mismatch is refused on all ranks alike instead of corrupting memory or hanging.
constexpr int64_t kMaxDims = 8;
struct Meta {
  int64_t ndim, dtype, extra;
  std::vector<int64_t> dims;
};

std::vector<Meta> exchangeMeta(Group& g, const at::Tensor& t, int64_t extra) {
  at::Tensor mine = at::full({kMaxDims + 3}, -1, at::kLong);
  auto m = mine.accessor<int64_t, 1>();
  m[0] = t.dim();
  m[1] = static_cast<int64_t>(t.scalar_type());
  m[2] = extra;
  for (int64_t d = 0; d < std::min<int64_t>(t.dim(), kMaxDims); ++d) m[3 + d] = t.size(d);
  std::vector<std::vector<at::Tensor>> out(1);
  for (int64_t r = 0; r < g.options.worldSize; ++r) out[0].push_back(at::empty_like(mine));
  std::vector<at::Tensor> in{mine};
  waitFor(g.pg->allgather(out, in));
  std::vector<Meta> all;
  for (const at::Tensor& row : out[0]) {
    auto a = row.accessor<int64_t, 1>();
    Meta meta{a[0], a[1], a[2], {}};
    for (int64_t d = 0; d < std::min<int64_t>(meta.ndim, kMaxDims); ++d) meta.dims.push_back(a[3 + d]);
    all.push_back(std::move(meta));
  }
  return all;
}

// fromDim 0: shapes must be equal; 1: equal after the first dimension (allGather's rows).
void requireAgreement(const char* what, const std::vector<Meta>& all, int64_t fromDim, const char* extraName) {
  const Meta& first = all[0];
  for (size_t r = 0; r < all.size(); ++r) {
    const Meta& m = all[r];
    if (m.ndim > kMaxDims) rangeError("dist.", what, ": tensors of more than ", kMaxDims, " dimensions are not supported (rank ", r, ")");
    if (m.ndim < fromDim) rangeError("dist.", what, ": `tensor` needs at least 1 dimension on every rank; rank ", r, " has shape ", shapeText(m.dims));
    if (m.dtype != first.dtype) {
      rangeError("dist.", what, ": `tensor` dtype differs across ranks: rank 0 has ",
                 c10::toString(static_cast<at::ScalarType>(first.dtype)), ", rank ", r, " has ",
                 c10::toString(static_cast<at::ScalarType>(m.dtype)));
    }
    if (extraName != nullptr && m.extra != first.extra) rangeError("dist.", what, ": `", extraName, "` differs across ranks: rank 0 passed ", first.extra, ", rank ", r, " passed ", m.extra);
    const bool same = m.ndim == first.ndim &&
                      std::equal(m.dims.begin() + fromDim, m.dims.end(), first.dims.begin() + fromDim);
    if (!same) {
      rangeError("dist.", what, ": `tensor` shapes must agree across ranks", fromDim ? " after the first dimension" : "",
                 ": rank 0 has ", shapeText(first.dims), ", rank ", r, " has ", shapeText(m.dims));
    }
  }
}

// A contiguous host copy that c10d may overwrite.
at::Tensor hostCopy(const at::Tensor& t) { return t.detach().to(at::kCPU).clone(at::MemoryFormat::Contiguous); }

c10d::ReduceOp reduceOpOf(ReduceOp op) {
  switch (op) {
    case ReduceOp::Max: return c10d::ReduceOp::MAX;
    case ReduceOp::Min: return c10d::ReduceOp::MIN;
    default: return c10d::ReduceOp::SUM;  // Gloo has no AVG: mean is a sum divided afterwards
  }
}

// Every rank's rows of `mine` (a host tensor) concatenated; counts[r] rows from rank r. Gloo
// gathers equal sizes, so every rank's rows are padded to the largest count, then cut.
at::Tensor gatherRows(Group& g, const at::Tensor& mine, const std::vector<int64_t>& counts) {
  const int64_t maxRows = *std::max_element(counts.begin(), counts.end());
  std::vector<int64_t> padded = mine.sizes().vec();
  padded[0] = maxRows;
  at::Tensor buffer = at::zeros(padded, mine.options().device(at::kCPU));
  buffer.narrow(0, 0, mine.size(0)).copy_(mine.detach());
  if (buffer.numel() == 0) {
    padded[0] = std::accumulate(counts.begin(), counts.end(), int64_t{0});
    return at::zeros(padded, buffer.options());
  }
  std::vector<std::vector<at::Tensor>> out(1);
  for (size_t r = 0; r < counts.size(); ++r) out[0].push_back(at::empty_like(buffer));
  std::vector<at::Tensor> in{buffer};
  waitFor(g.pg->allgather(out, in));
  std::vector<at::Tensor> pieces;
  for (size_t r = 0; r < counts.size(); ++r) pieces.push_back(out[0][r].narrow(0, 0, counts[r]));
  return at::cat(pieces);
}

bool isLoopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// The network interface Gloo listens on, chosen as PyTorch does: GLOO_SOCKET_IFNAME when set
// (its first name), the loopback for a loopback master, else the address of this host's name.
std::shared_ptr<::gloo::transport::Device> glooDevice(const std::string& masterAddr) {
  if (const char* names = std::getenv("GLOO_SOCKET_IFNAME"); names != nullptr && *names != '\0') {
    const std::string list(names);
    return c10d::ProcessGroupGloo::createDeviceForInterface(list.substr(0, list.find(',')));
  }
  if (isLoopback(masterAddr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

// Counts this rank in and waits until all worldSize ranks have, or `deadline`. c10d's own wait
// (TCPStore waitWorkers, then Gloo's rendezvous) would spend up to twice timeoutMs and more on a
// missing rank; checking here keeps the whole init within timeoutMs and says how many came.
void awaitRanks(c10d::Store& store, const InitOptions& o, std::chrono::steady_clock::time_point deadline) {
  const std::string key = "joined";
  int64_t joined = store.add(key, 1);
  while (joined < o.worldSize) {
    if (std::chrono::steady_clock::now() >= deadline) {
      std::ostringstream out;
      out << "only " << joined << " of " << o.worldSize << " ranks joined";
      throw std::runtime_error(out.str());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    joined = store.add(key, 0);
  }
}

void join(const InitOptions& o) {
  if (group != nullptr) {
    std::ostringstream out;
    out << "dist.initProcessGroup: this process is already rank " << group->options.rank << " of "
        << group->options.worldSize << "; call dist.destroy() before initialising again";
    throw std::runtime_error(out.str());
  }
  const std::chrono::milliseconds timeout(o.timeoutMs);
  const auto start = std::chrono::steady_clock::now();
  try {
    c10d::TCPStoreOptions storeOptions;
    storeOptions.port = static_cast<std::uint16_t>(o.masterPort);
    storeOptions.isServer = o.rank == 0;
    storeOptions.numWorkers = static_cast<std::size_t>(o.worldSize);
    storeOptions.waitWorkers = false;  // awaitRanks below, against the same deadline
    storeOptions.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(o.masterAddr, storeOptions);
    auto store = c10::make_intrusive<c10d::PrefixStore>("torch-losses/" + std::to_string(generation), tcp);
    awaitRanks(*store, o, start + timeout);
    auto pgOptions = c10d::ProcessGroupGloo::Options::create(timeout);
    pgOptions->devices.push_back(glooDevice(o.masterAddr));
    auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(o.rank),
                                                          static_cast<int>(o.worldSize), pgOptions);
    group = new Group{o, std::move(pg)};
  } catch (const std::exception& e) {
    std::ostringstream out;
    out << "dist.initProcessGroup: rank " << o.rank << " of " << o.worldSize << " could not join the group at "
        << o.masterAddr << ':' << o.masterPort << " within timeoutMs = " << o.timeoutMs
        << " (does every rank run, with the same masterAddr, masterPort and worldSize?): " << messageOf(e);
    throw std::runtime_error(out.str());
  }
  ++generation;
  currentWorldSize = o.worldSize;
  currentRank = o.rank;
}

}  // namespace

bool available() { return true; }
std::string unavailableReason() { return ""; }

std::future<void> initAsync(const InitOptions& options) {
  checkOptions(options);
  return queue().submit([options] { join(options); });
}

void destroy() {
  queue().submit([] {
    delete group;  // ProcessGroupGloo waits for its issued work; rank 0's store server closes
    group = nullptr;
    currentRank = -1;
    currentWorldSize = 0;
  }).get();
}

std::future<at::Tensor> allReduce(at::Tensor tensor, ReduceOp op) {
  return collective("allReduce", [tensor, op](Group& g) {
    requireAgreement("allReduce", exchangeMeta(g, tensor, static_cast<int64_t>(op)), 0, "op");
    at::Tensor work = hostCopy(tensor);
    if (work.numel() > 0) {
      std::vector<at::Tensor> buffers{work};
      c10d::AllreduceOptions opts;
      opts.reduceOp = reduceOpOf(op);
      waitFor(g.pg->allreduce(buffers, opts));
    }
    if (op == ReduceOp::Mean) work.div_(static_cast<double>(g.options.worldSize));
    return work.to(tensor.device());
  });
}

std::future<Gathered> allGather(at::Tensor tensor) {
  return collective("allGather", [tensor](Group& g) {
    const std::vector<Meta> all = exchangeMeta(g, tensor, 0);
    requireAgreement("allGather", all, 1, nullptr);
    Gathered result;
    for (const Meta& m : all) result.counts.push_back(m.dims[0]);
    result.rows = gatherRows(g, tensor, result.counts).to(tensor.device());
    return result;
  });
}

std::future<GatheredBatch> allGatherBatch(at::Tensor embeddings, at::Tensor labels) {
  return collective("allGatherBatch", [embeddings, labels](Group& g) {
    // `extra` carries the label count, so that a rank with too few labels fails everywhere.
    const std::vector<Meta> all = exchangeMeta(g, embeddings, labels.numel());
    requireAgreement("allGatherBatch", all, 1, nullptr);
    GatheredBatch result;
    for (size_t r = 0; r < all.size(); ++r) {
      if (all[r].extra != all[r].dims[0]) {
        rangeError("DistributedLoss: rank ", r, " passed ", all[r].dims[0], " embeddings but ", all[r].extra, " labels");
      }
      result.counts.push_back(all[r].dims[0]);
    }
    // Each row with its label's 8 bytes appended as extra columns of the embeddings' dtype (2
    // float32 columns, 1 float64): one allgather for both, and copies of whole elements.
    const int64_t rows = embeddings.size(0);
    const at::Tensor values = embeddings.detach().to(at::kCPU).contiguous().reshape({rows, -1});
    const at::Tensor labelColumns = labels.to(at::kCPU, at::kLong).contiguous().view(values.scalar_type()).reshape({rows, -1});
    const at::Tensor everyone = gatherRows(g, at::cat({values, labelColumns}, 1), result.counts);
    const int64_t width = values.size(1);
    std::vector<int64_t> shape = all[0].dims;
    shape[0] = everyone.size(0);
    result.rows = everyone.narrow(1, 0, width).contiguous().reshape(shape).to(embeddings.device());
    result.labels = everyone.narrow(1, width, labelColumns.size(1)).contiguous().view(at::kLong).reshape({-1});
    return result;
  });
}

std::future<at::Tensor> broadcast(at::Tensor tensor, int64_t src) {
  return collective("broadcast", [tensor, src](Group& g) {
    requireAgreement("broadcast", exchangeMeta(g, tensor, src), 0, "src");
    if (src < 0 || src >= g.options.worldSize) {
      rangeError("`src` must be a rank in [0, ", g.options.worldSize, "), got ", src);
    }
    at::Tensor work = hostCopy(tensor);
    if (work.numel() > 0) {
      std::vector<at::Tensor> buffers{work};
      c10d::BroadcastOptions opts;
      opts.rootRank = src;
      waitFor(g.pg->broadcast(buffers, opts));
    }
    return work.to(tensor.device());
  });
}

std::future<void> barrier() {
  return collective("barrier", [](Group& g) { waitFor(g.pg->barrier()); });
}

#else  // built without c10d / Gloo headers

namespace {
[[noreturn]] void unavailable() { deviceError(unavailableReason()); }
}  // namespace

bool available() { return false; }
std::string unavailableReason() {
  return "torch-losses was built without distributed support: libtorch's c10d headers or Gloo's headers "
         "were not found at build time (on Debian: apt-get install libgloo-dev, then rebuild)";
}
std::future<void> initAsync(const InitOptions& options) {
  checkOptions(options);
  unavailable();
}
void destroy() {}
std::future<at::Tensor> allReduce(at::Tensor, ReduceOp) { unavailable(); }
std::future<Gathered> allGather(at::Tensor) { unavailable(); }
std::future<GatheredBatch> allGatherBatch(at::Tensor, at::Tensor) { unavailable(); }
std::future<at::Tensor> broadcast(at::Tensor, int64_t) { unavailable(); }
std::future<void> barrier() { unavailable(); }

#endif

void init(const InitOptions& options) { initAsync(options).get(); }
bool initialized() { return currentRank.load() >= 0; }
int64_t rank() { return currentRank.load(); }
int64_t worldSize() { return currentWorldSize.load(); }
std::string backend() { return initialized() ? "gloo" : ""; }

}  // namespace tl::dist
