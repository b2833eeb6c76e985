// gzip encoding and decoding for the proxy (zlib).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hydra::router {

/// The gzip encoding of `data`.
std::string gzip(std::string_view data);
/// The decoded data; nullopt when `data` is not valid gzip or decodes to more than `max_bytes`.
std::optional<std::string> gunzip(std::string_view data, std::size_t max_bytes);
/// True when an Accept-Encoding value accepts gzip (`gzip`, `x-gzip`, `*`; not with `q=0`).
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace hydra::router
