/// @brief A Redis reply (RESP2) and a command as a list of arguments.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hydra::redis {

/// One command: the name and its arguments, e.g. {"SETEX", key, "3", value}.
using Command = std::vector<std::string>;

/// Builds a Command from anything convertible to std::string: `cmd("SET", key, value)`.
/// Prefer it to a braced list inside coroutines (g++ 12 rejects braced lists of string
/// literals in co_await expressions).
template <class... Args>
Command cmd(Args&&... args) {
  Command c;
  c.reserve(sizeof...(Args));
  (c.emplace_back(std::forward<Args>(args)), ...);
  return c;
}

/// A decoded reply.
struct Reply {
  enum class Type { nil, string, status, error, integer, array };

  Type type = Type::nil;
  /// Bulk string, status text or error text.
  std::string str;
  long long integer = 0;
  std::vector<Reply> elements;

  bool is_nil() const { return type == Type::nil; }
  bool is_error() const { return type == Type::error; }
  bool is_array() const { return type == Type::array; }

  /// The string of a bulk/status reply. Throws `Error(redis_error)` for an error reply and
  /// `Error(unexpected_reply)` for other types.
  const std::string& as_string() const;
  /// As `as_string`, but nil gives nullopt.
  std::optional<std::string> as_optional_string() const;
  /// The integer of an integer reply (throws like `as_string`).
  long long as_integer() const;
  /// Throws `Error(redis_error)` if this is an error reply; returns *this.
  const Reply& check() const;
  /// A short description for logs and error messages.
  std::string describe() const;
};

}  // namespace hydra::redis
