// The registry's pure parts: key names and Node-exact JSON values.
#include "registry/records.hpp"

#include <gtest/gtest.h>

#include <array>
#include <regex>
#include <set>

#include "hydra/json.hpp"

using namespace hydra::registry;

namespace {

InstanceFacts facts(bool fixed) {
  InstanceFacts f;
  f.service_name = "test-service";
  f.service_description = "A test";
  f.version = "1.2.3";
  f.instance_id = "cb3d7d29724f40659de32ec94e08b9dd";
  f.process_id = 7137;
  f.ip = "127.0.0.1";
  f.port = 5001;
  f.port_fixed = fixed;
  f.host_name = "vm";
  f.service_type = "test";
  return f;
}

TEST(RegistryKeys, MatchNodeHydra) {
  EXPECT_EQ(Keys::nodes(), "hydra:service:nodes");
  EXPECT_EQ(Keys::service("svc"), "hydra:service:svc:service");
  EXPECT_EQ(Keys::presence("svc", "abc"), "hydra:service:svc:abc:presence");
  EXPECT_EQ(Keys::health("svc", "abc"), "hydra:service:svc:abc:health");
  EXPECT_EQ(Keys::health_log("svc", "abc"), "hydra:service:svc:abc:health:log");
  EXPECT_EQ(Keys::routes("svc"), "hydra:service:svc:service:routes");
  EXPECT_EQ(Keys::configs("svc"), "hydra:service:svc:configs");
  EXPECT_EQ(Keys::service_channel("svc"), "hydra:service:mc:svc");
  EXPECT_EQ(Keys::instance_channel("svc", "abc"), "hydra:service:mc:svc:abc");
  // Into a reused buffer: whatever it held before is replaced.
  std::string buffer = "a much longer channel name that was written here before";
  Keys::instance_channel_into(buffer, "svc", "abc");
  EXPECT_EQ(buffer, "hydra:service:mc:svc:abc");
  Keys::instance_channel_into(buffer, "other-svc", "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(buffer, Keys::instance_channel("other-svc", "0123456789abcdef0123456789abcdef"));
}

TEST(RegistryRecords, NodesEntryIsByteIdenticalToTheCapture) {
  // From the Node 1.9.3 capture (hydra-facts/nodes-hash-entry.txt).
  EXPECT_EQ(
      hydra::json::stringify(nodes_entry(facts(true), "2026-11-21T04:49:51.382Z")),
      R"({"serviceName":"test-service","serviceDescription":"A test","version":"1.2.3","instanceID":"cb3d7d29724f40659de32ec94e08b9dd","updatedOn":"2026-11-21T04:49:51.382Z","processID":7137,"ip":"127.0.0.1","port":"5001","hostName":"vm"})");
  auto random = hydra::json::stringify(nodes_entry(facts(false), "x"));
  EXPECT_NE(random.find(R"("port":5001,)"), std::string::npos) << random;
}

TEST(RegistryRecords, ServiceRecordOmitsAbsentType) {
  auto f = facts(true);
  EXPECT_EQ(
      hydra::json::stringify(service_record(f, "2026-11-21T04:49:51.381Z")),
      R"({"serviceName":"test-service","type":"test","registeredOn":"2026-11-21T04:49:51.381Z"})");
  f.service_type.reset();
  EXPECT_EQ(hydra::json::stringify(service_record(f, "t")),
            R"({"serviceName":"test-service","registeredOn":"t"})");
}

TEST(RegistryRecords, HealthHasNodesFieldOrder) {
  ProcessSample s;
  s.rss = 94896128;
  s.heap_total = 50831360;
  s.heap_used = 22035928;
  s.uptime_seconds = 5.305038167;
  s.architecture = "x64";
  s.platform = "linux";
  s.runtime = "hydra-cpp/0.1.0";
  EXPECT_EQ(
      hydra::json::stringify(
          health(facts(true), s, "2026-11-21T04:49:56.383Z", "2026-11-21T04:49:56.384Z")),
      R"({"updatedOn":"2026-11-21T04:49:56.383Z","serviceName":"test-service","instanceID":"cb3d7d29724f40659de32ec94e08b9dd","hostName":"vm","sampledOn":"2026-11-21T04:49:56.384Z","processID":7137,"architecture":"x64","platform":"linux","nodeVersion":"hydra-cpp/0.1.0","memory":{"rss":94896128,"heapTotal":50831360,"heapUsed":22035928,"external":0,"arrayBuffers":0},"uptimeSeconds":5.305038167})");
  auto get_health = health(facts(true), s, "", "t");
  EXPECT_FALSE(get_health.contains("updatedOn"));
}

TEST(RegistryRecords, LogEntryAndRedisFilter) {
  EXPECT_EQ(
      hydra::json::stringify(log_entry("2026-11-21T04:49:51.394Z", "test-service", "info", 7137,
                                       "hello from service")),
      R"({"ts":"2026-11-21T04:49:51.394Z","serviceName":"test-service","type":"info","processID":7137,"msg":"hello from service"})");
  EXPECT_TRUE(mentions_redis("lost REDIS connection"));
  EXPECT_TRUE(mentions_redis("Redis"));
  EXPECT_FALSE(mentions_redis("redi"));
  EXPECT_FALSE(mentions_redis("nothing here"));
}

TEST(RegistryRecords, ParseNodeEntryAcceptsBothPortTypesAndRejectsGarbage) {
  auto now = std::chrono::system_clock::now();
  auto a = parse_node_entry(
      R"({"serviceName":"s","instanceID":"i","updatedOn":"2026-11-21T04:49:51.382Z","processID":5,"ip":"1.2.3.4","port":"5001"})",
      now);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->port, "5001");
  EXPECT_EQ(a->process_id, 5);
  auto b = parse_node_entry(R"({"serviceName":"s","instanceID":"i","port":1305})", now);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->port, "1305");
  EXPECT_EQ(b->elapsed, -1);
  EXPECT_FALSE(parse_node_entry("not json", now));
  EXPECT_FALSE(parse_node_entry("[1]", now));
  EXPECT_FALSE(parse_node_entry(R"({"serviceName":"s"})", now));
  EXPECT_FALSE(parse_node_entry(R"({"serviceName":1,"instanceID":"i"})", now));
}

TEST(RegistryRecords, ConfigLabel) {
  EXPECT_EQ(parse_config_label("svc:1.0.0"), (std::pair<std::string, std::string>{"svc", "1.0.0"}));
  for (const char* bad : {"svc", "svc:1:2", ":1", "svc:", ""}) {
    try {
      parse_config_label(bad);
      ADD_FAILURE() << bad;
    } catch (const hydra::Error& e) {
      EXPECT_EQ(std::string(e.what()), "label not in this form: myservice:0.1.1.");
    }
  }
}

TEST(RegistryRecords, IdsAndRefreshMessage) {
  EXPECT_TRUE(std::regex_match(new_instance_id(), std::regex("[0-9a-f]{32}")));
  EXPECT_TRUE(std::regex_match(
      new_message_id(),
      std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  EXPECT_NE(new_instance_id(), new_instance_id());
  {
    // Every ID a v4 UUID (version nibble 4, variant 10xx), all distinct, and every random hex
    // digit varying.
    const std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    std::set<std::string> ids;
    std::array<std::set<char>, 36> digits;
    for (int i = 0; i < 2000; ++i) {
      auto id = new_message_id();
      ASSERT_TRUE(std::regex_match(id, v4)) << id;
      for (std::size_t k = 0; k < id.size(); ++k)
        digits[k].insert(id[k]);
      ids.insert(std::move(id));
    }
    EXPECT_EQ(ids.size(), 2000u);
    for (std::size_t k = 0; k < digits.size(); ++k) {
      if (k == 8 || k == 13 || k == 18 || k == 23) {
        EXPECT_EQ(digits[k], std::set<char>{'-'});
      } else if (k == 14) {
        EXPECT_EQ(digits[k], std::set<char>{'4'});
      } else if (k == 19) {
        EXPECT_EQ(digits[k], (std::set<char>{'8', '9', 'a', 'b'}));
      } else {
        EXPECT_EQ(digits[k].size(), 16u) << "hex digit " << k;
      }
    }
  }
  EXPECT_EQ(automatic_routes("svc"),
            (std::vector<std::string>{"[get]/svc", "[get]/svc/", "[get]/svc/:rest"}));
  EXPECT_EQ(
      router_refresh_message("svc", "m", "t"),
      R"({"to":"hydra-router:/refresh","frm":"svc:/","mid":"m","ts":"t","ver":"UMF/1.4.6","bdy":{"action":"refresh","serviceName":"svc"}})");
}

TEST(RegistryRecords, ProcessSampleIsPlausible) {
  auto s = sample_process();
  EXPECT_GT(s.rss, 0);
  EXPECT_GE(s.uptime_seconds, 0);
  EXPECT_EQ(s.platform, "linux");
  EXPECT_FALSE(s.architecture.empty());
}

}  // namespace
