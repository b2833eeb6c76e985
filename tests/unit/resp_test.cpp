// The RESP codec: encoding commands (checked against hiredis' formatter) and decoding replies
// (hiredis underneath) in pieces.
#include "redis/resp.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <random>

#include "hydra/error.hpp"
#include "hydra/redis/request.hpp"

using hydra::redis::Reply;
using hydra::redis::resp::Decoder;

TEST(Resp, EncodesBinarySafeArguments) {
  std::string out;
  hydra::redis::resp::encode(out, hydra::redis::cmd("SET", "k", std::string("a\0b", 3)));
  EXPECT_EQ(out, std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\0b\r\n", 29));
}

// The encoder writes exactly what hiredis' own formatter writes, for arguments of every size
// (empty, binary, longer than any fixed buffer) and commands of every length.
TEST(Resp, EncodesLikeHiredisFormatter) {
  std::mt19937 rng(7);
  for (int round = 0; round < 500; ++round) {
    hydra::redis::Command command;
    const int args = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < args; ++i) {
      std::size_t len = rng() % 4 == 0 ? rng() % 70000 : rng() % 40;
      std::string arg(len, '\0');
      for (auto& c : arg)
        c = static_cast<char>(rng() % 256);
      command.push_back(std::move(arg));
    }
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : command) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    char* target = nullptr;
    const int n =
        redisFormatCommandArgv(&target, static_cast<int>(argv.size()), argv.data(), lens.data());
    ASSERT_GT(n, 0);
    const std::string expected(target, static_cast<std::size_t>(n));
    redisFreeCommand(target);
    std::string out = "prefix";
    hydra::redis::resp::encode(out, command);
    ASSERT_EQ(out, "prefix" + expected) << "round " << round;
  }
}

// A Request holds exactly the encoding of its commands, counts the replies Redis will send (one
// per channel for the subscribe family, in any letter case) and names its first command.
TEST(Request, EncodesItsCommandsAndCountsTheirReplies) {
  using hydra::redis::Request;
  const std::string binary("x\0y\r\n", 5);
  Request r("LPUSH", std::string("hydra:service:a:mqrecieved"), binary);
  r.push("psubscribe", "a*", "b*", std::string_view("c*"));
  r.push_argv(std::span<const std::string_view>());  // nothing
  r.push_argv(std::span<const std::string>(hydra::redis::cmd("UNSUBSCRIBE")));
  std::string expected;
  hydra::redis::resp::encode(expected,
                             hydra::redis::cmd("LPUSH", "hydra:service:a:mqrecieved", binary));
  hydra::redis::resp::encode(expected, hydra::redis::cmd("psubscribe", "a*", "b*", "c*"));
  hydra::redis::resp::encode(expected, hydra::redis::cmd("UNSUBSCRIBE"));
  EXPECT_EQ(r.encoded(), expected);
  EXPECT_EQ(r.commands(), 3u);
  EXPECT_EQ(r.expected_replies(), 1u + 3u + 1u);
  EXPECT_EQ(r.first_name(), "LPUSH");

  std::vector<hydra::redis::Command> batch{
      hydra::redis::cmd("GET", "k"), {}, hydra::redis::cmd("SUBSCRIBE", "c1", "c2")};
  Request from_batch(batch);
  std::string batch_expected;
  hydra::redis::resp::encode(batch_expected, batch[0]);
  hydra::redis::resp::encode(batch_expected, batch[2]);
  EXPECT_EQ(from_batch.encoded(), batch_expected);
  EXPECT_EQ(from_batch.commands(), 2u);
  EXPECT_EQ(from_batch.expected_replies(), 3u);
  EXPECT_EQ(from_batch.first_name(), "GET");

  Request empty{hydra::redis::Command{}};
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.expected_replies(), 0u);
  EXPECT_EQ(empty.first_name(), "");
  EXPECT_TRUE(empty.encoded().empty());
}

TEST(Resp, DecodesRepliesFedByteByByte) {
  Decoder d;
  std::string wire = "+OK\r\n:42\r\n$-1\r\n-ERR bad\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n";
  std::vector<Reply> got;
  for (char c : wire) {
    d.feed(std::string_view(&c, 1));
    while (auto r = d.next())
      got.push_back(std::move(*r));
  }
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].type, Reply::Type::status);
  EXPECT_EQ(got[0].as_string(), "OK");
  EXPECT_EQ(got[1].as_integer(), 42);
  EXPECT_TRUE(got[2].is_nil());
  EXPECT_FALSE(got[2].as_optional_string());
  EXPECT_TRUE(got[3].is_error());
  EXPECT_THROW(got[3].check(), hydra::Error);
  ASSERT_TRUE(got[4].is_array());
  EXPECT_EQ(got[4].elements[0].str, "a");
  EXPECT_EQ(got[4].elements[1].elements[0].integer, 1);
}

// What a subscriber reads under load: one large read holding many messages, the last one cut
// off, with a bulk string longer than the slices the decoder hands to hiredis.
TEST(Resp, DecodesManyRepliesFromOneLargeReadInOrder) {
  auto message = [](int i, std::size_t size) {
    std::string payload = std::to_string(i) + ":" + std::string(size, 'x');
    return "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$" + std::to_string(payload.size()) + "\r\n" +
           payload + "\r\n";
  };
  std::string wire;
  constexpr int kCount = 200;
  for (int i = 0; i < kCount; ++i)
    wire += message(i, i == 57 ? 10000 : 300);
  Decoder d;
  std::vector<Reply> got;
  // Everything but the last 100 bytes, then the rest.
  d.feed(std::string_view(wire).substr(0, wire.size() - 100));
  while (auto r = d.next())
    got.push_back(std::move(*r));
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kCount - 1));
  d.feed(std::string_view(wire).substr(wire.size() - 100));
  while (auto r = d.next())
    got.push_back(std::move(*r));
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(got[i].is_array());
    ASSERT_EQ(got[i].elements.size(), 3u);
    const auto& payload = got[i].elements[2].str;
    EXPECT_EQ(payload.substr(0, payload.find(':')), std::to_string(i));
    EXPECT_EQ(payload.size(), std::to_string(i).size() + 1 + (i == 57 ? 10000 : 300));
  }
  EXPECT_FALSE(d.next());
}

TEST(Resp, DecodesNestedArraysWithEveryElementKind) {
  Decoder d;
  d.feed("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n");
  d.feed("*5\r\n$-1\r\n+st\r\n-ERR in\r\n*0\r\n*2\r\n*-1\r\n*1\r\n:-7\r\n*-1\r\n");
  auto push = d.next();
  ASSERT_TRUE(push && push->is_array());
  ASSERT_EQ(push->elements.size(), 3u);
  EXPECT_EQ(push->elements[0].str, "message");
  EXPECT_EQ(push->elements[1].str, "ch");
  EXPECT_EQ(push->elements[2].str, "hello");
  auto mixed = d.next();
  ASSERT_TRUE(mixed && mixed->is_array());
  ASSERT_EQ(mixed->elements.size(), 5u);
  EXPECT_TRUE(mixed->elements[0].is_nil());
  EXPECT_EQ(mixed->elements[1].type, Reply::Type::status);
  EXPECT_EQ(mixed->elements[1].str, "st");
  EXPECT_TRUE(mixed->elements[2].is_error());
  EXPECT_EQ(mixed->elements[2].str, "ERR in");
  EXPECT_TRUE(mixed->elements[3].is_array());
  EXPECT_TRUE(mixed->elements[3].elements.empty());
  ASSERT_EQ(mixed->elements[4].elements.size(), 2u);
  EXPECT_TRUE(mixed->elements[4].elements[0].is_nil());
  EXPECT_EQ(mixed->elements[4].elements[1].elements.at(0).as_integer(), -7);
  auto nil_array = d.next();
  ASSERT_TRUE(nil_array);
  EXPECT_TRUE(nil_array->is_nil());
  EXPECT_FALSE(d.next());
}

// The reader's way: each reply is taken from the decoder's slot; a reply moved out stays whole
// while the next one is decoded in the same slot, and a cut-off reply waits for its bytes.
TEST(Resp, RepliesTakenFromTheSlotStayWhole) {
  Decoder d;
  d.feed("*2\r\n$5\r\nfirst\r\n:1\r\n$6\r\nsecond\r\n*1\r\n$3\r\nab");
  Reply* r = d.next_in_slot();
  ASSERT_NE(r, nullptr);
  Reply first = std::move(*r);
  r = d.next_in_slot();
  ASSERT_NE(r, nullptr);
  Reply second = std::move(*r);
  EXPECT_EQ(d.next_in_slot(), nullptr);
  d.feed("c\r\n");
  r = d.next_in_slot();
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->is_array());
  ASSERT_EQ(r->elements.size(), 1u);
  EXPECT_EQ(r->elements[0].str, "abc");
  ASSERT_TRUE(first.is_array());
  ASSERT_EQ(first.elements.size(), 2u);
  EXPECT_EQ(first.elements[0].str, "first");
  EXPECT_EQ(first.elements[1].integer, 1);
  EXPECT_EQ(second.type, Reply::Type::string);
  EXPECT_EQ(second.str, "second");
  EXPECT_TRUE(second.elements.empty());
  EXPECT_EQ(d.next_in_slot(), nullptr);
}

namespace {
// Every field of a reply, its elements' included.
std::string spell(const Reply& r) {
  std::string out = std::to_string(static_cast<int>(r.type)) + "|" + r.str + "|" +
                    std::to_string(r.integer) + "[";
  for (const auto& e : r.elements)
    out += spell(e) + ",";
  return out + "]";
}
}  // namespace

TEST(Resp, RepliesReadInTheSlotInPlaceCarryNothingOver) {
  // As a subscriber reads them: each reply is looked at in the slot and never moved out, so the
  // next one is built over it. Longer and shorter strings, arrays of other lengths and kinds,
  // nested arrays and nils must each come out exactly as sent.
  Decoder d;
  const std::string payload(300, 'p');
  d.feed("*3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$300\r\n" + payload + "\r\n");
  d.feed("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n");
  d.feed("*4\r\n*2\r\n:7\r\n$1\r\ny\r\n$-1\r\n:9\r\n+OK\r\n");
  d.feed("*2\r\n$1\r\na\r\n*1\r\n$1\r\nb\r\n");
  d.feed("$5\r\nhello\r\n");
  d.feed("*3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n*0\r\n");
  d.feed(":42\r\n*-1\r\n-ERR no\r\n");
  std::vector<std::string> seen;
  while (Reply* r = d.next_in_slot())
    seen.push_back(spell(*r));
  ASSERT_EQ(seen.size(), 9u);
  // Each the same as the reply decoded on its own.
  Decoder fresh;
  fresh.feed("*3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$300\r\n" + payload + "\r\n");
  fresh.feed("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n");
  fresh.feed("*4\r\n*2\r\n:7\r\n$1\r\ny\r\n$-1\r\n:9\r\n+OK\r\n");
  fresh.feed("*2\r\n$1\r\na\r\n*1\r\n$1\r\nb\r\n");
  fresh.feed("$5\r\nhello\r\n");
  fresh.feed("*3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n*0\r\n");
  fresh.feed(":42\r\n*-1\r\n-ERR no\r\n");
  for (const auto& s : seen) {
    auto r = fresh.next();
    ASSERT_TRUE(r);
    EXPECT_EQ(s, spell(*r));
  }
  // And field by field.
  Decoder again;
  again.feed("*3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$300\r\n" + payload + "\r\n");
  again.feed("*2\r\n*1\r\n:5\r\n$-1\r\n$3\r\nabc\r\n");
  Reply* r = again.next_in_slot();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->elements[2].str, payload);
  r = again.next_in_slot();
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->is_array());
  ASSERT_EQ(r->elements.size(), 2u);
  ASSERT_TRUE(r->elements[0].is_array());
  ASSERT_EQ(r->elements[0].elements.size(), 1u);
  EXPECT_EQ(r->elements[0].elements[0].type, Reply::Type::integer);
  EXPECT_EQ(r->elements[0].elements[0].integer, 5);
  EXPECT_TRUE(r->elements[0].elements[0].str.empty());
  EXPECT_TRUE(r->elements[1].is_nil());
  EXPECT_TRUE(r->elements[1].str.empty());
  EXPECT_TRUE(r->elements[1].elements.empty());
  r = again.next_in_slot();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->type, Reply::Type::string);
  EXPECT_EQ(r->str, "abc");
  EXPECT_TRUE(r->elements.empty());
  EXPECT_EQ(r->integer, 0);
}

TEST(Resp, BytesFedAsViewsOfAReusedBufferDecodeWhole) {
  // As a connection's reader feeds them: views of one buffer that each read overwrites once
  // every reply has been taken out. Replies split across reads and many in one read come out
  // whole.
  std::string stream;
  for (int i = 0; i < 40; ++i) {
    stream += "*3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$" + std::to_string(100 + i) + "\r\n" +
              std::string(static_cast<std::size_t>(100 + i), static_cast<char>('a' + i % 26)) +
              "\r\n:" + std::to_string(i) + "\r\n";
  }
  Decoder whole;
  whole.feed(stream);
  std::vector<std::string> expected;
  while (auto r = whole.next())
    expected.push_back(spell(*r));
  ASSERT_EQ(expected.size(), 80u);
  for (std::size_t read_size : {1u, 7u, 64u, 333u, 5000u, 100000u}) {
    Decoder d;
    std::string buffer(read_size, '\0');
    std::vector<std::string> seen;
    for (std::size_t at = 0; at < stream.size(); at += read_size) {
      const std::size_t n = std::min(read_size, stream.size() - at);
      buffer.assign(stream, at, n);  // the "read" overwrites the buffer
      d.feed_view({buffer.data(), n});
      while (Reply* r = d.next_in_slot())
        seen.push_back(spell(*r));
      buffer.assign(buffer.size(), '#');  // stale bytes must never be read again
    }
    EXPECT_EQ(seen, expected) << read_size;
  }
  // A view fed while bytes of the one before still wait is copied with them: both buffers may
  // go as soon as the call returns.
  Decoder d;
  std::vector<std::string> seen;
  auto first = std::make_unique<std::string>(stream.substr(0, 4000));
  d.feed_view(*first);
  Reply* r = d.next_in_slot();
  ASSERT_NE(r, nullptr);
  seen.push_back(spell(*r));
  auto second = std::make_unique<std::string>(stream.substr(4000));
  d.feed_view(*second);
  first->assign(first->size(), '#');
  second->assign(second->size(), '#');
  first.reset();
  second.reset();
  while ((r = d.next_in_slot()))
    seen.push_back(spell(*r));
  EXPECT_EQ(seen, expected);
}

TEST(Resp, GarbageInsideAnArrayIsAnErrorAndResetStartsOver) {
  Decoder d;
  d.feed("*3\r\n$1\r\na\r\n*2\r\n:1\r\n?bad\r\n");
  EXPECT_THROW(d.next(), hydra::Error);
  d.reset();
  d.feed(":5\r\n");
  auto r = d.next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->as_integer(), 5);
}

TEST(Resp, ProtocolGarbageIsAnError) {
  Decoder d;
  d.feed("?what\r\n");
  try {
    d.next();
    FAIL();
  } catch (const hydra::Error& e) {
    EXPECT_EQ(e.code(), hydra::errc::protocol_error);
  }
}

TEST(Resp, WrongTypeAccessIsAnError) {
  Reply r;
  r.type = Reply::Type::integer;
  EXPECT_THROW(r.as_string(), hydra::Error);
}
