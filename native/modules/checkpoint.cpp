// The one translation unit that includes <torch/serialize.h>.
#include "checkpoint.h"

#include <ATen/core/Dict.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/unpickler.h>
#include <torch/serialize.h>

#include <cstring>
#include <map>
#include <optional>

#include "../common/errors.h"

namespace tl::modules {
namespace {

constexpr const char* kOrderedDictKey = "__torch_losses_ordered_dict__";

class VectorAdapter final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit VectorAdapter(const std::vector<char>& data) : data_(data) {}
  size_t size() const override { return data_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (pos >= data_.size()) return 0;
    n = std::min<size_t>(n, data_.size() - pos);
    std::memcpy(buf, data_.data() + pos, n);
    return n;
  }

 private:
  const std::vector<char>& data_;
};

// libtorch 1.13's unpickler lacks SETITEM ('s') and APPEND ('a'), which Python's pickler writes
// for a dict or list of one entry (torch.save({"centers": t})): each `key value s` becomes
// `( key value u` (MARK ... SETITEMS) and `item a` becomes `( item e`. It also cannot BUILD an
// OrderedDict (a state_dict's _metadata attribute): that state is dropped. Protocol-2 pickles
// hold no offsets, so inserting bytes is safe; the start of each stack item is tracked to know
// where a key begins. Anything this scan does not understand (protocol-4 frames, unknown
// opcodes) leaves the bytes as they are, for libtorch to report.
std::string rewriteForLibtorch(const char* data, size_t size) {
  // kind: 1 for the class collections.OrderedDict, 2 for an instance of it
  // reduce: for an OrderedDict instance made by `class ) R`, the position of ')'
  struct Item { size_t start; bool mark; int kind = 0; size_t reduce = 0; };
  std::vector<Item> stack;
  std::map<uint64_t, Item> memo;
  std::map<size_t, std::string> rewrites;  // byte -> replacement (SETITEM -> SETITEMS, ...)
  std::map<size_t, std::string> before;    // bytes inserted before a position
  // libtorch turns OrderedDict() into None (it expects them only as a tensor's backward hooks).
  // One that gets entries or attributes (a state_dict) becomes a plain dict: `class ) R` is
  // rewritten to `} ( X"<kOrderedDictKey>" class u`, a dict whose one entry holds the class
  // (memoised as before for later uses), which loadTensorDict skips.
  const auto makeDict = [&](const Item& item) {
    if (item.kind != 2 || before.count(item.start)) return;
    std::string head = "}(X";
    const std::string key = kOrderedDictKey;
    for (int i = 0; i < 4; ++i) head.push_back(static_cast<char>((key.size() >> (8 * i)) & 0xff));
    before[item.start] = head + key;
    rewrites[item.reduce] = "u";
    rewrites[item.reduce + 1] = "";
  };
  std::vector<std::pair<size_t, size_t>> removals;      // [from, to) byte ranges to drop
  std::map<size_t, int> inserts;
  size_t pos = 0;
  const auto need = [&](size_t n) { return pos + n <= size; };
  const auto le = [&](size_t at, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(data[at + i]);
    return v;
  };
  const auto popToMark = [&]() -> std::optional<size_t> {
    while (!stack.empty() && !stack.back().mark) stack.pop_back();
    if (stack.empty()) return std::nullopt;
    const size_t start = stack.back().start;
    stack.pop_back();
    return start;
  };
  const auto pop = [&](size_t n) -> std::optional<size_t> {
    if (stack.size() < n) return std::nullopt;
    const size_t start = stack[stack.size() - n].start;
    stack.resize(stack.size() - n);
    return start;
  };
  const std::string original(data, size);
  while (pos < size) {
    const size_t op = pos;
    const unsigned char code = static_cast<unsigned char>(data[pos++]);
    std::optional<size_t> start = op;
    int kind = 0;
    size_t reduce = 0;
    size_t skip = 0;
    bool push = false;
    switch (code) {
      case 0x80: skip = 1; break;                                   // PROTO
      case '}': case ']': case ')': case 'N': case 0x88: case 0x89:  // empty containers, None, bools
        push = true; break;
      case '(': stack.push_back({op, true}); continue;               // MARK
      case 'q': case 'r': {                                         // BINPUT, LONG_BINPUT
        const int width = code == 'q' ? 1 : 4;
        if (!need(width) || stack.empty()) return original;
        memo[le(pos, width)] = stack.back();
        skip = width;
        break;
      }
      case 'h': case 'j': {                                         // BINGET, LONG_BINGET
        const int width = code == 'h' ? 1 : 4;
        if (!need(width)) return original;
        if (memo.count(le(pos, width))) {
          const Item& saved = memo[le(pos, width)];
          kind = saved.kind;
          reduce = saved.reduce;
        }
        skip = width; push = true; break;
      }
      case 'K': skip = 1; push = true; break;                       // BININT1
      case 'M': skip = 2; push = true; break;                       // BININT2
      case 'J': skip = 4; push = true; break;                       // BININT
      case 'G': skip = 8; push = true; break;                       // BINFLOAT
      case 0x8a: case 'U': case 'C':                                // LONG1, SHORT_BINSTRING, SHORT_BINBYTES
        if (!need(1)) return original;
        skip = 1 + le(pos, 1); push = true; break;
      case 0x8b: case 'X': case 'T': case 'B':                      // LONG4, BINUNICODE, BINSTRING, BINBYTES
        if (!need(4)) return original;
        skip = 4 + le(pos, 4); push = true; break;
      case 'c': {                                                   // GLOBAL module\nname\n
        kind = original.compare(pos, 24, "collections\nOrderedDict\n") == 0 ? 1 : 0;
        for (int lines = 0; lines < 2; ++lines) {
          while (pos < size && data[pos] != '\n') ++pos;
          if (pos >= size) return original;
          ++pos;
        }
        push = true; break;
      }
      case '2': push = true; break;                                 // DUP
      case 't': case 'l': case 'd':                                 // TUPLE, LIST, DICT
        start = popToMark(); push = true; break;
      case 0x85: start = pop(1); push = true; break;                // TUPLE1
      case 0x86: start = pop(2); push = true; break;                // TUPLE2
      case 0x87: start = pop(3); push = true; break;                // TUPLE3
      case 'R': case 0x81:                                          // REDUCE, NEWOBJ
        if (code == 'R' && stack.size() >= 2 && stack[stack.size() - 2].kind == 1 && op >= 1 && data[op - 1] == ')' &&
            stack.back().start == op - 1) {
          kind = 2;
          reduce = op - 1;
        }
        start = pop(2); push = true; break;
      case 'Q': start = pop(1); push = true; break;                 // BINPERSID
      case 'a': {                                                   // APPEND: list item
        start = pop(1);
        if (start) {
          inserts[*start] += 1;
          rewrites.emplace(op, "e");
        }
        break;
      }
      case 'b': {                                                   // BUILD: object state
        // An OrderedDict's attributes (a state_dict's _metadata), which libtorch cannot set: dropped.
        if (stack.size() >= 2 && stack[stack.size() - 2].kind == 2) {
          makeDict(stack[stack.size() - 2]);
          removals.emplace_back(stack.back().start, op + 1);
        }
        start = pop(1);
        break;
      }
      case '0': start = pop(1); break;                              // POP
      case 'u':                                                     // SETITEMS: dict MARK ...
        start = popToMark();
        if (start && !stack.empty()) makeDict(stack.back());
        break;
      case 'e': case '1': start = popToMark(); break;               // APPENDS, POP_MARK
      case 's': {                                                   // SETITEM: dict key value
        start = pop(2);
        if (start) {
          if (!stack.empty()) makeDict(stack.back());
          inserts[*start] += 1;
          rewrites.emplace(op, "u");
        }
        break;
      }
      case '.': pos = size; continue;                               // STOP
      default: return original;                                     // frames, unknown: leave it
    }
    if (!start) return original;
    if (!need(skip)) return original;
    pos += skip;
    if (push) stack.push_back({*start, false, kind, reduce});
  }
  if (rewrites.empty() && removals.empty()) return original;
  std::string out;
  out.reserve(size + 2 * rewrites.size());
  size_t removal = 0;
  for (size_t i = 0; i < size; ++i) {
    while (removal < removals.size() && removals[removal].second <= i) ++removal;
    if (removal < removals.size() && removals[removal].first <= i) continue;
    const auto insert = inserts.find(i);
    if (insert != inserts.end()) out.append(static_cast<size_t>(insert->second), '(');
    const auto head = before.find(i);
    if (head != before.end()) out += head->second;
    const auto rewrite = rewrites.find(i);
    if (rewrite != rewrites.end()) out += rewrite->second;
    else out.push_back(data[i]);
  }
  return out;
}

// torch::pickle_load's steps (readArchiveAndTensors), with the pickle rewritten first.
c10::IValue readTorchSave(const std::vector<char>& bytes) {
  caffe2::serialize::PyTorchStreamReader reader(std::make_unique<VectorAdapter>(bytes));
  at::DataPtr pickle;
  size_t pickleSize = 0;
  std::tie(pickle, pickleSize) = reader.getRecord("data.pkl");
  const std::string program = rewriteForLibtorch(static_cast<const char*>(pickle.get()), pickleSize);
  size_t offset = 0;
  auto read = [&](char* buffer, size_t len) -> size_t {
    len = std::min(program.size() - offset, len);
    std::memcpy(buffer, program.data() + offset, len);
    offset += len;
    return len;
  };
  auto readRecord = [&](const std::string& name) { return std::get<0>(reader.getRecord("data/" + name)); };
  torch::jit::Unpickler unpickler(read, nullptr, nullptr, readRecord, c10::nullopt);
  return unpickler.parse_ivalue();
}

}  // namespace

std::vector<char> saveTensorDict(const NamedTensors& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, tensor] : tensors) dict.insert(name, tensor.detach().to(at::kCPU).contiguous());
  return torch::pickle_save(c10::IValue(dict));
}

NamedTensors loadTensorDict(const std::vector<char>& bytes) {
  if (bytes.empty()) rangeError("the checkpoint is empty (0 bytes)");
  const c10::IValue value = readTorchSave(bytes);
  if (!value.isGenericDict()) {
    rangeError("the checkpoint must hold a dict of name -> tensor (torch.save({...})), got ", value.tagKind());
  }
  NamedTensors out;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString()) rangeError("the checkpoint's dict keys must be strings, got ", entry.key().tagKind());
    const std::string name = entry.key().toStringRef();
    if (name == kOrderedDictKey) continue;
    if (!entry.value().isTensor()) {
      rangeError("the checkpoint's entry '", name, "' must be a tensor, got ", entry.value().tagKind());
    }
    out.emplace_back(name, entry.value().toTensor());
  }
  return out;
}

}  // namespace tl::modules
