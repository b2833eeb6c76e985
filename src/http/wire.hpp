// HTTP/1.1 message heads written straight into a string: the bytes Beast's serializer produced
// for the messages the server and ApiClient used to build field by field, without building a
// `basic_fields` (an allocation and a tree insertion per field) or walking the serializer's
// buffer sequence. Differences: repeated fields keep the order they came in (Beast moves a field
// next to the last one of its name), and a CR or LF inside a field becomes a space (no header
// injection). Pure functions; tests/unit/http_wire_test.cpp compares them with Beast.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hydra::http::detail {

using FieldView = std::pair<std::string_view, std::string_view>;

/// Appends a request head: `<method> <target> HTTP/1.1`, the fields, `Content-Length` when
/// `has_body`, the blank line. `Host: <default_host>` comes first unless `fields` has a Host;
/// then only the last Host field is kept, where it stands. A Content-Length among `fields` is
/// replaced by the real one after them. Values are trimmed of spaces and tabs, as Beast does.
void append_request_head(std::string& out, std::string_view method, std::string_view target,
                         std::string_view default_host,
                         const std::vector<std::pair<std::string, std::string>>& fields,
                         bool has_body, std::size_t body_size);

/// Appends a response head: `HTTP/1.<version%10> <status> <reason>` (Beast's reason phrase;
/// "Unknown" for a code it does not know), `fields` in order without Content-Length and
/// Connection, then `Content-Length: <body_size>` unless `bodiless`, then Connection as Beast's
/// `keep_alive(keep_alive)` leaves the first Connection value of `fields` (HTTP/1.1: "close"
/// added when not kept; HTTP/1.0: "keep-alive" added when kept), then the blank line.
/// `status` must be 100–999.
void append_response_head(std::string& out, unsigned version, unsigned status,
                          const std::vector<FieldView>& fields, bool keep_alive, bool bodiless,
                          std::size_t body_size);

}  // namespace hydra::http::detail
