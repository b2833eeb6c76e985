// Node Hydra's status texts (ServerResponse) and response objects.
#include "hydra/result.hpp"

#include <map>

namespace hydra {

namespace {
struct Text {
  const char* message;
  const char* description;
};

const std::map<int, Text>& texts() {
  static const std::map<int, Text> table = {
      {200, {"OK", "Request succeeded without error"}},
      {201, {"Created", "Resource created"}},
      {202, {"Accepted", "Request accepted"}},
      {204, {"No Content", "Resource has no content"}},
      {301, {"Moved Permanently", "Resource has been permanently moved"}},
      {302, {"Found", "Resource was found under another URI"}},
      {304, {"Not Modified", "Resource has not been modified"}},
      {400, {"Bad Request", "Request is invalid, missing parameters?"}},
      {401, {"Unauthorized", "User isn't authorized to access this resource"}},
      {402, {"Payment Required", "This code is reserved for future use."}},
      {403, {"Forbidden", "The server understood the request but refuses to authorize it"}},
      {404, {"Not Found", "The requested resource was not found on the server"}},
      {405, {"Method not allowed", "The HTTP method used is not allowed"}},
      {406,
       {"Not Acceptable",
        "The target resource does not have a current representation that would be acceptable to "
        "the user agent"}},
      {409, {"Conflict", "Request has caused a conflict"}},
      {413,
       {"Request Entity Too Large", "The webserver or proxy believes the request is too large"}},
      {429, {"Too Many Requests", "Too many requests issue within a period"}},
      {500, {"Server Error", "An error occurred on the server"}},
      {501,
       {"Method Not Implemented",
        "The requested method / resource isn't implemented on the server"}},
      {502, {"Connection Refused", "The connection to server was refused"}},
      {503,
       {"Service Unavailable",
        "The server is currently unable to handle the request due to a temporary overloading or "
        "maintenance of the server"}},
  };
  return table;
}
}  // namespace

std::string status_message(int code) {
  auto it = texts().find(code);
  return it == texts().end() ? std::to_string(code) : it->second.message;
}

std::string status_description(int code) {
  auto it = texts().find(code);
  return it == texts().end() ? "Unknown statusCode " + std::to_string(code)
                             : it->second.description;
}

boost::json::object Result::to_json() const {
  boost::json::object o;
  o["statusCode"] = status_code;
  o["statusMessage"] = status_message(status_code);
  o["statusDescription"] = status_description(status_code);
  boost::json::object result;
  if (!reason.empty()) result["reason"] = reason;
  o["result"] = std::move(result);
  return o;
}

}  // namespace hydra
