#include "registry/pending_requests.hpp"

namespace hydra::registry {

void PendingRequests::add(std::string_view mid, Clock::time_point deadline,
                          std::chrono::milliseconds timeout, Handler handler) {
  if (spare_.empty()) {
    entries_.try_emplace(std::string(mid), Entry{deadline, timeout, std::move(handler)});
    return;
  }
  auto node = std::move(spare_.back());
  spare_.pop_back();
  node.key().assign(mid);
  Entry& e = node.mapped();
  e.deadline = deadline;
  e.timeout = timeout;
  e.handler.reset();
  e.handler.emplace(std::move(handler));
  entries_.insert(std::move(node));
}

std::optional<PendingRequests::Handler> PendingRequests::take(std::string_view mid) {
  auto it = entries_.find(mid);
  if (it == entries_.end()) return std::nullopt;
  auto node = entries_.extract(it);
  std::optional<Handler> handler(std::move(*node.mapped().handler));
  if (spare_.size() < kSpareMax) spare_.push_back(std::move(node));
  return handler;
}

std::vector<PendingRequests::Expired> PendingRequests::expire(Clock::time_point now) {
  std::vector<Expired> due;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.deadline <= now) {
      due.push_back(Expired{it->first, it->second.timeout, std::move(*it->second.handler)});
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return due;
}

PendingRequests::Clock::time_point PendingRequests::next_deadline() const {
  auto next = Clock::time_point::max();
  for (const auto& [mid, e] : entries_) {
    if (e.deadline < next) next = e.deadline;
  }
  return next;
}

}  // namespace hydra::registry
