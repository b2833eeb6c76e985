// gzip for the proxy, with zlib.
#include "gzip.hpp"

#include <zlib.h>

#include <cctype>
#include <stdexcept>

namespace hydra::router {

std::string gzip(std::string_view data) {
  z_stream z{};
  // 15 window bits + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(data.size())) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  const auto written = out.size() - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  out.resize(written);
  return out;
}

std::optional<std::string> gunzip(std::string_view data, std::size_t max_bytes) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return std::nullopt;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char chunk[16384];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(chunk, sizeof chunk - z.avail_out);
    if (out.size() > max_bytes) break;
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) break;  // truncated input
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END || out.size() > max_bytes) return std::nullopt;
  return out;
}

bool accepts_gzip(std::string_view value) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    std::string token;
    std::string params;
    const auto semi = item.find(';');
    for (char c : item.substr(0, semi)) {
      if (!std::isspace(static_cast<unsigned char>(c)))
        token += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (semi != std::string_view::npos) {
      for (char c : item.substr(semi + 1)) {
        if (!std::isspace(static_cast<unsigned char>(c))) params += c;
      }
    }
    if (token != "gzip" && token != "x-gzip" && token != "*") continue;
    // q=0, q=0.0, q=0.00... means "not acceptable".
    if (params.rfind("q=0", 0) == 0 && params.find_first_not_of("0.", 2) == std::string::npos)
      continue;
    return true;
  }
  return false;
}

}  // namespace hydra::router
