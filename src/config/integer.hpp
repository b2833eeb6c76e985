// Whole numbers in configuration documents, read the way every numeric key reads them.
#pragma once

#include <boost/json/value.hpp>
#include <optional>

namespace hydra::config_detail {

// Integral JSON numbers (also 6379.0, as JS has only doubles) or strings of digits (no sign, no
// spaces: HYDRA_SERVICE's k=v form gives every value as text, and anything looser hides typos
// like "63 79"); nullopt for anything else.
std::optional<long long> integer_of(const boost::json::value& value);

}  // namespace hydra::config_detail
