/// @brief The one error vocabulary of hydra-cpp: `hydra::errc` values in a `std::error_code`
/// category.
///
/// The rule: coroutine and blocking calls throw `hydra::Error` (a `std::system_error`) on failure;
/// "nothing found" is a value (an empty vector, `std::nullopt`), never an exception.
/// Completion-token
/// (`async_*`) calls report the same codes through their `error_code` argument instead of throwing.
#pragma once

#include <string>
#include <system_error>

namespace hydra {

enum class errc {
  /// The Redis connection dropped while the command was in flight, or it was not connected and the
  /// command asked not to wait for a reconnect.
  disconnected = 1,
  /// The command (or connect) did not complete within its configured timeout.
  timeout,
  /// Redis answered with an error reply (`-ERR …`); the message carries Redis' text.
  redis_error,
  /// Redis answered with a reply of an unexpected type for the call.
  unexpected_reply,
  /// The Redis protocol stream could not be parsed; the connection is reset.
  protocol_error,
  /// The object was shut down or stopped; no further commands are accepted.
  stopped,
  /// A configuration value is invalid; the message names the field and what is allowed.
  invalid_config,
  /// An argument is invalid (bad service name, bad label, bad route, ...).
  invalid_argument,
  /// A call needs init()/registerService() first.
  not_initialized,
  /// The requested thing does not exist (e.g. findService on an unknown service).
  not_found,
  /// A JSON value could not be parsed.
  bad_json,
  /// TLS setup or handshake failed.
  tls_error,
  /// No present instance can take the message (Node's 503).
  unavailable,
  /// A message is not valid UMF, has a bad route, or is too large (Node's 400 / 413).
  invalid_message,
};

/// The category of `hydra::errc`.
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// The exception thrown by hydra's coroutine and blocking API.
/// `what()` is the message given, without the category text appended by std::system_error.
class Error : public std::system_error {
 public:
  Error(errc code, const std::string& what)
      : std::system_error(make_error_code(code), what), message_(what) {}
  Error(std::error_code code, const std::string& what)
      : std::system_error(code, what), message_(what) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

}  // namespace hydra

template <>
struct std::is_error_code_enum<hydra::errc> : std::true_type {};
