// TLS (`rediss://`) for the Redis connection against a real TLS-enabled redis-server: verified
// connections by name, address and URL, rejection of untrusted certificates and wrong host names,
// the explicit verification opt-out, and mutual TLS with client certificates.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "hydra/error.hpp"
#include "hydra/redis/config.hpp"
#include "hydra/redis/connection.hpp"
#include "redis/transport.hpp"
#include "support/async.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
using hydra::redis::cmd;
using hydra::redis::Config;
using hydra::redis::Connection;
using hydra::redis::RequestOptions;
using hydra::redis::State;
using hydra::test::RedisServer;
using hydra::test::run_command;
using hydra::test::run_on;
using namespace std::chrono_literals;

namespace {

// A throw-away PKI: a CA, a server certificate for localhost/127.0.0.1 and a client certificate
// issued by it, and an unrelated CA with a client certificate of its own.
struct Pki {
  std::string dir;
  std::string ca;
  std::string server_cert;
  std::string server_key;
  std::string client_cert;
  std::string client_key;
  std::string other_ca;
  std::string other_client_cert;
  std::string other_client_key;
};

void openssl(std::vector<std::string> args, const std::string& cwd) {
  args.insert(args.begin(), "openssl");
  auto [status, out] = run_command(args, {}, 60s, cwd);
  if (status != 0) throw std::runtime_error("openssl " + args[1] + " failed: " + out);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text << '\n';
  if (!out) throw std::runtime_error("cannot write " + path);
}

void make_ca(const std::string& dir, const std::string& name, const std::string& cn) {
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc",
           "-keyout", name + ".key", "-out", name + ".crt", "-days", "2", "-subj", "/CN=" + cn,
           "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
           "keyUsage=critical,keyCertSign,cRLSign"},
          dir);
}

void make_leaf(const std::string& dir, const std::string& ca, const std::string& name,
               const std::string& cn, const std::string& extensions, int serial) {
  write_file(dir + "/" + name + ".ext", extensions);
  openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc",
           "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn},
          dir);
  openssl({"x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
           "-set_serial", std::to_string(serial), "-days", "2", "-out", name + ".crt", "-extfile",
           name + ".ext"},
          dir);
}

Pki make_pki() {
  char tmpl[] = "/tmp/hydra-tls-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  Pki pki;
  pki.dir = tmpl;
  make_ca(pki.dir, "ca", "Hydra Test CA");
  make_leaf(pki.dir, "ca", "server", "localhost",
            "basicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n"
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            2);
  make_leaf(pki.dir, "ca", "client", "hydra-client",
            "basicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=clientAuth",
            3);
  make_ca(pki.dir, "other-ca", "Unrelated Test CA");
  make_leaf(pki.dir, "other-ca", "other-client", "hydra-client",
            "basicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=clientAuth",
            4);
  auto at = [&](const std::string& file) { return pki.dir + "/" + file; };
  pki.ca = at("ca.crt");
  pki.server_cert = at("server.crt");
  pki.server_key = at("server.key");
  pki.client_cert = at("client.crt");
  pki.client_key = at("client.key");
  pki.other_ca = at("other-ca.crt");
  pki.other_client_cert = at("other-client.crt");
  pki.other_client_key = at("other-client.key");
  return pki;
}

// A private redis-server that listens for TLS only: the plain TCP port is disabled, so every TCP
// client of `port()` speaks TLS. The Unix socket stays plain for checks through redis-cli.
class TlsRedis {
 public:
  TlsRedis(const Pki& pki, bool require_client_cert) {
    for (int attempt = 0;; ++attempt) {
      port_ = hydra::test::free_port();
      try {
        server_ = std::make_unique<RedisServer>(std::vector<std::string>{
            "--port", "0", "--tls-port", std::to_string(port_), "--tls-cert-file", pki.server_cert,
            "--tls-key-file", pki.server_key, "--tls-ca-cert-file", pki.ca, "--tls-auth-clients",
            require_client_cert ? "yes" : "no"});
        return;
      } catch (const std::exception&) {
        if (attempt == 2) throw;
      }
    }
  }
  unsigned short port() const { return port_; }
  RedisServer& server() { return *server_; }

 private:
  unsigned short port_ = 0;
  std::unique_ptr<RedisServer> server_;
};

struct Attempt {
  std::error_code error;             // of the PING, empty when it succeeded
  std::string reply;                 // of the PING when it succeeded
  std::vector<State> states;         // every state the connection went through
  std::vector<std::string> details;  // the details of the `disconnected` states
  unsigned long connects = 0;
};

// Starts a connection, sends one PING allowed `timeout`, and records what happened.
Attempt ping(const Config& config, std::chrono::milliseconds timeout) {
  asio::io_context io;
  Attempt result;
  Connection conn(io.get_executor(), config);
  conn.set_state_handler([&](State s, const std::string& detail) {
    result.states.push_back(s);
    if (s == State::disconnected) result.details.push_back(detail);
  });
  conn.start();
  RequestOptions options;
  options.timeout = timeout;
  try {
    result.reply = run_on(io, [&]() -> asio::awaitable<std::string> {
      co_return (co_await conn.exec(cmd("PING"), options)).as_string();
    });
  } catch (const hydra::Error& e) {
    result.error = e.code();
  }
  result.connects = conn.connect_count();
  conn.stop();
  hydra::test::pump(io, 20ms);
  return result;
}

bool mentions(const std::vector<std::string>& details, const std::string& needle) {
  for (const auto& d : details) {
    if (d.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string joined(const std::vector<std::string>& details) {
  std::string out;
  for (const auto& d : details)
    out += d + "\n";
  return out;
}

class Tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      pki_ = std::make_unique<Pki>(make_pki());
    } catch (const std::exception& e) {
      setup_error_ = std::string("cannot create test certificates: ") + e.what();
      return;
    }
    // Whether redis-server can do TLS at all, checked with a handshake that does not involve
    // hydra: a server built without TLS either refuses the options or never completes it.
    try {
      TlsRedis probe(*pki_, false);
      auto [status, out] = run_command(
          {"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(probe.port()),
           "-CAfile", pki_->ca, "-verify_return_error"},
          {}, 10s);
      if (out.find("Verify return code: 0 (ok)") == std::string::npos) {
        skip_reason_ = "redis-server does not complete a TLS handshake: " + out;
      }
    } catch (const std::exception& e) {
      skip_reason_ = std::string("redis-server does not start with TLS: ") + e.what();
    }
  }

  static void TearDownTestSuite() {
    if (pki_) {
      std::error_code ec;
      std::filesystem::remove_all(pki_->dir, ec);
    }
    pki_.reset();
  }

  void SetUp() override {
    if (!setup_error_.empty()) FAIL() << setup_error_;
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  }

  static const Pki& pki() { return *pki_; }

  // Verified TLS to `host`:`port` trusting the test CA, with quick failure and retry.
  static Config tls_config(unsigned short port, const std::string& host = "localhost") {
    Config c;
    c.host = host;
    c.port = port;
    c.tls.enabled = true;
    c.tls.ca_file = pki().ca;
    c.connect_timeout = 1s;
    c.command_timeout = 5s;
    c.reconnect_min_delay = 20ms;
    c.reconnect_max_delay = 200ms;
    return c;
  }
  // The same, to localhost, presenting a client certificate (mutual TLS).
  static Config tls_config(unsigned short port, const std::string& cert_file,
                           const std::string& key_file) {
    Config c = tls_config(port);
    c.tls.cert_file = cert_file;
    c.tls.key_file = key_file;
    return c;
  }

  static inline std::unique_ptr<Pki> pki_;
  static inline std::string setup_error_;
  static inline std::string skip_reason_;
};

TEST_F(Tls, VerifiedConnectionByHostName) {
  TlsRedis redis(pki(), false);
  auto cfg = tls_config(redis.port(), "localhost");
  cfg.db = 2;  // SELECT goes over TLS as part of the connect handshake
  EXPECT_TRUE(cfg.tls.verify_peer);
  asio::io_context io;
  Connection conn(io.get_executor(), cfg);
  conn.start();
  run_on(io, [&]() -> asio::awaitable<void> {
    EXPECT_EQ((co_await conn.exec(cmd("PING"))).as_string(), "PONG");
    (co_await conn.exec(cmd("SET", "tls:key", "over tls"))).check();
    EXPECT_EQ((co_await conn.exec(cmd("GET", "tls:key"))).as_string(), "over tls");
  });
  EXPECT_TRUE(conn.connected());
  EXPECT_EQ(conn.connect_count(), 1u);
  EXPECT_EQ(redis.server().cli({"GET", "tls:key"}, 2), "over tls");
}

TEST_F(Tls, VerifiedConnectionByIpAddress) {
  TlsRedis redis(pki(), false);
  asio::io_context io;
  Connection conn(io.get_executor(), tls_config(redis.port(), "127.0.0.1"));
  conn.start();
  auto value = run_on(io, [&]() -> asio::awaitable<std::string> {
    EXPECT_EQ((co_await conn.exec(cmd("PING"))).as_string(), "PONG");
    (co_await conn.exec(cmd("SET", "ip", "127.0.0.1"))).check();
    co_return (co_await conn.exec(cmd("GET", "ip"))).as_string();
  });
  EXPECT_EQ(value, "127.0.0.1");
  EXPECT_EQ(conn.connect_count(), 1u);
}

TEST_F(Tls, RedissUrlConnectsWithVerification) {
  TlsRedis redis(pki(), false);
  auto cfg = hydra::redis::parse_url("rediss://localhost:" + std::to_string(redis.port()) + "/0");
  EXPECT_TRUE(cfg.tls.enabled);
  EXPECT_TRUE(cfg.tls.verify_peer);
  EXPECT_EQ(cfg.host, "localhost");
  EXPECT_EQ(cfg.port, redis.port());
  cfg.tls.ca_file = pki().ca;
  cfg.connect_timeout = 1s;
  cfg.reconnect_min_delay = 20ms;
  cfg.reconnect_max_delay = 200ms;
  asio::io_context io;
  Connection conn(io.get_executor(), cfg);
  conn.start();
  auto value = run_on(io, [&]() -> asio::awaitable<std::string> {
    EXPECT_EQ((co_await conn.exec(cmd("PING"))).as_string(), "PONG");
    (co_await conn.exec(cmd("SET", "url", "rediss"))).check();
    co_return (co_await conn.exec(cmd("GET", "url"))).as_string();
  });
  EXPECT_EQ(value, "rediss");
  EXPECT_EQ(redis.server().cli({"GET", "url"}), "rediss");
}

TEST_F(Tls, ManyPipelinedCommandsAndLargeValues) {
  TlsRedis redis(pki(), false);
  asio::io_context io;
  Connection conn(io.get_executor(), tls_config(redis.port()));
  conn.start();
  // Replies span many TLS records while requests keep being written: reads and writes overlap.
  const std::string big(1 << 20, 'x');
  constexpr int kCount = 500;
  int ok = 0;
  for (int i = 0; i < kCount; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          auto key = "k" + std::to_string(i);
          auto value = i % 50 == 0 ? big + std::to_string(i) : std::to_string(i);
          co_await conn.exec(cmd("SET", key, value));
          if ((co_await conn.exec(cmd("GET", key))).as_string() == value) ++ok;
        },
        asio::detached);
  }
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (ok < kCount && std::chrono::steady_clock::now() < deadline)
    io.run_for(10ms);
  EXPECT_EQ(ok, kCount);
  EXPECT_EQ(conn.connect_count(), 1u);
}

TEST_F(Tls, UnrelatedCaIsRejectedByDefault) {
  TlsRedis redis(pki(), false);
  auto cfg = tls_config(redis.port());
  cfg.tls.ca_file = pki().other_ca;
  ASSERT_TRUE(cfg.tls.verify_peer);  // nobody turned verification on: it is the default
  auto attempt = ping(cfg, 800ms);
  EXPECT_EQ(attempt.error, hydra::errc::timeout);
  EXPECT_EQ(attempt.connects, 0u);
  EXPECT_EQ(std::count(attempt.states.begin(), attempt.states.end(), State::connected), 0);
  ASSERT_FALSE(attempt.details.empty());
  EXPECT_TRUE(mentions(attempt.details, "TLS handshake")) << joined(attempt.details);
  EXPECT_TRUE(mentions(attempt.details, "certificate verify failed")) << joined(attempt.details);
}

TEST_F(Tls, SystemTrustStoreDoesNotTrustTheTestCa) {
  TlsRedis redis(pki(), false);
  auto cfg = tls_config(redis.port());
  cfg.tls.ca_file.clear();
  auto attempt = ping(cfg, 800ms);
  EXPECT_EQ(attempt.error, hydra::errc::timeout);
  EXPECT_EQ(attempt.connects, 0u);
  EXPECT_TRUE(mentions(attempt.details, "certificate verify failed")) << joined(attempt.details);
}

TEST_F(Tls, VerificationOptOutConnectsWithUnrelatedCa) {
  TlsRedis redis(pki(), false);
  auto cfg = tls_config(redis.port());
  cfg.tls.ca_file = pki().other_ca;
  cfg.tls.verify_peer = false;
  auto attempt = ping(cfg, 3s);
  EXPECT_FALSE(attempt.error) << attempt.error.message() << "\n" << joined(attempt.details);
  EXPECT_EQ(attempt.reply, "PONG");
  EXPECT_EQ(attempt.connects, 1u);
}

TEST_F(Tls, VerificationOptOutAlsoSkipsTheHostNameCheck) {
  TlsRedis redis(pki(), false);
  auto cfg = tls_config(redis.port());
  cfg.tls.sni = "wrong.example";
  cfg.tls.verify_peer = false;
  auto attempt = ping(cfg, 3s);
  EXPECT_FALSE(attempt.error) << attempt.error.message() << "\n" << joined(attempt.details);
  EXPECT_EQ(attempt.reply, "PONG");
}

TEST_F(Tls, ServerNameNotInCertificateIsRejected) {
  TlsRedis redis(pki(), false);
  auto cfg = tls_config(redis.port());
  cfg.tls.sni = "wrong.example";  // trusted chain, but the certificate is not for this name
  auto attempt = ping(cfg, 800ms);
  EXPECT_EQ(attempt.error, hydra::errc::timeout);
  EXPECT_EQ(attempt.connects, 0u);
  EXPECT_EQ(std::count(attempt.states.begin(), attempt.states.end(), State::connected), 0);
  EXPECT_TRUE(mentions(attempt.details, "TLS handshake")) << joined(attempt.details);
  EXPECT_TRUE(mentions(attempt.details, "certificate verify failed")) << joined(attempt.details);
}

// With TLS 1.3 the server checks the client certificate after the client has finished its side
// of the handshake, so the rejection (an alert) may arrive on a connection that already counts as
// connected: the command then fails with `disconnected` rather than `timeout`.
TEST_F(Tls, MutualTlsWithoutClientCertificateFails) {
  TlsRedis redis(pki(), true);
  auto attempt = ping(tls_config(redis.port()), 800ms);
  ASSERT_TRUE(attempt.error);
  EXPECT_TRUE(attempt.error == hydra::errc::timeout || attempt.error == hydra::errc::disconnected)
      << attempt.error.message();
  EXPECT_TRUE(attempt.reply.empty());
  EXPECT_TRUE(mentions(attempt.details, "alert")) << joined(attempt.details);
  EXPECT_TRUE(mentions(attempt.details, "certificate")) << joined(attempt.details);
  // The rejection is a failed connect (the handshake's PING sees it), so the connection never
  // counts as established and retries back off instead of spinning.
  EXPECT_EQ(attempt.connects, 0u);
  EXPECT_LT(attempt.details.size(), 10u) << joined(attempt.details);
}

TEST_F(Tls, MutualTlsWithClientCertificateFromUnrelatedCaFails) {
  TlsRedis redis(pki(), true);
  auto cfg = tls_config(redis.port(), pki().other_client_cert, pki().other_client_key);
  auto attempt = ping(cfg, 800ms);
  ASSERT_TRUE(attempt.error);
  EXPECT_TRUE(attempt.error == hydra::errc::timeout || attempt.error == hydra::errc::disconnected)
      << attempt.error.message();
  EXPECT_TRUE(attempt.reply.empty());
  EXPECT_TRUE(mentions(attempt.details, "alert")) << joined(attempt.details);
}

// The race behind the two tests above, made certain: the handshake's writes go on until the
// server's reset has arrived, so the failing write is one that comes after it. The alert still
// waits unread in the socket and is what the error reports, not "connection reset by peer".
TEST_F(Tls, AHandshakeWriteAfterTheServersResetReportsItsAlert) {
  TlsRedis redis(pki(), true);
  auto cfg = tls_config(redis.port(), pki().other_client_cert, pki().other_client_key);
  asio::io_context io;
  hydra::redis::Transport transport(io.get_executor());
  auto outcome = run_on(io, [&]() -> asio::awaitable<std::string> {
    co_await transport.connect(cfg, "localhost", redis.port());  // TLS 1.3: the client is done
    const std::string ping = "*1\r\n$4\r\nPING\r\n";
    asio::steady_timer timer(io);
    for (int i = 0; i < 100; ++i) {
      try {
        co_await transport.handshake_write(asio::buffer(ping));
      } catch (const boost::system::system_error& e) {
        co_return e.code().message();
      }
      timer.expires_after(50ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    co_return "every write succeeded";
  });
  EXPECT_NE(outcome.find("alert"), std::string::npos) << outcome;
  EXPECT_NE(outcome.find("unknown ca"), std::string::npos) << outcome;
}

TEST_F(Tls, MutualTlsWithClientCertificateSucceeds) {
  TlsRedis redis(pki(), true);
  auto cfg = tls_config(redis.port(), pki().client_cert, pki().client_key);
  asio::io_context io;
  Connection conn(io.get_executor(), cfg);
  conn.start();
  auto value = run_on(io, [&]() -> asio::awaitable<std::string> {
    EXPECT_EQ((co_await conn.exec(cmd("PING"))).as_string(), "PONG");
    (co_await conn.exec(cmd("SET", "mtls", "yes"))).check();
    co_return (co_await conn.exec(cmd("GET", "mtls"))).as_string();
  });
  EXPECT_EQ(value, "yes");
  EXPECT_EQ(conn.connect_count(), 1u);
  EXPECT_EQ(redis.server().cli({"GET", "mtls"}), "yes");
}

}  // namespace
