// Appending to a string through a raw cursor: json::Writer (JSON text) and the RESP encoder (a
// request's bytes) write through it.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

namespace hydra {

// Appends to a string through a raw cursor: room is made in bulk, written with plain stores, and
// the string is cut back to what was written when the appender goes away. Between the appender's
// creation and its end the string holds unspecified bytes past the written part.
class Appender {
 public:
  explicit Appender(std::string& out) : out_(out), used_(out.size()) {}
  Appender(const Appender&) = delete;
  Appender& operator=(const Appender&) = delete;
  ~Appender() { out_.resize(used_); }

  // At least `n` writable bytes at the end of what is written; advance_to() then says how far
  // they were used.
  char* room(std::size_t n) {
    if (out_.size() - used_ < n) grow(n);
    return out_.data() + used_;
  }
  void advance_to(const char* end) { used_ = static_cast<std::size_t>(end - out_.data()); }

  void put(char c) {
    *room(1) = c;
    ++used_;
  }
  void put(std::string_view s) {
    std::memcpy(room(s.size()), s.data(), s.size());
    used_ += s.size();
  }

 private:
  void grow(std::size_t n) {
    // The string's own capacity first (no reallocation), then doubling.
    out_.resize(std::max({used_ + n, out_.capacity(), 2 * out_.size()}));
  }

  std::string& out_;
  std::size_t used_;
};

}  // namespace hydra
