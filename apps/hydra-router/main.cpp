// hydra-router: the API gateway of a Hydra mesh. Registers as the service `hydra-router`,
// proxies HTTP by the routes services registered in Redis, bridges WebSocket clients to UMF
// messaging and serves a live dashboard. Stops gracefully on SIGINT/SIGTERM.
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <exception>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "hydra/config.hpp"
#include "hydra/error.hpp"
#include "hydra/event_loop.hpp"
#include "hydra/http/server.hpp"
#include "hydra/hydra.hpp"
#include "router.hpp"
#include "router_config.hpp"

namespace asio = boost::asio;

namespace {

asio::awaitable<void> run(hydra::Hydra& hydra, hydra::http::Server& server,
                          hydra::router::Router& router, boost::json::value document,
                          int& exit_code) {
  co_await hydra.init(std::move(document));
  co_await hydra.register_service();
  co_await router.start();
  hydra::http::Service service(hydra, server);
  co_await service.start();
  std::cout << "hydra-router " << hydra::router::router_version() << " instance "
            << hydra.instance_id() << " listening on port " << server.port() << std::endl;
  asio::signal_set signals(hydra.get_executor(), SIGINT, SIGTERM);
  co_await signals.async_wait(asio::use_awaitable);
  std::cout << "hydra-router stopping" << std::endl;
  co_await router.stop();
  co_await hydra.shutdown();
  co_await server.stop();
  exit_code = 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hydra-router: API gateway, WebSocket bridge and dashboard of a Hydra mesh"};
  std::string config_path = "config/config.json";
  std::optional<unsigned> port;
  std::optional<unsigned> threads;
  std::optional<unsigned> busy_poll_us;
  app.add_option("-c,--config", config_path,
                 "configuration file ({hydra: {...}, routerToken, ...})")
      ->capture_default_str();
  app.add_option("-p,--port", port, "overrides hydra.servicePort")->check(CLI::Range(0, 65535));
  app.add_option("-t,--threads", threads,
                 "I/O threads (default 1, 0 = one per core); overrides `threads`")
      ->check(CLI::Range(0, 256));
  app.add_option("--busy-poll-us", busy_poll_us,
                 "keep polling this long after each event before sleeping (default 0 = off); "
                 "overrides `busyPollMicroseconds`")
      ->check(CLI::Range(0, 10000));
  CLI11_PARSE(app, argc, argv);

  boost::json::value document;
  hydra::router::RouterConfig config;
  try {
    document = hydra::read_config_file(config_path);
    if (!document.is_object())
      throw hydra::Error(hydra::errc::invalid_config, "the configuration must be a JSON object");
    auto& root = document.get_object();
    if (!root.contains("hydra") || !root["hydra"].is_object())
      root["hydra"] = boost::json::object();
    auto& h = root["hydra"].get_object();
    if (!h.contains("serviceName")) h["serviceName"] = "hydra-router";
    if (!h.contains("serviceDescription")) h["serviceDescription"] = "Service-aware router";
    if (port) h["servicePort"] = *port;
    config = hydra::router::parse_router_config(root);
    if (threads) config.threads = *threads;
    if (busy_poll_us) config.busy_poll_microseconds = *busy_poll_us;
  } catch (const std::exception& e) {
    std::cerr << "hydra-router: " << e.what() << std::endl;
    return 2;
  }
  unsigned thread_count = config.threads;
  if (thread_count == 0) thread_count = std::max(1u, std::thread::hardware_concurrency());
  config.threads = thread_count;

  // One io_context per I/O thread (concurrency hint 1: no locking inside each). The Hydra and
  // the acceptor live on the first; connections are spread over all of them and the proxy
  // stays on its connection's thread.
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::io_context*> context_ptrs;
  for (unsigned i = 0; i < thread_count; ++i) {
    contexts.push_back(std::make_unique<asio::io_context>(1));
    context_ptrs.push_back(contexts.back().get());
  }
  asio::io_context& io = *contexts.front();
  asio::any_io_executor hydra_executor = io.get_executor();
  hydra::Hydra hydra(hydra_executor);
  hydra::http::ServerOptions options;
  // A gateway passes the services' headers through instead of adding helmet's.
  options.security_headers = false;
  options.max_body_bytes = config.max_body_bytes;
  hydra::router::apply_cors(config, options.cors);
  // Each io_context below is run by exactly one thread: connections need no strands.
  options.single_threaded_executors = true;
  if (thread_count > 1) {
    for (auto* context : context_ptrs)
      options.connection_executors.push_back(context->get_executor());
  }
  hydra::http::Server server(io.get_executor(), options);
  hydra::router::Router router(hydra, server, config);
  if (thread_count > 1) router.use_workers(context_ptrs);
  router.install();

  // The other contexts have no work of their own until connections arrive.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (std::size_t i = 1; i < contexts.size(); ++i)
    guards.emplace_back(contexts[i]->get_executor());

  int exit_code = 1;
  asio::co_spawn(hydra_executor, run(hydra, server, router, std::move(document), exit_code),
                 [&](std::exception_ptr e) {
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       std::cerr << "hydra-router: " << ex.what() << std::endl;
                     }
                     exit_code = 1;
                   }
                   for (auto& guard : guards)
                     guard.reset();
                   for (auto& context : contexts)
                     context->stop();
                 });
  const auto busy_poll = std::chrono::microseconds(config.busy_poll_microseconds);
  std::vector<std::thread> pool;
  for (std::size_t i = 1; i < contexts.size(); ++i)
    pool.emplace_back(
        [context = contexts[i].get(), busy_poll] { hydra::run_event_loop(*context, busy_poll); });
  hydra::run_event_loop(io, busy_poll);
  for (auto& t : pool)
    t.join();
  return exit_code;
}
