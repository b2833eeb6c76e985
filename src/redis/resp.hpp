// RESP2 encoding and incremental decoding, delegated to hiredis (codec only, no sockets).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "hydra/redis/reply.hpp"

struct redisReader;

namespace hydra::redis::resp {

/// Appends the RESP encoding of a command (its arguments, the name first) to `out`.
void encode(std::string& out, std::span<const std::string> command);
void encode(std::string& out, std::span<const std::string_view> command);

/// Incremental decoder: feed bytes as they arrive, take complete replies out.
class Decoder {
 public:
  Decoder();
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  /// Adds received bytes (copied).
  void feed(std::string_view bytes);
  /// Adds received bytes without copying them when nothing fed before is still waiting: they
  /// must then stay valid until next_in_slot() or next() has returned "no more" (a reader's
  /// buffer between two reads).
  void feed_view(std::string_view bytes);
  /// The next complete reply, or nullopt when more bytes are needed. Throws
  /// `Error(protocol_error)` when the stream is not valid RESP.
  std::optional<Reply> next();
  /// The same, left where it was decoded: the caller may move it out. Null when more bytes are
  /// needed; valid until the next call of next_in_slot, next, feed or reset.
  Reply* next_in_slot();
  /// Drops all buffered state (after a reconnect).
  void reset();

 private:
  // Received bytes go to hiredis's reader a slice at a time. The reader moves its unread
  // bytes to the front of its buffer whenever it has consumed 1 KiB, so one large read fed at
  // once (many small replies) would be moved again and again, quadratic in the read's size.
  static constexpr std::size_t kSlice = 2048;
  // Where hiredis builds each top-level reply (see resp.cpp); declared before the reader so it
  // outlives it.
  Reply slot_;
  redisReader* reader_ = nullptr;
  // The bytes not yet handed to hiredis: a view of the caller's buffer (feed_view) or of
  // own_ (feed, or a feed_view while bytes were still waiting).
  std::string_view unfed_;
  std::string own_;
  bool owned_ = false;  // unfed_ is the end of own_
};

}  // namespace hydra::redis::resp
