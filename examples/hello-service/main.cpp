// hello-service: a minimal Hydra service that registers itself, serves a small HTTP API on its
// registered port (routes published in Redis), writes a log entry, echoes every UMF message back
// to its sender, works through its own queue, and stays present until SIGINT/SIGTERM.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <csignal>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hydra/http/server.hpp"
#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "hydra/queue.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

/// How often the consumer returns expired leases of its queue to the waiting list.
constexpr auto kReclaimInterval = 5s;
/// The longest wait `GET /v1/hello/slow` accepts.
constexpr long kMaxSlowMs = 60000;

// HTTP handlers ------------------------------------------------------------------------------

/// `GET /v1/hello/greeting` → `{greeting}`.
asio::awaitable<hydra::http::Response> greeting(hydra::http::Request&) {
  boost::json::object result;
  result["greeting"] = "Welcome to Hydra!";
  co_return hydra::http::Response::ok(std::move(result));
}

/// `POST /v1/hello/echo` → the JSON body received (`{}` when there is none).
asio::awaitable<hydra::http::Response> echo(hydra::http::Request& request) {
  auto body = request.json();
  if (!body) co_return hydra::http::Response::ok(boost::json::object());
  co_return hydra::http::Response::ok(std::move(*body));
}

/// `GET /v1/hello/slow?ms=N` → waits N ms (at most kMaxSlowMs), then `{slept: N}`.
asio::awaitable<hydra::http::Response> slow(hydra::http::Request& request) {
  long ms = 0;
  auto it = request.query.find("ms");
  if (it != request.query.end()) {
    const std::string& text = it->second;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec != std::errc() || end != text.data() + text.size() || ms < 0 || ms > kMaxSlowMs)
      co_return hydra::http::Response::bad_request("ms must be an integer from 0 to " +
                                                   std::to_string(kMaxSlowMs));
  }
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  boost::json::object result;
  result["slept"] = ms;
  co_return hydra::http::Response::ok(std::move(result));
}

void add_routes(hydra::http::Server& server) {
  server.route("get", "/v1/hello/greeting", greeting);
  server.route("post", "/v1/hello/echo", echo);
  server.route("get", "/v1/hello/slow", slow);
}

// Messages and queue -------------------------------------------------------------------------

/// Sends the echo reply to one message; failures are logged, never thrown.
asio::awaitable<void> reply(hydra::Hydra& hydra, hydra::umf::Message message) {
  boost::json::object body;
  body["echo"] = message.body();
  body["from"] = "hello-service";
  boost::json::object response;
  response["body"] = std::move(body);
  std::string failure;
  try {
    auto result = co_await hydra.send_reply_message(message, std::move(response));
    if (!result.ok()) failure = result.reason;
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty())
    std::cerr << "hello-service: reply to " << message.mid() << " failed: " << failure << std::endl;
}

/// Replies to every message with `{echo: <its body>, from: "hello-service"}`.
void answer_messages(hydra::Hydra& hydra) {
  // The handler owns the message: it moves into the coroutine that answers it.
  hydra.on_message([&hydra](hydra::umf::Message message) {
    asio::co_spawn(hydra.get_executor(), reply(hydra, std::move(message)), asio::detached);
  });
}

/// The state shared by the queue consumer and the code that stops it.
struct Consumer {
  std::unique_ptr<hydra::Queue> queue;
  bool stopping = false;
  bool done = false;
  /// Cancelled when the consumer has finished, to wake whoever waits for it.
  std::optional<asio::steady_timer> finished;
};

/// Takes items of the service's own queue (leased, so a crash hands them to another instance),
/// logs and completes them, and reclaims expired leases every few seconds.
asio::awaitable<void> consume(hydra::Hydra& hydra, std::shared_ptr<Consumer> state) {
  const std::string service = hydra.service_name();
  auto next_reclaim = std::chrono::steady_clock::now();
  bool failed = false;
  while (!state->stopping) {
    try {
      if (std::chrono::steady_clock::now() >= next_reclaim) {
        next_reclaim = std::chrono::steady_clock::now() + kReclaimInterval;
        auto moved = co_await state->queue->reclaim_expired(service, hydra::LeaseOptions{});
        if (moved)
          std::cerr << "hello-service: reclaimed " << moved << " expired queue item(s)"
                    << std::endl;
        if (state->stopping) break;
      }
      auto item = co_await state->queue->wait_queued_message(service, 1s, hydra::LeaseOptions{});
      if (!item || state->stopping) continue;
      std::cerr << "hello-service queue item " << item->message.mid() << " "
                << item->message.to_short_json() << std::endl;
      bool marked = co_await state->queue->mark_queue_message(*item, true, "done");
      if (!marked)
        std::cerr << "hello-service: queue item " << item->message.mid()
                  << " was no longer in progress" << std::endl;
    } catch (const std::exception& e) {
      // Stopping ends the blocking wait with an error; anything else is retried after a pause.
      if (state->stopping) break;
      std::cerr << "hello-service: queue: " << e.what() << std::endl;
      failed = true;
    }
    if (failed) {
      failed = false;
      asio::steady_timer pause(hydra.get_executor(), 1s);
      co_await pause.async_wait(asio::use_awaitable);
    }
  }
}

/// Ends the consumer: its blocking wait is cut short by destroying the queue (which stops the
/// queue's own connection), then this waits until the loop has returned.
asio::awaitable<void> stop_consumer(const std::shared_ptr<Consumer>& state) {
  state->stopping = true;
  state->queue.reset();
  if (state->done) co_return;
  boost::system::error_code ec;
  co_await state->finished->async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> serve(hydra::Hydra& hydra, const std::string& config_path) {
  auto executor = co_await asio::this_coro::executor;
  // Installed before anything else so a signal arriving during start-up is not fatal; this is
  // the only signal handler of the process (Service::run is not used, it would install another).
  asio::signal_set signals(executor, SIGINT, SIGTERM);

  co_await hydra.init_from_file(config_path);
  auto info = co_await hydra.register_service();

  // This program runs its io_context on one thread (main), so connections need no strands.
  hydra::http::ServerOptions server_options;
  server_options.single_threaded_executors = true;
  hydra::http::Server server(executor, server_options);
  add_routes(server);
  hydra::http::Service service(hydra, server);
  // Serves on the registered port (the socket init() reserved) and publishes server.routes().
  co_await service.start();
  answer_messages(hydra);

  auto consumer = std::make_shared<Consumer>();
  consumer->queue = std::make_unique<hydra::Queue>(hydra);
  consumer->finished.emplace(executor, asio::steady_timer::time_point::max());
  asio::co_spawn(executor, consume(hydra, consumer), [consumer](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "hello-service: queue consumer ended: " << ex.what() << std::endl;
      }
    }
    consumer->done = true;
    consumer->finished->cancel();
  });

  hydra.send_to_health_log("info", "hello-service started");
  // Tests and scripts wait for this line, so it is flushed at once.
  std::cout << "hello-service ready " << info.service_name << " " << hydra.instance_id() << " "
            << info.service_ip << ":" << info.service_port << std::endl;

  int sig = co_await signals.async_wait(asio::use_awaitable);
  std::cerr << "hello-service: signal " << sig << ", shutting down" << std::endl;
  // No item is taken once shutdown begins; one being handled is finished first.
  co_await stop_consumer(consumer);
  // shutdown() deletes the presence key at once, so callers stop routing here immediately.
  co_await hydra.shutdown();
  // Requests already being served are answered (with Connection: close) before this returns.
  co_await server.stop();
  std::cout << "hello-service stopped" << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  // One option only, so plain argv handling keeps the example free of a CLI library.
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg.starts_with("--config=")) {
      config_path = arg.substr(9);
    } else {
      config_path.clear();
      break;
    }
  }
  if (config_path.empty()) {
    std::cerr << "usage: hello-service --config FILE" << std::endl;
    return 2;
  }

  asio::io_context io(1);  // run by this thread only
  hydra::Hydra hydra(io.get_executor());
  hydra.on_connection_state([](hydra::redis::State state, const std::string& detail) {
    std::cerr << "hello-service: redis " << hydra::redis::to_string(state)
              << (detail.empty() ? "" : ": " + detail) << std::endl;
  });
  hydra.on_log([](const boost::json::object& entry) {
    std::cerr << "hello-service: log " << hydra::json::stringify(entry) << std::endl;
  });

  int status = 0;
  asio::co_spawn(io, serve(hydra, config_path), [&](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "hello-service: " << ex.what() << std::endl;
      }
      status = 1;
    }
    // After shutdown (or a failed start) nothing else should keep the process alive.
    io.stop();
  });
  io.run();
  return status;
}
