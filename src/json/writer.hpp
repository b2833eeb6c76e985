// The JSON writer behind json::stringify, for code that writes one document in several pieces
// (Message::to_short_json writes keys itself and values through it).
#pragma once

#include <boost/json/value.hpp>
#include <string_view>

#include "common/appender.hpp"

namespace hydra::json {

// JSON is written through the common appender.
using Writer = Appender;

// `JSON.stringify(value)` and `JSON.stringify(string)`, appended.
void write_value(Writer& w, const boost::json::value& value);
void write_string(Writer& w, std::string_view s);

}  // namespace hydra::json
