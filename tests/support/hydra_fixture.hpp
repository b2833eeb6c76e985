// Helpers for registry tests: a config document for a private redis-server.
#pragma once

#include <boost/json.hpp>
#include <string>

#include "support/redis_server.hpp"

namespace hydra::test {

/// `{"hydra": {serviceName, serviceIP: "127.0.0.1", servicePort, redis: {url}}}`.
inline boost::json::value service_document(const RedisServer& server, const std::string& name,
                                           boost::json::value port = 0, int db = 0) {
  boost::json::object redis;
  redis["url"] = server.url(db);
  boost::json::object hydra;
  hydra["serviceName"] = name;
  hydra["serviceIP"] = "127.0.0.1";
  hydra["servicePort"] = port;
  hydra["serviceType"] = "test";
  hydra["serviceDescription"] = "A test";
  hydra["serviceVersion"] = "1.2.3";
  hydra["redis"] = redis;
  boost::json::object doc;
  doc["hydra"] = hydra;
  doc["app"] = "kept";
  return doc;
}

}  // namespace hydra::test
