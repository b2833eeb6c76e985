// Unit tests for the service configuration: validation, files, environment, serviceIP and
// servicePort resolution.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

#include "hydra/config.hpp"
#include "hydra/error.hpp"

namespace {

namespace json = boost::json;
using hydra::ServiceConfig;
using ::testing::HasSubstr;

template <class Fn>
std::string config_error(Fn&& fn) {
  try {
    fn();
  } catch (const hydra::Error& e) {
    EXPECT_EQ(e.code(), hydra::errc::invalid_config);
    return e.what();
  }
  ADD_FAILURE() << "no hydra::Error thrown";
  return {};
}

ServiceConfig parse(std::string_view text) {
  return hydra::parse_config(json::parse(text));
}

std::string parse_error(std::string text) {
  return config_error([&] { parse(text); });
}

// ---------------------------------------------------------------------------------------------
// parse_config

TEST(ServiceConfigParse, MinimalConfigWithoutServiceIp) {
  // Node 1.9.3 crashes without serviceIP; here it means automatic.
  ServiceConfig c = parse(R"({"hydra":{"serviceName":"Hello-Svc"}})");
  EXPECT_EQ(c.service_name, "hello-svc");
  EXPECT_EQ(c.service_ip, "");
  EXPECT_EQ(c.service_dns, "");
  EXPECT_EQ(c.service_interface, "");
  EXPECT_EQ(c.service_port, "");
  EXPECT_FALSE(c.service_type.has_value());
  EXPECT_EQ(c.service_description, "not specified");
  EXPECT_EQ(c.service_version, "unspecified");
  EXPECT_EQ(c.redis.host, "127.0.0.1");
  EXPECT_EQ(c.redis.port, 6379);
  EXPECT_EQ(c.redis.db, 15);
  EXPECT_TRUE(c.plugins.empty());
}

TEST(ServiceConfigParse, FullConfig) {
  ServiceConfig c = parse(R"({
    "hydra": {
      "serviceName": "orders", "serviceIP": "10.0.0.5", "serviceDNS": "orders.svc",
      "serviceInterface": "eth0/255.255.255.0", "servicePort": 5001, "serviceType": "api",
      "serviceDescription": "Orders", "serviceVersion": "1.2.3",
      "plugins": {"hls": {"level": 3}},
      "redis": {"url": "redis://:pw@r:6390/4"}
    },
    "app": {"x": 1}
  })");
  EXPECT_EQ(c.service_name, "orders");
  EXPECT_EQ(c.service_ip, "10.0.0.5");
  EXPECT_EQ(c.service_dns, "orders.svc");
  EXPECT_EQ(c.service_interface, "eth0/255.255.255.0");
  EXPECT_EQ(c.service_port, "5001");
  ASSERT_TRUE(c.service_type.has_value());
  EXPECT_EQ(*c.service_type, "api");
  EXPECT_EQ(c.service_description, "Orders");
  EXPECT_EQ(c.service_version, "1.2.3");
  EXPECT_EQ(c.redis.host, "r");
  EXPECT_EQ(c.redis.port, 6390);
  EXPECT_EQ(c.redis.db, 4);
  EXPECT_EQ(c.redis.password, "pw");
  EXPECT_EQ(c.plugins.at("hls").at("level").as_int64(), 3);
  EXPECT_EQ(c.document.at("app").at("x").as_int64(), 1);
  EXPECT_TRUE(c.document.contains("hydra"));
}

TEST(ServiceConfigParse, EmptyStringsAndDefaults) {
  ServiceConfig c = parse(
      R"({"hydra":{"serviceName":"a","serviceType":"","serviceDescription":"","serviceVersion":"","servicePort":0}})");
  ASSERT_TRUE(c.service_type.has_value());
  EXPECT_EQ(*c.service_type, "");
  EXPECT_EQ(c.service_description, "not specified");
  EXPECT_EQ(c.service_version, "unspecified");
  EXPECT_EQ(c.service_port, "0");
}

TEST(ServiceConfigParse, ServicePortForms) {
  EXPECT_EQ(parse(R"({"hydra":{"serviceName":"a","servicePort":"7000-7010"}})").service_port,
            "7000-7010");
  EXPECT_EQ(parse(R"({"hydra":{"serviceName":"a","servicePort":"7000,8000-8010"}})").service_port,
            "7000,8000-8010");
  EXPECT_EQ(parse(R"({"hydra":{"serviceName":"a","servicePort":""}})").service_port, "");
  EXPECT_EQ(parse(R"({"hydra":{"serviceName":"a","servicePort":null}})").service_port, "");
  EXPECT_EQ(parse(R"({"hydra":{"serviceName":"a","servicePort":8080.0}})").service_port, "8080");
}

TEST(ServiceConfigParse, RedisFromConfig) {
  ServiceConfig c = parse(R"({"hydra":{"serviceName":"a","redis":{"host":"rh","port":"6000"}}})");
  EXPECT_EQ(c.redis.host, "rh");
  EXPECT_EQ(c.redis.port, 6000);
  EXPECT_EQ(c.redis.db, 0);
}

TEST(ServiceConfigParse, MaxMessageBytes) {
  EXPECT_FALSE(parse(R"({"hydra":{"serviceName":"a"}})").max_message_bytes);
  EXPECT_EQ(parse(R"({"hydra":{"serviceName":"a","maxMessageBytes":65536}})").max_message_bytes,
            65536u);
  EXPECT_EQ(parse(R"({"hydra":{"serviceName":"a","maxMessageBytes":1024.0}})").max_message_bytes,
            1024u);
  EXPECT_FALSE(parse(R"({"hydra":{"serviceName":"a","maxMessageBytes":null}})").max_message_bytes);
  // HYDRA_SERVICE's k=v form gives text.
  EXPECT_EQ(parse(R"({"hydra":{"serviceName":"a","maxMessageBytes":"2048"}})").max_message_bytes,
            2048u);
  for (const char* bad : {"0", "-5", "1.5", "\"1k\"", "true", "1e12"}) {
    EXPECT_THAT(
        parse_error(std::string(R"({"hydra":{"serviceName":"a","maxMessageBytes":)") + bad + "}}"),
        HasSubstr("hydra.maxMessageBytes: must be a whole number of bytes 1-536870912"))
        << bad;
  }
}

TEST(ServiceConfigParse, DocumentErrors) {
  EXPECT_THAT(config_error([] { hydra::parse_config(json::value(3)); }), HasSubstr("hydra"));
  EXPECT_THAT(parse_error(R"({"app":{}})"), HasSubstr("hydra: missing"));
  EXPECT_THAT(parse_error(R"({"hydra":"x"})"), HasSubstr("hydra: must be an object"));
}

TEST(ServiceConfigParse, ServiceNameErrors) {
  EXPECT_THAT(parse_error(R"({"hydra":{}})"),
              HasSubstr("hydra.serviceName: missing — every service needs a name"));
  EXPECT_THAT(parse_error(R"({"hydra":{"serviceName":""}})"), HasSubstr("hydra.serviceName"));
  EXPECT_THAT(parse_error(R"({"hydra":{"serviceName":7}})"),
              HasSubstr("hydra.serviceName: must be a string"));
  for (const char* bad : {"a:b", "a b", "a\tb", "a*", "a?", "a[1]", "x]"}) {
    json::value doc = {{"hydra", {{"serviceName", bad}}}};
    std::string msg = config_error([&] { hydra::parse_config(doc); });
    EXPECT_THAT(msg, HasSubstr("hydra.serviceName")) << bad;
    EXPECT_THAT(msg, HasSubstr(std::string("\"") + bad + "\"")) << bad;
    EXPECT_THAT(msg, HasSubstr("use letters, digits")) << bad;
  }
}

TEST(ServiceConfigParse, ValidateServiceNameLowerCases) {
  EXPECT_EQ(hydra::validate_service_name("My_Service.V2-x"), "my_service.v2-x");
}

TEST(ServiceConfigParse, FieldTypeErrors) {
  EXPECT_THAT(parse_error(R"({"hydra":{"serviceName":"a","servicePort":true}})"),
              HasSubstr("hydra.servicePort: must be a number or a string"));
  EXPECT_THAT(parse_error(R"({"hydra":{"serviceName":"a","servicePort":[1]}})"),
              HasSubstr("hydra.servicePort: must be a number or a string"));
  EXPECT_THAT(parse_error(R"({"hydra":{"serviceName":"a","servicePort":-1}})"),
              HasSubstr("hydra.servicePort"));
  EXPECT_THAT(parse_error(R"({"hydra":{"serviceName":"a","servicePort":70000}})"),
              HasSubstr("hydra.servicePort"));
  EXPECT_THAT(parse_error(R"({"hydra":{"serviceName":"a","servicePort":"80a"}})"),
              HasSubstr("hydra.servicePort"));
  EXPECT_THAT(parse_error(R"({"hydra":{"serviceName":"a","serviceIP":1}})"),
              HasSubstr("hydra.serviceIP: must be a string"));
  EXPECT_THAT(parse_error(R"({"hydra":{"serviceName":"a","serviceDNS":{}}})"),
              HasSubstr("hydra.serviceDNS: must be a string"));
  EXPECT_THAT(parse_error(R"({"hydra":{"serviceName":"a","serviceInterface":false}})"),
              HasSubstr("hydra.serviceInterface: must be a string"));
  EXPECT_THAT(parse_error(R"({"hydra":{"serviceName":"a","serviceInterface":"eth0"}})"),
              HasSubstr("hydra.serviceInterface"));
  EXPECT_THAT(parse_error(R"({"hydra":{"serviceName":"a","serviceType":1}})"),
              HasSubstr("hydra.serviceType: must be a string"));
  EXPECT_THAT(parse_error(R"({"hydra":{"serviceName":"a","serviceDescription":1}})"),
              HasSubstr("hydra.serviceDescription: must be a string"));
  EXPECT_THAT(parse_error(R"({"hydra":{"serviceName":"a","serviceVersion":2}})"),
              HasSubstr("hydra.serviceVersion: must be a string"));
  EXPECT_THAT(parse_error(R"({"hydra":{"serviceName":"a","plugins":[]}})"),
              HasSubstr("hydra.plugins: must be an object"));
  EXPECT_THAT(parse_error(R"({"hydra":{"serviceName":"a","redis":"redis://x"}})"),
              HasSubstr("hydra.redis: must be an object"));
  EXPECT_THAT(parse_error(R"({"hydra":{"serviceName":"a","redis":{"port":"abc"}}})"),
              HasSubstr("hydra.redis.port"));
}

// ---------------------------------------------------------------------------------------------
// parse_port_spec

TEST(ServicePortSpec, RandomForms) {
  for (const char* spec : {"", "0", "  "}) {
    hydra::PortSpec p = hydra::parse_port_spec(spec);
    EXPECT_FALSE(p.fixed.has_value()) << spec;
    ASSERT_EQ(p.ranges.size(), 1u);
    EXPECT_EQ(p.ranges[0], (std::pair<std::uint16_t, std::uint16_t>{1024, 65535}));
  }
}

TEST(ServicePortSpec, FixedPort) {
  EXPECT_EQ(hydra::parse_port_spec("5000").fixed, std::optional<std::uint16_t>(5000));
  EXPECT_EQ(hydra::parse_port_spec("1").fixed, std::optional<std::uint16_t>(1));
  EXPECT_EQ(hydra::parse_port_spec("65535").fixed, std::optional<std::uint16_t>(65535));
}

TEST(ServicePortSpec, RangesAndLists) {
  hydra::PortSpec p = hydra::parse_port_spec("7000-7010");
  EXPECT_FALSE(p.fixed);
  ASSERT_EQ(p.ranges.size(), 1u);
  EXPECT_EQ(p.ranges[0].first, 7000);
  EXPECT_EQ(p.ranges[0].second, 7010);

  p = hydra::parse_port_spec("7000, 8000-8010 ,9000-9000");
  EXPECT_FALSE(p.fixed);
  ASSERT_EQ(p.ranges.size(), 3u);
  EXPECT_EQ(p.ranges[0], (std::pair<std::uint16_t, std::uint16_t>{7000, 7000}));
  EXPECT_EQ(p.ranges[1], (std::pair<std::uint16_t, std::uint16_t>{8000, 8010}));
  EXPECT_EQ(p.ranges[2], (std::pair<std::uint16_t, std::uint16_t>{9000, 9000}));
}

TEST(ServicePortSpec, Errors) {
  for (const char* spec : {"abc", "65536", "-1", "7010-7000", "7000-", "7000,,8000", "0-10",
                           "1-2-3", "5000x", "+80", "70000-70001", ","}) {
    std::string msg = config_error([&] { hydra::parse_port_spec(spec); });
    EXPECT_THAT(msg, HasSubstr("hydra.servicePort")) << spec;
    EXPECT_THAT(msg, HasSubstr("\"7000-7010\"")) << spec;  // lists the allowed forms
  }
}

// ---------------------------------------------------------------------------------------------
// resolve_service_port

// A listening socket on 127.0.0.1 holding an ephemeral port for the test's lifetime.
class HeldPort {
 public:
  HeldPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 1) != 0) {
      throw std::runtime_error("cannot hold a port");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~HeldPort() { ::close(fd_); }
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

bool can_listen(const char* ip, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, ip, &addr.sin_addr);
  addr.sin_port = htons(port);
  const bool ok =
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd, 1) == 0;
  ::close(fd);
  return ok;
}

TEST(ServicePortResolve, FixedPortIsUsedWithoutBindCheck) {
  HeldPort held;  // even a port in use is returned as is, like Node
  hydra::ResolvedPort r = hydra::resolve_service_port(std::to_string(held.port()), "127.0.0.1");
  EXPECT_EQ(r.port, held.port());
  EXPECT_TRUE(r.fixed);
}

TEST(ServicePortResolve, RangePicksFreePortInside) {
  for (int i = 0; i < 5; ++i) {
    hydra::ResolvedPort r = hydra::resolve_service_port("41000-41100", "127.0.0.1");
    EXPECT_FALSE(r.fixed);
    EXPECT_GE(r.port, 41000);
    EXPECT_LE(r.port, 41100);
    EXPECT_TRUE(can_listen("127.0.0.1", r.port));
  }
}

TEST(ServicePortResolve, ListPicksFromItsRanges) {
  hydra::ResolvedPort r = hydra::resolve_service_port("41200,41300-41302", "");
  EXPECT_FALSE(r.fixed);
  EXPECT_TRUE(r.port == 41200 || (r.port >= 41300 && r.port <= 41302)) << r.port;
}

TEST(ServicePortResolve, RandomDefaultRange) {
  for (const char* spec : {"", "0"}) {
    hydra::ResolvedPort r = hydra::resolve_service_port(spec, "");
    EXPECT_FALSE(r.fixed);
    EXPECT_GE(r.port, 1024);
    EXPECT_TRUE(can_listen("0.0.0.0", r.port));
  }
}

TEST(ServicePortResolve, ExhaustedRangeFails) {
  HeldPort held;
  const std::string spec = std::to_string(held.port()) + "-" + std::to_string(held.port());
  std::string msg = config_error([&] { hydra::resolve_service_port(spec, "127.0.0.1"); });
  EXPECT_THAT(msg, HasSubstr("hydra.servicePort: No available service port in provided port "
                             "range " +
                             spec));
  // Also when checking on all interfaces: a listener on 127.0.0.1 blocks 0.0.0.0.
  EXPECT_THAT(config_error([&] { hydra::resolve_service_port(spec, ""); }),
              HasSubstr("No available service port"));
  // And in a list whose entries all name the held port.
  const std::string list = std::to_string(held.port()) + "," + spec;
  EXPECT_THAT(config_error([&] { hydra::resolve_service_port(list, "127.0.0.1"); }),
              HasSubstr("No available service port in provided port range " + list));
}

TEST(ServicePortResolve, NonLocalBindIpFallsBackToAnyAddress) {
  // 203.0.113.0/24 is TEST-NET-3: never a local address. Node would fail here.
  hydra::ResolvedPort r = hydra::resolve_service_port("41400-41420", "203.0.113.7");
  EXPECT_GE(r.port, 41400);
  EXPECT_LE(r.port, 41420);
  // A host name or pattern as bind address also means all interfaces.
  EXPECT_GE(hydra::resolve_service_port("41400-41420", "10.0.*").port, 41400);
}

// ---------------------------------------------------------------------------------------------
// resolve_service_ip

std::vector<hydra::InterfaceAddress> sample_interfaces() {
  return {{"lo", "127.0.0.1", "255.0.0.0"},
          {"eth0", "10.0.1.5", "255.255.255.0"},
          {"eth1", "172.17.0.3", "255.255.0.0"},
          {"eth2", "192.168.7.9", "255.255.255.0"}};
}

std::string lookup_ok(const std::string& host) {
  if (host == "svc.example") return "198.51.100.4";
  throw std::runtime_error("not found");
}

std::string lookup_must_not_run(const std::string& host) {
  ADD_FAILURE() << "unexpected lookup of " << host;
  return "0.0.0.0";
}

std::string lookup_empty(const std::string&) {
  return "";
}

ServiceConfig ip_config(std::string ip, std::string dns = "", std::string itf = "") {
  ServiceConfig c;
  c.service_name = "svc";
  c.service_ip = std::move(ip);
  c.service_dns = std::move(dns);
  c.service_interface = std::move(itf);
  return c;
}

TEST(ServiceIpResolve, PatternPicksFirstMatchingInterface) {
  EXPECT_EQ(
      hydra::resolve_service_ip(ip_config("172.17.*"), sample_interfaces(), &lookup_must_not_run),
      "172.17.0.3");
  EXPECT_EQ(hydra::resolve_service_ip(ip_config("1*"), sample_interfaces(), &lookup_must_not_run),
            "127.0.0.1");
}

TEST(ServiceIpResolve, PatternWithoutMatchKeepsPattern) {
  EXPECT_EQ(
      hydra::resolve_service_ip(ip_config("10.9.*"), sample_interfaces(), &lookup_must_not_run),
      "10.9.*");
}

TEST(ServiceIpResolve, PatternBeatsServiceDns) {
  EXPECT_EQ(hydra::resolve_service_ip(ip_config("10.0.*", "svc.dns"), sample_interfaces(),
                                      &lookup_must_not_run),
            "10.0.1.5");
}

TEST(ServiceIpResolve, ServiceDnsWinsOverEverythingElse) {
  EXPECT_EQ(hydra::resolve_service_ip(ip_config("", "orders.internal"), sample_interfaces(),
                                      &lookup_must_not_run),
            "orders.internal");
  EXPECT_EQ(hydra::resolve_service_ip(ip_config("svc.example", "orders.internal"),
                                      sample_interfaces(), &lookup_must_not_run),
            "orders.internal");
  EXPECT_EQ(hydra::resolve_service_ip(ip_config("10.0.0.1", "orders.internal"), sample_interfaces(),
                                      &lookup_must_not_run),
            "orders.internal");
}

TEST(ServiceIpResolve, HostNameIsLookedUp) {
  EXPECT_EQ(hydra::resolve_service_ip(ip_config("svc.example"), sample_interfaces(), &lookup_ok),
            "198.51.100.4");
}

TEST(ServiceIpResolve, LookupFailureNamesServiceIp) {
  EXPECT_THAT(config_error([] {
                hydra::resolve_service_ip(ip_config("nope.example"), sample_interfaces(),
                                          &lookup_ok);
              }),
              HasSubstr("hydra.serviceIP"));
  EXPECT_THAT(config_error([] {
                hydra::resolve_service_ip(ip_config("nope.example"), sample_interfaces(),
                                          &lookup_empty);
              }),
              HasSubstr("hydra.serviceIP"));
}

TEST(ServiceIpResolve, InterfaceAndNetmaskMustBothMatch) {
  EXPECT_EQ(hydra::resolve_service_ip(ip_config("", "", "eth2/255.255.255.0"), sample_interfaces(),
                                      &lookup_must_not_run),
            "192.168.7.9");
  EXPECT_EQ(hydra::resolve_service_ip(ip_config("", "", "eth1/255.255.0.0"), sample_interfaces(),
                                      &lookup_must_not_run),
            "172.17.0.3");
  // Wrong netmask: falls back to the first non-loopback address.
  EXPECT_EQ(hydra::resolve_service_ip(ip_config("", "", "eth2/255.255.0.0"), sample_interfaces(),
                                      &lookup_must_not_run),
            "10.0.1.5");
  EXPECT_THAT(config_error([] {
                hydra::resolve_service_ip(ip_config("", "", "eth2"), sample_interfaces(),
                                          &lookup_must_not_run);
              }),
              HasSubstr("hydra.serviceInterface"));
}

TEST(ServiceIpResolve, FirstNonLoopbackAddress) {
  EXPECT_EQ(hydra::resolve_service_ip(ip_config(""), sample_interfaces(), &lookup_must_not_run),
            "10.0.1.5");
  // Only the literal 127.0.0.1 is skipped, as in Node.
  std::vector<hydra::InterfaceAddress> itfs = {{"lo", "127.0.0.1", "255.0.0.0"},
                                               {"lo", "127.0.1.1", "255.0.0.0"}};
  EXPECT_EQ(hydra::resolve_service_ip(ip_config(""), itfs, &lookup_must_not_run), "127.0.1.1");
}

TEST(ServiceIpResolve, NoInterfacesFallsBackToLoopback) {
  EXPECT_EQ(hydra::resolve_service_ip(ip_config(""), {}, &lookup_must_not_run), "127.0.0.1");
  std::vector<hydra::InterfaceAddress> lo_only = {{"lo", "127.0.0.1", "255.0.0.0"}};
  EXPECT_EQ(hydra::resolve_service_ip(ip_config(""), lo_only, &lookup_must_not_run), "127.0.0.1");
}

TEST(ServiceIpResolve, LiteralIpKeptAsIs) {
  EXPECT_EQ(hydra::resolve_service_ip(ip_config("203.0.113.9"), sample_interfaces(),
                                      &lookup_must_not_run),
            "203.0.113.9");
  EXPECT_EQ(
      hydra::resolve_service_ip(ip_config("fe80::1"), sample_interfaces(), &lookup_must_not_run),
      "fe80::1");
}

TEST(ServiceIpResolve, RealInterfacesAndResolver) {
  auto itfs = hydra::list_interfaces();
  for (const auto& itf : itfs) {
    in_addr addr{};
    EXPECT_EQ(inet_pton(AF_INET, itf.address.c_str(), &addr), 1) << itf.address;
    EXPECT_FALSE(itf.name.empty());
  }
  EXPECT_EQ(hydra::resolve_service_ip(ip_config("localhost")), "127.0.0.1");
  std::string automatic = hydra::resolve_service_ip(ip_config(""));
  in_addr addr{};
  EXPECT_EQ(inet_pton(AF_INET, automatic.c_str(), &addr), 1) << automatic;
}

// ---------------------------------------------------------------------------------------------
// Environment

TEST(ServiceConfigEnv, RedisUrlReplacesRedisBranch) {
  json::value doc = json::parse(R"({"hydra":{"serviceName":"a","redis":{"host":"x","db":3}}})");
  hydra::EnvOverrides env;
  env.redis_url = "redis://envhost:6390/2";
  EXPECT_FALSE(hydra::apply_env(doc, env).has_value());
  EXPECT_EQ(json::serialize(doc.at("hydra").at("redis")), R"({"url":"redis://envhost:6390/2"})");
  ServiceConfig c = hydra::parse_config(doc);
  EXPECT_EQ(c.redis.host, "envhost");
  EXPECT_EQ(c.redis.db, 2);
}

TEST(ServiceConfigEnv, JsonServiceMergedIntoHydra) {
  json::value doc = json::parse(R"({"hydra":{"serviceName":"a","servicePort":5000},"app":1})");
  hydra::EnvOverrides env;
  env.service = R"(  {"serviceName":"b","serviceIP":"10.0.0.2"}  )";
  EXPECT_FALSE(hydra::apply_env(doc, env).has_value());
  ServiceConfig c = hydra::parse_config(doc);
  EXPECT_EQ(c.service_name, "b");
  EXPECT_EQ(c.service_ip, "10.0.0.2");
  EXPECT_EQ(c.service_port, "5000");  // untouched keys survive
  EXPECT_EQ(c.document.at("app").as_int64(), 1);
}

TEST(ServiceConfigEnv, PipeSeparatedPairsMergedAsStrings) {
  json::value doc = json::parse(R"({"hydra":{"serviceName":"a"}})");
  hydra::EnvOverrides env;
  env.service = "serviceName=b|servicePort=7000-7010|\nserviceType=api | token=a=b";
  EXPECT_FALSE(hydra::apply_env(doc, env).has_value());
  const auto& h = doc.at("hydra").as_object();
  EXPECT_EQ(h.at("serviceName").as_string(), "b");
  EXPECT_EQ(h.at("servicePort").as_string(), "7000-7010");
  EXPECT_EQ(h.at("serviceType").as_string(), "api");
  EXPECT_EQ(h.at("token").as_string(), "a=b");
}

TEST(ServiceConfigEnv, SinglePair) {
  json::value doc = json::parse(R"({"hydra":{"serviceName":"a"}})");
  hydra::EnvOverrides env;
  env.service = "servicePort=6000";
  EXPECT_FALSE(hydra::apply_env(doc, env).has_value());
  EXPECT_EQ(doc.at("hydra").at("servicePort").as_string(), "6000");
}

TEST(ServiceConfigEnv, CreatesHydraBranch) {
  json::value doc = json::object{};
  hydra::EnvOverrides env;
  env.redis_url = "redis://h/1";
  env.service = "serviceName=fromenv";
  hydra::apply_env(doc, env);
  ServiceConfig c = hydra::parse_config(doc);
  EXPECT_EQ(c.service_name, "fromenv");
  EXPECT_EQ(c.redis.host, "h");

  json::value null_doc;
  hydra::apply_env(null_doc, env);
  EXPECT_EQ(hydra::parse_config(null_doc).service_name, "fromenv");
}

TEST(ServiceConfigEnv, LabelReturnedWhenRedisUrlSet) {
  json::value doc = json::object{};
  hydra::EnvOverrides env;
  env.redis_url = "redis://h:6379/15";
  env.service = " orders:1.0.2 ";
  auto label = hydra::apply_env(doc, env);
  ASSERT_TRUE(label.has_value());
  EXPECT_EQ(*label, "orders:1.0.2");
  EXPECT_EQ(doc.at("hydra").at("redis").at("url").as_string(), "redis://h:6379/15");
}

TEST(ServiceConfigEnv, LabelIgnoredWithoutRedisUrl) {
  json::value doc = json::parse(R"({"hydra":{"serviceName":"a"}})");
  hydra::EnvOverrides env;
  env.service = "orders:1.0.2";
  EXPECT_FALSE(hydra::apply_env(doc, env).has_value());
  EXPECT_EQ(json::serialize(doc), R"({"hydra":{"serviceName":"a"}})");
}

TEST(ServiceConfigEnv, NoOverridesLeaveDocumentAlone) {
  json::value doc = json::parse(R"({"x":1})");
  EXPECT_FALSE(hydra::apply_env(doc, {}).has_value());
  EXPECT_EQ(json::serialize(doc), R"({"x":1})");
}

TEST(ServiceConfigEnv, Errors) {
  json::value doc = json::object{};
  hydra::EnvOverrides env;
  env.service = "{not json";
  EXPECT_THAT(config_error([&] { hydra::apply_env(doc, env); }), HasSubstr("HYDRA_SERVICE"));
  env.service = "[1]";  // not '{', no '|' or '=': a label, ignored without HYDRA_REDIS_URL
  EXPECT_FALSE(hydra::apply_env(doc, env).has_value());
  env.service = "a=1|oops";
  EXPECT_THAT(config_error([&] { hydra::apply_env(doc, env); }), HasSubstr("HYDRA_SERVICE"));
  json::value bad = json::parse(R"({"hydra":5})");
  env.service = "a=1";
  EXPECT_THAT(config_error([&] { hydra::apply_env(bad, env); }), HasSubstr("hydra"));
}

TEST(ServiceConfigEnv, ReadEnv) {
  ::setenv("HYDRA_REDIS_URL", "redis://e:1/2", 1);
  ::setenv("HYDRA_SERVICE", "svc:1.0", 1);
  auto env = hydra::read_env();
  EXPECT_EQ(env.redis_url, std::optional<std::string>("redis://e:1/2"));
  EXPECT_EQ(env.service, std::optional<std::string>("svc:1.0"));
  ::setenv("HYDRA_REDIS_URL", "", 1);  // empty counts as unset, as in Node
  ::unsetenv("HYDRA_SERVICE");
  env = hydra::read_env();
  EXPECT_FALSE(env.redis_url.has_value());
  EXPECT_FALSE(env.service.has_value());
  ::unsetenv("HYDRA_REDIS_URL");
}

// ---------------------------------------------------------------------------------------------
// Config files

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hydra-config-test-" + std::to_string(::getpid()) + "-" +
            std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  std::filesystem::path dir_;
};

TEST_F(ConfigFileTest, ReadsDocument) {
  const std::string path = write("config.json", R"({"hydra":{"serviceName":"Files"},"x":[1]})");
  json::value doc = hydra::read_config_file(path);
  EXPECT_EQ(hydra::parse_config(doc).service_name, "files");
  EXPECT_EQ(doc.at("x").at(0).as_int64(), 1);
}

TEST_F(ConfigFileTest, FollowsLocationRedirect) {
  const std::string real = write("real.json", R"({"hydra":{"serviceName":"real-svc"}})");
  const std::string middle = write("middle.json", R"({"location":")" + real + R"("})");
  const std::string first = write("first.json", R"({"location":")" + middle + R"("})");
  EXPECT_EQ(hydra::parse_config(hydra::read_config_file(first)).service_name, "real-svc");
}

TEST_F(ConfigFileTest, LocationLoopIsAnError) {
  const std::string self = (dir_ / "self.json").string();
  write("self.json", R"({"location":")" + self + R"("})");
  EXPECT_THAT(config_error([&] { hydra::read_config_file(self); }), HasSubstr("location"));
}

TEST_F(ConfigFileTest, MissingFile) {
  const std::string path = (dir_ / "absent.json").string();
  std::string msg = config_error([&] { hydra::read_config_file(path); });
  EXPECT_THAT(msg, HasSubstr(path));
  const std::string redirect = write("r.json", R"({"location":")" + path + R"("})");
  EXPECT_THAT(config_error([&] { hydra::read_config_file(redirect); }), HasSubstr(path));
}

TEST_F(ConfigFileTest, BadJsonNamesFileAndPosition) {
  const std::string path =
      write("bad.json", "{\n  \"hydra\": {\n    \"serviceName\": \"a\",\n  }\n}");
  std::string msg = config_error([&] { hydra::read_config_file(path); });
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("line 4"));
  const std::string trailing = write("trailing.json", "{} x");
  EXPECT_THAT(config_error([&] { hydra::read_config_file(trailing); }), HasSubstr("trailing.json"));
  const std::string truncated = write("truncated.json", "{\"hydra\": {");
  EXPECT_THAT(config_error([&] { hydra::read_config_file(truncated); }),
              HasSubstr("truncated.json"));
  const std::string array = write("array.json", "[1,2]");
  EXPECT_THAT(config_error([&] { hydra::read_config_file(array); }), HasSubstr("array.json"));
}

}  // namespace
