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
  explicit Appender(std::string& out) : out_(out), start_(out.size()), used_(out.size()) {}
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
  // resize zero-fills what it adds, so the string grows by what this appender has written so
  // far (doubling), not by what it already held or could hold: a long string appended to, or a
  // reused one with a large capacity, costs what is written. Within the capacity it takes at
  // least kStep more (no reallocation); beyond it exactly what is needed plus the doubling.
  void grow(std::size_t n) {
    const std::size_t need = used_ + n;
    const std::size_t written = used_ - start_;
    if (need <= out_.capacity()) {
      out_.resize(std::min(out_.capacity(), need + std::max(written, kStep)));
    } else {
      out_.resize(need + written);
    }
  }

  static constexpr std::size_t kStep = 256;
  std::string& out_;
  std::size_t start_;  // the string's size when the appender was made
  std::size_t used_;
};

}  // namespace hydra
