// Boost.JSON compiled into the library (its header-only mode) instead of linked from
// libboost_json.so: the message path calls it for every value it builds, parses or frees, and
// those calls are then direct calls within the program instead of going through the shared
// library's PLT into position-independent code (docs/decisions.md).
#include <boost/json/src.hpp>
