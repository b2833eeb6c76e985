#include "common/deadline.hpp"

#include <boost/asio/steady_timer.hpp>

namespace hydra::detail {

struct Deadline::State : std::enable_shared_from_this<State> {
  State(const boost::asio::any_io_executor& executor, std::function<void()> f)
      : timer(executor), on_expiry(std::move(f)) {}

  boost::asio::steady_timer timer;
  std::function<void()> on_expiry;
  Clock::time_point deadline{};
  bool armed = false;
  bool waiting = false;
  bool expired = false;

  void wait() {
    waiting = true;
    timer.expires_at(deadline);
    timer.async_wait([weak = weak_from_this()](const boost::system::error_code&) {
      auto self = weak.lock();
      if (!self) return;
      self->waiting = false;
      if (!self->armed) return;
      if (Clock::now() < self->deadline) {
        self->wait();
        return;
      }
      self->armed = false;
      self->expired = true;
      self->on_expiry();
    });
  }
};

Deadline::Deadline(const boost::asio::any_io_executor& executor, std::function<void()> on_expiry)
    : state_(std::make_shared<State>(executor, std::move(on_expiry))) {}

Deadline::~Deadline() {
  state_->armed = false;
  state_->timer.cancel();
}

void Deadline::arm(Clock::time_point at) {
  auto& s = *state_;
  s.expired = false;
  s.armed = true;
  s.deadline = at;
  if (!s.waiting) {
    s.wait();
  } else if (s.timer.expiry() > at) {
    s.timer.expires_at(at);  // the cancelled wait's handler waits again, for the new deadline
  }
}

void Deadline::disarm() {
  state_->armed = false;
}

bool Deadline::expired() const {
  return state_->expired;
}

}  // namespace hydra::detail
