// RESP2 encoding and incremental decoding, delegated to hiredis (codec only, no sockets).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "hydra/redis/reply.hpp"

struct redisReader;

namespace hydra::redis::resp {

/// Appends the RESP encoding of `command` to `out`.
void encode(std::string& out, const Command& command);

/// Incremental decoder: feed bytes as they arrive, take complete replies out.
class Decoder {
 public:
  Decoder();
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  /// Adds received bytes.
  void feed(std::string_view bytes);
  /// The next complete reply, or nullopt when more bytes are needed. Throws
  /// `Error(protocol_error)` when the stream is not valid RESP.
  std::optional<Reply> next();
  /// Drops all buffered state (after a reconnect).
  void reset();

 private:
  redisReader* reader_ = nullptr;
};

}  // namespace hydra::redis::resp
