// RESP2 codec: our encoder for commands, hiredis' reader for replies.
#include "redis/resp.hpp"

#include <charconv>

#include <hiredis/hiredis.h>

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
void append_header(std::string& out, char kind, std::size_t n) {
  char digits[24];
  const auto r = std::to_chars(digits, digits + sizeof digits, n);
  out.push_back(kind);
  out.append(digits, r.ptr);
  out.append("\r\n", 2);
}
}  // namespace

void encode(std::string& out, const Command& command) {
  // A RESP array of bulk strings. Written directly: hiredis' redisFormatCommandArgv formats
  // every length with sprintf into a buffer of its own, which showed up in message profiles.
  // hiredis still decodes every reply.
  std::size_t size = 16;
  for (const auto& arg : command)
    size += arg.size() + 16;
  out.reserve(out.size() + size);
  append_header(out, '*', command.size());
  for (const auto& arg : command) {
    append_header(out, '$', arg.size());
    out.append(arg);
    out.append("\r\n", 2);
  }
}

namespace {

Reply convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i)
        out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = Reply::Type::nil;
  }
  return out;
}

}  // namespace

Decoder::Decoder() : reader_(redisReaderCreate()) {}

Decoder::~Decoder() {
  redisReaderFree(reader_);
}

void Decoder::feed(std::string_view bytes) {
  if (redisReaderFeed(reader_, bytes.data(), bytes.size()) != REDIS_OK) {
    throw Error(errc::protocol_error, "RESP reader refused input");
  }
}

std::optional<Reply> Decoder::next() {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
    std::string why = reader_->errstr;
    throw Error(errc::protocol_error, "invalid RESP from server: " + why);
  }
  if (raw == nullptr) return std::nullopt;
  auto* r = static_cast<redisReply*>(raw);
  Reply out = convert(r);
  freeReplyObject(r);
  return out;
}

void Decoder::reset() {
  redisReaderFree(reader_);
  reader_ = redisReaderCreate();
}

}  // namespace resp
}  // namespace hydra::redis
