// The requests of Hydra::request() that wait for a reply: keyed by message ID, each with a
// deadline, the reply when it has come and the waiting coroutine's completion handler. No I/O:
// the caller invokes the handlers this table hands back, and runs one timer for the earliest
// deadline instead of one timer per request.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "hydra/umf.hpp"

namespace hydra::registry {

class PendingRequests {
 public:
  using Clock = std::chrono::steady_clock;
  /// Resumes a waiting request: no error (its reply is there) or `errc::timeout`.
  using Waiter = boost::asio::any_completion_handler<void(std::error_code)>;

  /// Registers a request before it is sent (its reply may come before the sender waits).
  /// False when a request with this ID is already pending.
  bool add(std::string_view mid, Clock::time_point deadline);

  /// Nothing to wait for: the reply is there, the deadline has passed, or `mid` is unknown.
  bool settled(std::string_view mid, Clock::time_point now) const;

  /// The requester waits (after settled() said false): `waiter` is kept until deliver() or
  /// expire() hands it back.
  void wait(std::string_view mid, Waiter waiter);

  /// The requester stopped waiting (its wait was cancelled): its waiter, if it still waits, is
  /// handed back to be invoked with `operation_aborted`.
  std::optional<Waiter> cancel_wait(std::string_view mid);

  /// A reply for `mid` arrived. False when no request waits for it (the message is not a reply
  /// to this instance's requests). When the requester already waits, its waiter is handed back
  /// in `resume`.
  bool deliver(std::string_view mid, umf::Message&& reply, std::optional<Waiter>& resume);

  /// The waiters of every request whose deadline has passed, to be invoked with a timeout.
  std::vector<Waiter> expire(Clock::time_point now);

  /// The earliest deadline of a waiting request (max() when none waits).
  Clock::time_point next_deadline() const;

  /// Removes the request and returns its reply (nullopt when it timed out).
  std::optional<umf::Message> take(std::string_view mid);

  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Clock::time_point deadline;
    std::optional<umf::Message> reply;
    std::optional<Waiter> waiter;
  };
  // Looked up by string_view (a received reply's rmid) without building a string.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
};

}  // namespace hydra::registry
