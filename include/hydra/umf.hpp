/// @brief UMF (Universal Messaging Format) 1.4.6 as Node Hydra 1.9.3 implements it: normalised
/// messages, long and short forms in Node's key order, route parsing, HMAC signatures.
#pragma once

#include <array>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace hydra::umf {

inline constexpr std::string_view kVersion = "UMF/1.4.6";

/// The fields hydra keeps, in Node's internal (long-form) order.
enum class Field {
  to,
  from,
  headers,
  mid,
  rmid,
  signature,
  timeout,
  timestamp,
  type,
  version,
  via,
  forward,
  body,
  authorization
};
inline constexpr std::size_t kFieldCount = 14;

/// Long and short key names of a field (`from`/`frm`, `body`/`bdy`, ...).
std::string_view long_name(Field f);
std::string_view short_name(Field f);

/// JavaScript truthiness: false, 0, NaN, "" and null are falsy; objects and arrays are truthy.
bool truthy(const boost::json::value& v);

/// A normalised UMF message. Every field is optional; `create` fills mid, timestamp and version.
class Message {
 public:
  Message() = default;
  Message(const Message& other);
  Message& operator=(const Message& other);
  /// Moves are a pointer's: the fields live in one block of their own.
  Message(Message&&) noexcept = default;
  Message& operator=(Message&&) noexcept = default;
  ~Message() = default;

  /// Node's createMessage: long, short or mixed keys (the long key wins), only truthy values
  /// copied, unknown top-level fields dropped; `mid` (UUID v4), `timestamp` (now) and `version`
  /// (`UMF/1.4.6`) filled when absent.
  static Message create(const boost::json::object& input);
  /// The same, moving the picked values out of `input` instead of copying them.
  static Message create(boost::json::object&& input);
  /// The same applied to a message (Node's createMessage of a UMF object): equal to
  /// `create(message.to_long())`.
  static Message create(const Message& message);
  /// A message to `to` with `body`: what `create({to, body})` makes (each kept only when truthy;
  /// mid, timestamp and version filled), without building that object first. The cheap way to
  /// make a request or a message; `set(Field::from, ...)` adds a sender.
  static Message create(std::string_view to, boost::json::value body);
  /// Parses JSON text and `create`s from it; nullopt when it is not a JSON object.
  static std::optional<Message> parse(std::string_view json);

  /// `to && from && body` truthy.
  bool validate() const;

  /// The long form in Node's order (what `toJSON()` returns).
  boost::json::object to_long() const;
  /// The short form in Node's order: to, frm, hdr, mid, rmid, sig, tmo, ts, typ, ver, via, fwd,
  /// bdy, aut (falsy fields skipped) — the exact bytes hydra publishes and queues.
  boost::json::object to_short() const;
  /// `json::stringify(to_short())`.
  std::string to_short_json() const;

  const boost::json::value* get(Field f) const;
  void set(Field f, boost::json::value v);
  void erase(Field f);
  bool has(Field f) const { return get(f) != nullptr; }

  /// String fields ("" when absent or not a string).
  std::string to() const { return text(Field::to); }
  std::string from() const { return text(Field::from); }
  std::string mid() const { return text(Field::mid); }
  std::string rmid() const { return text(Field::rmid); }
  std::string via() const { return text(Field::via); }
  std::string type() const { return text(Field::type); }
  /// A string field's text without a copy ("" when absent or not a string); valid until the
  /// field is changed or the message goes away.
  std::string_view text_view(Field f) const;
  /// The body (null when absent).
  const boost::json::value& body() const;
  boost::json::value& mutable_body();

  /// Node's signMessage: HMAC-<algo> (e.g. "sha256") over the long form without `signature`,
  /// hex, stored as `signature`. Throws `Error(invalid_argument)` for an unknown algorithm.
  void sign(std::string_view algo, std::string_view secret);
  /// Recomputes the signature and compares (constant time).
  bool verify(std::string_view algo, std::string_view secret) const;

 private:
  friend Message make_reply(const Message& original, Message response);
  friend struct FieldTable;  // the fields as one table of pointers (umf.cpp)
  template <class Object>
  static Message create_from(Object& input);
  void fill_defaults();  // mid, timestamp and version when absent
  std::string text(Field f) const;
  using Slots = std::array<std::optional<boost::json::value>, kFieldCount>;
  // The fields, allocated when the first is set (null: none). They live in Node's order; only
  // `signature` moves (to the end of the long form) after signing, because Node deletes and
  // re-adds that property. A message is moved several times on its way between the connection
  // and a handler; with the fields behind one pointer that costs nothing, where moving fourteen
  // optional json::values (each with its memory resource) cost a few thousand instructions.
  const std::optional<boost::json::value>& slot(std::size_t i) const;
  Slots& slots();
  std::unique_ptr<Slots> fields_;
  bool signature_last_ = false;
};

/// A new message ID: a dashed lowercase UUID v4 (what `create` puts in `mid`).
std::string new_message_id();

/// Node's createShortMessageID: base-36 of a random integer below 2^53.
std::string short_message_id();

/// A parsed `to`/`from` route: `[<instance>[-<subID>]@]<service>:[[<method>]]<apiRoute>`.
struct Route {
  std::string instance;
  std::string sub_id;
  std::string service_name;
  /// Lower-cased method; nullopt when there were no brackets; "" for `[]`.
  std::optional<std::string> http_method;
  std::string api_route;
  /// "" when valid, else Node's message.
  std::string error;
};

/// Node's parseRoute, exactly (see the spec §3.3).
Route parse_route(std::string_view to);

/// parse_route's parts as pieces of `to` (valid while its text is), without copies: what the
/// send path uses. `http_method` is the text between the brackets as written, not lower-cased;
/// `error` is "" or one of parse_route's two messages.
struct RouteView {
  std::string_view instance;
  std::string_view sub_id;
  std::string_view service_name;
  std::optional<std::string_view> http_method;
  std::string_view api_route;
  std::string_view error;
};
RouteView parse_route_view(std::string_view to);

/// Node's sendReplyMessage rules: the original's fields, `rmid` = its mid, to/from swapped,
/// then every field of `response` (normalised as `create` does, so a fresh mid and timestamp),
/// then the original's `via` as `to` and its `forward`.
Message make_reply(const Message& original, const boost::json::object& response);
Message make_reply(const Message& original, boost::json::object&& response);

/// make_reply(original, response) in short form, written without building the reply: the bytes
/// of `make_reply(original, response).to_short_json()` (with its own fresh mid and timestamp
/// unless the response has them). What a service's reply costs when only its text is needed.
struct ReplyJson {
  std::string json;
  /// The reply's `to` ("" when absent or not a string): a view of `original` or `response`,
  /// valid while they are.
  std::string_view to;
  std::string mid;
  /// `to`, `from` and `body` are truthy (Message::validate of the reply).
  bool valid = false;
};
ReplyJson reply_json(const Message& original, const boost::json::object& response);

}  // namespace hydra::umf
