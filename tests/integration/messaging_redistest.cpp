// Messaging against a real redis-server: send, broadcast, reply, request/reply with deadlines,
// size limit and malformed input on the channels.
#include <gtest/gtest.h>

#include <map>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "support/async.hpp"
#include "support/hydra_fixture.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
using hydra::redis::cmd;
using hydra::test::RedisServer;
using hydra::test::run_on;
using namespace std::chrono_literals;

namespace {

// Several registered services on one io_context, so replies flow while a test awaits.
struct Mesh {
  asio::io_context io;
  std::vector<std::unique_ptr<hydra::Hydra>> nodes;
  // `hydra_keys` are merged into the document's hydra branch.
  hydra::Hydra& add(const RedisServer& server, const std::string& name,
                    hydra::RegistryOptions opts = {}, const boost::json::object& hydra_keys = {}) {
    nodes.push_back(std::make_unique<hydra::Hydra>(io.get_executor(), opts));
    auto& h = *nodes.back();
    auto doc = hydra::test::service_document(server, name);
    for (const auto& kv : hydra_keys)
      doc.as_object()["hydra"].as_object()[kv.key()] = kv.value();
    run_on(io, [&]() -> asio::awaitable<void> {
      co_await h.init(std::move(doc));
      co_await h.register_service();
    });
    return h;
  }
  ~Mesh() {
    for (auto& n : nodes) {
      try {
        run_on(io, [&]() -> asio::awaitable<void> { co_await n->shutdown(); });
      } catch (...) {
      }
    }
  }
};

boost::json::object obj(std::string_view text) {
  return boost::json::parse(text).as_object();
}

asio::awaitable<void> reply_echoed(hydra::Hydra& h, hydra::umf::Message m) {
  boost::json::object response;
  response["body"] = boost::json::object{{"echoed", m.body()}};
  auto r = co_await h.send_reply_message(m, std::move(response));
  EXPECT_TRUE(r.ok()) << r.reason;
}

// An echo service: replies to every message with {echoed: body}. The handler takes the message
// by value and moves it into the coroutine that answers it.
void make_echo(hydra::Hydra& h, asio::io_context& io) {
  h.on_message([&h, &io](hydra::umf::Message m) {
    asio::co_spawn(io, reply_echoed(h, std::move(m)), asio::detached);
  });
}

TEST(Messaging, SendGoesToOneInstanceAndBroadcastToAll) {
  RedisServer server;
  Mesh mesh;
  auto& a1 = mesh.add(server, "worker");
  auto& a2 = mesh.add(server, "worker");
  auto& client = mesh.add(server, "client");
  std::vector<std::string> got1, got2;
  a1.on_message([&](const hydra::umf::Message& m) { got1.push_back(m.to_short_json()); });
  a2.on_message([&](const hydra::umf::Message& m) { got2.push_back(m.to_short_json()); });
  run_on(mesh.io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 20; ++i) {
      auto r = co_await client.send_message(
          obj(R"({"to":"worker:/","from":"client:/","body":{"n":1}})"));
      EXPECT_TRUE(r.ok()) << r.reason;
      EXPECT_FALSE(r.mid.empty());
    }
    auto b = co_await client.send_broadcast_message(
        obj(R"({"to":"worker:/","from":"client:/","body":{"all":true}})"));
    EXPECT_TRUE(b.ok());
    co_await hydra::test::sleep_for(100ms);
  });
  // 20 direct messages split between the two instances, each got the broadcast.
  EXPECT_EQ(got1.size() + got2.size(), 22u);
  EXPECT_GE(got1.size(), 1u);
  EXPECT_GE(got2.size(), 1u);
  EXPECT_NE(got1.back().find(R"("bdy":{"all":true})"), std::string::npos);
  EXPECT_NE(got2.back().find(R"("bdy":{"all":true})"), std::string::npos);
}

TEST(Messaging, NamedInstanceAndErrorResults) {
  RedisServer server;
  Mesh mesh;
  auto& w = mesh.add(server, "named");
  auto& client = mesh.add(server, "client");
  int received = 0;
  w.on_message([&](const hydra::umf::Message&) { ++received; });
  run_on(mesh.io, [&]() -> asio::awaitable<void> {
    boost::json::object m;
    m["to"] = w.instance_id() + "@named:/";
    m["from"] = "client:/";
    m["body"] = boost::json::object{{"x", 1}};
    EXPECT_TRUE((co_await client.send_message(m)).ok());
    m["to"] = "ffffffffffffffffffffffffffffffff@named:/";
    auto absent = co_await client.send_message(m);
    EXPECT_EQ(absent.status_code, 503);
    EXPECT_EQ(absent.reason, "Unavailable named instance named ffffffffffffffffffffffffffffffff");
    auto none =
        co_await client.send_message(obj(R"({"to":"ghost:/","from":"c:/","body":{"a":1}})"));
    EXPECT_EQ(none.status_code, 503);
    EXPECT_EQ(none.reason, "Unavailable ghost instances");
    auto json = hydra::json::stringify(none.to_json());
    EXPECT_EQ(
        json,
        R"({"statusCode":503,"statusMessage":"Service Unavailable","statusDescription":"The server is currently unable to handle the request due to a temporary overloading or maintenance of the server","result":{"reason":"Unavailable ghost instances"}})");
    auto invalid = co_await client.send_message(obj(R"({"to":"named:/","from":"c:/"})"));
    EXPECT_EQ(invalid.status_code, 400);
    EXPECT_EQ(invalid.reason, R"(UMF message requires "to", "from" and "body" fields)");
    auto bad_route =
        co_await client.send_message(obj(R"({"to":"noroute","from":"c:/","body":{"a":1}})"));
    EXPECT_EQ(bad_route.status_code, 400);
    auto router = co_await client.send_broadcast_message(
        obj(R"({"to":"hydra-router:/refresh","from":"c:/","body":{"a":1}})"));
    EXPECT_TRUE(router.ok());  // silently fine when no router is present, as in Node
    co_await hydra::test::sleep_for(50ms);
  });
  EXPECT_EQ(received, 1);
}

// The client's presence cache still lists an instance that has shut down: a send whose random
// pick is that instance reaches nobody, so the instance is forgotten and the other one gets it.
// Every send succeeds and nothing is lost.
TEST(Messaging, AnInstanceGoneWithinTheCacheWindowIsSkipped) {
  RedisServer server;
  Mesh mesh;
  auto& gone = mesh.add(server, "worker");
  auto& stays = mesh.add(server, "worker");
  hydra::RegistryOptions opts;
  opts.presence_cache_ttl = 60s;
  auto& client = mesh.add(server, "client", opts);
  int received = 0;
  stays.on_message([&](const hydra::umf::Message&) { ++received; });
  run_on(mesh.io, [&]() -> asio::awaitable<void> {
    auto present = co_await client.get_service_presence("worker");
    EXPECT_EQ(present.size(), 2u);  // now cached, for a minute
    co_await gone.shutdown();
    for (int i = 0; i < 20; ++i) {
      auto r = co_await client.send_message(
          obj(R"({"to":"worker:/","from":"client:/","body":{"n":1}})"));
      EXPECT_TRUE(r.ok()) << r.reason;
      // Sent to the gone instance first or not, the result carries the message's ID.
      EXPECT_EQ(r.mid.size(), 36u);
    }
    co_await hydra::test::sleep_for(100ms);
  });
  EXPECT_EQ(received, 20);
}

// An error reply to PUBLISH (here: the ACL forbids it) is a 500 with Redis's reason, on the
// cached path for a named instance as for a random one; it is not counted as sent.
TEST(Messaging, APublishRefusedByRedisIsA500) {
  RedisServer server;
  Mesh mesh;
  auto& w = mesh.add(server, "acl");
  auto& client = mesh.add(server, "client");
  run_on(mesh.io, [&]() -> asio::awaitable<void> {
    EXPECT_EQ((co_await client.get_service_presence("acl")).size(), 1u);  // cached
    server.cli({"ACL", "SETUSER", "default", "-publish"});
    boost::json::object m = obj(R"({"to":"acl:/","from":"c:/","body":{"a":1}})");
    auto random = co_await client.send_message(m);
    EXPECT_EQ(random.status_code, 500);
    EXPECT_NE(random.reason.find("NOPERM"), std::string::npos) << random.reason;
    m["to"] = w.instance_id() + "@acl:/";
    auto named = co_await client.send_message(m);
    EXPECT_EQ(named.status_code, 500);
    EXPECT_NE(named.reason.find("NOPERM"), std::string::npos) << named.reason;
    server.cli({"ACL", "SETUSER", "default", "+publish"});
    EXPECT_TRUE((co_await client.send_message(m)).ok());
  });
}

// async_send_message / async_send_reply_message with plain callbacks: the echo answers without
// a coroutine, the sends complete on the cache miss and on the cached path, and a refused
// message completes later, never inside the call.
TEST(Messaging, SendsCompleteThroughACallback) {
  RedisServer server;
  Mesh mesh;
  auto& echo = mesh.add(server, "cb-echo");
  auto& client = mesh.add(server, "client");
  std::vector<hydra::Result> replies;
  echo.on_message([&](const hydra::umf::Message& m) {
    boost::json::object response;
    response["body"] = boost::json::object{{"echoed", m.body()}};
    echo.async_send_reply_message(m, std::move(response),
                                  [&](hydra::Result r) { replies.push_back(std::move(r)); });
  });
  std::vector<hydra::Result> sent;
  auto message =
      hydra::umf::Message::create(obj(R"({"to":"cb-echo:/","from":"client:/","body":{"n":1}})"));
  client.async_send_message(message, [&](hydra::Result r) { sent.push_back(std::move(r)); });
  client.async_send_message(message, [&](hydra::Result r) { sent.push_back(std::move(r)); });
  bool refused_ran = false;
  int refused_status = 0;
  client.async_send_message(hydra::umf::Message::create(obj(R"({"to":"cb-echo:/"})")),
                            [&](hydra::Result r) {
                              refused_ran = true;
                              refused_status = r.status_code;
                            });
  EXPECT_FALSE(refused_ran);  // posted, not run inside the call
  hydra::test::run_until(
      mesh.io, [&] { return sent.size() >= 2 && replies.size() >= 2 && refused_ran; }, 3s);
  ASSERT_EQ(sent.size(), 2u);
  for (const auto& r : sent) {
    EXPECT_TRUE(r.ok()) << r.reason;
    EXPECT_EQ(r.mid, message.mid());
  }
  EXPECT_TRUE(refused_ran);
  EXPECT_EQ(refused_status, 400);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_TRUE(replies[0].ok()) << replies[0].reason;

  // A request answered by the callback echo.
  auto reply = run_on(mesh.io, [&]() -> asio::awaitable<hydra::umf::Message> {
    co_return co_await client.request(
        hydra::umf::Message::create(obj(R"({"to":"cb-echo:/","body":{"n":7}})")), 2s);
  });
  EXPECT_EQ(hydra::json::stringify(reply.body()), R"({"echoed":{"n":7}})");
}

// async_request with plain callbacks: no coroutine on either side.
TEST(Messaging, RequestsCompleteThroughACallback) {
  RedisServer server;
  Mesh mesh;
  auto& echo = mesh.add(server, "cb-echo");
  auto& client = mesh.add(server, "client");
  echo.on_message([&](const hydra::umf::Message& m) {
    if (m.body().as_object().contains("silent")) return;
    boost::json::object response;
    response["body"] = boost::json::object{{"echoed", m.body()}};
    echo.async_send_reply_message(m, std::move(response), [](hydra::Result) {});
  });
  struct Outcome {
    bool done = false;
    std::exception_ptr error;
    hydra::umf::Message reply;
  };
  auto record = [](Outcome& o) {
    return [&o](std::exception_ptr e, hydra::umf::Message m) {
      o.done = true;
      o.error = e;
      o.reply = std::move(m);
    };
  };
  auto to_echo = [](const char* body) {
    boost::json::object o = obj(R"({"to":"cb-echo:/"})");
    o["body"] = boost::json::parse(body);
    return hydra::umf::Message::create(o);
  };
  auto error_of = [](const Outcome& o) -> std::error_code {
    try {
      std::rethrow_exception(o.error);
    } catch (const hydra::Error& e) {
      return e.code();
    } catch (const boost::system::system_error& e) {
      return std::error_code(e.code());
    }
  };

  Outcome answered, late, refused, cancelled;
  auto question = to_echo(R"({"n":7})");
  client.async_request(question, 2s, record(answered));
  client.async_request(to_echo(R"({"silent":true})"), 200ms, record(late));
  client.async_request(hydra::umf::Message::create(obj(R"({"to":"cb-echo:/"})")), 2s,
                       record(refused));
  EXPECT_FALSE(refused.done) << "a refused request completes posted, not inside the call";
  asio::cancellation_signal cancel;
  client.async_request(to_echo(R"({"silent":true})"), 2s,
                       asio::bind_cancellation_slot(cancel.slot(), record(cancelled)));
  EXPECT_EQ(client.pending_requests(), 3u);
  cancel.emit(asio::cancellation_type::terminal);
  EXPECT_FALSE(cancelled.done) << "completed from the queue, not from the slot's handler";
  hydra::test::run_until(
      mesh.io, [&] { return answered.done && late.done && refused.done && cancelled.done; }, 3s);

  ASSERT_TRUE(answered.done);
  EXPECT_FALSE(answered.error);
  EXPECT_EQ(answered.reply.rmid(), question.mid());
  EXPECT_EQ(hydra::json::stringify(answered.reply.body()), R"({"echoed":{"n":7}})");
  ASSERT_TRUE(late.done);
  ASSERT_TRUE(late.error);
  EXPECT_EQ(error_of(late), hydra::errc::timeout);
  ASSERT_TRUE(refused.done);
  ASSERT_TRUE(refused.error);
  EXPECT_EQ(error_of(refused), hydra::errc::invalid_message);
  ASSERT_TRUE(cancelled.done);
  ASSERT_TRUE(cancelled.error);
  EXPECT_EQ(error_of(cancelled), std::errc::operation_canceled);
  EXPECT_EQ(client.pending_requests(), 0u) << "nothing is left behind";
}

namespace {
// A 2000-byte message to `big` is refused with 413 naming a limit of 1000 bytes; a 500-byte
// one is sent.
asio::awaitable<void> expect_limit_of_1000(hydra::Hydra& client) {
  boost::json::object m = obj(R"({"to":"big:/","from":"c:/"})");
  m["body"] = boost::json::object{{"blob", std::string(2000, 'x')}};
  auto r = co_await client.send_message(m);
  EXPECT_EQ(r.status_code, 413);
  EXPECT_NE(r.reason.find("exceeds the limit of 1000 bytes"), std::string::npos) << r.reason;
  m["body"] = boost::json::object{{"blob", std::string(500, 'x')}};
  r = co_await client.send_message(m);
  EXPECT_TRUE(r.ok()) << r.reason;
}
}  // namespace

TEST(Messaging, TooLargeMessagesAreRefusedBeforePublishing) {
  RedisServer server;
  Mesh mesh;
  hydra::RegistryOptions opts;
  opts.max_message_bytes = 1000;
  mesh.add(server, "big");
  auto& client = mesh.add(server, "client", opts);
  run_on(mesh.io, [&] { return expect_limit_of_1000(client); });
}

TEST(Messaging, TheConfigsMaxMessageBytesReplacesTheOption) {
  RedisServer server;
  Mesh mesh;
  hydra::RegistryOptions opts;
  opts.max_message_bytes = 100'000;
  mesh.add(server, "big");
  auto& client = mesh.add(server, "client", opts, {{"maxMessageBytes", 1000}});
  run_on(mesh.io, [&] { return expect_limit_of_1000(client); });
}

TEST(Messaging, ReplyAndRequestWithDeadline) {
  RedisServer server;
  Mesh mesh;
  auto& echo = mesh.add(server, "echo");
  auto& client = mesh.add(server, "client");
  make_echo(echo, mesh.io);
  run_on(mesh.io, [&]() -> asio::awaitable<void> {
    auto m =
        hydra::umf::Message::create(obj(R"({"to":"echo:/","from":"client:/","body":{"q":42}})"));
    auto reply = co_await client.request(m, 2s);
    EXPECT_EQ(reply.rmid(), m.mid());
    EXPECT_EQ(reply.body().at("echoed").at("q"), 42);
    EXPECT_EQ(reply.from(), "echo:/");
    EXPECT_EQ(reply.to(), client.instance_id() + "@client:/");
    // Many concurrent requests each get their own reply.
    std::vector<int> answers;
    int done = 0;
    for (int i = 0; i < 50; ++i) {
      asio::co_spawn(
          mesh.io,
          [&, i]() -> asio::awaitable<void> {
            boost::json::object o = obj(R"({"to":"echo:/","from":"client:/"})");
            o["body"] = boost::json::object{{"i", i}};
            auto r = co_await client.request(hydra::umf::Message::create(o), 2s);
            answers.push_back(static_cast<int>(r.body().at("echoed").at("i").as_int64()));
            ++done;
          },
          asio::detached);
    }
    for (int k = 0; k < 200 && done < 50; ++k)
      co_await hydra::test::sleep_for(10ms);
    EXPECT_EQ(done, 50);
    std::sort(answers.begin(), answers.end());
    for (int i = 0; i < static_cast<int>(answers.size()); ++i)
      EXPECT_EQ(answers[i], i);
  });
  EXPECT_EQ(client.pending_requests(), 0u);
  EXPECT_EQ(client.messaging_stats().replies, 51u);
}

TEST(Messaging, RequestTimesOutAndLeavesNothingBehind) {
  RedisServer server;
  Mesh mesh;
  mesh.add(server, "silent");  // receives but never answers
  auto& client = mesh.add(server, "client");
  auto start = std::chrono::steady_clock::now();
  try {
    run_on(mesh.io, [&]() -> asio::awaitable<void> {
      co_await client.request(
          hydra::umf::Message::create(obj(R"({"to":"silent:/","from":"c:/","body":{"a":1}})")),
          300ms);
    });
    FAIL() << "expected a timeout";
  } catch (const hydra::Error& e) {
    EXPECT_EQ(e.code(), hydra::errc::timeout);
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 290ms);
  EXPECT_LT(elapsed, 1500ms);
  EXPECT_EQ(client.pending_requests(), 0u);
  // Unavailable target: an error at once, no waiting.
  try {
    run_on(mesh.io, [&]() -> asio::awaitable<void> {
      co_await client.request(
          hydra::umf::Message::create(obj(R"({"to":"nobody:/","from":"c:/","body":{"a":1}})")), 5s);
    });
    FAIL();
  } catch (const hydra::Error& e) {
    EXPECT_EQ(e.code(), hydra::errc::unavailable);
  }
  EXPECT_EQ(client.pending_requests(), 0u);
}

TEST(Messaging, EachRequestTimesOutAtItsOwnDeadline) {
  // One timer serves every pending request: a later request with a shorter timeout must move
  // it earlier, and the longer one must still wait its full time.
  RedisServer server;
  Mesh mesh;
  mesh.add(server, "silent");
  auto& client = mesh.add(server, "client");
  const auto start = std::chrono::steady_clock::now();
  std::map<std::string, std::chrono::steady_clock::duration> timed_out_after;
  auto ask = [&](std::string name, std::chrono::milliseconds timeout) -> asio::awaitable<void> {
    try {
      co_await client.request(
          hydra::umf::Message::create(obj(R"({"to":"silent:/","from":"c:/","body":{"a":1}})")),
          timeout);
      ADD_FAILURE() << name << " got a reply from a silent service";
    } catch (const hydra::Error& e) {
      EXPECT_EQ(e.code(), hydra::errc::timeout) << name;
      timed_out_after[name] = std::chrono::steady_clock::now() - start;
    }
  };
  run_on(mesh.io, [&]() -> asio::awaitable<void> {
    asio::co_spawn(mesh.io, ask("long", 900ms), asio::detached);
    asio::co_spawn(mesh.io, ask("short", 200ms), asio::detached);
    asio::co_spawn(mesh.io, ask("middle", 500ms), asio::detached);
    for (int i = 0; i < 150 && timed_out_after.size() < 3; ++i)
      co_await hydra::test::sleep_for(10ms);
  });
  ASSERT_EQ(timed_out_after.size(), 3u);
  EXPECT_GE(timed_out_after["short"], 190ms);
  EXPECT_LT(timed_out_after["short"], 450ms);
  EXPECT_GE(timed_out_after["middle"], 490ms);
  EXPECT_LT(timed_out_after["middle"], 850ms);
  EXPECT_GE(timed_out_after["long"], 890ms);
  EXPECT_EQ(client.pending_requests(), 0u);
}

TEST(Messaging, ACancelledRequestStopsWaitingAtOnce) {
  // As the losing side of `||` the request is cancelled: it must end then, not at its timeout,
  // and leave nothing behind.
  using namespace boost::asio::experimental::awaitable_operators;
  RedisServer server;
  Mesh mesh;
  mesh.add(server, "silent");
  auto& client = mesh.add(server, "client");
  const auto start = std::chrono::steady_clock::now();
  std::size_t winner = 99;
  run_on(mesh.io, [&]() -> asio::awaitable<void> {
    asio::steady_timer timer(mesh.io, 150ms);
    auto ask = client.request(
        hydra::umf::Message::create(obj(R"({"to":"silent:/","from":"c:/","body":{"a":1}})")), 5s);
    auto tick = timer.async_wait(asio::use_awaitable);
    auto result = co_await (std::move(ask) || std::move(tick));
    winner = result.index();
  });
  EXPECT_EQ(winner, 1u) << "the timer should win";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(client.pending_requests(), 0u);
}

TEST(Messaging, ARequestWhoseMidIsAlreadyWaitingIsRefused) {
  RedisServer server;
  Mesh mesh;
  mesh.add(server, "silent");
  auto& client = mesh.add(server, "client");
  auto m = hydra::umf::Message::create(
      obj(R"({"to":"silent:/","from":"c:/","mid":"same-mid","body":{"a":1}})"));
  bool first_timed_out = false;
  run_on(mesh.io, [&]() -> asio::awaitable<void> {
    asio::co_spawn(
        mesh.io,
        [&]() -> asio::awaitable<void> {
          try {
            co_await client.request(m, 300ms);
          } catch (const hydra::Error& e) {
            first_timed_out = e.code() == hydra::errc::timeout;
          }
        },
        asio::detached);
    co_await hydra::test::sleep_for(50ms);
    try {
      co_await client.request(m, 300ms);
      ADD_FAILURE() << "the second request with the same mid was accepted";
    } catch (const hydra::Error& e) {
      EXPECT_EQ(e.code(), hydra::errc::invalid_message);
      EXPECT_NE(std::string(e.what()).find("same-mid"), std::string::npos) << e.what();
    }
    for (int i = 0; i < 50 && !first_timed_out; ++i)
      co_await hydra::test::sleep_for(10ms);
  });
  EXPECT_TRUE(first_timed_out) << "the first request keeps its own deadline";
  EXPECT_EQ(client.pending_requests(), 0u);
}

TEST(Messaging, MalformedPayloadsAreDroppedCountedAndDoNotStall) {
  RedisServer server;
  Mesh mesh;
  auto& svc = mesh.add(server, "target");
  int good = 0;
  std::vector<std::string> warnings;
  svc.on_log([&](const boost::json::object& e) {
    if (e.at("type") == "warn") warnings.emplace_back(e.at("msg").as_string());
  });
  svc.on_message([&](const hydra::umf::Message&) { ++good; });
  auto channel = "hydra:service:mc:target:" + svc.instance_id();
  for (int i = 0; i < 3; ++i) {
    server.cli({"PUBLISH", channel, "not json {"});
    server.cli({"PUBLISH", "hydra:service:mc:target", "[1,2,3]"});
    server.cli({"PUBLISH", channel, R"({"to":"target:/","body":{"no":"from"}})"});
  }
  server.cli({"PUBLISH", channel, R"({"to":"target:/","frm":"x:/","bdy":{"ok":1}})"});
  hydra::test::pump(mesh.io, 200ms);
  auto stats = svc.messaging_stats();
  EXPECT_EQ(stats.invalid_json, 6u);
  EXPECT_EQ(stats.invalid_umf, 3u);
  EXPECT_EQ(stats.received, 1u);
  EXPECT_EQ(good, 1);
  EXPECT_EQ(warnings.size(), 2u);  // once per kind
}

TEST(Messaging, SubscriptionsAreActiveWhenRegisterCompletes) {
  RedisServer server;
  Mesh mesh;
  auto& client = mesh.add(server, "client");
  // A message published right after registerService returns is received.
  auto& fresh = mesh.add(server, "fresh");
  int got = 0;
  fresh.on_message([&](const hydra::umf::Message&) { ++got; });
  run_on(mesh.io, [&]() -> asio::awaitable<void> {
    auto r =
        co_await client.send_message(obj(R"({"to":"fresh:/","from":"client:/","body":{"a":1}})"));
    EXPECT_TRUE(r.ok());
    co_await hydra::test::sleep_for(50ms);
  });
  EXPECT_EQ(got, 1);
}

}  // namespace
