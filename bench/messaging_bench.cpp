// messaging_bench: message round trips (request → echo reply) and work-queue throughput,
// hydra-cpp side by side with Node Hydra 1.9.3 and with a bare hiredis client doing the same Redis
// operations, all against one private Redis.
//
// Prints tables and a final `BENCH_JSON {...}` line. Exits non-zero when a message or queue item
// is lost, duplicated or left behind, on any side, so a broken path cannot look fast.
//
// `messaging_bench --echo <redis-url> <service>` runs the C++ echo service used by the round-trip
// measurement, and `messaging_bench --bare-echo <host> <port>` the bare one (the benchmark starts
// each as a child process of its own).
//
// `--no-node` skips every Node row (and the aims that need them); `--only messaging|queues`
// runs one half; `--many N` sets the round trips of the C++ and bare 100-in-flight rows (default
// 100000), `--many-items N` the items of the C++ and bare 16-in-flight queue rows (default
// 20000). They are for profiling and quick comparisons; recorded figures use a full run.
// `--pairs N` (default 2, 0 for none) adds N more C++ / bare pairs at 100 in flight, taken in
// turn, and judges "within 25 % of bare" there by the median of all the pairs' ratios; likewise
// N more C++ / bare queue pairs at 16 in flight (enqueue, drain and polling e2e), each judged by
// its own median.
#include <hiredis/hiredis.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "bench_util.hpp"
#include "hydra/error.hpp"
#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "hydra/queue.hpp"
#include "hydra/queue_consumer.hpp"
#include "hydra/umf.hpp"
#include "support/async.hpp"
#include "support/hydra_fixture.hpp"
#include "support/node_peer.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

using hydra::bench::cpu_model;
using hydra::bench::fail;
using hydra::bench::fmt;
using hydra::bench::info_field;
using hydra::bench::ms_between;
using hydra::bench::num;
using hydra::bench::percentile;
using hydra::bench::process_cpu_seconds;
using hydra::bench::process_wakeups;
using hydra::bench::r3;
using hydra::bench::run_workers;
using hydra::bench::seconds_between;
using hydra::bench::thread_cpu_seconds;
using hydra::bench::thread_wakeups;

constexpr long kCppMessages = 20000;
// With 100 in flight 20,000 round trips take a fraction of a second; these rows run longer so
// that start-up effects and scheduling noise weigh less (and a profiler has time to attach).
constexpr long kCppManyMessages = 100000;
constexpr long kNodeMessages = 5000;
constexpr long kBareMessages = 20000;
constexpr long kCppWarmup = 500;
constexpr long kCppQueueItems = 20000;
constexpr long kNodeQueueItems = 5000;
constexpr long kBareQueueItems = 20000;
constexpr int kManyMessages = 100;
constexpr int kManyQueue = 16;
constexpr auto kRequestTimeout = 10s;
constexpr auto kBlockingWait = 250ms;

// CPU spent by each process of a measurement, per message (µs).
struct CpuShare {
  double client_us = 0, server_us = 0, redis_us = 0;
};

json::object to_json(const CpuShare& c) {
  return {{"client_us_per_msg", r3(c.client_us)},
          {"server_us_per_msg", r3(c.server_us)},
          {"redis_us_per_msg", r3(c.redis_us)}};
}

// ---------------------------------------------------------------------------------------------
// The C++ echo service (child process mode)
// ---------------------------------------------------------------------------------------------

// The response to `m`: `{body: {echoed: <m's body>}}`. The body is moved out of `m`: the reply
// takes its body from the response, so `m` is not asked for it again.
json::object echo_response(hydra::umf::Message& m) {
  json::object echoed;
  echoed["echoed"] = std::move(m.mutable_body());
  json::object response;
  response["body"] = std::move(echoed);
  return response;
}

bool wants_echo(const hydra::umf::Message& m) {
  const auto* body = m.body().if_object();
  if (!body) return false;
  const auto* echo = body->if_contains("echo");
  return echo && echo->is_bool() && echo->get_bool();
}

// The reply is sent with a plain callback (Hydra::async_send_reply_message): the echo needs
// no coroutine per message.
void send_echo(hydra::Hydra& h, hydra::umf::Message& m) {
  auto response = echo_response(m);
  h.async_send_reply_message(m, std::move(response), [](hydra::Result r) {
    if (!r.ok()) std::cerr << "echo: reply failed: " << r.reason << std::endl;
  });
}

asio::awaitable<void> serve_echo(hydra::Hydra& h, json::value doc) {
  co_await h.init(std::move(doc));
  co_await h.register_service();
  std::cout << "ECHO-READY " << h.instance_id() << std::endl;
  auto executor = co_await asio::this_coro::executor;
  asio::signal_set signals(executor, SIGINT, SIGTERM);
  co_await signals.async_wait(asio::use_awaitable);
  co_await h.shutdown();
}

int run_echo(const std::string& url, const std::string& service) {
  asio::io_context io(1);
  hydra::Hydra h(io.get_executor());
  hydra::bench::print_log_errors(h, "echo");
  h.on_message([&](hydra::umf::Message m) {
    if (wants_echo(m)) send_echo(h, m);
  });
  return hydra::bench::run_child(
      io, serve_echo(h, hydra::bench::child_service_document(url, service)), "echo");
}

// ---------------------------------------------------------------------------------------------
// Message round trips
// ---------------------------------------------------------------------------------------------

// How often each process of a round trip blocked and had to be woken, per message (voluntary
// context switches; -1 where not seen). Fewer means larger batches per wakeup.
struct Wakeups {
  double client = -1, server = -1, redis = -1;
};

struct RoundTripStats {
  long count = 0;
  int inflight = 0;
  double seconds = 0, per_second = 0, p50_ms = 0, p99_ms = 0, max_ms = 0;
  long lost = 0, mismatched = 0;
  CpuShare cpu;
  Wakeups wakeups;
  bool measured = false;
};

json::object to_json(const RoundTripStats& s) {
  return {{"count", s.count},
          {"inflight", s.inflight},
          {"seconds", r3(s.seconds)},
          {"per_second", r3(s.per_second)},
          {"p50_ms", r3(s.p50_ms)},
          {"p99_ms", r3(s.p99_ms)},
          {"max_ms", r3(s.max_ms)},
          {"lost", s.lost},
          {"mismatched", s.mismatched},
          {"cpu", to_json(s.cpu)},
          {"wakeups_per_msg",
           {{"client", r3(s.wakeups.client)},
            {"server", r3(s.wakeups.server)},
            {"redis", r3(s.wakeups.redis)}}}};
}

RoundTripStats summarize(long count, int inflight, double seconds, std::vector<double> samples) {
  RoundTripStats s;
  s.count = count;
  s.inflight = inflight;
  s.seconds = seconds;
  std::sort(samples.begin(), samples.end());
  s.per_second = static_cast<double>(samples.size()) / seconds;
  s.p50_ms = percentile(samples, 50);
  s.p99_ms = percentile(samples, 99);
  s.max_ms = samples.empty() ? 0 : samples.back();
  s.lost = count - static_cast<long>(samples.size());
  s.measured = true;
  return s;
}

struct RoundTripRun {
  std::string to;
  long count = 0;
  long next = 0;
  long lost = 0;
  long mismatched = 0;
  std::vector<double> samples;
};

// A request to the echo service: `{echo: true, n}` to `to`, made with Message::create(to, body)
// (the same fields as create({to, body}), without building that object first).
hydra::umf::Message echo_request(const std::string& to, long n) {
  json::object body;
  body["echo"] = true;
  body["n"] = n;
  return hydra::umf::Message::create(to, std::move(body));
}

// The `n` the echo sent back, or -1.
long echoed_n(const hydra::umf::Message& reply) {
  const auto* body = reply.body().if_object();
  const auto* echoed = body ? body->if_contains("echoed") : nullptr;
  const auto* inner = echoed ? echoed->if_object() : nullptr;
  const auto* n = inner ? inner->if_contains("n") : nullptr;
  return n && n->is_int64() ? static_cast<long>(n->get_int64()) : -1;
}

asio::awaitable<void> round_trip_worker(hydra::Hydra& h, RoundTripRun& run) {
  while (run.next < run.count) {
    long n = run.next++;
    auto message = echo_request(run.to, n);
    auto t0 = Clock::now();
    try {
      auto reply = co_await h.request(std::move(message), kRequestTimeout);
      auto t1 = Clock::now();
      if (echoed_n(reply) != n) {
        ++run.mismatched;
      } else {
        run.samples.push_back(ms_between(t0, t1));
      }
    } catch (const hydra::Error& e) {
      ++run.lost;
      std::cerr << "request failed: " << e.what() << std::endl;
    }
  }
}

// Until the first echo comes back (the echo side may not see this client's presence yet).
asio::awaitable<bool> warm_up(hydra::Hydra& h, std::string to) {
  for (int attempt = 0; attempt < 60; ++attempt) {
    try {
      co_await h.request(echo_request(to, attempt), 250ms);
      co_return true;
    } catch (const hydra::Error&) {
    }
  }
  co_return false;
}

RoundTripStats cpp_round_trips(asio::io_context& io, hydra::Hydra& client, const std::string& to,
                               long count, int inflight, pid_t server_pid, pid_t redis_pid) {
  RoundTripRun run;
  run.to = to;
  run.count = count;
  run.samples.reserve(static_cast<std::size_t>(count));
  double client0 = thread_cpu_seconds(), server0 = process_cpu_seconds(server_pid),
         redis0 = process_cpu_seconds(redis_pid);
  const long client_w0 = thread_wakeups(), server_w0 = process_wakeups(server_pid),
             redis_w0 = process_wakeups(redis_pid);
  auto start = Clock::now();
  auto end = run_workers(io, inflight, [&](int) { return round_trip_worker(client, run); });
  double client1 = thread_cpu_seconds(), server1 = process_cpu_seconds(server_pid),
         redis1 = process_cpu_seconds(redis_pid);
  const long client_w1 = thread_wakeups(), server_w1 = process_wakeups(server_pid),
             redis_w1 = process_wakeups(redis_pid);
  auto s = summarize(count, inflight, seconds_between(start, end), std::move(run.samples));
  s.lost = run.lost;
  s.mismatched = run.mismatched;
  auto per = [&](double a, double b) { return (b - a) * 1e6 / static_cast<double>(count); };
  s.cpu = {per(client0, client1), per(server0, server1), per(redis0, redis1)};
  auto each = [&](long a, long b) {
    return static_cast<double>(b - a) / static_cast<double>(count);
  };
  s.wakeups = {each(client_w0, client_w1), each(server_w0, server_w1), each(redis_w0, redis_w1)};
  if (run.lost || run.mismatched || client.pending_requests() != 0)
    fail("C++ round trips: " + std::to_string(run.lost) + " lost, " +
         std::to_string(run.mismatched) + " mismatched, " +
         std::to_string(client.pending_requests()) + " still pending");
  return s;
}

RoundTripStats node_round_trips(const std::string& redis_url, const std::string& target, long count,
                                int inflight, pid_t server_pid, pid_t redis_pid) {
  double server0 = process_cpu_seconds(server_pid), redis0 = process_cpu_seconds(redis_pid);
  const long server_w0 = process_wakeups(server_pid), redis_w0 = process_wakeups(redis_pid);
  const json::object r =
      hydra::test::peer_result(
          redis_url, {"bench-messaging", target, std::to_string(count), std::to_string(inflight)},
          180s)
          .as_object();
  double server1 = process_cpu_seconds(server_pid), redis1 = process_cpu_seconds(redis_pid);
  const long server_w1 = process_wakeups(server_pid), redis_w1 = process_wakeups(redis_pid);
  RoundTripStats s;
  s.count = count;
  s.inflight = inflight;
  s.seconds = num(r, "seconds");
  s.per_second = num(r, "per_second");
  s.p50_ms = num(r, "p50_ms");
  s.p99_ms = num(r, "p99_ms");
  s.max_ms = num(r, "max_ms");
  s.lost = static_cast<long>(num(r, "lost") + num(r, "send_errors"));
  s.mismatched = 0;
  s.measured = true;
  // The Node client's own CPU is not visible from here (its process has exited); the server's
  // and Redis's include the peer's start-up and warm-up, so they are upper bounds.
  auto per = [&](double a, double b) { return (b - a) * 1e6 / static_cast<double>(count); };
  s.cpu = {0, per(server0, server1), per(redis0, redis1)};
  auto each = [&](long a, long b) {
    return static_cast<double>(b - a) / static_cast<double>(count);
  };
  s.wakeups = {-1, each(server_w0, server_w1), each(redis_w0, redis_w1)};
  if (s.lost) fail("Node round trips to " + target + ": " + std::to_string(s.lost) + " lost");
  return s;
}

// ---------------------------------------------------------------------------------------------
// Bare hiredis ceiling
// ---------------------------------------------------------------------------------------------

struct RedisCtx {
  redisContext* c = nullptr;
  RedisCtx(const std::string& host, int port) {
    c = redisConnect(host.c_str(), port);
    if (!c || c->err) fail(std::string("hiredis connect: ") + (c ? c->errstr : "out of memory"));
  }
  ~RedisCtx() {
    if (c) redisFree(c);
  }
  RedisCtx(const RedisCtx&) = delete;
  RedisCtx& operator=(const RedisCtx&) = delete;
  redisReply* get() {
    void* r = nullptr;
    if (redisGetReply(c, &r) != REDIS_OK || !r) fail(std::string("hiredis: ") + c->errstr);
    return static_cast<redisReply*>(r);
  }
  // A reply already read into the client's buffer, or nullptr (never blocks).
  redisReply* buffered() {
    void* r = nullptr;
    if (redisReaderGetReply(c->reader, &r) != REDIS_OK) fail("hiredis: protocol error");
    return static_cast<redisReply*>(r);
  }
  void flush() {
    int done = 0;
    while (!done) {
      if (redisBufferWrite(c, &done) != REDIS_OK) fail(std::string("hiredis: ") + c->errstr);
    }
  }
  void command_ok(const char* format, const char* arg) {
    auto* r = static_cast<redisReply*>(redisCommand(c, format, arg));
    if (!r || r->type == REDIS_REPLY_ERROR) fail(std::string("hiredis command failed: ") + format);
    freeReplyObject(r);
  }
};

struct Guard {
  redisReply* r;
  ~Guard() { freeReplyObject(r); }
};

// A payload of `size` bytes starting with the decimal index and a colon.
std::string indexed_payload(long i, std::size_t size) {
  std::string p = std::to_string(i) + ":";
  if (p.size() < size) p.append(size - p.size(), 'x');
  return p;
}

long payload_index(const char* s, std::size_t len) {
  long v = 0;
  std::size_t i = 0;
  for (; i < len && s[i] >= '0' && s[i] <= '9'; ++i)
    v = v * 10 + (s[i] - '0');
  return i < len && s[i] == ':' ? v : -1;
}

// The echo side of the bare round trip, `messaging_bench --bare-echo <host> <port>`: every
// message on bare:srv is republished to bare:cli, pipelined (all messages already read go out
// together), until "stop". It runs in a process of its own, as the C++ and Node echoes do: a
// thread of the benchmark would share the client's address space, and switching between the two
// would then cost less than switching between two services ever does. Prints BARE-ECHO-READY
// once subscribed.
int run_bare_echo(const std::string& host, int port) {
  RedisCtx sub(host, port), pub(host, port);
  sub.command_ok("SUBSCRIBE %s", "bare:srv");
  std::printf("BARE-ECHO-READY\n");
  std::fflush(stdout);
  std::vector<redisReply*> batch;
  for (bool stop = false; !stop;) {
    batch.clear();
    batch.push_back(sub.get());
    while (auto* more = sub.buffered())
      batch.push_back(more);
    long published = 0;
    for (auto* m : batch) {
      if (m->type == REDIS_REPLY_ARRAY && m->elements == 3) {
        const auto* payload = m->element[2];
        if (std::string_view(payload->str, payload->len) == "stop") {
          stop = true;
        } else {
          redisAppendCommand(pub.c, "PUBLISH bare:cli %b", payload->str, payload->len);
          ++published;
        }
      }
      freeReplyObject(m);
    }
    for (long i = 0; i < published; ++i)
      Guard{pub.get()};
  }
  return 0;
}

RoundTripStats bare_round_trips(const hydra::test::RedisServer& server, long count, int inflight,
                                std::size_t payload_size, pid_t redis_pid) {
  auto self = std::filesystem::read_symlink("/proc/self/exe").string();
  hydra::test::Process echo({self, "--bare-echo", server.host(), std::to_string(server.port())}, {},
                            false);
  if (!echo.wait_for_line("BARE-ECHO-READY", 20s)) fail("the bare echo did not start");
  RedisCtx sub(server.host(), server.port()), pub(server.host(), server.port());
  sub.command_ok("SUBSCRIBE %s", "bare:cli");

  std::vector<Clock::time_point> sent_at(static_cast<std::size_t>(count));
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(count));
  std::vector<std::string> payloads;
  payloads.reserve(static_cast<std::size_t>(count));
  for (long i = 0; i < count; ++i)
    payloads.push_back(indexed_payload(i, payload_size));
  long sent = 0, received = 0, mismatched = 0;
  const double client0 = thread_cpu_seconds(), redis0 = process_cpu_seconds(redis_pid);
  const long client_w0 = thread_wakeups(), redis_w0 = process_wakeups(redis_pid);
  const double echo0 = process_cpu_seconds(echo.pid());
  const long echo_w0 = process_wakeups(echo.pid());
  auto start = Clock::now();
  Clock::time_point end = start;
  while (received < count) {
    while (sent < count && sent - received < inflight) {
      const auto& p = payloads[static_cast<std::size_t>(sent)];
      sent_at[static_cast<std::size_t>(sent)] = Clock::now();
      redisAppendCommand(pub.c, "PUBLISH bare:srv %b", p.data(), p.size());
      ++sent;
    }
    pub.flush();
    long got = 0;
    for (auto* m = sub.get(); m; m = sub.buffered()) {
      Guard g{m};
      auto now = Clock::now();
      ++got;
      if (m->type != REDIS_REPLY_ARRAY || m->elements != 3) {
        ++mismatched;
        continue;
      }
      long i = payload_index(m->element[2]->str, m->element[2]->len);
      if (i < 0 || i >= count) {
        ++mismatched;
        continue;
      }
      samples.push_back(ms_between(sent_at[static_cast<std::size_t>(i)], now));
      end = now;
    }
    received += got;
    // Redis answered each of these PUBLISHes before their echoes could come back.
    for (long i = 0; i < got; ++i)
      Guard{pub.get()};
  }
  redisAppendCommand(pub.c, "PUBLISH bare:srv stop");
  Guard{pub.get()};
  const double client1 = thread_cpu_seconds(), redis1 = process_cpu_seconds(redis_pid);
  const long client_w1 = thread_wakeups(), redis_w1 = process_wakeups(redis_pid);
  const double echo_cpu = process_cpu_seconds(echo.pid()) - echo0;
  const long echo_wakeups = process_wakeups(echo.pid()) - echo_w0;
  if (echo.wait(10s) != 0) fail("the bare echo did not end cleanly");
  auto s = summarize(count, inflight, seconds_between(start, end), std::move(samples));
  s.mismatched = mismatched;
  const auto per = [count](double seconds) { return seconds * 1e6 / static_cast<double>(count); };
  s.cpu = {per(client1 - client0), per(echo_cpu), per(redis1 - redis0)};
  const auto each = [count](long n) { return static_cast<double>(n) / static_cast<double>(count); };
  s.wakeups = {each(client_w1 - client_w0), each(echo_wakeups), each(redis_w1 - redis_w0)};
  if (mismatched || s.lost) fail("bare round trips lost or garbled messages");
  return s;
}

struct QueueStats3 {
  long count = 0;
  int inflight = 0;
  double enqueue = 0, drain = 0, e2e = 0, e2e_blocking = 0;
  // C++ only: end to end with a hydra::QueueConsumer (leased items) instead of hand-written
  // consumers.
  double e2e_consumer = 0;
  long missing = 0, duplicates = 0, foreign = 0, unmarked = 0;
  long inprogress_left = 0, received_left = 0, incomplete_left = 0;
  // C++ only: CPU per item (µs) of the client thread and of Redis, per phase.
  CpuShare enqueue_cpu, drain_cpu, e2e_cpu;
  bool has_cpu = false;
};

json::object to_json(const QueueStats3& s) {
  json::object o{{"count", s.count},
                 {"inflight", s.inflight},
                 {"enqueue_per_s", r3(s.enqueue)},
                 {"drain_per_s", r3(s.drain)},
                 {"e2e_per_s", r3(s.e2e)},
                 {"missing", s.missing},
                 {"duplicates", s.duplicates},
                 {"foreign", s.foreign},
                 {"inprogress_left", s.inprogress_left},
                 {"received_left", s.received_left},
                 {"incomplete_left", s.incomplete_left}};
  if (s.e2e_blocking > 0) o["e2e_blocking_per_s"] = r3(s.e2e_blocking);
  if (s.e2e_consumer > 0) o["e2e_consumer_per_s"] = r3(s.e2e_consumer);
  if (s.has_cpu) {
    auto cpu = [](const CpuShare& c) {
      return json::object{{"client_us_per_item", r3(c.client_us)},
                          {"redis_us_per_item", r3(c.redis_us)}};
    };
    o["cpu"] = {
        {"enqueue", cpu(s.enqueue_cpu)}, {"drain", cpu(s.drain_cpu)}, {"e2e", cpu(s.e2e_cpu)}};
  }
  return o;
}

// The bare queue client: `producers` LPUSH slots and `consumers` take slots on one connection,
// each with one command unanswered at a time, all pipelined. Whenever replies arrive, the
// follow-up commands go out together: a producer's next LPUSH; after a take that returned an
// item, the LREM of that exact string and the consumer's next RPOPLPUSH (what
// Queue::mark_and_take_next does). Follow-ups are also written after every kEarlyWrite replies,
// so Redis works while the rest are handled (as hydra's connections do). A consumer that finds
// the queue empty stops (`stop_when_empty`) or tries again 1 ms later, until `count` items were
// taken.
struct BareQueueRun {
  const char* key;
  const char* progress;
  const std::vector<std::string>* items;
  long produce_from = 0, produce_count = 0;  // items[produce_from, +produce_count) are pushed
  int producers = 0, consumers = 0;
  long count = 0;  // items to take
  bool stop_when_empty = false;
  std::vector<char>* seen;
  long duplicates = 0, taken = 0;
  Clock::time_point last_push{}, last_mark{};
};

// Measures the CPU the client thread and Redis spend between construction and `done()`.
struct CpuMeter {
  pid_t redis_pid;
  double client0 = thread_cpu_seconds(), redis0 = process_cpu_seconds(redis_pid);
  CpuShare done(long items) const {
    auto n = static_cast<double>(items);
    return {(thread_cpu_seconds() - client0) * 1e6 / n, 0,
            (process_cpu_seconds(redis_pid) - redis0) * 1e6 / n};
  }
};

constexpr int kEarlyWrite = 8;

void run_bare_queue(RedisCtx& r, BareQueueRun& run) {
  enum class Kind : char { push, take, mark };
  std::deque<Kind> expected;  // the replies still to come, in order
  std::vector<Clock::time_point> retry_at;
  long pushed = 0;
  int appended = 0;
  auto append = [&](Kind k) {
    expected.push_back(k);
    if (++appended % kEarlyWrite == 0) r.flush();
  };
  auto push = [&] {
    const auto& p = (*run.items)[static_cast<std::size_t>(run.produce_from + pushed++)];
    redisAppendCommand(r.c, "LPUSH %s %b", run.key, p.data(), p.size());
    append(Kind::push);
  };
  auto take = [&] {
    redisAppendCommand(r.c, "RPOPLPUSH %s %s", run.key, run.progress);
    append(Kind::take);
  };
  for (int k = 0; k < run.producers && pushed < run.produce_count; ++k)
    push();
  for (int k = 0; k < run.consumers; ++k)
    take();
  while (!expected.empty() || !retry_at.empty()) {
    if (expected.empty()) std::this_thread::sleep_until(retry_at.front());
    auto now = Clock::now();
    std::erase_if(retry_at, [&](Clock::time_point t) {
      if (t > now) return false;
      if (run.taken < run.count) take();
      return true;
    });
    if (expected.empty()) continue;
    r.flush();
    for (auto* m = r.get(); m; m = r.buffered()) {
      Guard g{m};
      Kind kind = expected.front();
      expected.pop_front();
      if (kind == Kind::push) {
        run.last_push = Clock::now();
        if (pushed < run.produce_count) push();
        continue;
      }
      if (kind == Kind::mark) {
        run.last_mark = Clock::now();
        continue;
      }
      if (m->type != REDIS_REPLY_STRING) {
        if (!run.stop_when_empty && run.taken < run.count) retry_at.push_back(Clock::now() + 1ms);
        continue;
      }
      long i = payload_index(m->str, m->len);
      auto& seen = *run.seen;
      if (i >= 0 && i < static_cast<long>(seen.size())) {
        if (seen[static_cast<std::size_t>(i)]) ++run.duplicates;
        seen[static_cast<std::size_t>(i)] = 1;
      }
      ++run.taken;
      redisAppendCommand(r.c, "LREM %s -1 %b", run.progress, m->str, m->len);
      append(Kind::mark);
      if (run.stop_when_empty || run.taken < run.count) take();
    }
  }
}

long llen(RedisCtx& r, const char* key) {
  auto* reply = static_cast<redisReply*>(redisCommand(r.c, "LLEN %s", key));
  Guard g{reply};
  if (!reply || reply->type != REDIS_REPLY_INTEGER) fail("LLEN failed");
  return static_cast<long>(reply->integer);
}

QueueStats3 bare_queue(const hydra::test::RedisServer& server, long count, int depth,
                       std::size_t payload_size, pid_t redis_pid) {
  const char* key = "bare:mqrecieved";
  const char* progress = "bare:mqinprogress";
  RedisCtx r(server.host(), server.port());
  std::vector<std::string> items;
  items.reserve(static_cast<std::size_t>(2 * count));
  for (long i = 0; i < 2 * count; ++i)
    items.push_back(indexed_payload(i, payload_size));
  QueueStats3 s;
  s.count = count;
  s.inflight = depth;

  std::vector<char> seen(static_cast<std::size_t>(2 * count));
  auto make_run = [&](long from, long pushes, int producers, int consumers, bool stop_when_empty) {
    return BareQueueRun{key,       progress, &items,          from,  pushes, producers,
                        consumers, count,    stop_when_empty, &seen, 0,      0};
  };
  s.has_cpu = true;
  auto enqueue = make_run(0, count, depth, 0, false);
  CpuMeter enqueue_meter{redis_pid};
  auto start = Clock::now();
  run_bare_queue(r, enqueue);
  s.enqueue = static_cast<double>(count) / seconds_between(start, enqueue.last_push);
  s.enqueue_cpu = enqueue_meter.done(count);
  auto drain = make_run(0, 0, 0, depth, true);
  CpuMeter drain_meter{redis_pid};
  start = Clock::now();
  run_bare_queue(r, drain);
  s.drain = static_cast<double>(drain.taken) / seconds_between(start, drain.last_mark);
  s.drain_cpu = drain_meter.done(count);
  // End to end: producers and consumers at once, on the same connection and thread (as the C++
  // and Node sides do it).
  auto e2e = make_run(count, count, depth, depth, false);
  CpuMeter e2e_meter{redis_pid};
  start = Clock::now();
  run_bare_queue(r, e2e);
  s.e2e = static_cast<double>(e2e.taken) / seconds_between(start, e2e.last_mark);
  s.e2e_cpu = e2e_meter.done(count);
  s.duplicates = drain.duplicates + e2e.duplicates;
  s.missing = 2 * count - static_cast<long>(std::count(seen.begin(), seen.end(), 1));
  s.inprogress_left = llen(r, progress);
  s.received_left = llen(r, key);
  if (s.missing || s.duplicates || s.inprogress_left || s.received_left)
    fail("bare queue run lost, duplicated or left items");
  return s;
}

// ---------------------------------------------------------------------------------------------
// Queues with hydra::Queue
// ---------------------------------------------------------------------------------------------

struct QueueRun {
  hydra::Queue& queue;
  std::string service, to, from, phase;
  long count = 0;
  long next = 0;      // producers' next index
  long consumed = 0;  // items taken and marked
  std::vector<char> seen;
  long duplicates = 0, foreign = 0, unmarked = 0;
  Clock::time_point last{};
};

json::object queue_item(const QueueRun& run, long n) {
  json::object body;
  body["phase"] = run.phase;
  body["n"] = n;
  json::object m;
  m["to"] = run.to;
  m["from"] = run.from;
  m["body"] = std::move(body);
  return m;
}

void note_item(QueueRun& run, const hydra::QueuedMessage& item) {
  const auto* body = item.message.body().if_object();
  const auto* phase = body ? body->if_contains("phase") : nullptr;
  const auto* n = body ? body->if_contains("n") : nullptr;
  if (!phase || !phase->is_string() || phase->get_string() != run.phase || !n || !n->is_int64() ||
      n->get_int64() < 0 || n->get_int64() >= run.count) {
    ++run.foreign;
    return;
  }
  auto& slot = run.seen[static_cast<std::size_t>(n->get_int64())];
  if (slot) ++run.duplicates;
  slot = 1;
}

asio::awaitable<void> producer(QueueRun& run) {
  while (run.next < run.count) {
    long n = run.next++;
    auto r = co_await run.queue.queue_message(queue_item(run, n));
    if (!r.ok()) fail("queue_message: " + r.reason);
  }
}

// Marks `item` complete and takes the next one in the same round trip
// (Queue::mark_and_take_next).
asio::awaitable<std::optional<hydra::QueuedMessage>> finish_and_take(
    QueueRun& run, const hydra::QueuedMessage& item) {
  note_item(run, item);
  std::string reason;
  auto step = co_await run.queue.mark_and_take_next(item, true, std::move(reason));
  if (!step.marked) ++run.unmarked;
  ++run.consumed;
  run.last = Clock::now();
  co_return std::move(step.next);
}

// Takes and marks until the queue is empty: get_queued_message once, then mark_and_take_next
// (one round trip per item).
asio::awaitable<void> drainer(QueueRun& run) {
  auto item = co_await run.queue.get_queued_message(run.service);
  while (item) {
    auto next = co_await finish_and_take(run, *item);
    item = std::move(next);
  }
}

// Takes and marks until `count` items were consumed; polls again after 1 ms when empty (as the
// Node peer does). After an item, the mark and the next take share a round trip.
asio::awaitable<void> polling_consumer(QueueRun& run) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  std::optional<hydra::QueuedMessage> item;
  while (run.consumed < run.count) {
    if (!item) item = co_await run.queue.get_queued_message(run.service);
    if (!item) {
      timer.expires_after(1ms);
      co_await timer.async_wait(asio::use_awaitable);
      continue;
    }
    auto next = co_await finish_and_take(run, *item);
    item = std::move(next);
  }
}

// BRPOPLPUSH on the queue object's own connection (so each consumer has one) when the queue is
// empty; while items keep coming, mark_and_take_next on the shared connection.
asio::awaitable<void> blocking_consumer(QueueRun& run, hydra::Queue& own) {
  std::optional<hydra::QueuedMessage> item;
  while (run.consumed < run.count) {
    if (!item) item = co_await own.wait_queued_message(run.service, kBlockingWait);
    if (!item) continue;
    auto next = co_await finish_and_take(run, *item);
    item = std::move(next);
  }
}

asio::awaitable<void> open_blocking(hydra::Queue& q, std::string service) {
  auto item = co_await q.wait_queued_message(std::move(service), 1ms);
  if (item) fail("queue not empty");
}

// Until the consumer has completed `count` items (checked every millisecond).
asio::awaitable<void> consumer_done(const hydra::QueueConsumer& consumer, long count) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (consumer.stats().completed < static_cast<std::uint64_t>(count)) {
    timer.expires_after(1ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> stop_consumer(hydra::QueueConsumer& consumer) {
  co_await consumer.stop();
}

// End to end with a QueueConsumer of `inflight` workers (each on a blocking connection of its
// own, items leased, mark and next take in one round trip) and `inflight` producers.
double consumer_e2e(asio::io_context& io, hydra::Hydra& h, QueueRun& run, int inflight) {
  hydra::ConsumerOptions options;
  options.concurrency = static_cast<std::size_t>(inflight);
  options.wait = kBlockingWait;
  hydra::QueueConsumer consumer(
      h,
      [&run](const hydra::QueuedMessage& item) -> asio::awaitable<void> {
        note_item(run, item);
        co_return;
      },
      options);
  consumer.start();
  // The workers connect and block on the empty queue before the clock starts.
  io.run_for(200ms);
  if (io.stopped()) io.restart();
  const auto start = Clock::now();
  const auto end = run_workers(io, inflight + 1, [&](int w) {
    return w < inflight ? producer(run) : consumer_done(consumer, run.count);
  });
  hydra::test::run_on(io, [&] { return stop_consumer(consumer); });
  const auto stats = consumer.stats();
  run.consumed = static_cast<long>(stats.completed);
  run.unmarked = static_cast<long>(stats.lost + stats.incomplete + stats.errors);
  return static_cast<double>(run.count) / seconds_between(start, end);
}

asio::awaitable<hydra::QueueStats> queue_stats(hydra::Queue& q, std::string service) {
  co_return co_await q.stats(std::move(service));
}

void check_run(const QueueRun& run, const char* what) {
  long missing = run.count - static_cast<long>(std::count(run.seen.begin(), run.seen.end(), 1));
  if (missing || run.duplicates || run.foreign || run.unmarked)
    fail(std::string("C++ queue ") + what + ": " + std::to_string(missing) + " missing, " +
         std::to_string(run.duplicates) + " duplicates, " + std::to_string(run.foreign) +
         " foreign, " + std::to_string(run.unmarked) + " not in progress when marked");
}

QueueStats3 cpp_queue(asio::io_context& io, hydra::Hydra& h, long count, int inflight,
                      bool blocking_works, pid_t redis_pid) {
  hydra::Queue queue(h);
  const std::string service = h.service_name();
  const std::string from = h.instance_id() + "@" + service + ":/";
  auto make_run = [&](const char* phase) {
    return QueueRun{queue, service, service + ":/",
                    from,  phase,   count,
                    0,     0,       std::vector<char>(static_cast<std::size_t>(count))};
  };
  QueueStats3 s;
  s.count = count;
  s.inflight = inflight;

  // Enqueue, then drain.
  s.has_cpu = true;
  auto drain = make_run("drain");
  CpuMeter enqueue_meter{redis_pid};
  auto start = Clock::now();
  auto end = run_workers(io, inflight, [&](int) { return producer(drain); });
  s.enqueue = static_cast<double>(count) / seconds_between(start, end);
  s.enqueue_cpu = enqueue_meter.done(count);
  CpuMeter drain_meter{redis_pid};
  start = Clock::now();
  run_workers(io, inflight, [&](int) { return drainer(drain); });
  s.drain = static_cast<double>(drain.consumed) / seconds_between(start, drain.last);
  s.drain_cpu = drain_meter.done(count);
  check_run(drain, "drain");

  // End to end, polling consumers.
  auto e2e = make_run("e2e");
  CpuMeter e2e_meter{redis_pid};
  start = Clock::now();
  run_workers(io, 2 * inflight,
              [&](int w) { return w < inflight ? producer(e2e) : polling_consumer(e2e); });
  s.e2e = static_cast<double>(e2e.consumed) / seconds_between(start, e2e.last);
  s.e2e_cpu = e2e_meter.done(count);
  check_run(e2e, "e2e");

  // End to end, blocking consumers (one Queue, hence one blocking connection, each).
  if (blocking_works) {
    auto e2eb = make_run("e2e-blocking");
    std::vector<std::unique_ptr<hydra::Queue>> own;
    for (int i = 0; i < inflight; ++i)
      own.push_back(std::make_unique<hydra::Queue>(h));
    // Opens each blocking connection before the clock starts (the queue is empty here).
    run_workers(io, inflight, [&](int w) { return open_blocking(*own[w], service); });
    start = Clock::now();
    run_workers(io, 2 * inflight, [&](int w) {
      return w < inflight ? producer(e2eb) : blocking_consumer(e2eb, *own[w - inflight]);
    });
    s.e2e_blocking = static_cast<double>(e2eb.consumed) / seconds_between(start, e2eb.last);
    check_run(e2eb, "e2e-blocking");

    auto e2ec = make_run("e2e-consumer");
    s.e2e_consumer = consumer_e2e(io, h, e2ec, inflight);
    check_run(e2ec, "e2e-consumer");
  }

  auto st = hydra::test::run_on(io, [&] { return queue_stats(queue, service); });
  s.inprogress_left = st.in_progress;
  s.received_left = st.received;
  s.incomplete_left = st.incomplete;
  if (st.in_progress || st.received || st.incomplete)
    fail("C++ queue lists not empty after the run");
  return s;
}

QueueStats3 node_queue(const std::string& redis_url, const std::string& service, long count,
                       int inflight) {
  const json::object r =
      hydra::test::peer_result(
          redis_url, {"bench-queue", service, std::to_string(count), std::to_string(inflight)},
          180s)
          .as_object();
  QueueStats3 s;
  s.count = count;
  s.inflight = inflight;
  s.enqueue = num(r, "enqueue_per_s");
  s.drain = num(r, "drain_per_s");
  s.e2e = num(r, "e2e_per_s");
  s.missing = static_cast<long>(num(r, "missing"));
  s.duplicates = static_cast<long>(num(r, "duplicates"));
  s.foreign = static_cast<long>(num(r, "foreign"));
  s.inprogress_left = static_cast<long>(num(r, "inprogress_left"));
  s.received_left = static_cast<long>(num(r, "received_left"));
  s.incomplete_left = static_cast<long>(num(r, "incomplete_left"));
  if (s.missing || s.duplicates || s.foreign || s.inprogress_left || s.received_left ||
      s.incomplete_left)
    fail("Node queue run lost, duplicated or left items: " + hydra::json::stringify(r));
  return s;
}

// Whether wait_queued_message delivers an item at all here (it is optional for the e2e run).
asio::awaitable<bool> probe_blocking(hydra::Hydra& h) {
  hydra::Queue q(h);
  QueueRun run{q, h.service_name(),    h.service_name() + ":/", "x", "probe", 1, 0,
               0, std::vector<char>(1)};
  auto r = co_await q.queue_message(queue_item(run, 0));
  if (!r.ok()) co_return false;
  auto item = co_await q.wait_queued_message(run.service, 1000ms);
  if (!item) co_return false;
  std::string reason;
  bool marked = co_await q.mark_queue_message(*item, true, std::move(reason));
  co_return marked;
}

// ---------------------------------------------------------------------------------------------
// Set-up helpers
// ---------------------------------------------------------------------------------------------

asio::awaitable<void> start_service(hydra::Hydra& h, json::value doc) {
  co_await h.init(std::move(doc));
  co_await h.register_service();
}

asio::awaitable<void> stop_service(hydra::Hydra& h) {
  co_await h.shutdown();
}

// Reads (and drops) a child's output in the background, so a chatty child never blocks on a full
// pipe while the benchmark is busy elsewhere.
struct OutputDrain {
  hydra::test::Process& process;
  std::atomic<bool> stop{false};
  std::thread thread{[this] {
    while (!stop)
      process.read_line(100ms);
  }};
  explicit OutputDrain(hydra::test::Process& p) : process(p) {}
  ~OutputDrain() {
    stop = true;
    thread.join();
  }
};

std::size_t sample_request_size(const std::string& iid, const std::string& client) {
  auto m = echo_request("cpp-echo:/", 12345);
  m.set(hydra::umf::Field::from, json::string(iid + "@" + client + ":/"));
  return m.to_short_json().size();
}

std::size_t sample_queue_item_size(const std::string& iid) {
  json::object body;
  body["phase"] = "drain";
  body["n"] = 12345;
  json::object m;
  m["to"] = "cpp-queue:/";
  m["from"] = iid + "@cpp-queue:/";
  m["body"] = std::move(body);
  return hydra::umf::Message::create(m).to_short_json().size();
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

void rt_row(const std::string& label, const RoundTripStats& s) {
  std::printf("  %-30s %5d %7ld %11s %9s %9s %9s\n", label.c_str(), s.inflight, s.count,
              fmt(s.per_second, 0).c_str(), fmt(s.p50_ms).c_str(), fmt(s.p99_ms).c_str(),
              fmt(s.max_ms).c_str());
}

void cpu_row(const std::string& label, const RoundTripStats& s) {
  auto wake = [](double w) { return w >= 0 ? fmt(w, 3) : std::string("-"); };
  std::printf("  %-30s %5d  client %6s  server %6s  redis %6s   wakeups %6s %6s %6s\n",
              label.c_str(), s.inflight,
              s.cpu.client_us > 0 ? fmt(s.cpu.client_us, 1).c_str() : "-",
              fmt(s.cpu.server_us, 1).c_str(), fmt(s.cpu.redis_us, 1).c_str(),
              wake(s.wakeups.client).c_str(), wake(s.wakeups.server).c_str(),
              wake(s.wakeups.redis).c_str());
}

void q_row(const std::string& label, const QueueStats3& s) {
  std::printf("  %-22s %5d %7ld %10s %10s %10s %12s\n", label.c_str(), s.inflight, s.count,
              fmt(s.enqueue, 0).c_str(), fmt(s.drain, 0).c_str(), fmt(s.e2e, 0).c_str(),
              s.e2e_blocking > 0 ? fmt(s.e2e_blocking, 0).c_str() : "-");
}

void q_ratio_row(const std::string& label, const QueueStats3& a, const QueueStats3& b,
                 bool percent) {
  auto cell = [&](double x, double y) {
    if (y <= 0 || x <= 0) return std::string("-");
    return percent ? fmt(x / y * 100.0, 0) + "%" : fmt(x / y, 1) + "x";
  };
  std::printf("  %-22s %5d %7s %10s %10s %10s %12s\n", label.c_str(), a.inflight, "",
              cell(a.enqueue, b.enqueue).c_str(), cell(a.drain, b.drain).c_str(),
              cell(a.e2e, b.e2e).c_str(), cell(a.e2e_blocking, b.e2e).c_str());
}

}  // namespace

struct Options {
  bool node = true;
  bool messaging = true;
  bool queues = true;
  long many_messages = kCppManyMessages;  // round trips in the C++ and bare 100-in-flight rows
  long many_items = kCppQueueItems;       // items in the C++ and bare 16-in-flight queue rows
  // Extra C++ / bare pairs at 100 in flight after the rows above, taken in turn so that both
  // sides of a pair see the same machine: their median ratio is the figure a noisy VM allows.
  // Two by default, so that "within 25 % of bare" is never judged on a single pair.
  int pairs = 2;
};

// The median of `v` (0 when empty).
double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// Ratios as "median% (min-max%)"; `v` is not empty.
std::string median_with_range(const std::vector<double>& v) {
  return fmt(median_of(v) * 100.0, 0) + "% (" +
         fmt(*std::min_element(v.begin(), v.end()) * 100.0, 0) + "-" +
         fmt(*std::max_element(v.begin(), v.end()) * 100.0, 0) + "%)";
}

// "x % of y", rounded.
std::string percent_of(double x, double y) {
  return y > 0 ? fmt(100.0 * x / y, 0) + "%" : std::string("-");
}

// C++ / bare ratios of the queue pairs at 16 in flight, one list per operation.
struct QueuePairs {
  std::vector<double> enqueue, drain, e2e;
  void add(const QueueStats3& cpp, const QueueStats3& bare) {
    enqueue.push_back(bare.enqueue > 0 ? cpp.enqueue / bare.enqueue : 0.0);
    drain.push_back(bare.drain > 0 ? cpp.drain / bare.drain : 0.0);
    e2e.push_back(bare.e2e > 0 ? cpp.e2e / bare.e2e : 0.0);
  }
  bool empty() const { return enqueue.empty(); }
  // Each operation's median is at least `f`.
  bool all_at_least(double f) const {
    return median_of(enqueue) >= f && median_of(drain) >= f && median_of(e2e) >= f;
  }
  json::object to_json() const {
    auto list = [](const std::vector<double>& v) {
      json::array a;
      for (double x : v)
        a.push_back(r3(x));
      return a;
    };
    return {{"enqueue", list(enqueue)},
            {"drain", list(drain)},
            {"e2e", list(e2e)},
            {"median",
             {{"enqueue", r3(median_of(enqueue))},
              {"drain", r3(median_of(drain))},
              {"e2e", r3(median_of(e2e))}}}};
  }
};

int run(const Options& opt) {
  if (opt.node && !hydra::test::node_available())
    fail("node or tests/interop/node/node_modules missing; run scripts/setup.sh");

  hydra::test::RedisServer server;
  std::string redis_version = info_field(server, "redis_version");
  pid_t redis_pid = static_cast<pid_t>(std::stol(info_field(server, "process_id")));
  unsigned cores = std::thread::hardware_concurrency();
  std::string cpu = cpu_model();
  const std::string build = hydra::bench::build_kind();
  std::printf(
      "hydra-cpp messaging and queue benchmark\n  machine: %u cores, %s; redis-server %s; "
      "build: %s\n",
      cores, cpu.c_str(), redis_version.c_str(), build.c_str());
  std::fflush(stdout);

  RoundTripStats cpp1, cpp_many, node1, node_many, node_cpp1, node_cpp_many, cpp_node_many, bare1,
      bare_many;
  std::size_t msg_size = 0;
  std::vector<double> pair_ratios;  // C++ / bare per pair (--pairs)
  QueuePairs queue_pairs;           // the same for the queue at 16 in flight
  if (opt.messaging) {
    // The two echo services: C++ in a process of its own, Node's `peer.js serve`.
    auto self = std::filesystem::read_symlink("/proc/self/exe").string();
    hydra::test::Process cpp_echo({self, "--echo", server.url(), "cpp-echo"}, {}, false);
    auto ready = cpp_echo.wait_for_line("ECHO-READY ", 20s);
    if (!ready) fail("the C++ echo service did not start");
    std::optional<hydra::test::NodeService> node_echo;
    std::optional<OutputDrain> node_echo_drain;
    if (opt.node) {
      node_echo.emplace(server.url(), "node-echo");
      // peer.js prints a MESSAGE line for every message it receives.
      node_echo_drain.emplace(node_echo->process());
    }

    // The C++ client: one Hydra on this thread.
    asio::io_context io(1);
    hydra::Hydra client(io.get_executor());
    hydra::test::run_on(io, [&] {
      return start_service(client, hydra::test::service_document(server, "cpp-bench-client"));
    });
    if (!hydra::test::run_on(io, [&] { return warm_up(client, "cpp-echo:/"); }))
      fail("no echo from cpp-echo");
    {
      RoundTripRun warm;
      warm.to = "cpp-echo:/";
      warm.count = kCppWarmup;
      run_workers(io, 10, [&](int) { return round_trip_worker(client, warm); });
    }
    msg_size = sample_request_size(client.instance_id(), client.service_name());

    // 1. Round trips.
    cpp1 = cpp_round_trips(io, client, "cpp-echo:/", kCppMessages, 1, cpp_echo.pid(), redis_pid);
    cpp_many = cpp_round_trips(io, client, "cpp-echo:/", opt.many_messages, kManyMessages,
                               cpp_echo.pid(), redis_pid);
    if (opt.node) {
      pid_t node_pid = node_echo->process().pid();
      node1 = node_round_trips(server.url(), "node-echo", kNodeMessages, 1, node_pid, redis_pid);
      node_many = node_round_trips(server.url(), "node-echo", kNodeMessages, kManyMessages,
                                   node_pid, redis_pid);
      // Cross-checks: Node client with the C++ echo, C++ client with the Node echo.
      node_cpp1 =
          node_round_trips(server.url(), "cpp-echo", kNodeMessages, 1, cpp_echo.pid(), redis_pid);
      node_cpp_many = node_round_trips(server.url(), "cpp-echo", kNodeMessages, kManyMessages,
                                       cpp_echo.pid(), redis_pid);
      if (!hydra::test::run_on(io, [&] { return warm_up(client, "node-echo:/"); }))
        fail("no echo from node-echo");
      cpp_node_many = cpp_round_trips(io, client, "node-echo:/", kNodeMessages, kManyMessages,
                                      node_pid, redis_pid);
    }
    bare1 = bare_round_trips(server, kBareMessages, 1, msg_size, redis_pid);
    bare_many = bare_round_trips(server, opt.many_messages, kManyMessages, msg_size, redis_pid);
    // The rows' own pair counts as the first.
    if (opt.pairs > 0) pair_ratios.push_back(cpp_many.per_second / bare_many.per_second);
    for (int i = 0; i < opt.pairs; ++i) {
      auto c = cpp_round_trips(io, client, "cpp-echo:/", opt.many_messages, kManyMessages,
                               cpp_echo.pid(), redis_pid);
      auto b = bare_round_trips(server, opt.many_messages, kManyMessages, msg_size, redis_pid);
      pair_ratios.push_back(c.per_second / b.per_second);
      std::printf("  pair %d at %d in flight: C++ %.0f, bare %.0f round trips/s = %.0f%%\n", i + 2,
                  kManyMessages, c.per_second, b.per_second, 100.0 * pair_ratios.back());
      std::fflush(stdout);
    }

    hydra::test::run_on(io, [&] { return stop_service(client); });
    cpp_echo.signal(SIGTERM);
    cpp_echo.wait(10s);
  }

  // 2. Queues.
  QueueStats3 cq1, cq_many, nq1, nq_many, bq1, bq_many;
  std::size_t item_size = 0;
  bool blocking_works = false;
  if (opt.queues) {
    asio::io_context qio(1);
    hydra::Hydra qhydra(qio.get_executor());
    hydra::test::run_on(qio, [&] {
      return start_service(qhydra, hydra::test::service_document(server, "cpp-queue"));
    });
    try {
      blocking_works = hydra::test::run_on(qio, [&] { return probe_blocking(qhydra); });
    } catch (const std::exception& e) {
      std::cerr << "wait_queued_message probe failed: " << e.what() << std::endl;
    }
    item_size = sample_queue_item_size(qhydra.instance_id());
    cq1 = cpp_queue(qio, qhydra, kCppQueueItems, 1, blocking_works, redis_pid);
    cq_many = cpp_queue(qio, qhydra, opt.many_items, kManyQueue, blocking_works, redis_pid);
    if (opt.node) {
      nq1 = node_queue(server.url(), "node-queue", kNodeQueueItems, 1);
      nq_many = node_queue(server.url(), "node-queue", kNodeQueueItems, kManyQueue);
    }
    bq1 = bare_queue(server, kBareQueueItems, 1, item_size, redis_pid);
    bq_many = bare_queue(server, opt.many_items, kManyQueue, item_size, redis_pid);
    if (opt.pairs > 0) queue_pairs.add(cq_many, bq_many);
    for (int i = 0; i < opt.pairs; ++i) {
      // The C++ half without the blocking variants, which are not judged against bare.
      auto c = cpp_queue(qio, qhydra, opt.many_items, kManyQueue, false, redis_pid);
      auto b = bare_queue(server, opt.many_items, kManyQueue, item_size, redis_pid);
      queue_pairs.add(c, b);
      std::printf("  queue pair %d at %d in flight: C++ / bare enqueue %s, drain %s, e2e %s\n",
                  i + 2, kManyQueue, percent_of(c.enqueue, b.enqueue).c_str(),
                  percent_of(c.drain, b.drain).c_str(), percent_of(c.e2e, b.e2e).c_str());
      std::fflush(stdout);
    }
    hydra::test::run_on(qio, [&] { return stop_service(qhydra); });
  }

  // Report.
  std::printf("\nMessage round trips (request -> echo service -> reply), %zu-byte requests\n",
              msg_size);
  std::printf("  %-30s %5s %7s %11s %9s %9s %9s\n", "", "infl", "count", "msgs/s", "p50 ms",
              "p99 ms", "max ms");
  rt_row("C++  -> C++ echo", cpp1);
  rt_row("Node -> Node echo", node1);
  rt_row("Node -> C++ echo", node_cpp1);
  rt_row("bare hiredis pub/sub", bare1);
  rt_row("C++  -> C++ echo", cpp_many);
  rt_row("Node -> Node echo", node_many);
  rt_row("Node -> C++ echo", node_cpp_many);
  rt_row("C++  -> Node echo", cpp_node_many);
  rt_row("bare hiredis pub/sub", bare_many);
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  for (auto [c, n, b] :
       {std::tuple{&cpp1, &node1, &bare1}, std::tuple{&cpp_many, &node_many, &bare_many}}) {
    std::printf(
        "  %d in flight: C++/Node %sx msgs/s, Node/C++ p50 %sx, p99 %sx; C++ = %s%% of bare\n",
        c->inflight, fmt(ratio(c->per_second, n->per_second), 1).c_str(),
        fmt(ratio(n->p50_ms, c->p50_ms), 1).c_str(), fmt(ratio(n->p99_ms, c->p99_ms), 1).c_str(),
        fmt(ratio(c->per_second, b->per_second) * 100.0, 0).c_str());
  }
  if (!pair_ratios.empty()) {
    std::printf("  %zu pairs at %d in flight: C++ = %s of bare (median; range)\n",
                pair_ratios.size(), kManyMessages, median_with_range(pair_ratios).c_str());
  }
  std::printf(
      "\nCPU per round trip (us; client = client thread, server = echo process)\nand wakeups "
      "per round trip of client, server and redis-server (times each blocked)\n");
  cpu_row("C++  -> C++ echo", cpp1);
  cpu_row("C++  -> C++ echo", cpp_many);
  cpu_row("Node -> Node echo", node1);
  cpu_row("Node -> Node echo", node_many);
  cpu_row("bare hiredis pub/sub", bare1);
  cpu_row("bare hiredis pub/sub", bare_many);

  std::printf("\nQueues (items/s; e2e = producers and consumers at once, %zu-byte items)\n",
              item_size);
  std::printf("  %-22s %5s %7s %10s %10s %10s %12s\n", "", "infl", "count", "enqueue", "drain",
              "e2e poll", "e2e blocking");
  q_row("C++ hydra::Queue", cq1);
  q_row("Node hydra", nq1);
  q_row("bare hiredis", bq1);
  q_ratio_row("C++ / Node", cq1, nq1, false);
  q_ratio_row("C++ % of bare", cq1, bq1, true);
  q_row("C++ hydra::Queue", cq_many);
  q_row("Node hydra", nq_many);
  q_row("bare hiredis", bq_many);
  q_ratio_row("C++ / Node", cq_many, nq_many, false);
  q_ratio_row("C++ % of bare", cq_many, bq_many, true);
  if (!queue_pairs.empty()) {
    std::printf(
        "  %zu pairs at %d in flight, C++ %% of bare (median; range): enqueue %s, drain %s, "
        "e2e %s\n",
        queue_pairs.enqueue.size(), kManyQueue, median_with_range(queue_pairs.enqueue).c_str(),
        median_with_range(queue_pairs.drain).c_str(), median_with_range(queue_pairs.e2e).c_str());
  }
  std::printf("  (e2e blocking ratios are against the polling e2e of Node / bare)\n");
  if (cq1.e2e_consumer > 0 && cq_many.e2e_consumer > 0) {
    std::printf(
        "  C++ hydra::QueueConsumer e2e (leased items, one worker per in flight): %s items/s "
        "at %d, %s at %d\n",
        fmt(cq1.e2e_consumer, 0).c_str(), cq1.inflight, fmt(cq_many.e2e_consumer, 0).c_str(),
        cq_many.inflight);
  }
  std::printf("\nCPU per queue item (us; client thread / redis-server)\n");
  for (const auto* q : {&cq1, &cq_many, &bq1, &bq_many}) {
    std::printf("  %-5s %2d in flight: enqueue %s / %s, drain %s / %s, e2e %s / %s\n",
                q == &bq1 || q == &bq_many ? "bare" : "C++", q->inflight,
                fmt(q->enqueue_cpu.client_us, 1).c_str(), fmt(q->enqueue_cpu.redis_us, 1).c_str(),
                fmt(q->drain_cpu.client_us, 1).c_str(), fmt(q->drain_cpu.redis_us, 1).c_str(),
                fmt(q->e2e_cpu.client_us, 1).c_str(), fmt(q->e2e_cpu.redis_us, 1).c_str());
  }
  std::printf("  lists after the runs: C++ mqinprogress %ld/%ld, Node %ld/%ld (1/%d in flight)\n",
              cq1.inprogress_left, cq_many.inprogress_left, nq1.inprogress_left,
              nq_many.inprogress_left, kManyQueue);

  // Aims.
  bool msg_3x = cpp_many.per_second >= 3.0 * node_many.per_second;
  bool msg_latency = cpp1.p50_ms < node1.p50_ms && cpp1.p99_ms < node1.p99_ms;
  // With --pairs, many in flight is judged by the median of the pairs.
  const double many_over_bare =
      pair_ratios.empty()
          ? (bare_many.per_second > 0 ? cpp_many.per_second / bare_many.per_second : 0.0)
          : median_of(pair_ratios);
  bool msg_bare = cpp1.per_second >= 0.75 * bare1.per_second && many_over_bare >= 0.75;
  auto all3 = [](const QueueStats3& a, const QueueStats3& b, double f) {
    return a.enqueue >= f * b.enqueue && a.drain >= f * b.drain && a.e2e >= f * b.e2e;
  };
  bool q_3x = all3(cq_many, nq_many, 3.0);
  bool q_latency = all3(cq1, nq1, 1.0);
  // With --pairs, 16 in flight is judged by each operation's median over the pairs.
  bool q_bare = all3(cq1, bq1, 0.75) && (queue_pairs.empty() ? all3(cq_many, bq_many, 0.75)
                                                             : queue_pairs.all_at_least(0.75));
  // An aim whose rows were skipped (--no-node, --only) is not judged.
  auto met = [](bool b, bool measured = true) {
    return !measured ? "not measured" : b ? "met" : "NOT met";
  };
  const bool msg_node = opt.messaging && opt.node, q_node = opt.queues && opt.node;
  // In the JSON an aim that was not judged is null, not false.
  auto judged = [](bool b, bool measured) { return measured ? json::value(b) : json::value(); };
  std::printf("\nAims\n");
  std::printf("  messaging >= 3x Node with %d in flight:      %s\n", kManyMessages,
              met(msg_3x, msg_node));
  std::printf("  messaging latency below Node, 1 in flight:   %s\n", met(msg_latency, msg_node));
  std::printf("  messaging within 25%% of bare (1 and %d):     %s\n", kManyMessages,
              met(msg_bare, opt.messaging));
  std::printf("  queues >= 3x Node with %d in flight:          %s\n", kManyQueue,
              met(q_3x, q_node));
  std::printf("  queues faster than Node, 1 in flight:        %s\n", met(q_latency, q_node));
  std::printf("  queues within 25%% of bare (1 and %d):        %s\n", kManyQueue,
              met(q_bare, opt.queues));

  json::object result{
      {"machine", {{"cores", cores}, {"cpu", cpu}, {"redis_version", redis_version}}},
      {"build", build},
      {"messaging",
       {{"request_bytes", msg_size},
        {"cpp_1", to_json(cpp1)},
        {"cpp_many", to_json(cpp_many)},
        {"node_1", to_json(node1)},
        {"node_many", to_json(node_many)},
        {"node_to_cpp_echo_1", to_json(node_cpp1)},
        {"node_to_cpp_echo_many", to_json(node_cpp_many)},
        {"cpp_to_node_echo_many", to_json(cpp_node_many)},
        {"bare_1", to_json(bare1)},
        {"bare_many", to_json(bare_many)},
        {"pairs_many",
         {{"cpp_over_bare", json::array(pair_ratios.begin(), pair_ratios.end())},
          {"median", median_of(pair_ratios)}}}}},
      {"queues",
       {{"item_bytes", item_size},
        {"blocking_variant", blocking_works},
        {"cpp_1", to_json(cq1)},
        {"cpp_many", to_json(cq_many)},
        {"node_1", to_json(nq1)},
        {"node_many", to_json(nq_many)},
        {"bare_1", to_json(bq1)},
        {"bare_many", to_json(bq_many)},
        {"pairs_many", queue_pairs.to_json()}}},
      {"aims",
       {{"messaging_3x_node_many", judged(msg_3x, msg_node)},
        {"messaging_latency_below_node_1", judged(msg_latency, msg_node)},
        {"messaging_within_25pct_of_bare", judged(msg_bare, opt.messaging)},
        {"queues_3x_node_many", judged(q_3x, q_node)},
        {"queues_faster_than_node_1", judged(q_latency, q_node)},
        {"queues_within_25pct_of_bare", judged(q_bare, opt.queues)}}}};
  std::printf("BENCH_JSON %s\n", hydra::json::stringify(result).c_str());
  std::fflush(stdout);
  return 0;
}

int main(int argc, char** argv) {
  try {
    if (argc == 4 && std::string(argv[1]) == "--echo") return run_echo(argv[2], argv[3]);
    if (argc == 4 && std::string(argv[1]) == "--bare-echo")
      return run_bare_echo(argv[2], std::atoi(argv[3]));
    Options opt;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--no-node") {
        opt.node = false;
      } else if (a == "--only" && i + 1 < argc && std::string(argv[i + 1]) == "messaging") {
        opt.queues = false;
        ++i;
      } else if (a == "--only" && i + 1 < argc && std::string(argv[i + 1]) == "queues") {
        opt.messaging = false;
        ++i;
      } else if (a == "--many" && i + 1 < argc && std::atol(argv[i + 1]) > 0) {
        opt.many_messages = std::atol(argv[++i]);
      } else if (a == "--many-items" && i + 1 < argc && std::atol(argv[i + 1]) > 0) {
        opt.many_items = std::atol(argv[++i]);
      } else if (a == "--pairs" && i + 1 < argc && std::atoi(argv[i + 1]) >= 0 &&
                 std::isdigit(static_cast<unsigned char>(argv[i + 1][0]))) {
        opt.pairs = std::atoi(argv[++i]);
      } else {
        std::cerr << "usage: messaging_bench [--no-node] [--only messaging|queues] [--many N]\n"
                     "                       [--many-items N] [--pairs N]\n"
                     "       messaging_bench --echo <redis-url> <service>\n";
        return 2;
      }
    }
    return run(opt);
  } catch (const std::exception& e) {
    std::cerr << "messaging_bench: FAILED: " << e.what() << std::endl;
    return 1;
  }
}
