// The Redis connection: request queue, pipelined writer, reply reader, reconnect loop.
#include "hydra/redis/connection.hpp"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <deque>
#include <optional>
#include <set>
#include <type_traits>
#include <utility>
#include <variant>

#include "common/clock.hpp"
#include "common/executors.hpp"
#include "hydra/error.hpp"
#include "redis/early_write.hpp"
#include "redis/resp.hpp"
#include "redis/transport.hpp"

namespace asio = boost::asio;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

namespace hydra::redis {

const char* to_string(State state) {
  switch (state) {
    case State::idle:
      return "idle";
    case State::connecting:
      return "connecting";
    case State::connected:
      return "connected";
    case State::disconnected:
      return "disconnected";
    case State::stopped:
      return "stopped";
  }
  return "?";
}

namespace {

// How a request completes: the four kinds of handler. The "throwing" ones are the coroutine
// calls (exec, exec_batch): they complete with the transport error as an exception, so that
// `co_await exec(...)` needs no coroutine frame of its own to turn an error code into one.
using ThrowingReplyHandler = asio::any_completion_handler<void(std::exception_ptr, Reply)>;
using ThrowingBatchHandler =
    asio::any_completion_handler<void(std::exception_ptr, std::vector<Reply>)>;
using AnyHandler = std::variant<std::monostate, Connection::BatchHandler, Connection::ReplyHandler,
                                ThrowingBatchHandler, ThrowingReplyHandler>;
// A reply handler without an executor of its own (Connection::exec_one_here), on its way to the
// queue: kept as a ReplyHandler with Pending::here set.
struct HereReplyHandler {
  Connection::ReplyHandler handler;
};

struct Pending {
  std::string payload;
  std::size_t expected = 0;
  std::size_t received = 0;
  std::vector<Reply> replies;  // a batch's replies
  Reply reply;                 // the (last) reply of a single command
  // Set until the request completes. (Only ever move-constructed out, never move-assigned:
  // Boost 1.81's any_completion_handler move assignment re-wraps the handler.)
  AnyHandler handler;
  Clock::time_point deadline = Clock::time_point::max();
  bool wait_for_connection = true;
  // The ReplyHandler has no executor of its own: it is called without asking it for one.
  bool here = false;
  std::string what;  // first command name, for error messages

  bool waiting() const { return handler.index() != 0; }
  // One reply is kept (the last), not a vector of them.
  bool single() const {
    return std::holds_alternative<Connection::ReplyHandler>(handler) ||
           std::holds_alternative<ThrowingReplyHandler>(handler);
  }
};

// The exception a coroutine call throws for a transport failure.
std::exception_ptr transport_error(std::error_code ec, const std::string& what) {
  return std::make_exception_ptr(Error(ec, "Redis " + what + ": " + ec.message()));
}

std::size_t replies_for(const Command& cmd) {
  return cmd.empty() ? 0 : redis::replies_for(cmd.front(), cmd.size());
}

// Runs two coroutines until the first one finishes, normally or with an exception (unlike
// awaitable_operators' `||`, which waits for a success); the other is cancelled. Returns the
// index of the first; rethrows its exception.
asio::awaitable<std::size_t> race(asio::awaitable<void> a, asio::awaitable<void> b) {
  auto ex = co_await asio::this_coro::executor;
  auto [order, e0, e1] = co_await asio::experimental::make_parallel_group(
                             asio::co_spawn(ex, std::move(a), asio::deferred),
                             asio::co_spawn(ex, std::move(b), asio::deferred))
                             .async_wait(asio::experimental::wait_for_one(), asio::deferred);
  std::size_t first = order[0];
  if (auto e = first == 0 ? e0 : e1) std::rethrow_exception(e);
  co_return first;
}

asio::awaitable<void> wait_timer(asio::steady_timer& timer) {
  co_await timer.async_wait(use_awaitable);
}

}  // namespace

struct Connection::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor ex, Config cfg, Mode m)
      : strand(cfg.single_threaded ? ex : asio::any_io_executor(asio::make_strand(ex))),
        config(std::move(cfg)),
        mode(m),
        transport(strand),
        writer_signal(strand),
        deadline_timer(strand),
        backoff_timer(strand),
        health_timer(strand) {}

  // A strand over the given executor, or the executor itself when the configuration promises
  // a single thread (then calls from that thread are handled inline, without a queue hop).
  asio::any_io_executor strand;
  Config config;
  Mode mode;
  std::atomic<State> state{State::idle};
  std::atomic<unsigned long> connects{0};
  std::atomic<unsigned long> writer_writes{0};
  std::atomic<unsigned long> early_writes{0};
  StateHandler on_state;
  MessageHandler on_message;
  std::deque<std::unique_ptr<Pending>> write_queue;
  std::deque<std::unique_ptr<Pending>> inflight;
  std::set<std::string> channels;
  std::set<std::string> patterns;
  Transport transport;
  resp::Decoder decoder;
  asio::steady_timer writer_signal;
  asio::steady_timer deadline_timer;
  asio::steady_timer backoff_timer;
  asio::steady_timer health_timer;
  std::array<char, 16384> read_buffer{};
  // Bytes of requests already moved to `inflight` that are not written yet; the writer keeps
  // them here until its write has completed, so non-empty also means a write is under way.
  std::string write_buffer;
  // Early writes made while handing out the current batch of replies (see write_early).
  unsigned early_writes_in_batch = 0;
  // The reader is handing this connection's replies to their handlers: requests queued now are
  // follow-ups to them, which is when an early write overlaps the client with Redis.
  bool dispatching = false;
  bool started = false;
  bool stopping = false;

  // Requests that other single-threaded connections on this thread queue while a reader hands
  // out its replies (a reply on a subscriber connection resuming a coroutine that publishes on
  // the command connection) are written when the reader is done, as its own follow-ups are,
  // instead of each of those connections waking its writer. A reader opens a FollowUpScope
  // around the handing out of its replies; the connections waiting for it are linked through
  // `next_follow_up`, and it writes (or hands to their writers) what they queued, also when the
  // reader leaves by an exception.
  class FollowUpScope {
   public:
    FollowUpScope() : outer_(follow_ups) { follow_ups = this; }
    ~FollowUpScope() {
      follow_ups = outer_;
      while (auto c = std::move(first_)) {
        first_ = std::move(c->next_follow_up);
        c->waiting_for_follow_ups = false;
        c->flush_follow_ups();
      }
    }
    FollowUpScope(const FollowUpScope&) = delete;
    FollowUpScope& operator=(const FollowUpScope&) = delete;

    void join(std::shared_ptr<Impl> c) {
      c->next_follow_up = std::move(first_);
      first_ = std::move(c);
    }

   private:
    std::shared_ptr<Impl> first_;
    FollowUpScope* outer_;
  };
  // The innermost scope open on this thread, if any.
  static thread_local FollowUpScope* follow_ups;
  std::shared_ptr<Impl> next_follow_up;
  bool waiting_for_follow_ups = false;

  // Finished requests kept for reuse, with their buffers: a busy connection then allocates no
  // Pending, payload or reply vector per request.
  std::vector<std::unique_ptr<Pending>> spare;
  static constexpr std::size_t kSpareMax = 256;
  static constexpr std::size_t kKeptPayload = 4096;
  // The largest string a subscriber's decoder slot keeps between messages.
  static constexpr std::size_t kKeptMessageBytes = 64 * 1024;

  std::unique_ptr<Pending> acquire() {
    if (spare.empty()) return std::make_unique<Pending>();
    auto p = std::move(spare.back());
    spare.pop_back();
    return p;
  }

  void release(std::unique_ptr<Pending> p) {
    if (spare.size() >= kSpareMax) return;
    if (p->payload.capacity() > kKeptPayload) {
      p->payload = std::string();
    } else {
      p->payload.clear();
    }
    p->expected = 0;
    p->received = 0;
    p->replies.clear();
    p->reply = Reply{};
    p->handler.emplace<std::monostate>();
    p->deadline = Clock::time_point::max();
    p->wait_for_connection = true;
    p->what.clear();
    spare.push_back(std::move(p));
  }

  void set_state(State s, const std::string& detail) {
    state = s;
    if (on_state) on_state(s, detail);
  }

  std::string endpoint() const { return describe(config); }

  // `now`: the handler may run before this returns (a reply being read on a single-threaded
  // connection, whose reader runs on the handler's executor; the request has left every queue).
  void complete(Pending& p, std::error_code ec, bool now = false) {
    AnyHandler any(std::move(p.handler));
    p.handler.emplace<std::monostate>();
    const bool here = std::exchange(p.here, false);
    if (auto* h = std::get_if<Connection::ReplyHandler>(&any)) {
      if (here) {
        finish_here(std::move(*h), now, ec, std::move(p.reply));
      } else {
        finish(std::move(*h), now, ec, std::move(p.reply));
      }
    } else if (auto* h = std::get_if<Connection::BatchHandler>(&any)) {
      finish(std::move(*h), now, ec, std::move(p.replies));
    } else if (auto* h = std::get_if<ThrowingReplyHandler>(&any)) {
      finish(std::move(*h), now, ec ? transport_error(ec, p.what) : std::exception_ptr(),
             std::move(p.reply));
    } else if (auto* h = std::get_if<ThrowingBatchHandler>(&any)) {
      finish(std::move(*h), now, ec ? transport_error(ec, p.what) : std::exception_ptr(),
             std::move(p.replies));
    }
  }

  template <class Handler, class... Args>
  void finish(Handler handler, bool now, Args&&... args) {
    if (now) {
      invoke_here_or_dispatch(strand, std::move(handler), std::forward<Args>(args)...);
      return;
    }
    // Posted (never run inline) so a handler that issues a new request cannot re-enter the
    // queue being iterated; then dispatched to the handler's own executor.
    auto ex = asio::get_associated_executor(handler, strand);
    asio::post(strand, [ex, h = std::move(handler), ... a = std::forward<Args>(args)]() mutable {
      asio::dispatch(ex, [h = std::move(h), ... a = std::move(a)]() mutable {
        std::move(h)(std::move(a)...);
      });
    });
  }

  // finish() for a handler that runs on the connection's executor by contract: called directly
  // (`now`), or posted to the strand, without the executor query and dispatch. As from
  // invoke_here_or_dispatch, an exception it lets out comes out of run(), not out of the reader.
  void finish_here(Connection::ReplyHandler handler, bool now, std::error_code ec, Reply&& reply) {
    if (now) {
      try {
        std::move(handler)(ec, std::move(reply));
      } catch (...) {
        asio::post(strand, [e = std::current_exception()] { std::rethrow_exception(e); });
      }
      return;
    }
    asio::post(strand, [h = std::move(handler), ec, r = std::move(reply)]() mutable {
      std::move(h)(ec, std::move(r));
    });
  }

  // A request's payload, reply count and name (its first command's), from commands encoded
  // here or bytes the caller encoded (copied). A reused Pending has its buffer already, so a
  // busy connection allocates nothing for it.
  static void fill(Pending& p, const Command& command) {
    if (command.empty()) return;
    resp::encode(p.payload, command);
    p.expected += replies_for(command);
    if (p.what.empty()) p.what = command.front();
  }
  static void fill(Pending& p, const std::vector<Command>& commands) {
    for (const auto& c : commands)
      fill(p, c);
  }
  static void fill(Pending& p, const Request& request) {
    p.payload.append(request.encoded());
    p.expected += request.expected_replies();
    p.what.assign(request.first_name());
  }

  template <class Commands, class Handler>
  void enqueue(const Commands& commands, RequestOptions options, Handler handler) {
    auto p = acquire();
    if constexpr (std::is_same_v<Handler, HereReplyHandler>) {
      p->handler.emplace<Connection::ReplyHandler>(std::move(handler.handler));
      p->here = true;
    } else {
      p->handler.emplace<Handler>(std::move(handler));
    }
    fill(*p, commands);
    if (p->what.empty()) p->what = "batch";
    submit(std::move(p), options);
  }

  // Queues an encoded request, or completes it at once: with `stopped` or `disconnected` when
  // it cannot be sent, with no replies when it expects none.
  void submit(std::unique_ptr<Pending> p, RequestOptions options) {
    if (stopping || state == State::stopped) {
      complete(*p, make_error_code(errc::stopped));
      return;
    }
    if (p->expected == 0) {
      complete(*p, {});
      return;
    }
    if (state != State::connected && !options.wait_for_connection) {
      complete(*p, make_error_code(errc::disconnected));
      return;
    }
    auto timeout = options.timeout.count() < 0 ? config.command_timeout : options.timeout;
    // The coarse clock: a command's deadline is the connection's own bookkeeping (a request()'s
    // deadline, which callers see, is read from the precise clock).
    if (timeout.count() > 0) p->deadline = coarse_deadline_after(timeout);
    p->wait_for_connection = options.wait_for_connection;
    write_queue.push_back(std::move(p));
    auto deadline = write_queue.back()->deadline;
    // A follow-up is written when the reader that is handing out replies is done
    // (flush_follow_ups): this connection's own, or on this thread another single-threaded
    // connection's (FollowUpScope). Anything else wakes the writer.
    if (!dispatching) {
      if (config.single_threaded && follow_ups) {
        join_follow_ups(*follow_ups);
      } else {
        writer_signal.cancel();
      }
    }
    if (dispatching && early_write_due(write_queue.size(), inflight.size() + write_queue.size(),
                                       config.early_write_threshold, early_writes_in_batch)) {
      write_early();
    }
    if (deadline < deadline_timer.expiry()) deadline_timer.cancel();
  }

  void join_follow_ups(FollowUpScope& scope) {
    if (waiting_for_follow_ups) return;
    waiting_for_follow_ups = true;
    scope.join(shared_from_this());
  }

  void fail_all(std::deque<std::unique_ptr<Pending>>& q, std::error_code ec) {
    for (auto& p : q)
      complete(*p, ec);
    q.clear();
  }

  void on_disconnect() {
    dispatching = false;  // the reader may have left by an exception while handing out replies
    write_buffer.clear();
    fail_all(inflight, make_error_code(errc::disconnected));
    fail_all_not_waiting();
    decoder.reset();
  }

  // The hook where Sentinel master discovery will plug in: the endpoint to dial on this attempt.
  std::pair<std::string, std::uint16_t> resolve_endpoint() const {
    return {config.host, config.port};
  }

  asio::awaitable<Reply> read_reply() {
    for (;;) {
      if (auto* r = decoder.next_in_slot()) co_return std::move(*r);
      std::size_t n = co_await transport.read_some(asio::buffer(read_buffer));
      decoder.feed({read_buffer.data(), n});
    }
  }

  // Connects and runs the handshake: AUTH, SELECT, CLIENT SETNAME, and the subscriptions.
  asio::awaitable<void> connect_once() {
    decoder.reset();
    auto [host, port] = resolve_endpoint();
    co_await transport.connect(config, host, port);
    std::vector<Command> hello;
    if (!config.password.empty()) {
      if (config.username.empty()) {
        hello.push_back({"AUTH", config.password});
      } else {
        hello.push_back({"AUTH", config.username, config.password});
      }
    }
    if (config.db != 0) hello.push_back({"SELECT", std::to_string(config.db)});
    if (!config.client_name.empty()) hello.push_back({"CLIENT", "SETNAME", config.client_name});
    // A PING proves the link really works before it counts as connected: with TLS 1.3 a server
    // that rejects the client certificate only says so after the handshake has completed.
    hello.push_back({"PING"});
    if (!channels.empty()) {
      Command c{"SUBSCRIBE"};
      c.insert(c.end(), channels.begin(), channels.end());
      hello.push_back(std::move(c));
    }
    if (!patterns.empty()) {
      Command c{"PSUBSCRIBE"};
      c.insert(c.end(), patterns.begin(), patterns.end());
      hello.push_back(std::move(c));
    }
    std::string out;
    for (const auto& c : hello)
      resp::encode(out, c);
    co_await transport.handshake_write(asio::buffer(out));
    for (const auto& c : hello) {
      for (std::size_t i = 0; i < replies_for(c); ++i) {
        Reply r = co_await read_reply();
        if (r.is_error()) {
          throw Error(errc::redis_error, c.front() + " failed: " + r.str);
        }
      }
    }
  }

  // A message is read in the decoder's slot, whose strings keep their capacity for the next
  // one (no allocation per message); a string that held a large message gives it back.
  static void release_large(Reply& r) {
    for (auto& e : r.elements) {
      if (e.str.capacity() > kKeptMessageBytes) e.str = std::string();
    }
  }

  // `r` is the decoder's slot: the reply is moved from it to where it is kept.
  void dispatch_reply(Reply& r) {
    if (mode == Mode::subscriber && r.is_array() && r.elements.size() >= 3 &&
        r.elements[0].type == Reply::Type::string) {
      const std::string& kind = r.elements[0].str;
      if (kind == "message") {
        if (on_message) on_message(r.elements[1].str, r.elements[2].str);
        release_large(r);
        return;
      }
      if (kind == "pmessage" && r.elements.size() >= 4) {
        if (on_message) on_message(r.elements[2].str, r.elements[3].str);
        release_large(r);
        return;
      }
    }
    if (inflight.empty()) {
      throw Error(errc::protocol_error, "reply without a request: " + r.describe());
    }
    Pending& p = *inflight.front();
    if (p.single()) {
      p.reply = std::move(r);
    } else {
      p.replies.push_back(std::move(r));
    }
    if (++p.received >= p.expected) {
      auto done = std::move(inflight.front());
      inflight.pop_front();
      // On a single-threaded connection the handler runs now: a coroutine waiting for this
      // reply resumes at once (no queue hop), and the requests it makes are queued while
      // later replies are still being read, where early writes can pick them up.
      complete(*done, {}, config.single_threaded);
      release(std::move(done));
    }
  }

  asio::awaitable<void> reader() {
    for (;;) {
      dispatching = false;
      std::size_t n = co_await transport.read_some(asio::buffer(read_buffer));
      // Not copied: the read buffer is not read into again until the loop below has taken
      // every reply out of it.
      decoder.feed_view({read_buffer.data(), n});
      dispatching = true;
      early_writes_in_batch = 0;
      {
        std::optional<FollowUpScope> others;
        if (config.single_threaded) others.emplace();
        while (auto* r = decoder.next_in_slot()) {
          dispatch_reply(*r);
          if (stopping) co_return;
        }
        dispatching = false;
        flush_follow_ups();
      }
    }
  }

  // Writes the follow-ups the reply handlers just queued: what the writer would write on its
  // next turn, written without that turn (a queue hop, and the reactor poll the scheduler runs
  // between two handlers). What the socket does not take now, or a request queued while a
  // write is under way, is left to the writer.
  void flush_follow_ups() {
    if (write_queue.empty()) return;
    if (can_write_now() && write_queued_now()) ++writer_writes;
    if (!write_buffer.empty() || !write_queue.empty()) writer_signal.cancel();
  }

  // Whether the queue may be written here, without the writer: no write is under way and the
  // socket takes non-blocking writes (TCP or Unix, not TLS).
  bool can_write_now() const {
    return write_buffer.empty() && state == State::connected && transport.can_try_write();
  }

  // Moves the queue into the output buffer and writes what the socket takes now; the rest stays
  // in the buffer for the writer. False when there was nothing to write (every queued request
  // had timed out).
  bool write_queued_now() {
    take_queued();
    if (write_buffer.empty()) return false;
    write_buffer.erase(0, transport.try_write(asio::buffer(write_buffer)));
    return true;
  }

  // Moves every queued request into the output buffer and the in-flight list.
  void take_queued() {
    while (!write_queue.empty()) {
      auto p = std::move(write_queue.front());
      write_queue.pop_front();
      if (!p->waiting()) continue;  // timed out before it could be written
      write_buffer += p->payload;
      p->payload.clear();
      inflight.push_back(std::move(p));
    }
  }

  asio::awaitable<void> writer() {
    for (;;) {
      while (write_queue.empty() && write_buffer.empty()) {
        writer_signal.expires_at(Clock::time_point::max());
        co_await writer_signal.async_wait(asio::as_tuple(use_awaitable));
        // Woken either by a new request or because the reader failed and this coroutine is
        // being cancelled by the parallel group.
        auto cs = co_await asio::this_coro::cancellation_state;
        if (stopping || cs.cancelled() != asio::cancellation_type::none) co_return;
      }
      // Everything queued goes out in one write: this is the automatic pipelining.
      take_queued();
      if (write_buffer.empty()) continue;
      ++writer_writes;
      // Written at once when the socket takes it all, as it mostly does: no asynchronous
      // completion to wait for (a queue hop, and a reactor poll, less per write).
      if (transport.can_try_write()) {
        write_buffer.erase(0, transport.try_write(asio::buffer(write_buffer)));
      }
      if (!write_buffer.empty()) co_await transport.write(asio::buffer(write_buffer));
      write_buffer.clear();
    }
  }

  // Writes the queued requests now if the socket takes them without waiting, so that Redis
  // works on them while the replies already read are still being handled, instead of the two
  // taking turns. Only for requests queued by this connection's own reply handlers (see
  // `dispatching`): requests made while other work is handled, such as an echo answering the
  // messages of its subscriber connection, gained nothing from going early, and the extra writes
  // cost the process and Redis CPU (docs/benchmarks.md, "After follow-up-only early writes").
  // When: early_write_due (src/redis/early_write.hpp), groups of half the outstanding
  // requests, at most two per batch of replies (docs/benchmarks.md, "Early writes in groups"
  // and "Early writes in halves").
  // What the socket does not take is left to the writer.
  void write_early() {
    if (write_queue.empty() || !can_write_now()) return;
    ++early_writes_in_batch;
    if (write_queued_now()) ++early_writes;
    if (!write_buffer.empty()) writer_signal.cancel();
  }

  // Completes requests whose deadline passed. A request that timed out after it was written
  // means the server or the link is not answering: the connection is reset so that later
  // commands do not queue up behind it.
  asio::awaitable<void> deadline_loop() {
    auto self = shared_from_this();
    while (!stopping) {
      auto now = Clock::now();
      auto next = Clock::time_point::max();
      for (auto& p : write_queue) {
        if (!p->waiting()) continue;
        if (p->deadline <= now) {
          complete(*p, make_error_code(errc::timeout));
        } else {
          next = std::min(next, p->deadline);
        }
      }
      bool reset = false;
      for (auto& p : inflight) {
        if (!p->waiting()) continue;
        if (p->deadline <= now) {
          complete(*p, make_error_code(errc::timeout));
          reset = true;
        } else {
          next = std::min(next, p->deadline);
        }
      }
      if (reset && state == State::connected) transport.close();
      deadline_timer.expires_at(next);
      co_await deadline_timer.async_wait(asio::as_tuple(use_awaitable));
    }
  }

  // Periodic PING on a connected link; a reply that does not come within the command timeout
  // makes the deadline sweep reset the link (see deadline_loop).
  asio::awaitable<void> health_loop() {
    auto self = shared_from_this();
    while (!stopping && config.health_check_interval.count() > 0) {
      health_timer.expires_after(config.health_check_interval);
      co_await health_timer.async_wait(asio::as_tuple(use_awaitable));
      if (stopping) break;
      if (state != State::connected) continue;
      RequestOptions options;
      options.wait_for_connection = false;
      enqueue(Request("PING"), options, BatchHandler([](std::error_code, std::vector<Reply>) {}));
    }
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    auto delay = config.reconnect_min_delay;
    unsigned failures = 0;
    while (!stopping) {
      set_state(State::connecting, endpoint());
      std::string error;
      try {
        asio::steady_timer timer(strand);
        timer.expires_after(config.connect_timeout);
        if (co_await race(connect_once(), wait_timer(timer)) == 1) {
          transport.close();
          error =
              "connect timed out after " + std::to_string(config.connect_timeout.count()) + " ms";
        }
      } catch (const boost::system::system_error& e) {
        transport.close();
        error = e.code().message();
      } catch (const std::exception& e) {
        transport.close();
        error = e.what();
      }
      if (stopping) break;
      if (!error.empty()) {
        ++failures;
        if (config.max_reconnect_attempts != 0 && failures >= config.max_reconnect_attempts) {
          set_state(State::stopped,
                    "giving up after " + std::to_string(failures) + " failed attempts: " + error);
          stopping = true;
          fail_all(write_queue, make_error_code(errc::disconnected));
          break;
        }
        set_state(State::disconnected, "cannot connect to " + endpoint() + ": " + error +
                                           "; retrying in " + std::to_string(delay.count()) +
                                           " ms");
        fail_all_not_waiting();
        backoff_timer.expires_after(delay);
        co_await backoff_timer.async_wait(asio::as_tuple(use_awaitable));
        delay = std::min(delay * 2, config.reconnect_max_delay);
        continue;
      }
      failures = 0;
      ++connects;
      auto connected_at = Clock::now();
      set_state(State::connected, endpoint());
      std::string why;
      try {
        co_await race(reader(), writer());
      } catch (const boost::system::system_error& e) {
        why = e.code().message();
      } catch (const std::exception& e) {
        why = e.what();
      }
      transport.close();
      on_disconnect();
      if (stopping) break;
      set_state(State::disconnected, "connection to " + endpoint() +
                                         " lost: " + (why.empty() ? std::string("closed") : why));
      // A link that drops right after connecting (server closing at once, rejected client
      // certificate) must not turn into a busy reconnect loop: keep backing off until a
      // connection has lasted a while.
      if (Clock::now() - connected_at < std::chrono::seconds(1)) {
        backoff_timer.expires_after(delay);
        co_await backoff_timer.async_wait(asio::as_tuple(use_awaitable));
        delay = std::min(delay * 2, config.reconnect_max_delay);
      } else {
        delay = config.reconnect_min_delay;
      }
    }
    fail_all(inflight, make_error_code(errc::stopped));
    fail_all(write_queue, make_error_code(errc::stopped));
    if (state != State::stopped) set_state(State::stopped, "stopped");
  }

  void fail_all_not_waiting() {
    std::deque<std::unique_ptr<Pending>> keep;
    for (auto& p : write_queue) {
      if (!p->waiting()) continue;
      if (p->wait_for_connection) {
        keep.push_back(std::move(p));
      } else {
        complete(*p, make_error_code(errc::disconnected));
      }
    }
    write_queue = std::move(keep);
  }

  void do_stop() {
    if (stopping) return;
    stopping = true;
    transport.close();
    writer_signal.cancel();
    deadline_timer.cancel();
    backoff_timer.cancel();
    health_timer.cancel();
    fail_all(inflight, make_error_code(errc::stopped));
    fail_all(write_queue, make_error_code(errc::stopped));
    if (!started) set_state(State::stopped, "stopped");
  }
};

thread_local Connection::Impl::FollowUpScope* Connection::Impl::follow_ups = nullptr;

Connection::Connection(asio::any_io_executor executor, Config config, Mode mode)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(config), mode)) {}

Connection::~Connection() {
  stop();
}

void Connection::set_state_handler(StateHandler handler) {
  impl_->on_state = std::move(handler);
}

void Connection::set_message_handler(MessageHandler handler) {
  impl_->on_message = std::move(handler);
}

void Connection::start() {
  asio::dispatch(impl_->strand, [impl = impl_] {
    if (impl->started || impl->stopping) return;
    impl->started = true;
    asio::co_spawn(impl->strand, impl->run(), asio::detached);
    asio::co_spawn(impl->strand, impl->deadline_loop(), asio::detached);
    asio::co_spawn(impl->strand, impl->health_loop(), asio::detached);
  });
}

void Connection::stop() {
  asio::dispatch(impl_->strand, [impl = impl_] { impl->do_stop(); });
}

// Queues a request from any thread: at once on a single-threaded connection (every call comes
// from the one thread that runs the executor, Config::single_threaded), without a type-erased
// function; otherwise on the connection's strand.
template <class Handler, class Commands>
void Connection::initiate_any(Commands&& commands, RequestOptions options, Handler handler) {
  if (impl_->config.single_threaded) {
    impl_->enqueue(commands, options, std::move(handler));
    return;
  }
  asio::dispatch(impl_->strand,
                 [impl = impl_, c = std::move(commands), options,
                  h = std::move(handler)]() mutable { impl->enqueue(c, options, std::move(h)); });
}

void Connection::initiate_one(Command&& command, RequestOptions options, ReplyHandler handler) {
  initiate_any(std::move(command), options, std::move(handler));
}

void Connection::initiate_one(Request&& request, RequestOptions options, ReplyHandler handler) {
  initiate_any(std::move(request), options, std::move(handler));
}

void Connection::initiate_here(Request&& request, RequestOptions options, ReplyHandler handler) {
  initiate_any(std::move(request), options, HereReplyHandler{std::move(handler)});
}

void Connection::initiate(std::vector<Command>&& commands, RequestOptions options,
                          BatchHandler handler) {
  initiate_any(std::move(commands), options, std::move(handler));
}

void Connection::initiate(Request&& request, RequestOptions options, BatchHandler handler) {
  initiate_any(std::move(request), options, std::move(handler));
}

void Connection::initiate_throwing_one(Command&& command, RequestOptions options,
                                       ThrowingReplyHandler handler) {
  initiate_any(std::move(command), options, std::move(handler));
}

void Connection::initiate_throwing_one(Request&& request, RequestOptions options,
                                       ThrowingReplyHandler handler) {
  initiate_any(std::move(request), options, std::move(handler));
}

void Connection::initiate_throwing(std::vector<Command>&& commands, RequestOptions options,
                                   ThrowingBatchHandler handler) {
  initiate_any(std::move(commands), options, std::move(handler));
}

void Connection::initiate_throwing(Request&& request, RequestOptions options,
                                   ThrowingBatchHandler handler) {
  initiate_any(std::move(request), options, std::move(handler));
}

namespace {
// Records (or forgets) subscriptions on the strand, before the command that follows is queued
// there, so a reconnect in between restores them.
void track(asio::any_io_executor& strand, std::set<std::string>& set,
           const std::vector<std::string>& names, bool add) {
  asio::dispatch(strand, [&set, names, add] {
    for (const auto& n : names) {
      if (add) {
        set.insert(n);
      } else {
        set.erase(n);
      }
    }
  });
}

}  // namespace

namespace {
bool no_commands(const Command& c) {
  return c.empty();
}
bool no_commands(const Request& r) {
  return r.empty();
}
}  // namespace

// exec and exec_batch are not coroutines themselves: the awaitable is the initiation's own, so
// a call costs one coroutine frame, not two, and the reply is moved fewer times.
template <class Commands>
asio::awaitable<Reply> Connection::exec_any(Commands&& commands, RequestOptions options) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, Reply)>(
      [this](auto handler, Commands&& c, RequestOptions o) {
        if (no_commands(c)) {
          auto ex = asio::get_associated_executor(handler, impl_->strand);
          asio::post(ex, [h = std::move(handler)]() mutable {
            std::move(h)(std::make_exception_ptr(
                             Error(errc::invalid_argument, "an empty command has no name")),
                         Reply{});
          });
          return;
        }
        initiate_throwing_one(std::move(c), o, ThrowingReplyHandler(std::move(handler)));
      },
      use_awaitable, std::move(commands), options);
}

template <class Commands>
asio::awaitable<std::vector<Reply>> Connection::exec_batch_any(Commands&& commands,
                                                               RequestOptions options) {
  return asio::async_initiate<const asio::use_awaitable_t<>&,
                              void(std::exception_ptr, std::vector<Reply>)>(
      [this](auto handler, Commands&& c, RequestOptions o) {
        initiate_throwing(std::move(c), o, ThrowingBatchHandler(std::move(handler)));
      },
      use_awaitable, std::move(commands), options);
}

asio::awaitable<Reply> Connection::exec(Command command, RequestOptions options) {
  return exec_any(std::move(command), options);
}

asio::awaitable<Reply> Connection::exec(Request request, RequestOptions options) {
  return exec_any(std::move(request), options);
}

asio::awaitable<std::vector<Reply>> Connection::exec_batch(std::vector<Command> commands,
                                                           RequestOptions options) {
  return exec_batch_any(std::move(commands), options);
}

asio::awaitable<std::vector<Reply>> Connection::exec_batch(Request request,
                                                           RequestOptions options) {
  return exec_batch_any(std::move(request), options);
}

asio::awaitable<void> Connection::subscribe(std::vector<std::string> channels) {
  if (channels.empty()) co_return;
  track(impl_->strand, impl_->channels, channels, true);
  Command cmd{"SUBSCRIBE"};
  cmd.insert(cmd.end(), channels.begin(), channels.end());
  auto replies = co_await exec_batch(Request(cmd));
  for (const auto& r : replies)
    r.check();
}

asio::awaitable<void> Connection::psubscribe(std::vector<std::string> patterns) {
  if (patterns.empty()) co_return;
  track(impl_->strand, impl_->patterns, patterns, true);
  Command cmd{"PSUBSCRIBE"};
  cmd.insert(cmd.end(), patterns.begin(), patterns.end());
  auto replies = co_await exec_batch(Request(cmd));
  for (const auto& r : replies)
    r.check();
}

asio::awaitable<void> Connection::unsubscribe(std::vector<std::string> channels) {
  if (channels.empty()) co_return;
  track(impl_->strand, impl_->channels, channels, false);
  Command cmd{"UNSUBSCRIBE"};
  cmd.insert(cmd.end(), channels.begin(), channels.end());
  RequestOptions options;
  options.wait_for_connection = false;
  auto replies = co_await exec_batch(Request(cmd), options);
  for (const auto& r : replies)
    r.check();
}

State Connection::state() const {
  return impl_->state.load();
}

unsigned long Connection::connect_count() const {
  return impl_->connects.load();
}

Connection::WriteCounts Connection::write_counts() const {
  return {impl_->writer_writes.load(), impl_->early_writes.load()};
}

const Config& Connection::config() const {
  return impl_->config;
}

}  // namespace hydra::redis
