// Key names and Node-exact JSON values of the registry.
#include "registry/records.hpp"

#include <malloc.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <random>

#include "hydra/json.hpp"

namespace hydra::registry {

namespace {
std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) {
    if (!out.empty()) out += ':';
    out += p;
  }
  return out;
}
}  // namespace

std::string Keys::service(std::string_view svc) {
  return join({kPrefix, svc, "service"});
}
std::string Keys::presence(std::string_view svc, std::string_view iid) {
  return join({kPrefix, svc, iid, "presence"});
}
std::string Keys::health(std::string_view svc, std::string_view iid) {
  return join({kPrefix, svc, iid, "health"});
}
std::string Keys::health_log(std::string_view svc, std::string_view iid) {
  return join({kPrefix, svc, iid, "health:log"});
}
std::string Keys::routes(std::string_view svc) {
  return join({kPrefix, svc, "service:routes"});
}
std::string Keys::configs(std::string_view svc) {
  return join({kPrefix, svc, "configs"});
}
std::string Keys::service_channel(std::string_view svc) {
  return join({kChannelPrefix, svc});
}
std::string Keys::instance_channel(std::string_view svc, std::string_view iid) {
  std::string out;
  instance_channel_into(out, svc, iid);
  return out;
}
void Keys::instance_channel_into(std::string& out, std::string_view svc, std::string_view iid) {
  out.assign(kChannelPrefix);
  out += ':';
  out += svc;
  out += ':';
  out += iid;
}

void write_message_id(std::span<char, 36> out) {
  // A UUID v4 from 128 bits of a 64-bit Mersenne Twister seeded once per thread from the OS
  // entropy source (eight words through seed_seq), written straight into `out`: Boost's
  // generator draws 32 bits at a time through a distribution, and writes through a generic
  // formatter, five times the work for the same text.
  thread_local std::mt19937_64 rng = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(),
                       device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  std::uint64_t hi = rng();
  std::uint64_t lo = rng();
  hi = (hi & ~std::uint64_t{0xf000}) | 0x4000;  // version 4 (byte 6 high nibble)
  lo = (lo & ~(std::uint64_t{0xc0} << 56)) | (std::uint64_t{0x80} << 56);  // variant 10xx (byte 8)
  static constexpr char kHex[] = "0123456789abcdef";
  char* p = out.data();
  auto put_bytes = [&p](std::uint64_t bits, int from, int to) {
    for (int i = from; i < to; ++i) {
      const auto byte = static_cast<unsigned>(bits >> (56 - 8 * i)) & 0xff;
      *p++ = kHex[byte >> 4];
      *p++ = kHex[byte & 15];
    }
  };
  // 8-4-4-4-12 hex digits: bytes 0-3, 4-5, 6-7 | 8-9, 10-15.
  put_bytes(hi, 0, 4);
  *p++ = '-';
  put_bytes(hi, 4, 6);
  *p++ = '-';
  put_bytes(hi, 6, 8);
  *p++ = '-';
  put_bytes(lo, 0, 2);
  *p++ = '-';
  put_bytes(lo, 2, 8);
}

std::string new_message_id() {
  std::string id(36, '\0');
  write_message_id(std::span<char, 36>(id.data(), 36));
  return id;
}

std::string new_instance_id() {
  std::string id = new_message_id();
  std::string out;
  out.reserve(32);
  for (char c : id) {
    if (c != '-') out += c;
  }
  return out;
}

boost::json::object nodes_entry(const InstanceFacts& f, const std::string& updated_on) {
  boost::json::object o;
  o["serviceName"] = f.service_name;
  o["serviceDescription"] = f.service_description;
  o["version"] = f.version;
  o["instanceID"] = f.instance_id;
  o["updatedOn"] = updated_on;
  o["processID"] = f.process_id;
  o["ip"] = f.ip;
  if (f.port_fixed) {
    o["port"] = std::to_string(f.port);
  } else {
    o["port"] = f.port;
  }
  o["hostName"] = f.host_name;
  return o;
}

boost::json::object service_record(const InstanceFacts& f, const std::string& registered_on) {
  boost::json::object o;
  o["serviceName"] = f.service_name;
  if (f.service_type) o["type"] = *f.service_type;
  o["registeredOn"] = registered_on;
  return o;
}

boost::json::object health(const InstanceFacts& f, const ProcessSample& s,
                           const std::string& updated_on, const std::string& sampled_on) {
  boost::json::object o;
  if (!updated_on.empty()) o["updatedOn"] = updated_on;
  o["serviceName"] = f.service_name;
  o["instanceID"] = f.instance_id;
  o["hostName"] = f.host_name;
  o["sampledOn"] = sampled_on;
  o["processID"] = f.process_id;
  o["architecture"] = s.architecture;
  o["platform"] = s.platform;
  o["nodeVersion"] = s.runtime;
  boost::json::object mem;
  mem["rss"] = s.rss;
  mem["heapTotal"] = s.heap_total;
  mem["heapUsed"] = s.heap_used;
  // No JavaScript engine: nothing is allocated outside the C++ heap or in array buffers.
  mem["external"] = 0;
  mem["arrayBuffers"] = 0;
  o["memory"] = std::move(mem);
  o["uptimeSeconds"] = s.uptime_seconds;
  return o;
}

boost::json::object log_entry(const std::string& ts, const std::string& service_name,
                              const std::string& type, long long process_id,
                              const std::string& message) {
  boost::json::object o;
  o["ts"] = ts;
  o["serviceName"] = service_name;
  o["type"] = type;
  o["processID"] = process_id;
  o["msg"] = message;
  return o;
}

bool mentions_redis(std::string_view s) {
  static constexpr std::string_view kWord = "redis";
  if (s.size() < kWord.size()) return false;
  for (std::size_t i = 0; i + kWord.size() <= s.size(); ++i) {
    bool match = true;
    for (std::size_t j = 0; j < kWord.size() && match; ++j) {
      match = std::tolower(static_cast<unsigned char>(s[i + j])) == kWord[j];
    }
    if (match) return true;
  }
  return false;
}

namespace {
std::string string_field(const boost::json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return {};
  if (it->value().is_string()) return std::string(it->value().get_string());
  if (it->value().is_number()) return json::stringify(it->value());
  return {};
}
}  // namespace

std::optional<NodeEntry> parse_node_entry(std::string_view value,
                                          std::chrono::system_clock::time_point now) {
  auto parsed = json::try_parse(value);
  if (!parsed || !parsed->is_object()) return std::nullopt;
  auto& o = parsed->get_object();
  auto iid = o.find("instanceID");
  auto name = o.find("serviceName");
  if (iid == o.end() || !iid->value().is_string() || name == o.end() ||
      !name->value().is_string()) {
    return std::nullopt;
  }
  NodeEntry e;
  e.service_name = std::string(name->value().get_string());
  e.instance_id = std::string(iid->value().get_string());
  e.service_description = string_field(o, "serviceDescription");
  e.version = string_field(o, "version");
  e.updated_on = string_field(o, "updatedOn");
  if (auto p = o.find("processID"); p != o.end() && p->value().is_number()) {
    e.process_id = static_cast<long long>(p->value().to_number<double>());
  }
  e.ip = string_field(o, "ip");
  e.port = string_field(o, "port");
  e.host_name = string_field(o, "hostName");
  if (auto ts = json::parse_iso_timestamp(e.updated_on)) {
    e.elapsed = std::chrono::duration_cast<std::chrono::seconds>(now - *ts).count();
  } else {
    e.elapsed = -1;
  }
  e.json = std::move(o);
  return e;
}

std::optional<ServiceRecord> parse_service_record(std::string_view value) {
  auto parsed = json::try_parse(value);
  if (!parsed || !parsed->is_object()) return std::nullopt;
  auto& o = parsed->get_object();
  auto name = o.find("serviceName");
  if (name == o.end() || !name->value().is_string()) return std::nullopt;
  ServiceRecord r;
  r.service_name = std::string(name->value().get_string());
  if (auto t = o.find("type"); t != o.end() && t->value().is_string()) {
    r.type = std::string(t->value().get_string());
  }
  r.registered_on = string_field(o, "registeredOn");
  r.json = std::move(o);
  return r;
}

std::pair<std::string, std::string> parse_config_label(std::string_view label) {
  auto colon = label.find(':');
  if (colon == std::string_view::npos || label.find(':', colon + 1) != std::string_view::npos ||
      colon == 0 || colon + 1 == label.size()) {
    throw Error(errc::invalid_argument, "label not in this form: myservice:0.1.1.");
  }
  return {std::string(label.substr(0, colon)), std::string(label.substr(colon + 1))};
}

std::vector<std::string> automatic_routes(std::string_view svc) {
  std::string s(svc);
  return {"[get]/" + s, "[get]/" + s + "/", "[get]/" + s + "/:rest"};
}

std::string router_refresh_message(std::string_view svc, const std::string& mid,
                                   const std::string& ts) {
  boost::json::object body;
  body["action"] = "refresh";
  body["serviceName"] = svc;
  boost::json::object m;
  m["to"] = "hydra-router:/refresh";
  m["frm"] = std::string(svc) + ":/";
  m["mid"] = mid;
  m["ts"] = ts;
  m["ver"] = "UMF/1.4.6";
  m["bdy"] = std::move(body);
  return json::stringify(m);
}

namespace {
std::string node_arch(const std::string& machine) {
  if (machine == "x86_64") return "x64";
  if (machine == "aarch64") return "arm64";
  if (machine == "i386" || machine == "i686") return "ia32";
  if (machine.rfind("arm", 0) == 0) return "arm";
  return machine;
}

double process_uptime_seconds() {
  // Field 22 of /proc/self/stat is the start time in clock ticks after boot.
  std::ifstream stat("/proc/self/stat");
  std::ifstream up("/proc/uptime");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  double system_uptime = 0;
  up >> system_uptime;
  auto close = content.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(content.substr(close + 2));
  std::string field;
  long long start_ticks = 0;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 22) start_ticks = std::stoll(field);
  }
  double start = static_cast<double>(start_ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
  double uptime = system_uptime - start;
  return uptime > 0 ? uptime : 0;
}
}  // namespace

ProcessSample sample_process() {
  ProcessSample s;
  long page = sysconf(_SC_PAGESIZE);
  std::ifstream statm("/proc/self/statm");
  long long size = 0, resident = 0;
  statm >> size >> resident;
  s.rss = resident * page;
  struct mallinfo2 mi = mallinfo2();
  s.heap_total = static_cast<long long>(mi.arena + mi.hblkhd);
  s.heap_used = static_cast<long long>(mi.uordblks + mi.hblkhd);
  s.uptime_seconds = process_uptime_seconds();
  struct utsname u {};
  uname(&u);
  s.architecture = node_arch(u.machine);
  s.platform = "linux";
  s.runtime = std::string("hydra-cpp/") + HYDRA_VERSION;
  return s;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

}  // namespace hydra::registry
