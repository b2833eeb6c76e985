// RESP2 codec: our encoder for commands, hiredis' reader for replies.
#include "redis/resp.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>
#include <new>

#include <hiredis/hiredis.h>

#include "common/appender.hpp"
#include "hydra/error.hpp"

namespace hydra::redis {

const std::string& Reply::as_string() const {
  if (type == Type::string || type == Type::status) return str;
  if (type == Type::error) throw Error(errc::redis_error, str);
  throw Error(errc::unexpected_reply, "expected a string reply, got " + describe());
}

std::optional<std::string> Reply::as_optional_string() const {
  if (type == Type::nil) return std::nullopt;
  return as_string();
}

long long Reply::as_integer() const {
  if (type == Type::integer) return integer;
  if (type == Type::error) throw Error(errc::redis_error, str);
  throw Error(errc::unexpected_reply, "expected an integer reply, got " + describe());
}

const Reply& Reply::check() const {
  if (type == Type::error) throw Error(errc::redis_error, str);
  return *this;
}

std::string Reply::describe() const {
  switch (type) {
    case Type::nil:
      return "nil";
    case Type::string:
      return "string(" + std::to_string(str.size()) + " bytes)";
    case Type::status:
      return "status " + str;
    case Type::error:
      return "error " + str;
    case Type::integer:
      return "integer " + std::to_string(integer);
    case Type::array:
      return "array[" + std::to_string(elements.size()) + "]";
  }
  return "?";
}

namespace resp {

namespace {
// `<kind><n>\r\n` at `p`; returns the end. `n` has at most 20 digits.
char* put_header(char* p, char kind, std::size_t n) {
  *p++ = kind;
  p = std::to_chars(p, p + 20, n).ptr;
  *p++ = '\r';
  *p++ = '\n';
  return p;
}
constexpr std::size_t kHeaderMax = 1 + 20 + 2;

template <class Arg>
void encode_any(std::string& out, std::span<const Arg> command) {
  // A RESP array of bulk strings, written straight into room made once for all of it: hiredis'
  // redisFormatCommandArgv formats every length with sprintf into a buffer of its own, and
  // appending piece by piece checked the capacity for each. hiredis still decodes every reply.
  std::size_t size = kHeaderMax;
  for (const auto& arg : command)
    size += kHeaderMax + arg.size() + 2;
  Appender a(out);
  char* p = put_header(a.room(size), '*', command.size());
  for (const auto& arg : command) {
    p = put_header(p, '$', arg.size());
    std::memcpy(p, arg.data(), arg.size());
    p += arg.size();
    *p++ = '\r';
    *p++ = '\n';
  }
  a.advance_to(p);
}
}  // namespace

void encode(std::string& out, std::span<const std::string> command) {
  encode_any(out, command);
}

void encode(std::string& out, std::span<const std::string_view> command) {
  encode_any(out, command);
}

namespace {
// hiredis parses; these callbacks build our Reply objects in place instead of its redisReply
// tree (which would then be copied). A top-level reply is built in the decoder's slot (the
// reader's privdata, which hiredis hands to the first task of each reply), so a reply costs no
// allocation of its own, only its strings and element vector. hiredis creates an array before
// its elements and hands each element its parent's object and index; only top-level objects
// are ever passed to freeObject.
//
// Whatever the slot held before is overwritten in place: strings keep their capacity, and an
// array keeps its elements for create_array to resize, each of which hiredis then places again.
// A subscriber's slot is never moved from (its messages are handed on as views), so a pub/sub
// message costs no allocation once the first one has sized the channel and payload strings.
Reply* place(const redisReadTask* task, Reply::Type type) {
  Reply* r =
      task->parent != nullptr
          ? &static_cast<Reply*>(task->parent->obj)->elements[static_cast<std::size_t>(task->idx)]
          : static_cast<Reply*>(task->privdata);
  r->str.clear();
  r->integer = 0;
  if (type != Reply::Type::array) r->elements.clear();
  r->type = type;
  return r;
}

// The callbacks are called from C: an allocation failure becomes hiredis' out-of-memory error
// (a null object) instead of an exception crossing its frames.
void* create_string(const redisReadTask* task, char* str, size_t len) noexcept try {
  auto type = task->type == REDIS_REPLY_ERROR    ? Reply::Type::error
              : task->type == REDIS_REPLY_STATUS ? Reply::Type::status
                                                 : Reply::Type::string;
  Reply* r = place(task, type);
  r->str.assign(str, len);
  return r;
} catch (const std::bad_alloc&) {
  return nullptr;
}

void* create_array(const redisReadTask* task, int elements) noexcept try {
  Reply* r = place(task, Reply::Type::array);
  r->elements.resize(elements > 0 ? static_cast<std::size_t>(elements) : 0);
  return r;
} catch (const std::bad_alloc&) {
  return nullptr;
}

void* create_integer(const redisReadTask* task, long long value) noexcept try {
  Reply* r = place(task, Reply::Type::integer);
  r->integer = value;
  return r;
} catch (const std::bad_alloc&) {
  return nullptr;
}

void* create_nil(const redisReadTask* task) noexcept try {
  return place(task, Reply::Type::nil);
} catch (const std::bad_alloc&) {
  return nullptr;
}

// A reply abandoned by the reader (its stream turned out invalid): the slot is emptied.
void free_object(void* reply) {
  *static_cast<Reply*>(reply) = Reply{};
}

redisReplyObjectFunctions kReplyFunctions = {create_string, create_array, create_integer,
                                             create_nil, free_object};
}  // namespace

Decoder::Decoder() : reader_(redisReaderCreateWithFunctions(&kReplyFunctions)) {
  if (reader_ == nullptr) throw std::bad_alloc();
  reader_->privdata = &slot_;
}

Decoder::~Decoder() {
  redisReaderFree(reader_);
}

void Decoder::feed(std::string_view bytes) {
  // What still waits goes first: the rest of own_ (what was fed from it is dropped), or a view
  // of the caller's buffer, copied.
  if (owned_) {
    own_.erase(0, own_.size() - unfed_.size());
  } else {
    own_.assign(unfed_);
  }
  own_.append(bytes);
  unfed_ = own_;
  owned_ = true;
}

void Decoder::feed_view(std::string_view bytes) {
  if (!unfed_.empty()) {
    feed(bytes);
    return;
  }
  unfed_ = bytes;
  owned_ = false;
}

std::optional<Reply> Decoder::next() {
  if (Reply* r = next_in_slot()) return std::move(*r);
  return std::nullopt;
}

Reply* Decoder::next_in_slot() {
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
      std::string why = reader_->errstr;
      throw Error(errc::protocol_error, "invalid RESP from server: " + why);
    }
    if (raw != nullptr) return &slot_;
    if (unfed_.empty()) return nullptr;
    const std::size_t n = std::min(kSlice, unfed_.size());
    if (redisReaderFeed(reader_, unfed_.data(), n) != REDIS_OK) {
      throw Error(errc::protocol_error, "RESP reader refused input");
    }
    unfed_.remove_prefix(n);
  }
}

void Decoder::reset() {
  redisReaderFree(reader_);
  reader_ = redisReaderCreateWithFunctions(&kReplyFunctions);
  if (reader_ == nullptr) throw std::bad_alloc();
  reader_->privdata = &slot_;
  unfed_ = {};
  own_.clear();
  owned_ = false;
}

}  // namespace resp
}  // namespace hydra::redis
