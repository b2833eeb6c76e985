// Pure parts of the work queues: key names, reason insertion with JS semantics, statistics.
#include "queue/queue_logic.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdio>

#include "hydra/json.hpp"
#include "hydra/umf.hpp"

namespace hydra::queue_detail {

namespace {
std::string key(std::string_view service, std::string_view suffix) {
  std::string k = "hydra:service:";
  k.append(service);
  k.push_back(':');
  k.append(suffix);
  return k;
}
}  // namespace

std::string received_key(std::string_view service) {
  return key(service, "mqrecieved");
}
std::string in_progress_key(std::string_view service) {
  return key(service, "mqinprogress");
}
std::string incomplete_key(std::string_view service) {
  return key(service, "mqincomplete");
}
std::string leases_key(std::string_view service) {
  return key(service, "mqleases");
}
std::string attempts_key(std::string_view service) {
  return key(service, "mqattempts");
}
std::string claimed_key(std::string_view service) {
  return key(service, "mqclaimed");
}

std::string with_reason(std::string_view raw, std::string_view reason) {
  auto parsed = json::try_parse(raw);
  if (!parsed || !parsed->is_object()) return std::string(raw);
  auto& obj = parsed->get_object();
  // Node: `if (message.bdy) message.bdy.reason = …; else if (message.body) …` — a truthy `bdy`
  // wins even when it is not an object (then the assignment has no visible effect).
  boost::json::value* body = nullptr;
  if (auto* b = obj.if_contains("bdy"); b && umf::truthy(*b)) {
    body = b;
  } else if (auto* l = obj.if_contains("body"); l && umf::truthy(*l)) {
    body = l;
  }
  if (!body || !body->is_object()) return std::string(raw);
  // boost::json::object keeps insertion order and replaces existing keys in place, exactly like
  // a JS property assignment on an object parsed by JSON.parse.
  body->get_object()["reason"] = reason.empty() ? kDefaultReason : reason;
  return json::stringify(*parsed);
}

std::string dead_letter_reason(unsigned attempts) {
  return "dead-lettered after " + std::to_string(attempts) + " attempts (lease expired)";
}

std::optional<std::chrono::system_clock::time_point> item_timestamp(std::string_view raw) {
  auto parsed = json::try_parse(raw);
  if (!parsed || !parsed->is_object()) return std::nullopt;
  const auto& obj = parsed->get_object();
  const boost::json::value* ts = obj.if_contains("ts");
  if (!ts || !ts->is_string()) ts = obj.if_contains("timestamp");
  if (!ts || !ts->is_string()) return std::nullopt;
  return json::parse_iso_timestamp(std::string_view(ts->get_string()));
}

QueueStats make_stats(long long received, long long in_progress, long long incomplete,
                      const std::optional<std::string>& oldest_raw,
                      std::chrono::system_clock::time_point now) {
  QueueStats s;
  s.received = received;
  s.in_progress = in_progress;
  s.incomplete = incomplete;
  if (oldest_raw) {
    if (auto ts = item_timestamp(*oldest_raw)) {
      auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - *ts);
      s.oldest_age = age.count() < 0 ? std::chrono::milliseconds(0) : age;
    }
  }
  return s;
}

QueuedMessage make_item(std::string raw, std::string service) {
  QueuedMessage item;
  if (auto m = umf::Message::parse(raw)) item.message = std::move(*m);
  item.raw = std::move(raw);
  item.service_name = std::move(service);
  return item;
}

std::string blocking_timeout_arg(std::chrono::milliseconds timeout) {
  auto ms = timeout.count() < 1 ? 1 : timeout.count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ms / 1000),
                static_cast<long long>(ms % 1000));
  return buf;
}

std::chrono::system_clock::time_point from_epoch_ms(long long ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

}  // namespace hydra::queue_detail
