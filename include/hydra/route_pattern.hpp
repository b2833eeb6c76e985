/// @brief Route patterns with the syntax of the `route-parser` npm package used by Node Hydra:
/// `:param`, `*splat`, `(optional)` groups; everything else literal.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace hydra {

/// A compiled route pattern such as `[get]/v1/users/:id(/:tab)` or `/static/*path`.
class RoutePattern {
 public:
  /// Compiles `pattern`. Throws `hydra::Error(errc::invalid_argument)` for an unbalanced `(`/`)`.
  explicit RoutePattern(std::string pattern);
  ~RoutePattern();
  RoutePattern(RoutePattern&&) noexcept;
  RoutePattern& operator=(RoutePattern&&) noexcept;

  /// Matches a whole path (a query string after `?` is allowed and ignored, as route-parser does).
  /// Returns the captured parameters (absent optional parameters are not in the map), or nullopt.
  std::optional<std::map<std::string, std::string>> match(std::string_view path) const;

  /// The pattern text as given.
  const std::string& pattern() const { return pattern_; }

 private:
  struct Impl;
  std::string pattern_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hydra
