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
#include <string>
#include <utility>
#include <vector>

#include "hydra/http/server.hpp"
#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "hydra/queue_consumer.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

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

/// Handles one item of the service's own queue: logs it. Returning marks it complete; a throw
/// would mark it incomplete with the exception's message as the reason. Items are leased, so one
/// in hand when this process crashes goes to another instance (docs/queues.md).
asio::awaitable<void> handle_queue_item(const hydra::QueuedMessage& item) {
  std::cerr << "hello-service queue item " << item.message.mid() << " "
            << item.message.to_short_json() << std::endl;
  co_return;
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

  // Expired leases (of an instance that crashed) are returned to the queue every 5 s.
  hydra::QueueConsumer consumer(hydra, handle_queue_item);
  consumer.start();

  hydra.send_to_health_log("info", "hello-service started");
  // Tests and scripts wait for this line, so it is flushed at once.
  std::cout << "hello-service ready " << info.service_name << " " << hydra.instance_id() << " "
            << info.service_ip << ":" << info.service_port << std::endl;

  int sig = co_await signals.async_wait(asio::use_awaitable);
  std::cerr << "hello-service: signal " << sig << ", shutting down" << std::endl;
  // No item is taken once shutdown begins; one being handled is finished first.
  co_await consumer.stop();
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
