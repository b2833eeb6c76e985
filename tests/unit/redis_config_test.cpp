// Unit tests for redis::parse_url, redis::from_json and redis::describe.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "hydra/error.hpp"
#include "hydra/redis/config.hpp"

namespace {

using hydra::redis::Config;
using hydra::redis::describe;
using hydra::redis::from_json;
using hydra::redis::parse_url;
using ::testing::HasSubstr;

boost::json::object obj(std::string_view text) {
  return boost::json::parse(text).as_object();
}

// Runs `fn`, expects an invalid_config hydra::Error, and returns its message.
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

TEST(RedisConfigUrl, HostPortDb) {
  Config c = parse_url("redis://redis.example:6380/15");
  EXPECT_EQ(c.host, "redis.example");
  EXPECT_EQ(c.port, 6380);
  EXPECT_EQ(c.db, 15);
  EXPECT_TRUE(c.password.empty());
  EXPECT_TRUE(c.username.empty());
  EXPECT_FALSE(c.tls.enabled);
  EXPECT_TRUE(c.unix_path.empty());
}

TEST(RedisConfigUrl, NoPathSelectsDbZeroAndDefaultPort) {
  Config c = parse_url("redis://10.1.2.3");
  EXPECT_EQ(c.host, "10.1.2.3");
  EXPECT_EQ(c.port, 6379);
  EXPECT_EQ(c.db, 0);
  EXPECT_EQ(parse_url("redis://10.1.2.3:7000/").db, 0);
}

TEST(RedisConfigUrl, PasswordOnlyForm) {
  Config c = parse_url("redis://:s3cret@host:6379/2");
  EXPECT_EQ(c.password, "s3cret");
  EXPECT_EQ(c.username, "");
  EXPECT_EQ(c.host, "host");
  EXPECT_EQ(c.db, 2);
}

TEST(RedisConfigUrl, AclUserAndPassword) {
  Config c = parse_url("redis://alice:wonder@host/1");
  EXPECT_EQ(c.username, "alice");
  EXPECT_EQ(c.password, "wonder");
}

TEST(RedisConfigUrl, PercentDecodedCredentials) {
  Config c = parse_url("redis://us%40er:p%3Aa%2Fss%20w@host:6379/0");
  EXPECT_EQ(c.username, "us@er");
  EXPECT_EQ(c.password, "p:a/ss w");
}

TEST(RedisConfigUrl, RedissEnablesVerifiedTls) {
  Config c = parse_url("rediss://secure.example:6380/3");
  EXPECT_TRUE(c.tls.enabled);
  EXPECT_TRUE(c.tls.verify_peer);
  EXPECT_EQ(c.host, "secure.example");
  EXPECT_EQ(c.port, 6380);
  EXPECT_EQ(c.db, 3);
}

TEST(RedisConfigUrl, SchemeIsCaseInsensitive) {
  EXPECT_EQ(parse_url("REDIS://h/4").db, 4);
  EXPECT_TRUE(parse_url("Rediss://h").tls.enabled);
}

TEST(RedisConfigUrl, Ipv6Host) {
  Config c = parse_url("redis://[::1]:6390/5");
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.port, 6390);
  EXPECT_EQ(describe(c), "redis://[::1]:6390/5");
}

TEST(RedisConfigUrl, UnixSocketWithDb) {
  Config c = parse_url("unix:///var/run/redis/redis.sock?db=7");
  EXPECT_EQ(c.unix_path, "/var/run/redis/redis.sock");
  EXPECT_EQ(c.db, 7);
  EXPECT_EQ(parse_url("unix:///tmp/r.sock").db, 0);
}

TEST(RedisConfigUrl, UnixSocketErrors) {
  EXPECT_THAT(config_error([] { parse_url("unix://"); }), HasSubstr("hydra.redis.url"));
  EXPECT_THAT(config_error([] { parse_url("unix:///tmp/r.sock?db=x"); }),
              HasSubstr("hydra.redis.db"));
}

TEST(RedisConfigUrl, LegacyHostOnly) {
  Config c = parse_url("127.0.0.1");
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, 6379);
  EXPECT_EQ(c.db, 0);
  Config d = parse_url("redis-host:6390");
  EXPECT_EQ(d.host, "redis-host");
  EXPECT_EQ(d.port, 6390);
}

TEST(RedisConfigUrl, BadScheme) {
  std::string msg = config_error([] { parse_url("http://host:6379"); });
  EXPECT_THAT(msg, HasSubstr("hydra.redis.url"));
  EXPECT_THAT(msg, HasSubstr("unsupported scheme \"http\""));
  EXPECT_THAT(msg, HasSubstr("redis://, rediss:// or unix://"));
}

TEST(RedisConfigUrl, BadPort) {
  EXPECT_THAT(config_error([] { parse_url("redis://host:0/1"); }), HasSubstr("hydra.redis.port"));
  EXPECT_THAT(config_error([] { parse_url("redis://host:70000/1"); }),
              HasSubstr("hydra.redis.port: must be an integer 1-65535, got \"70000\""));
  EXPECT_THAT(config_error([] { parse_url("redis://host:abc/1"); }),
              HasSubstr("hydra.redis.port: must be an integer 1-65535, got \"abc\""));
  EXPECT_THAT(config_error([] { parse_url("redis://u:p@[::1]:x9/1"); }), HasSubstr("got \"x9\""));
  EXPECT_THAT(config_error([] { parse_url("redis://host:/1"); }), HasSubstr("hydra.redis.port"));
}

TEST(RedisConfigUrl, BadDb) {
  EXPECT_THAT(config_error([] { parse_url("redis://host/abc"); }),
              HasSubstr("hydra.redis.db: must be an integer 0-"));
  EXPECT_THAT(config_error([] { parse_url("redis://host/-1"); }), HasSubstr("hydra.redis.db"));
}

TEST(RedisConfigUrl, EmptyUrl) {
  EXPECT_THAT(config_error([] { parse_url(""); }), HasSubstr("hydra.redis.url"));
}

TEST(RedisConfigJson, EmptyObjectIsNodeDefault) {
  Config c = from_json(boost::json::object{});
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, 6379);
  EXPECT_EQ(c.db, 15);
  EXPECT_EQ(describe(c), "redis://127.0.0.1:6379/15");
}

TEST(RedisConfigJson, UrlOnly) {
  Config c = from_json(obj(R"({"url":"redis://:pw@r1:6400/9"})"));
  EXPECT_EQ(c.host, "r1");
  EXPECT_EQ(c.port, 6400);
  EXPECT_EQ(c.db, 9);
  EXPECT_EQ(c.password, "pw");
}

TEST(RedisConfigJson, ExplicitKeysOverrideUrl) {
  Config c = from_json(obj(
      R"({"url":"redis://u:pw@r1:6400/9","host":"r2","port":6500,"db":3,"password":"other","username":"bob"})"));
  EXPECT_EQ(c.host, "r2");
  EXPECT_EQ(c.port, 6500);
  EXPECT_EQ(c.db, 3);
  EXPECT_EQ(c.password, "other");
  EXPECT_EQ(c.username, "bob");
}

TEST(RedisConfigJson, NumericStringsAccepted) {
  Config c = from_json(obj(R"({"host":"h","port":"6381","db":"4"})"));
  EXPECT_EQ(c.port, 6381);
  EXPECT_EQ(c.db, 4);
}

TEST(RedisConfigJson, HostWithoutUrlUsesDbZero) {
  // Node: Object.assign({db: 0}, urlParts, redisConfig): no URL and no db means DB 0.
  Config c = from_json(obj(R"({"host":"redis.local"})"));
  EXPECT_EQ(c.host, "redis.local");
  EXPECT_EQ(c.port, 6379);
  EXPECT_EQ(c.db, 0);
}

TEST(RedisConfigJson, LegacyUrlIsHost) {
  Config c = from_json(obj(R"({"url":"127.0.0.1","port":6379,"db":15})"));
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, 6379);
  EXPECT_EQ(c.db, 15);
}

TEST(RedisConfigJson, TlsTrueAndObject) {
  EXPECT_TRUE(from_json(obj(R"({"url":"redis://h","tls":true})")).tls.enabled);
  Config c = from_json(obj(
      R"({"url":"redis://h","tls":{"ca":"/ca.pem","cert":"/c.pem","key":"/k.pem","servername":"sni.example","rejectUnauthorized":false}})"));
  EXPECT_TRUE(c.tls.enabled);
  EXPECT_FALSE(c.tls.verify_peer);
  EXPECT_EQ(c.tls.ca_file, "/ca.pem");
  EXPECT_EQ(c.tls.cert_file, "/c.pem");
  EXPECT_EQ(c.tls.key_file, "/k.pem");
  EXPECT_EQ(c.tls.sni, "sni.example");
  EXPECT_TRUE(from_json(obj(R"({"url":"redis://h","tls":{}})")).tls.verify_peer);
}

TEST(RedisConfigJson, TlsErrors) {
  EXPECT_THAT(config_error([] { from_json(obj(R"({"tls":"yes"})")); }),
              HasSubstr("hydra.redis.tls"));
  EXPECT_THAT(config_error([] { from_json(obj(R"({"tls":{"cert":"/c.pem"}})")); }),
              HasSubstr("hydra.redis.tls"));
  EXPECT_THAT(config_error([] { from_json(obj(R"({"tls":{"rejectUnauthorized":"no"}})")); }),
              HasSubstr("hydra.redis.tls.rejectUnauthorized"));
}

TEST(RedisConfigJson, Timeouts) {
  Config c = from_json(obj(R"({"url":"redis://h","connectTimeoutMs":250,"commandTimeoutMs":0})"));
  EXPECT_EQ(c.connect_timeout.count(), 250);
  EXPECT_EQ(c.command_timeout.count(), 0);
  EXPECT_THAT(config_error([] { from_json(obj(R"({"connectTimeoutMs":-5})")); }),
              HasSubstr("hydra.redis.connectTimeoutMs"));
  EXPECT_THAT(config_error([] { from_json(obj(R"({"commandTimeoutMs":"soon"})")); }),
              HasSubstr("hydra.redis.commandTimeoutMs"));
}

TEST(RedisConfigJson, EarlyWriteThreshold) {
  EXPECT_EQ(from_json(obj(R"({"url":"redis://h"})")).early_write_threshold,
            Config{}.early_write_threshold);
  EXPECT_EQ(from_json(obj(R"({"earlyWriteThreshold":0})")).early_write_threshold, 0u);
  EXPECT_EQ(from_json(obj(R"({"earlyWriteThreshold":32})")).early_write_threshold, 32u);
  EXPECT_EQ(from_json(obj(R"({"earlyWriteThreshold":"4"})")).early_write_threshold, 4u);
  for (const char* bad : {R"({"earlyWriteThreshold":-1})", R"({"earlyWriteThreshold":2.5})",
                          R"({"earlyWriteThreshold":true})", R"({"earlyWriteThreshold":1e7})"}) {
    EXPECT_THAT(config_error([bad] { from_json(obj(bad)); }),
                HasSubstr("hydra.redis.earlyWriteThreshold: must be an integer 0-1000000"))
        << bad;
  }
}

TEST(RedisConfigJson, FieldErrorsNameTheField) {
  EXPECT_THAT(config_error([] { from_json(obj(R"({"port":"abc"})")); }),
              HasSubstr("hydra.redis.port: must be an integer 1-65535, got \"abc\""));
  EXPECT_THAT(config_error([] { from_json(obj(R"({"port":65536})")); }),
              HasSubstr("hydra.redis.port"));
  EXPECT_THAT(config_error([] { from_json(obj(R"({"port":63.5})")); }),
              HasSubstr("hydra.redis.port"));
  EXPECT_THAT(config_error([] { from_json(obj(R"({"db":-1})")); }),
              HasSubstr("hydra.redis.db: must be an integer 0-"));
  EXPECT_THAT(config_error([] { from_json(obj(R"({"db":"x"})")); }), HasSubstr("hydra.redis.db"));
  EXPECT_THAT(config_error([] { from_json(obj(R"({"url":5})")); }), HasSubstr("hydra.redis.url"));
  EXPECT_THAT(config_error([] { from_json(obj(R"({"host":true})")); }),
              HasSubstr("hydra.redis.host"));
  EXPECT_THAT(config_error([] { from_json(obj(R"({"password":1})")); }),
              HasSubstr("hydra.redis.password"));
  EXPECT_THAT(config_error([] { from_json(obj(R"({"url":"ftp://x"})")); }),
              HasSubstr("unsupported scheme \"ftp\""));
}

TEST(RedisConfigDescribe, HidesPassword) {
  EXPECT_EQ(describe(parse_url("redis://:secret@h:6379/2")), "redis://:***@h:6379/2");
  EXPECT_EQ(describe(parse_url("rediss://al%20ice:secret@h:6380/0")),
            "rediss://al%20ice:***@h:6380/0");
  EXPECT_EQ(describe(parse_url("redis://bob@h")), "redis://bob@h:6379/0");
  EXPECT_EQ(describe(parse_url("unix:///tmp/r.sock?db=3")), "unix:///tmp/r.sock?db=3");
  const std::string text = describe(parse_url("redis://:hunter2@h/1"));
  EXPECT_EQ(text.find("hunter2"), std::string::npos);
}

}  // namespace
