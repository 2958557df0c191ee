#pragma once

// One error vocabulary, as LevelDB and Redpanda have: an operation that can
// fail returns a Status (or a Result<T> when it also gives a value). A
// failure carries a code, which callers branch on, and a message for
// people, which names what failed and where and never contains secrets.

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace switchyard::core {

enum class Code {
  kOk,
  kInvalidArgument,     // the input is wrong: fix it and try again
  kUnauthenticated,     // credentials or a signature missing or wrong
  kNotFound,            // what was named does not exist
  kFailedPrecondition,  // not now, in this state (a replay already running, ...)
  kResourceExhausted,   // no room: the disk under its reserve, a quota
  kUnavailable,         // shutting down, or a dependency not reachable: try later
  kIoError,             // the storage engine or the file system failed
  kCorruption,          // stored data that cannot be read
  kInternal,            // a bug
};

std::string_view code_name(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return Status(); }
  static Status invalid_argument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
  static Status not_found(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status failed_precondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
  static Status resource_exhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
  static Status unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status io_error(std::string m) { return {Code::kIoError, std::move(m)}; }
  static Status corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<code name>: <message>", for logs.
  std::string to_string() const;
  // The same failure with `context` in front of its message ("loading x: ...").
  Status with_context(std::string_view context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// A value, or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor): return a value as is
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor): or a failure
    assert(!status_.is_ok() && "a Result holds a value or a failure");
  }

  bool is_ok() const { return value_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  // The value, or `fallback` when there is none (for views that may show
  // a default, never for decisions).
  T value_or(T fallback) const& { return value_ ? *value_ : std::move(fallback); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace switchyard::core
