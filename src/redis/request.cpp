// Requests: commands RESP-encoded as they are added.
#include "hydra/redis/request.hpp"

#include "hydra/text.hpp"
#include "redis/resp.hpp"

namespace hydra::redis {

std::size_t replies_for(std::string_view name, std::size_t argc) {
  if (argc == 0) return 0;
  for (std::string_view family : {"SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE"}) {
    if (ascii_iequals(name, family)) return argc > 1 ? argc - 1 : 1;
  }
  return 1;
}

Request::Request(const Command& command) {
  push_argv(std::span<const std::string>(command));
}

Request::Request(const std::vector<Command>& commands) {
  for (const auto& c : commands)
    push_argv(std::span<const std::string>(c));
}

template <class Arg>
Request& Request::push_any(std::span<const Arg> argv) {
  if (argv.empty()) return *this;
  const std::size_t start = bytes_.size();
  resp::encode(bytes_, argv);
  if (commands_ == 0) {
    // `*<argc>\r\n$<size>\r\n<name>`: the name starts after the second line break.
    first_pos_ = bytes_.find('\n', bytes_.find('\n', start) + 1) + 1;
    first_size_ = std::string_view(argv.front()).size();
  }
  ++commands_;
  replies_ += replies_for(argv.front(), argv.size());
  return *this;
}

Request& Request::push_argv(std::span<const std::string_view> argv) {
  return push_any(argv);
}

Request& Request::push_argv(std::span<const std::string> argv) {
  return push_any(argv);
}

}  // namespace hydra::redis
