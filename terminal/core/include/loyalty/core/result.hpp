#pragma once
/// @brief Outcomes as values: Error (code, field, message) and Result<T, E = Error>.

#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace loyalty {

/// Error codes of docs/exec-cli.md, in the order of precedence when several apply.
namespace errc {
inline constexpr const char* kBadRequest = "bad_request";
inline constexpr const char* kInvalidArgument = "invalid_argument";
inline constexpr const char* kNotFound = "not_found";
inline constexpr const char* kAlreadyExists = "already_exists";
inline constexpr const char* kConflict = "conflict";
inline constexpr const char* kForbidden = "forbidden";
inline constexpr const char* kInsufficientPoints = "insufficient_points";
inline constexpr const char* kLimitExceeded = "limit_exceeded";
inline constexpr const char* kInternal = "internal";
}  // namespace errc

/// A business refusal: which rule said no (code), about which input (field, may be empty), and
/// a sentence a cashier can read.
struct Error {
  std::string code;
  std::string field;
  std::string message;

  bool operator==(const Error&) const = default;
};

inline Error invalidArgument(std::string field, std::string message) {
  return {errc::kInvalidArgument, std::move(field), std::move(message)};
}

/// Either a value or an error: the project's one outcome type. Deliberately small:
/// has_value/value/error, like std::expected. The error is an Error (a business refusal) unless a
/// layer has richer failures of its own, e.g. the sync client's Result<T, sync::Failure>.
template <class T, class E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_state(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : m_state(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool hasValue() const { return m_state.index() == 0; }
  explicit operator bool() const { return hasValue(); }

  T& value() & { return std::get<0>(m_state); }
  const T& value() const& { return std::get<0>(m_state); }
  T&& value() && { return std::get<0>(std::move(m_state)); }
  const E& error() const { return std::get<1>(m_state); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, E> m_state;
};

/// Result of an operation that yields nothing but may be refused.
struct Ok {};
using Status = Result<Ok>;

}  // namespace loyalty
