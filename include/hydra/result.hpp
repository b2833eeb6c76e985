/// @brief Node Hydra's response objects: `{statusCode, statusMessage, statusDescription, result}`
/// with its exact status texts, used for the outcome of sends, queueing and HTTP calls.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

namespace hydra {

/// Node's status message for a code ("OK", "Service Unavailable", ...; unknown → the number).
std::string status_message(int code);
/// Node's status description ("Request succeeded without error", ...; unknown →
/// "Unknown statusCode N").
std::string status_description(int code);

/// The outcome of a call that Node resolves with a response object instead of rejecting.
struct Result {
  int status_code = 200;
  /// The reason of a failure (`result.reason` in Node's object); empty on success.
  std::string reason;
  /// The message id of what was sent or queued, when there is one.
  std::string mid;

  bool ok() const { return status_code >= 200 && status_code < 300; }
  /// Node's object: `{statusCode, statusMessage, statusDescription, result: {reason}}`.
  boost::json::object to_json() const;

  static Result success(std::string mid = {}) { return Result{200, {}, std::move(mid)}; }
  static Result failure(int code, std::string reason) {
    return Result{code, std::move(reason), {}};
  }
};

}  // namespace hydra
