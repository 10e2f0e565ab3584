#pragma once
// Result<T>: the value-or-error type every module API returns instead of throwing.
//
// An Error carries a named kind (what went wrong, which decides the HTTP status and the
// HL7 error code in exactly one place each), a human-readable message that never contains
// patient data, and an optional FHIRPath-like location ("Patient.birthDate").
// Thread-safety: plain values; safe to move between threads.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace cg {

enum class ErrorKind {
  kInvalid,          // malformed or structurally invalid input (400)
  kNotFound,         // no such resource or version (404)
  kGone,             // resource deleted (410)
  kConflict,         // conflicting state, e.g. duplicate id in a transaction (409)
  kVersionConflict,  // If-Match / base version does not match (412)
  kMultipleMatches,  // conditional operation matched more than one resource (412)
  kUnsupported,      // recognised but not supported: media type, interaction (415 / 501)
  kNotAllowed,       // method not allowed on this route (405)
  kNotAcceptable,    // no acceptable response format (406)
  kTooLarge,         // over a configured limit (413)
  kUnauthorized,     // no or invalid credentials (401)
  kForbidden,        // credentials do not cover the request (403)
  kUnavailable,      // temporarily unable: disk full, shutting down (503)
  kInternal,         // a bug or an environment failure (500)
};

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
  std::string location;  // element path the error is about, when there is one

  static Error invalid(std::string msg, std::string loc = {}) {
    return {ErrorKind::kInvalid, std::move(msg), std::move(loc)};
  }
  static Error not_found(std::string msg) { return {ErrorKind::kNotFound, std::move(msg), {}}; }
  static Error gone(std::string msg) { return {ErrorKind::kGone, std::move(msg), {}}; }
  static Error conflict(std::string msg) { return {ErrorKind::kConflict, std::move(msg), {}}; }
  static Error version_conflict(std::string msg) {
    return {ErrorKind::kVersionConflict, std::move(msg), {}};
  }
  static Error multiple_matches(std::string msg) {
    return {ErrorKind::kMultipleMatches, std::move(msg), {}};
  }
  static Error unsupported(std::string msg) {
    return {ErrorKind::kUnsupported, std::move(msg), {}};
  }
  static Error not_allowed(std::string msg) { return {ErrorKind::kNotAllowed, std::move(msg), {}}; }
  static Error not_acceptable(std::string msg) {
    return {ErrorKind::kNotAcceptable, std::move(msg), {}};
  }
  static Error too_large(std::string msg) { return {ErrorKind::kTooLarge, std::move(msg), {}}; }
  static Error unauthorized(std::string msg) {
    return {ErrorKind::kUnauthorized, std::move(msg), {}};
  }
  static Error forbidden(std::string msg) { return {ErrorKind::kForbidden, std::move(msg), {}}; }
  static Error unavailable(std::string msg) {
    return {ErrorKind::kUnavailable, std::move(msg), {}};
  }
  static Error internal(std::string msg) { return {ErrorKind::kInternal, std::move(msg), {}}; }
};

// Holds either a T or an Error. Accessing the wrong alternative is a bug (asserted).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  Error&& take_error() {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success carries nothing.
struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() {
  return Ok{};
}

}  // namespace cg
