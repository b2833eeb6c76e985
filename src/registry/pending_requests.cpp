#include "registry/pending_requests.hpp"

namespace hydra::registry {

bool PendingRequests::add(std::string_view mid, Clock::time_point deadline) {
  return entries_.try_emplace(std::string(mid), Entry{deadline, std::nullopt, std::nullopt}).second;
}

bool PendingRequests::settled(std::string_view mid, Clock::time_point now) const {
  auto it = entries_.find(mid);
  return it == entries_.end() || it->second.reply || it->second.deadline <= now;
}

void PendingRequests::wait(std::string_view mid, Waiter waiter) {
  auto it = entries_.find(mid);
  if (it != entries_.end()) it->second.waiter.emplace(std::move(waiter));
}

std::optional<PendingRequests::Waiter> PendingRequests::cancel_wait(std::string_view mid) {
  auto it = entries_.find(mid);
  if (it == entries_.end() || !it->second.waiter) return std::nullopt;
  std::optional<Waiter> waiter(std::move(*it->second.waiter));
  it->second.waiter.reset();
  return waiter;
}

bool PendingRequests::deliver(std::string_view mid, umf::Message&& reply,
                              std::optional<Waiter>& resume) {
  auto it = entries_.find(mid);
  // A second reply to the same request is not one this instance waits for any more.
  if (it == entries_.end() || it->second.reply) return false;
  it->second.reply = std::move(reply);
  if (it->second.waiter) {
    resume.emplace(std::move(*it->second.waiter));
    it->second.waiter.reset();
  }
  return true;
}

std::vector<PendingRequests::Waiter> PendingRequests::expire(Clock::time_point now) {
  std::vector<Waiter> due;
  for (auto& [mid, e] : entries_) {
    if (e.waiter && !e.reply && e.deadline <= now) {
      due.push_back(std::move(*e.waiter));
      e.waiter.reset();
    }
  }
  return due;
}

PendingRequests::Clock::time_point PendingRequests::next_deadline() const {
  auto next = Clock::time_point::max();
  for (const auto& [mid, e] : entries_) {
    if (e.waiter && e.deadline < next) next = e.deadline;
  }
  return next;
}

std::optional<umf::Message> PendingRequests::take(std::string_view mid) {
  auto it = entries_.find(mid);
  if (it == entries_.end()) return std::nullopt;
  auto reply = std::move(it->second.reply);
  entries_.erase(it);
  return reply;
}

}  // namespace hydra::registry
