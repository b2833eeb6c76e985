// The requests of Hydra::request() that wait for a reply: keyed by message ID, each with its
// deadline and the requester's completion handler. No I/O: the caller invokes the handlers this
// table hands back, and runs one timer for the earliest deadline instead of one per request.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hydra/umf.hpp"

namespace hydra::registry {

class PendingRequests {
 public:
  using Clock = std::chrono::steady_clock;
  /// Completes a request: with its reply, or with the exception it failed with.
  using Handler = boost::asio::any_completion_handler<void(std::exception_ptr, umf::Message)>;

  /// A request whose deadline passed, removed from the table.
  struct Expired {
    std::string mid;
    std::chrono::milliseconds timeout;
    Handler handler;
  };

  bool contains(std::string_view mid) const { return entries_.find(mid) != entries_.end(); }

  /// Registers a request before it is sent (its reply may come before PUBLISH's answer).
  /// `mid` must not be pending (see contains()).
  void add(std::string_view mid, Clock::time_point deadline, std::chrono::milliseconds timeout,
           Handler handler);

  /// Removes the request and hands its handler back: its reply arrived, it could not be sent,
  /// or its wait was cancelled. nullopt when `mid` is not pending (a second reply, a reply
  /// after the timeout, or a message that is no reply to this instance's requests).
  std::optional<Handler> take(std::string_view mid);

  /// Removes every request whose deadline has passed and hands them back.
  std::vector<Expired> expire(Clock::time_point now);

  /// The earliest deadline (max() when nothing is pending).
  Clock::time_point next_deadline() const;

  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Clock::time_point deadline;
    std::chrono::milliseconds timeout;
    // Optional so that a reused entry's handler is replaced by emplace: Boost 1.81's move
    // assignment of an any_completion_handler wraps the source instead of taking it over.
    std::optional<Handler> handler;
  };
  // Looked up by string_view (a received reply's rmid) without building a string.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, Entry, Hash, std::equal_to<>>;
  Map entries_;
  // Entries taken out by take(), kept with their node and key buffer for the next add(): a
  // busy requester then allocates nothing per request here.
  std::vector<Map::node_type> spare_;
  static constexpr std::size_t kSpareMax = 64;
};

}  // namespace hydra::registry
