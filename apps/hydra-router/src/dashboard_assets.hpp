/// @brief The router's web dashboard (apps/hydra-router/dashboard), embedded at build time by
/// cmake/embed_assets.cmake.
#pragma once

#include <string_view>

namespace hydra::router {

/// One embedded file. The views refer to static storage and stay valid for the whole program.
struct Asset {
  std::string_view path;          ///< "/index.html", "/index.css", ...
  std::string_view content_type;  ///< e.g. "text/html; charset=utf-8"
  std::string_view body;          ///< the file's bytes, unchanged
};

/// "/" and "/index.html" give index.html; "/index.css", "/index.js" the others; nullptr otherwise.
/// A query string or fragment is ignored ("/?token=abc" gives index.html); no other
/// normalisation is done (no percent-decoding, "index.html" without the slash is not found).
const Asset* find_dashboard_asset(std::string_view path);

}  // namespace hydra::router
