// Errors raised by the ops and binding layers, without any N-API dependency.
// The binding (binding/errors.cpp) turns each kind into the matching JavaScript class:
//   Type -> TypeError, Range -> RangeError, Device -> DeviceError.
// Anything libtorch throws (c10::Error) becomes a TorchError there.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace tl {

enum class ErrorKind { Type, Range, Device };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Builds a message from streamable parts: fail<ErrorKind::Range>("`margin` must be finite, got ", m)
template <typename... Parts>
[[noreturn]] void fail(ErrorKind kind, const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  throw Error(kind, out.str());
}

template <typename... Parts>
[[noreturn]] void typeError(const Parts&... parts) { fail(ErrorKind::Type, parts...); }
template <typename... Parts>
[[noreturn]] void rangeError(const Parts&... parts) { fail(ErrorKind::Range, parts...); }
template <typename... Parts>
[[noreturn]] void deviceError(const Parts&... parts) { fail(ErrorKind::Device, parts...); }

}  // namespace tl
