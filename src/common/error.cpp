// The hydra::errc error category.
#include "hydra/error.hpp"

namespace hydra {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hydra"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::disconnected:
        return "disconnected from Redis";
      case errc::timeout:
        return "operation timed out";
      case errc::redis_error:
        return "Redis returned an error";
      case errc::unexpected_reply:
        return "unexpected Redis reply";
      case errc::protocol_error:
        return "Redis protocol error";
      case errc::stopped:
        return "stopped";
      case errc::invalid_config:
        return "invalid configuration";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::not_initialized:
        return "not initialized";
      case errc::not_found:
        return "not found";
      case errc::bad_json:
        return "invalid JSON";
      case errc::tls_error:
        return "TLS error";
      case errc::unavailable:
        return "no instance available";
      case errc::invalid_message:
        return "invalid message";
    }
    return "unknown hydra error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

}  // namespace hydra
