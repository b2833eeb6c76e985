// The RESP codec (hiredis underneath): encoding commands and decoding replies in pieces.
#include "redis/resp.hpp"

#include <gtest/gtest.h>

#include "hydra/error.hpp"

using hydra::redis::Reply;
using hydra::redis::resp::Decoder;

TEST(Resp, EncodesBinarySafeArguments) {
  std::string out;
  hydra::redis::resp::encode(out, hydra::redis::cmd("SET", "k", std::string("a\0b", 3)));
  EXPECT_EQ(out, std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\0b\r\n", 29));
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
