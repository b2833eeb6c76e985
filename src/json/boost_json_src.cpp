// Boost.JSON compiled into the library (its header-only mode) instead of linked from
// libboost_json.so: the message path calls it for every value it builds, parses or frees, and
// the calls can then be inlined instead of going through the shared library's PLT.
#include <boost/json/src.hpp>
