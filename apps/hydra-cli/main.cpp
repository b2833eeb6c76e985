// hydra-cli: inspects and manages a Hydra registry in Redis (services, nodes, health, routes,
// stored configurations, UMF messages and work queues), the C++ counterpart of Node's hydra-cli.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "hydra/error.hpp"
#include "hydra/http/client.hpp"
#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "hydra/queue.hpp"
#include "hydra/redis/config.hpp"
#include "hydra/redis/reply.hpp"
#include "hydra/result.hpp"
#include "hydra/umf.hpp"

namespace asio = boost::asio;
namespace bj = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* kDefaultRedisUrl = "redis://127.0.0.1:6379/15";

/// A failure reported to the user as one `hydra-cli: <message>` line.
struct CliError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// What the command line asked for.
struct Request {
  std::string redis_url;
  bool json = false;
  double timeout_seconds = 3;
  /// The command path, e.g. "nodes", "cfg pull", "redis info".
  std::string command;
  std::string service;  ///< optional [svc] / required <svc>
  std::string label;    ///< svc:version
  std::string file;
  /// The document read from `file` for `cfg push` (validated before touching Redis).
  std::optional<bj::value> document;
  /// The UMF object read from `file` (or stdin for "-") for `message send` / `message queue`.
  bj::object message;
  /// At most this many items for `queue peek`.
  std::size_t limit = 10;
  /// `rest`: the `to` route and the optional JSON payload read from `file`.
  std::string route;
  std::optional<bj::value> payload;
};

// Output helpers --------------------------------------------------------------------------------

/// Left-aligned columns, two spaces apart, so the output stays readable for any name length.
std::string table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t i = 0; i < header.size(); ++i)
    width[i] = header[i].size();
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      text += cells[i];
      if (i + 1 < cells.size()) text += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    out += text + "\n";
  };
  line(header);
  for (const auto& row : rows)
    line(row);
  return out;
}

/// Pretty JSON for people (two-space indent); scalars use the JS formatting of stringify.
void pretty(std::string& out, const bj::value& v, int indent) {
  const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  const std::string inner(static_cast<std::size_t>(indent + 1) * 2, ' ');
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto& kv : o) {
      if (!first) out += ",\n";
      first = false;
      out += inner + hydra::json::stringify(bj::value(kv.key())) + ": ";
      pretty(out, kv.value(), indent + 1);
    }
    out += "\n" + pad + "}";
  } else if (v.is_array()) {
    const auto& a = v.get_array();
    if (a.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (i) out += ",\n";
      out += inner;
      pretty(out, a[i], indent + 1);
    }
    out += "\n" + pad + "]";
  } else {
    out += hydra::json::stringify(v);
  }
}

/// A field of a JSON object as display text ("" when absent; strings without quotes).
std::string field(const bj::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return "";
  if (v->is_string()) return std::string(v->get_string());
  return hydra::json::stringify(*v);
}

bj::array to_array(const std::vector<bj::object>& objects) {
  bj::array a;
  for (const auto& o : objects)
    a.emplace_back(o);
  return a;
}

bj::array nodes_to_array(const std::vector<hydra::NodeEntry>& nodes) {
  bj::array a;
  for (const auto& n : nodes)
    a.emplace_back(n.json);
  return a;
}

/// Node's hydra-cli healthlog line: `type | ts PID:pid: msg`.
std::string log_line(const bj::object& entry) {
  return field(entry, "type") + " | " + field(entry, "ts") + " PID:" + field(entry, "processID") +
         ": " + field(entry, "msg");
}

/// Whole seconds of an uptime as "1h 02m 03s" style text, shorter for short uptimes.
std::string uptime_text(const bj::object& health) {
  const auto* v = health.if_contains("uptimeSeconds");
  if (!v || !v->is_number()) return field(health, "uptimeSeconds");
  auto total = static_cast<long long>(v->to_number<double>());
  long long h = total / 3600, m = (total / 60) % 60, s = total % 60;
  std::ostringstream out;
  if (h) out << h << "h ";
  if (h || m) out << m << "m ";
  out << s << "s";
  return out.str();
}

std::string rss_text(const bj::object& health) {
  const auto* mem = health.if_contains("memory");
  if (!mem || !mem->is_object()) return "";
  const auto* rss = mem->get_object().if_contains("rss");
  if (!rss || !rss->is_number()) return "";
  double mib = rss->to_number<double>() / (1024.0 * 1024.0);
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(1);
  out << mib << " MiB";
  return out.str();
}

// Commands --------------------------------------------------------------------------------------

/// The result of one command: the JSON document for `--json`, the text for people.
struct Output {
  bj::value json;
  std::string text;
  /// Process exit status when the command completed (`rest` uses 1 when no response arrived).
  int exit_code = 0;
};

asio::awaitable<Output> cmd_services(hydra::Hydra& hydra, const Request& req) {
  std::vector<hydra::ServiceRecord> records;
  if (req.service.empty()) {
    records = co_await hydra.get_services();
  } else {
    // A named service is looked up directly so that a registered service whose instances are all
    // gone from the nodes hash is still shown.
    try {
      records.push_back(co_await hydra.find_service(req.service));
    } catch (const hydra::Error& e) {
      if (e.code() != hydra::make_error_code(hydra::errc::not_found)) throw;
      throw CliError("no such service: " + req.service);
    }
  }
  std::sort(records.begin(), records.end(),
            [](const auto& a, const auto& b) { return a.service_name < b.service_name; });
  Output out;
  bj::array a;
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : records) {
    a.emplace_back(r.json);
    rows.push_back({r.service_name, r.type.value_or(""), r.registered_on});
  }
  out.json = std::move(a);
  out.text = table({"NAME", "TYPE", "REGISTERED"}, rows);
  co_return out;
}

asio::awaitable<Output> cmd_nodes(hydra::Hydra& hydra, const Request& req) {
  auto all = co_await hydra.get_service_nodes();
  std::vector<hydra::NodeEntry> nodes;
  for (auto& n : all)
    if (req.service.empty() || n.service_name == req.service) nodes.push_back(std::move(n));
  std::sort(nodes.begin(), nodes.end(), [](const auto& a, const auto& b) {
    return std::tie(a.service_name, a.instance_id) < std::tie(b.service_name, b.instance_id);
  });
  Output out;
  out.json = nodes_to_array(nodes);
  if (req.json) co_return out;

  // Which instances still hold a presence key: one lookup per service, not per instance.
  std::set<std::string> present;
  std::set<std::string> services;
  for (const auto& n : nodes)
    services.insert(n.service_name);
  for (const auto& s : services)
    for (const auto& p : co_await hydra.get_service_presence(s))
      present.insert(p.instance_id);

  std::vector<std::vector<std::string>> rows;
  for (const auto& n : nodes)
    rows.push_back({n.service_name, n.instance_id, n.version, n.ip + ":" + n.port,
                    std::to_string(n.process_id), n.host_name, std::to_string(n.elapsed),
                    present.count(n.instance_id) ? "yes" : "no"});
  out.text = table(
      {"SERVICE", "INSTANCE", "VERSION", "IP:PORT", "PID", "HOST", "AGE(s)", "PRESENT?"}, rows);
  co_return out;
}

asio::awaitable<Output> cmd_health(hydra::Hydra& hydra, const Request& req) {
  auto all = co_await hydra.get_service_health_all();
  Output out;
  bj::array a;
  std::string text;
  bool found = false;
  std::sort(all.begin(), all.end(),
            [](const auto& x, const auto& y) { return x.service_name < y.service_name; });
  for (const auto& s : all) {
    if (!req.service.empty() && s.service_name != req.service) continue;
    found = true;
    bj::object o;
    o["serviceName"] = s.service_name;
    o["health"] = to_array(s.health);
    o["log"] = to_array(s.log);
    o["presence"] = [&] {
      bj::array p;
      for (const auto& n : s.presence)
        p.emplace_back(n.json);
      return p;
    }();
    a.emplace_back(std::move(o));

    text += s.service_name + " (" + std::to_string(s.presence.size()) + " present)\n";
    if (s.health.empty()) text += "  no current health report\n";
    for (const auto& h : s.health) {
      text += "  instance " + field(h, "instanceID") + "  rss " + rss_text(h) + "  uptime " +
              uptime_text(h) + "  updatedOn " + field(h, "updatedOn") + "\n";
    }
    for (const auto& entry : s.log)
      text += "    " + log_line(entry) + "\n";
  }
  if (!req.service.empty() && !found) throw CliError("no such service: " + req.service);
  out.json = std::move(a);
  out.text = std::move(text);
  co_return out;
}

asio::awaitable<Output> cmd_healthlog(hydra::Hydra& hydra, const Request& req) {
  auto log = co_await hydra.get_service_health_log(req.service);
  if (log.empty()) {
    // An empty log is only an error when the service is unknown altogether.
    try {
      co_await hydra.find_service(req.service);
    } catch (const hydra::Error& e) {
      if (e.code() != hydra::make_error_code(hydra::errc::not_found)) throw;
      throw CliError("no such service: " + req.service);
    }
  }
  Output out;
  out.json = to_array(log);
  for (const auto& entry : log)
    out.text += log_line(entry) + "\n";
  co_return out;
}

asio::awaitable<Output> cmd_routes(hydra::Hydra& hydra, const Request& req) {
  auto all = co_await hydra.get_all_service_routes();
  Output out;
  bj::object o;
  for (const auto& [service, routes] : all) {
    if (!req.service.empty() && service != req.service) continue;
    bj::array a;
    for (const auto& r : routes)
      a.emplace_back(r);
    o[service] = std::move(a);
    out.text += service + "\n";
    for (const auto& r : routes)
      out.text += "  " + r + "\n";
  }
  out.json = std::move(o);
  co_return out;
}

asio::awaitable<Output> cmd_cfg(hydra::Hydra& hydra, const Request& req) {
  Output out;
  if (req.command == "cfg push") {
    co_await hydra.put_config(req.label, *req.document);
    out.json = bj::object{{"stored", req.label}};
    out.text = "stored " + req.label + "\n";
  } else if (req.command == "cfg pull") {
    auto config = co_await hydra.get_config(req.label);
    if (!config) throw CliError("no config stored for " + req.label);
    out.json = *config;
    pretty(out.text, *config, 0);
    out.text += "\n";
  } else if (req.command == "cfg list") {
    auto labels = co_await hydra.list_config(req.service);
    bj::array a;
    for (const auto& l : labels) {
      a.emplace_back(l);
      out.text += l + "\n";
    }
    out.json = std::move(a);
  } else {  // cfg remove
    if (!co_await hydra.remove_config(req.label))
      throw CliError("no config stored for " + req.label);
    out.json = bj::object{{"removed", req.label}};
    out.text = "removed " + req.label + "\n";
  }
  co_return out;
}

asio::awaitable<Output> cmd_redis_info(hydra::Hydra& hydra, const Request&) {
  auto reply = co_await hydra.redis().exec(hydra::redis::cmd("INFO"));
  std::string info = reply.as_string();
  Output out;
  bj::object o;
  std::istringstream lines(info);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.text += line + "\n";
    if (line.empty() || line[0] == '#') continue;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    o[line.substr(0, colon)] = line.substr(colon + 1);
  }
  out.json = std::move(o);
  co_return out;
}

asio::awaitable<Output> cmd_refresh(hydra::Hydra& hydra, const Request&) {
  // Node's hydra-cli treats entries not refreshed for 60 s as dead instances.
  std::size_t removed = co_await hydra.remove_stale_nodes(60s);
  Output out;
  out.json = bj::object{{"removed", removed}};
  out.text = "removed " + std::to_string(removed) + " stale node entr" +
             (removed == 1 ? "y" : "ies") + "\n";
  co_return out;
}

/// The failure of a send or queue call as a CLI error carrying Node's reason.
CliError result_error(const hydra::Result& r) {
  std::string reason = r.reason.empty() ? hydra::status_message(r.status_code) : r.reason;
  return CliError(reason);
}

/// Node's response object for a successful send/queue, with what was done in `result`.
bj::object result_json(const hydra::Result& r, bj::object details) {
  auto o = r.to_json();
  details["mid"] = r.mid;
  o["result"] = std::move(details);
  return o;
}

asio::awaitable<Output> cmd_message_send(hydra::Hydra& hydra, const Request& req) {
  auto message = hydra::umf::Message::create(req.message);
  const std::string to = message.to();
  // Fire-and-forget as in Node: the CLI is not registered, so a reply could not reach it.
  auto r = co_await hydra.send_message(std::move(message));
  if (!r.ok()) throw result_error(r);
  Output out;
  bj::object details;
  details["to"] = to;
  out.json = result_json(r, std::move(details));
  out.text = "sent " + r.mid + " to " + to + "\n";
  co_return out;
}

asio::awaitable<Output> cmd_message_queue(hydra::Hydra& hydra, const Request& req) {
  auto message = hydra::umf::Message::create(req.message);
  const std::string service = hydra::umf::parse_route(message.to()).service_name;
  hydra::Queue queue(hydra);
  auto r = co_await queue.queue_message(message);
  if (!r.ok()) throw result_error(r);
  Output out;
  bj::object details;
  details["serviceName"] = service;
  out.json = result_json(r, std::move(details));
  out.text = "queued " + r.mid + " on " + service + "\n";
  co_return out;
}

/// An age in milliseconds as short text ("850ms", "12.3s", "4m 05s", "2h 03m").
std::string age_text(std::chrono::milliseconds age) {
  long long ms = age.count();
  std::ostringstream out;
  if (ms < 1000) {
    out << ms << "ms";
  } else if (ms < 60'000) {
    out.setf(std::ios::fixed);
    out.precision(1);
    out << static_cast<double>(ms) / 1000.0 << "s";
  } else if (ms < 3'600'000) {
    long long s = ms / 1000;
    out << s / 60 << "m " << (s % 60 < 10 ? "0" : "") << s % 60 << "s";
  } else {
    long long m = ms / 60'000;
    out << m / 60 << "h " << (m % 60 < 10 ? "0" : "") << m % 60 << "m";
  }
  return out.str();
}

asio::awaitable<Output> cmd_queue_stats(hydra::Hydra& hydra, const Request& req) {
  hydra::Queue queue(hydra);
  auto stats = co_await queue.stats(req.service);
  Output out;
  bj::object o;
  o["serviceName"] = req.service;
  o["received"] = stats.received;
  o["inProgress"] = stats.in_progress;
  o["leased"] = stats.leased;
  o["incomplete"] = stats.incomplete;
  o["claimed"] = stats.claimed;
  if (stats.oldest_age)
    o["oldestAgeMs"] = stats.oldest_age->count();
  else
    o["oldestAgeMs"] = nullptr;
  out.json = std::move(o);
  std::vector<std::vector<std::string>> rows;
  rows.push_back({req.service, std::to_string(stats.received), std::to_string(stats.in_progress),
                  std::to_string(stats.leased), std::to_string(stats.incomplete),
                  std::to_string(stats.claimed),
                  stats.oldest_age ? age_text(*stats.oldest_age) : "-"});
  out.text = table(
      {"SERVICE", "RECEIVED", "IN-PROGRESS", "LEASED", "INCOMPLETE", "CLAIMED", "OLDEST"}, rows);
  co_return out;
}

asio::awaitable<Output> cmd_queue_peek(hydra::Hydra& hydra, const Request& req) {
  hydra::Queue queue(hydra);
  auto items = co_await queue.peek(req.service, req.limit);
  Output out;
  bj::array a;
  for (const auto& raw : items) {
    // Items are stored as JSON; anything else written to the list is shown as a string.
    auto value = hydra::json::try_parse(raw);
    a.emplace_back(value ? std::move(*value) : bj::value(raw));
    out.text += raw + "\n";
  }
  out.json = std::move(a);
  co_return out;
}

/// Node's hydra-cli `message create`: a UMF template in the long form.
bj::object message_template() {
  bj::object input;
  input["to"] = "{serviceName here}:/";
  input["from"] = "hydra-cli:/";
  input["body"] = bj::object();
  return hydra::umf::Message::create(input).to_long();
}

/// The consumer-mode identity of the CLI; the timeouts make an unreachable Redis fail quickly.
bj::value cli_document(const Request& req) {
  auto ms = static_cast<long long>(req.timeout_seconds * 1000);
  bj::object redis{{"url", req.redis_url},
                   {"connectTimeoutMs", std::min<long long>(std::max<long long>(ms, 100), 3000)},
                   {"commandTimeoutMs", std::max<long long>(ms, 3000)}};
  return bj::object{{"hydra", bj::object{{"serviceName", "hydra-cli"},
                                         {"serviceIP", ""},
                                         {"servicePort", 0},
                                         {"serviceType", "non"},
                                         {"redis", std::move(redis)}}}};
}

/// Redis URL without its password, for error messages.
std::string safe_url(const std::string& url) {
  try {
    return hydra::redis::describe(hydra::redis::parse_url(url));
  } catch (const std::exception&) {
    return url;
  }
}

/// Node's makeAPIRequest from the CLI. Exit status 0 whenever an HTTP response arrived (whatever
/// its status, as Node prints whatever comes back); 1 when the client produced the answer itself
/// (invalid route 400, no/unreachable instance 503, timeout, Redis error) — those have no headers.
asio::awaitable<Output> cmd_rest(hydra::Hydra& hydra, const Request& req) {
  bj::object umf;
  umf["to"] = req.route;
  umf["from"] = "hydra-cli:/";
  umf["body"] = req.payload ? *req.payload : bj::value(bj::object());
  hydra::http::ApiClient client(hydra);
  auto result = co_await client.make_api_request(umf);
  Output out;
  out.json = result;
  const bool responded = result.contains("headers");
  out.exit_code = responded ? 0 : 1;
  out.text = field(result, "statusCode") + " " + field(result, "statusMessage") + "\n";
  if (const auto* payload = result.if_contains("payLoad"); payload && payload->is_string()) {
    out.text += std::string(payload->get_string());
    if (!out.text.empty() && out.text.back() != '\n') out.text += "\n";
  } else {
    pretty(out.text, result, 0);
    out.text += "\n";
  }
  co_return out;
}

asio::awaitable<Output> dispatch(hydra::Hydra& hydra, const Request& req) {
  const auto& c = req.command;
  if (c == "services") co_return co_await cmd_services(hydra, req);
  if (c == "nodes") co_return co_await cmd_nodes(hydra, req);
  if (c == "health") co_return co_await cmd_health(hydra, req);
  if (c == "healthlog") co_return co_await cmd_healthlog(hydra, req);
  if (c == "routes") co_return co_await cmd_routes(hydra, req);
  if (c.starts_with("cfg ")) co_return co_await cmd_cfg(hydra, req);
  if (c == "redis info") co_return co_await cmd_redis_info(hydra, req);
  if (c == "refresh") co_return co_await cmd_refresh(hydra, req);
  if (c == "message send") co_return co_await cmd_message_send(hydra, req);
  if (c == "message queue") co_return co_await cmd_message_queue(hydra, req);
  if (c == "queue stats") co_return co_await cmd_queue_stats(hydra, req);
  if (c == "queue peek") co_return co_await cmd_queue_peek(hydra, req);
  if (c == "rest") co_return co_await cmd_rest(hydra, req);
  throw CliError("unknown command: " + c);
}

asio::awaitable<Output> run(hydra::Hydra& hydra, const Request& req) {
  std::optional<Output> out;
  std::exception_ptr error;
  try {
    try {
      co_await hydra.init(cli_document(req));
    } catch (const hydra::Error& e) {
      if (e.code() == hydra::make_error_code(hydra::errc::invalid_config)) throw;
      // The library's message usually names Redis and the URL already; add them only if not.
      std::string message = e.what();
      if (message.find("Redis") == std::string::npos)
        message = "cannot reach Redis at " + safe_url(req.redis_url) + ": " + message;
      throw CliError(message);
    }
    out = co_await dispatch(hydra, req);
  } catch (...) {
    error = std::current_exception();
  }
  // Close the connections cleanly either way; a failure here must not hide the command's result.
  try {
    co_await hydra.shutdown();
  } catch (const std::exception&) {
  }
  if (error) std::rethrow_exception(error);
  co_return std::move(*out);
}

/// Reads and validates the file of `cfg push` before Redis is contacted.
bj::value read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CliError("cannot read file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw CliError("cannot read file " + path);
  auto value = hydra::json::try_parse(text.str());
  if (!value) throw CliError(path + " is not valid JSON");
  return std::move(*value);
}

/// Reads the UMF object of `message send/queue` from a file, or from stdin for "-".
bj::object read_message(const std::string& path) {
  std::optional<bj::value> value;
  std::string name = path;
  if (path == "-") {
    name = "standard input";
    std::ostringstream text;
    text << std::cin.rdbuf();
    if (std::cin.bad()) throw CliError("cannot read " + name);
    value = hydra::json::try_parse(text.str());
    if (!value) throw CliError(name + " is not valid JSON");
  } else {
    value = read_json_file(path);
  }
  if (!value->is_object()) throw CliError(name + " does not hold a JSON object (a UMF message)");
  return std::move(value->get_object());
}

}  // namespace

int main(int argc, char** argv) {
  Request req;
  const char* env_url = std::getenv("HYDRA_REDIS_URL");
  req.redis_url = env_url && *env_url ? env_url : kDefaultRedisUrl;

  CLI::App app{"hydra-cli: inspect and manage a Hydra registry in Redis", "hydra-cli"};
  app.add_option("--redis", req.redis_url,
                 "Redis URL (default: $HYDRA_REDIS_URL or redis://127.0.0.1:6379/15)");
  app.add_flag("--json", req.json, "print exactly one JSON document");
  app.add_option("--timeout", req.timeout_seconds, "seconds allowed to reach Redis (default 3)")
      ->check(CLI::PositiveNumber);
  app.require_subcommand(1);
  // Global options are also accepted after the subcommand (`health svc --json`).
  app.fallthrough();

  auto* services = app.add_subcommand("services", "list registered services");
  services->add_option("svc", req.service, "only this service");
  auto* nodes = app.add_subcommand("nodes", "list instances in the nodes hash");
  nodes->add_option("svc", req.service, "only this service");
  auto* health = app.add_subcommand("health", "health of present instances and their logs");
  health->add_option("svc", req.service, "only this service");
  auto* healthlog = app.add_subcommand("healthlog", "the health log of a service");
  healthlog->add_option("svc", req.service, "service name")->required();
  auto* routes = app.add_subcommand("routes", "registered routes");
  routes->add_option("svc", req.service, "only this service");
  auto* refresh = app.add_subcommand("refresh", "remove node entries not updated for 60 s");

  auto* cfg = app.add_subcommand("cfg", "stored service configurations");
  cfg->require_subcommand(1);
  auto* push = cfg->add_subcommand("push", "store a JSON file as svc:version");
  push->add_option("label", req.label, "svc:version")->required();
  push->add_option("file", req.file, "JSON file")->required();
  auto* pull = cfg->add_subcommand("pull", "print a stored configuration");
  pull->add_option("label", req.label, "svc:version")->required();
  auto* list = cfg->add_subcommand("list", "list stored versions of a service");
  list->add_option("svc", req.service, "service name")->required();
  auto* remove = cfg->add_subcommand("remove", "remove a stored version");
  remove->add_option("label", req.label, "svc:version")->required();

  auto* redis = app.add_subcommand("redis", "Redis server commands");
  redis->require_subcommand(1);
  auto* info = redis->add_subcommand("info", "print Redis INFO");

  auto* message = app.add_subcommand("message", "UMF messages");
  message->require_subcommand(1);
  auto* create = message->add_subcommand("create", "print a UMF message template");
  auto* send = message->add_subcommand(
      "send", "send a UMF message (fire-and-forget) to a present instance of its service");
  send->add_option("file", req.file, "UMF JSON file, or - for stdin")->required();
  auto* enqueue =
      message->add_subcommand("queue", "queue a UMF message for its service (LPUSH mqrecieved)");
  enqueue->add_option("file", req.file, "UMF JSON file, or - for stdin")->required();

  auto* queue = app.add_subcommand("queue", "work queues of a service");
  queue->require_subcommand(1);
  auto* stats = queue->add_subcommand("stats", "queue lengths and the age of the oldest item");
  stats->add_option("svc", req.service, "service name")->required();
  auto* peek = queue->add_subcommand("peek", "the oldest waiting items, oldest first");
  peek->add_option("svc", req.service, "service name")->required();
  peek->add_option("--limit", req.limit, "at most this many items (default 10)")
      ->check(CLI::NonNegativeNumber);

  auto* rest = app.add_subcommand(
      "rest", "HTTP call to a present instance (makeAPIRequest), e.g. 'svc:[get]/v1/x'");
  rest->add_option("route", req.route, "svc:[method]/path (or <iid>@svc:[method]/path)")
      ->required();
  rest->add_option("file", req.file, "JSON payload file (POST/PUT/PATCH)");

  CLI11_PARSE(app, argc, argv);

  for (auto* sub : {services, nodes, health, healthlog, routes, refresh})
    if (sub->parsed()) req.command = sub->get_name();
  for (auto* sub : {push, pull, list, remove})
    if (sub->parsed()) req.command = "cfg " + sub->get_name();
  if (info->parsed()) req.command = "redis info";
  for (auto* sub : {create, send, enqueue})
    if (sub->parsed()) req.command = "message " + sub->get_name();
  for (auto* sub : {stats, peek})
    if (sub->parsed()) req.command = "queue " + sub->get_name();
  if (rest->parsed()) req.command = "rest";

  try {
    if (req.command == "message create") {
      // Needs no Redis, as in Node's hydra-cli.
      auto umf = message_template();
      std::string text;
      if (req.json) {
        text = hydra::json::stringify(umf);
      } else {
        pretty(text, umf, 0);
      }
      std::cout << text << "\n";
      std::cout.flush();
      return 0;
    }
    if (req.command == "cfg push") req.document = read_json_file(req.file);
    if (req.command == "message send" || req.command == "message queue")
      req.message = read_message(req.file);
    if (req.command == "rest" && !req.file.empty()) {
      auto method = hydra::umf::parse_route(req.route).http_method.value_or("");
      if (method == "get" || method == "delete")
        throw CliError("a " + method + " request takes no payload");
      req.payload = read_json_file(req.file);
    }

    // The CLI's own identity and Redis come from the command line only: HYDRA_SERVICE would
    // rename it (or load a stored config), and HYDRA_REDIS_URL would replace the redis object
    // together with its timeouts.
    ::unsetenv("HYDRA_SERVICE");
    ::unsetenv("HYDRA_REDIS_URL");

    asio::io_context io;
    hydra::RegistryOptions options;
    options.connect_wait =
        std::chrono::milliseconds(static_cast<long long>(req.timeout_seconds * 1000));
    hydra::Hydra hydra(io.get_executor(), options);
    // Connection events and the library's own log entries would break the one-line error and
    // one-document output contracts; failures surface as exceptions instead.
    hydra.on_log([](const bj::object&) {});
    hydra.on_connection_state([](hydra::redis::State, const std::string&) {});

    std::optional<Output> out;
    std::exception_ptr error;
    asio::co_spawn(io, run(hydra, req), [&](std::exception_ptr e, Output o) {
      error = e;
      if (!e) out = std::move(o);
      // Nothing else is needed once the command is done, even if a reconnect timer is pending.
      io.stop();
    });
    io.run();
    if (error) std::rethrow_exception(error);
    if (!out) throw CliError("the command did not complete");

    if (req.json)
      std::cout << hydra::json::stringify(out->json) << "\n";
    else
      std::cout << out->text;
    std::cout.flush();
    return out->exit_code;
  } catch (const std::exception& e) {
    // One line, whatever the message contains.
    std::string message = e.what();
    std::replace(message.begin(), message.end(), '\n', ' ');
    std::cerr << "hydra-cli: " << message << std::endl;
    return 1;
  }
}
