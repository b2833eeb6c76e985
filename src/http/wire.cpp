#include "http/wire.hpp"

#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <ostream>

#include "hydra/text.hpp"

namespace hydra::http::detail {

namespace bhttp = boost::beast::http;

namespace {

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
    v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
    v.remove_suffix(1);
  return v;
}

// A CR or LF inside a name or value would end the field early and let the rest pass for
// another field or message; each becomes a space.
void append_text(std::string& out, std::string_view text) {
  const std::size_t start = out.size();
  out.append(text);
  if (text.find_first_of("\r\n") == std::string_view::npos) return;
  for (std::size_t i = start; i < out.size(); ++i) {
    if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
  }
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  append_text(out, name);
  out.append(": ");
  append_text(out, trim(value));
  out.append("\r\n");
}

void append_number(std::string& out, std::size_t n) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, end);
}

// The tokens of `value` that are neither `drop1` nor `drop2` (case-insensitive), ", "-joined.
std::string filter_tokens(std::string_view value, std::string_view drop1, std::string_view drop2) {
  std::string kept;
  for (auto token : bhttp::token_list{value}) {
    const std::string_view t(token.data(), token.size());
    if (ascii_iequals(t, drop1) || (!drop2.empty() && ascii_iequals(t, drop2))) continue;
    if (!kept.empty()) kept.append(", ");
    kept.append(t);
  }
  return kept;
}

bool has_token(std::string_view value, std::string_view token) {
  for (auto t : bhttp::token_list{value}) {
    if (ascii_iequals(std::string_view(t.data(), t.size()), token)) return true;
  }
  return false;
}

}  // namespace

void append_request_head(std::string& out, std::string_view method, std::string_view target,
                         std::string_view default_host,
                         const std::vector<std::pair<std::string, std::string>>& fields,
                         bool has_body, std::size_t body_size) {
  out.append(method);
  out.push_back(' ');
  out.append(target);
  out.append(" HTTP/1.1\r\n");
  std::size_t last_host = fields.size();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (ascii_iequals(fields[i].first, "host")) last_host = i;
  }
  if (last_host == fields.size()) append_field(out, "Host", default_host);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto& [name, value] = fields[i];
    if (i == last_host) {
      append_field(out, "Host", value);
      continue;
    }
    if (ascii_iequals(name, "host")) continue;
    if (has_body && ascii_iequals(name, "content-length")) continue;
    append_field(out, name, value);
  }
  if (has_body) {
    out.append("Content-Length: ");
    append_number(out, body_size);
    out.append("\r\n");
  }
  out.append("\r\n");
}

void append_response_head(std::string& out, unsigned version, unsigned status,
                          const std::vector<FieldView>& fields, bool keep_alive, bool bodiless,
                          std::size_t body_size) {
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  append_number(out, status);
  out.push_back(' ');
  const auto reason = bhttp::obsolete_reason(bhttp::int_to_status(status));
  out.append(reason == "<unknown-status>" ? std::string_view("Unknown")
                                          : std::string_view(reason.data(), reason.size()));
  out.append("\r\n");
  const std::string_view* connection = nullptr;
  for (const auto& [name, value] : fields) {
    if (ascii_iequals(name, "content-length")) continue;
    if (ascii_iequals(name, "connection")) {
      if (!connection) connection = &value;
      continue;
    }
    append_field(out, name, value);
  }
  if (!bodiless) {
    out.append("Content-Length: ");
    append_number(out, body_size);
    out.append("\r\n");
  }
  // Beast's keep_alive(): the first Connection value, filtered, with the version's token added.
  const std::string_view value = connection ? trim(*connection) : std::string_view();
  std::string tokens;
  if (version < 11) {
    if (keep_alive) {
      tokens = filter_tokens(value, "close", {});
      if (tokens.empty())
        tokens = "keep-alive";
      else if (!has_token(value, "keep-alive"))
        tokens.append(", keep-alive");
    } else {
      tokens = filter_tokens(value, "close", "keep-alive");
    }
  } else if (keep_alive) {
    tokens = filter_tokens(value, "close", "keep-alive");
  } else {
    tokens = filter_tokens(value, "keep-alive", {});
    if (tokens.empty())
      tokens = "close";
    else if (!has_token(value, "close"))
      tokens.append(", close");
  }
  if (!tokens.empty()) append_field(out, "Connection", tokens);
  out.append("\r\n");
}

}  // namespace hydra::http::detail
