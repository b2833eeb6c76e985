// Resolves serviceIP and servicePort against the machine's interfaces, DNS and free TCP ports.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <numeric>
#include <random>

#include "hydra/config.hpp"
#include "hydra/error.hpp"

namespace hydra {
namespace {

[[noreturn]] void fail(const std::string& message) {
  throw Error(errc::invalid_config, message);
}

bool is_ipv4(const std::string& text) {
  in_addr addr{};
  return inet_pton(AF_INET, text.c_str(), &addr) == 1;
}

// Node's net.isIP accepts a zone suffix ("fe80::1%eth0").
bool is_ip_literal(const std::string& text) {
  if (is_ipv4(text)) return true;
  in6_addr addr{};
  const std::string bare = text.substr(0, text.find('%'));
  return inet_pton(AF_INET6, bare.c_str(), &addr) == 1;
}

std::string system_lookup(const std::string& host) {
  // Node's dns.lookup prefers IPv4 results; ask for those first, then anything.
  for (int family : {AF_INET, AF_UNSPEC}) {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &result);
    if (rc != 0) {
      if (family == AF_UNSPEC) {
        throw std::runtime_error(gai_strerror(rc));
      }
      continue;
    }
    std::string address;
    for (addrinfo* ai = result; ai != nullptr && address.empty(); ai = ai->ai_next) {
      char buffer[INET6_ADDRSTRLEN] = {};
      if (ai->ai_family == AF_INET) {
        auto* sin = reinterpret_cast<sockaddr_in*>(ai->ai_addr);
        inet_ntop(AF_INET, &sin->sin_addr, buffer, sizeof buffer);
      } else if (ai->ai_family == AF_INET6) {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(ai->ai_addr);
        inet_ntop(AF_INET6, &sin6->sin6_addr, buffer, sizeof buffer);
      }
      address = buffer;
    }
    freeaddrinfo(result);
    if (!address.empty()) return address;
  }
  throw std::runtime_error("no address found");
}

enum class BindResult { free, busy, address_not_local };

// Binds and listens like the service's own listener will (SO_REUSEADDR, as Node and Asio set it),
// so a port in TIME_WAIT counts as free but one with a listener does not.
BindResult try_bind(const std::string& ip, std::uint16_t port) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_INET;
  in6_addr addr6{};
  in_addr addr4{};
  if (!ip.empty() && inet_pton(AF_INET, ip.c_str(), &addr4) == 1) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    sin->sin_family = AF_INET;
    sin->sin_addr = addr4;
    sin->sin_port = htons(port);
    length = sizeof(sockaddr_in);
  } else if (!ip.empty() && inet_pton(AF_INET6, ip.c_str(), &addr6) == 1) {
    family = AF_INET6;
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = addr6;
    sin6->sin6_port = htons(port);
    length = sizeof(sockaddr_in6);
  } else {
    // "" (automatic), a host name or a pattern: any local address.
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_ANY);
    sin->sin_port = htons(port);
    length = sizeof(sockaddr_in);
  }
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return BindResult::busy;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  BindResult result = BindResult::free;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    result = errno == EADDRNOTAVAIL ? BindResult::address_not_local : BindResult::busy;
  } else if (::listen(fd, 1) != 0) {
    result = BindResult::busy;
  }
  ::close(fd);
  return result;
}

std::mt19937_64& rng() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

}  // namespace

std::vector<InterfaceAddress> list_interfaces() {
  std::vector<InterfaceAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) continue;
    InterfaceAddress entry;
    entry.name = it->ifa_name != nullptr ? it->ifa_name : "";
    char buffer[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(it->ifa_addr)->sin_addr, buffer,
              sizeof buffer);
    entry.address = buffer;
    if (it->ifa_netmask != nullptr) {
      char mask[INET_ADDRSTRLEN] = {};
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(it->ifa_netmask)->sin_addr, mask,
                sizeof mask);
      entry.netmask = mask;
    }
    out.push_back(std::move(entry));
  }
  freeifaddrs(list);
  return out;
}

std::string resolve_service_ip(const ServiceConfig& config,
                               const std::vector<InterfaceAddress>& interfaces,
                               std::string (*lookup)(const std::string& host)) {
  const std::string& ip = config.service_ip;

  // (1) "10.0.*": the first interface address with that prefix; Node keeps the pattern itself
  // when nothing matches.
  if (const auto star = ip.find('*'); star != std::string::npos) {
    const std::string prefix = ip.substr(0, star);
    for (const auto& itf : interfaces) {
      if (itf.address.starts_with(prefix)) return itf.address;
    }
    return ip;
  }
  // (2) serviceDNS is published verbatim.
  if (!config.service_dns.empty()) return config.service_dns;
  // (3) A host name is looked up (Node: dns.lookup).
  if (!ip.empty() && !is_ip_literal(ip)) {
    std::string resolved;
    try {
      resolved = lookup(ip);
    } catch (const std::exception& e) {
      fail("hydra.serviceIP: cannot resolve host " + ("\"" + ip + "\"") + ": " + e.what());
    }
    if (resolved.empty()) fail("hydra.serviceIP: cannot resolve host \"" + ip + "\"");
    return resolved;
  }
  // (4) Automatic.
  if (ip.empty()) {
    if (!config.service_interface.empty()) {
      const auto slash = config.service_interface.find('/');
      if (slash == std::string::npos) {
        fail("hydra.serviceInterface: \"" + config.service_interface +
             "\" must have the form name/netmask, e.g. \"eth0/255.255.255.0\"");
      }
      const std::string name = config.service_interface.substr(0, slash);
      const std::string netmask = config.service_interface.substr(slash + 1);
      for (const auto& itf : interfaces) {
        if (itf.name == name && itf.netmask == netmask) return itf.address;
      }
      // Node leaves serviceIP "" when the interface is not there; the first usable address
      // below is a better guess than publishing an empty ip.
    }
    // Node skips only the literal 127.0.0.1 (other 127.x addresses count), in system order.
    for (const auto& itf : interfaces) {
      if (itf.address != "127.0.0.1") return itf.address;
    }
    // No other interface at all: Node would publish an empty ip nobody can reach; loopback at
    // least works for clients on the same machine.
    return "127.0.0.1";
  }
  // (5) A literal address.
  return ip;
}

std::string resolve_service_ip(const ServiceConfig& config) {
  return resolve_service_ip(config, list_interfaces(), &system_lookup);
}

namespace {

// Binds (without listening) a socket to the wildcard address on `port`, dual-stack like Node's
// default listener when IPv6 is available. Not SO_REUSEADDR: without it no other socket can bind
// the port while this one holds it, even one that sets the option. Returns the fd or -1.
int reserve_port(std::uint16_t port) {
  const int fd6 = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd6 >= 0) {
    const int zero = 0;
    ::setsockopt(fd6, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr = in6addr_any;
    sin6.sin6_port = htons(port);
    if (::bind(fd6, reinterpret_cast<sockaddr*>(&sin6), sizeof sin6) == 0) return fd6;
    const int error = errno;
    ::close(fd6);
    if (error == EADDRINUSE || error == EACCES) return -1;
  }
  // No usable IPv6: IPv4 only.
  const int fd4 = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd4 < 0) return -1;
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_ANY);
  sin.sin_port = htons(port);
  if (::bind(fd4, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0) return fd4;
  ::close(fd4);
  return -1;
}

ResolvedPort resolve_port(std::string_view spec, const std::string& bind_ip, bool reserve) {
  const PortSpec parsed = parse_port_spec(spec);
  // A single configured port is used as is (Node does no bind check and publishes it as a string).
  if (parsed.fixed) return ResolvedPort{*parsed.fixed, true};

  std::uint64_t total = 0;
  for (const auto& [low, high] : parsed.ranges)
    total += static_cast<std::uint64_t>(high - low) + 1;
  auto port_at = [&](std::uint64_t index) {
    for (const auto& [low, high] : parsed.ranges) {
      const std::uint64_t size = static_cast<std::uint64_t>(high - low) + 1;
      if (index < size) return static_cast<std::uint16_t>(low + index);
      index -= size;
    }
    return std::uint16_t{0};
  };

  // Small ranges: every port once in random order. Large ones: uniform random picks, enough to
  // find a free port on any realistic machine without scanning 64k sockets.
  constexpr std::uint64_t kMaxAttempts = 1000;
  std::vector<std::uint16_t> candidates;
  if (total <= kMaxAttempts) {
    candidates.resize(total);
    for (std::uint64_t i = 0; i < total; ++i)
      candidates[i] = port_at(i);
    std::shuffle(candidates.begin(), candidates.end(), rng());
  } else {
    std::uniform_int_distribution<std::uint64_t> pick(0, total - 1);
    candidates.reserve(kMaxAttempts);
    for (std::uint64_t i = 0; i < kMaxAttempts; ++i)
      candidates.push_back(port_at(pick(rng())));
  }

  // Node test-binds on the unresolved serviceIP, so a serviceIP that is not a local address
  // (a NAT/public address, a host name) makes every port look taken. Here an address that
  // cannot be bound (EADDRNOTAVAIL) falls back to checking on all interfaces instead.
  std::string ip = bind_ip;
  for (std::uint16_t port : candidates) {
    BindResult result = try_bind(ip, port);
    if (result == BindResult::address_not_local) {
      ip.clear();
      result = try_bind(ip, port);
    }
    if (result != BindResult::free) continue;
    if (!reserve) return ResolvedPort{port, false};
    // Node's check passed; hold the port for the server (a port that cannot be held is skipped).
    if (const int fd = reserve_port(port); fd >= 0) return ResolvedPort{port, false, fd};
  }
  const std::string shown = std::string(spec).empty() ? "1024-65535" : std::string(spec);
  fail("hydra.servicePort: No available service port in provided port range " + shown);
}

}  // namespace

ResolvedPort resolve_service_port(std::string_view spec, const std::string& bind_ip) {
  return resolve_port(spec, bind_ip, false);
}

ResolvedPort resolve_and_reserve_service_port(std::string_view spec, const std::string& bind_ip) {
  return resolve_port(spec, bind_ip, true);
}

}  // namespace hydra
