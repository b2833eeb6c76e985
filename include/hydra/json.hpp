/// @brief JSON exactly as JavaScript writes it: `JSON.stringify` byte parity for the wire, plus
/// the timestamp format Node uses.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace hydra::json {

/// Serialises like JavaScript's `JSON.stringify(value)`: insertion key order, no whitespace, JS
/// string escaping (only `"`, `\\` and U+0000–U+001F are escaped; `/` and non-ASCII are not), JS
/// number formatting (shortest round trip, `1` not `1.0`, `1e+21`, `1e-7`, `-0` as `0`,
/// NaN/Infinity as `null`; integers beyond 2^53 formatted as the double JS would hold).
std::string stringify(const boost::json::value& value);

/// Appends the serialisation of `value` to `out`.
void stringify_to(std::string& out, const boost::json::value& value);

/// A double formatted as JavaScript's `String(number)` / JSON number.
std::string format_number(double value);

/// Parses JSON text; std::nullopt when it is not valid JSON (never throws).
std::optional<boost::json::value> try_parse(std::string_view text);

/// Receives one top-level member of try_parse_members.
using MemberSink = void (*)(void* context, std::string_view key, boost::json::value&& value);

/// Parses JSON text whose top level is an object and hands each of its members to `sink` in
/// document order (a repeated key once per occurrence), without building the object itself.
/// False when the text is not valid JSON or not an object; members handed over before the error
/// was found must then be discarded. Nested values are built as try_parse builds them. The
/// sink runs inside the thread's parser, so it must not parse JSON itself.
bool try_parse_members(std::string_view text, MemberSink sink, void* context);

/// Receives a top-level member of try_parse_members whose value is a string, as its text (valid
/// during the call).
using StringMemberSink = void (*)(void* context, std::string_view key, std::string_view text);

/// The same, with the top-level members whose values are strings handed to `string_sink` as
/// their text instead (no value is built for them); the others go to `sink`.
bool try_parse_members(std::string_view text, MemberSink sink, StringMemberSink string_sink,
                       void* context);

/// `new Date(tp).toISOString()`: `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, exactly three fractional digits).
std::string iso_timestamp(std::chrono::system_clock::time_point tp);

/// The current time as `iso_timestamp`.
std::string iso_now();

/// Parses an ISO-8601 UTC timestamp as written by `iso_timestamp` (also accepts no fraction or
/// a `+00:00` suffix); std::nullopt if it is not one.
std::optional<std::chrono::system_clock::time_point> parse_iso_timestamp(std::string_view text);

}  // namespace hydra::json
