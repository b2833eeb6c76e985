/// @brief Commands encoded in RESP as they are added: what a Connection writes.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hydra/redis/reply.hpp"

namespace hydra::redis {

/// One or more commands, encoded when they are added. The arguments are copied once, into the
/// encoding: no vector of argument strings is built. Commands of one request are written back
/// to back, never interleaved with other requests.
///
///     Request r("LPUSH", key, payload);          // one command
///     r.push("RPOPLPUSH", from, to);             // and another, in the same request
class Request {
 public:
  Request() = default;
  /// One command: its name and arguments, each anything a std::string_view can be made from.
  template <class... Args>
  explicit Request(std::string_view name, const Args&... args) {
    push(name, args...);
  }
  /// One command given as a list of arguments (nothing when it is empty).
  explicit Request(const Command& command);
  /// Several commands (empty ones are skipped).
  explicit Request(const std::vector<Command>& commands);

  /// Appends a command.
  template <class... Args>
  Request& push(std::string_view name, const Args&... args) {
    const std::array<std::string_view, 1 + sizeof...(Args)> argv{name, std::string_view(args)...};
    return push_argv(argv);
  }
  /// Appends a command given as its arguments, the name first (nothing when empty).
  Request& push_argv(std::span<const std::string_view> argv);
  Request& push_argv(std::span<const std::string> argv);

  /// Commands added.
  std::size_t commands() const { return commands_; }
  /// Replies Redis sends for them: one per command, one per channel for (P)(UN)SUBSCRIBE.
  std::size_t expected_replies() const { return replies_; }
  bool empty() const { return commands_ == 0; }
  /// The RESP bytes.
  const std::string& encoded() const { return bytes_; }
  /// The name of the first command ("" when empty), for error messages.
  std::string_view first_name() const {
    return std::string_view(bytes_).substr(first_pos_, first_size_);
  }

 private:
  friend class Connection;
  template <class Arg>
  Request& push_any(std::span<const Arg> argv);

  std::string bytes_;
  std::size_t commands_ = 0;
  std::size_t replies_ = 0;
  // Where the first command's name is in bytes_.
  std::size_t first_pos_ = 0;
  std::size_t first_size_ = 0;
};

/// How many replies a command named `name` with `argc` arguments (the name included) produces:
/// one, except the (un)subscribe family, which confirms each channel separately.
std::size_t replies_for(std::string_view name, std::size_t argc);

}  // namespace hydra::redis
