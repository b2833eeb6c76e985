// A C++ Hydra service whose io_context runs on its own thread, so it keeps its presence fresh
// and answers messages while a test blocks on Node processes.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <thread>

#include "hydra/hydra.hpp"
#include "support/hydra_fixture.hpp"

namespace hydra::test {

class CppService {
 public:
  /// Runs `f()` (returning an awaitable<T>) on the service's thread and waits for its result.
  template <class F>
  auto call(F f) {
    return boost::asio::co_spawn(io_, f(), boost::asio::use_future).get();
  }

  CppService(const RedisServer& server, const std::string& name, bool do_register = true,
             boost::json::value port = 0)
      : guard_(io_.get_executor()), thread_([this] { io_.run(); }) {
    call([&]() -> boost::asio::awaitable<int> {
      co_await hydra_.init(service_document(server, name, port));
      if (do_register) co_await hydra_.register_service();
      co_return 0;
    });
  }
  ~CppService() {
    try {
      call([&]() -> boost::asio::awaitable<int> {
        co_await hydra_.shutdown();
        co_return 0;
      });
    } catch (...) {
    }
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  hydra::Hydra& hydra() { return hydra_; }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  hydra::Hydra hydra_{io_.get_executor()};
  std::thread thread_;
};

}  // namespace hydra::test
