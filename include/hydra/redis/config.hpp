/// @brief How to reach a Redis server: endpoint, credentials, TLS, timeouts and reconnect policy.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace hydra::redis {

/// TLS settings for `rediss://` connections. Verification is on unless explicitly disabled.
struct TlsOptions {
  /// Use TLS (set by a `rediss://` URL or `tls: true` in the JSON config).
  bool enabled = false;
  /// Verify the server certificate chain and host name. Turning it off is an explicit opt-out.
  bool verify_peer = true;
  /// PEM file of trusted CAs; empty = the system's default trust store.
  std::string ca_file;
  /// PEM client certificate and private key for mutual TLS; both or neither.
  std::string cert_file;
  std::string key_file;
  /// Server name sent in SNI and checked against the certificate; empty = the host.
  std::string sni;
};

/// Connection settings. Every field has a default; `parse_url`/`from_json` fill them from the
/// Node-Hydra-style configuration.
struct Config {
  /// TCP host name or address (ignored when `unix_path` is set).
  std::string host = "127.0.0.1";
  /// TCP port.
  std::uint16_t port = 6379;
  /// Path of a Unix domain socket; when non-empty it is used instead of host/port.
  std::string unix_path;
  /// Database selected after connecting (SELECT is skipped for 0).
  int db = 0;
  /// ACL user name; empty = the default user (AUTH with the password only).
  std::string username;
  /// Password; empty = no AUTH.
  std::string password;
  /// TLS (for `rediss://`).
  TlsOptions tls;
  /// CLIENT SETNAME sent after connecting; empty = none.
  std::string client_name;
  /// Time allowed for one connect attempt (TCP + TLS handshake + AUTH/SELECT).
  std::chrono::milliseconds connect_timeout{3000};
  /// Default time allowed for a command; zero = no limit. Per-command overrides exist.
  std::chrono::milliseconds command_timeout{5000};
  /// Reconnect backoff: the first delay, doubled after each failure up to `reconnect_max_delay`.
  std::chrono::milliseconds reconnect_min_delay{100};
  std::chrono::milliseconds reconnect_max_delay{2000};
  /// How many failed connect attempts in a row before giving up; 0 = retry forever.
  unsigned max_reconnect_attempts = 0;
  /// A PING is sent this often on a connected link; when it times out (`command_timeout`) the
  /// link is reset. This is what notices a dead peer behind a proxy or a half-open TCP link on a
  /// subscriber connection, which otherwise never sends anything. Zero disables it.
  std::chrono::milliseconds health_check_interval{5000};
  /// The executor runs one handler at a time (one thread runs it, or it is a strand) and every
  /// call comes from it: the connection then skips its internal strand, queues commands and
  /// completes them directly, so a command costs no queue hop. Leave it false when several
  /// threads run the executor or call the connection.
  bool single_threaded = false;
  /// Requests queued by this connection's own reply handlers (follow-ups, as a queue worker's
  /// next command) are written early, while the rest of the replies just read are still being
  /// handled, in groups of half the requests the connection has outstanding but never fewer
  /// than this many; at most two such writes per batch of replies, and only when the
  /// socket takes them without waiting. Redis then works on one group while the client handles
  /// the replies to another, instead of the two taking turns. Zero: no early writes. Either way
  /// the follow-ups left are written when the reader has handed out every reply it read, and
  /// requests made from anywhere else by the writer, once per turn of the event loop. TCP and
  /// Unix sockets; over TLS the writer always writes.
  std::size_t early_write_threshold = 2;
};

/// Parses `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS) and
/// `unix:///path/to/socket[?db=N]`. A URL without a scheme is a host name (Node Hydra's legacy
/// form). A URL without a path selects DB 0. Throws `hydra::Error(errc::invalid_config)` naming the
/// problem.
Config parse_url(std::string_view url);

/// Builds a Config from a Node-Hydra-style `hydra.redis` object: `url` parsed first, then the
/// explicit `host`, `port`, `db`, `password`, `username` keys override its parts. Also accepts
/// `tls` (bool or object with `ca`, `cert`, `key`, `servername`, `rejectUnauthorized`) and the
/// hydra-cpp extensions `connectTimeoutMs`, `commandTimeoutMs`, `healthCheckIntervalMs` and
/// `earlyWriteThreshold` (docs/configuration.md). An empty object yields the Node
/// default `redis://127.0.0.1:6379/15`. Throws `hydra::Error(errc::invalid_config)`.
Config from_json(const boost::json::object& redis);

/// The URL of a Config for logs, with the password replaced by `***`.
std::string describe(const Config& config);

}  // namespace hydra::redis
