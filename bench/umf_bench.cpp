// The per-message work of a round trip, one step at a time and without Redis: parsing the two
// messages of messaging_bench's echo round trip, writing them, creating them, routes, message
// IDs and the RESP encoding of the PUBLISH that carries one. messaging_bench measures the whole;
// this says which step a change moves.
//
//   umf_bench [--benchmark_filter=Parse]    times each step
//   umf_bench --count ParseReply 100000     runs one step N times (for callgrind)
#include <benchmark/benchmark.h>

#include <boost/json.hpp>
#include <cstdio>
#include <string>
#include <string_view>

#include "hydra/json.hpp"
#include "hydra/umf.hpp"
#include "redis/resp.hpp"

namespace json = boost::json;
using hydra::umf::Message;

namespace {

// The two messages of a messaging_bench round trip, as the C++ client and echo publish them.
const std::string kRequest =
    R"({"to":"cpp-echo:/","frm":"5d0e6e1c43f24e37a0a4f7c3a4c9be1f@cpp-client:/",)"
    R"("mid":"7d9b0a0e-2b4f-4c8e-9a51-0c6f1f2d9e3a","ts":"2026-11-21T16:20:31.123Z",)"
    R"("ver":"UMF/1.4.6","bdy":{"echo":true,"n":12345}})";
const std::string kReply =
    R"({"to":"5d0e6e1c43f24e37a0a4f7c3a4c9be1f@cpp-client:/","frm":"cpp-echo:/",)"
    R"("mid":"0b5f9f54-8a1e-4b55-a7a1-3e0d3c8d2f11","rmid":"7d9b0a0e-2b4f-4c8e-9a51-0c6f1f2d9e3a",)"
    R"("ts":"2026-11-21T16:20:31.124Z","ver":"UMF/1.4.6","bdy":{"echoed":{"echo":true,"n":12345}}})";

// Each step once. `n` varies the input where the real caller's does.
void parse_request(long) {
  auto m = Message::parse(kRequest);
  benchmark::DoNotOptimize(m);
}

void parse_reply(long) {
  auto m = Message::parse(kReply);
  benchmark::DoNotOptimize(m);
}

// Boost.JSON's own DOM parser on the same text, for scale.
void boost_parse_reply(long) {
  auto v = json::parse(kReply);
  benchmark::DoNotOptimize(v);
}

void short_json_reply(long) {
  static const Message m = *Message::parse(kReply);
  auto text = m.to_short_json();
  benchmark::DoNotOptimize(text);
}

// A request made through a JSON object, as Node's createMessage takes it.
void create_request(long n) {
  json::object body;
  body["echo"] = true;
  body["n"] = n;
  json::object o;
  o["to"] = "cpp-echo:/";
  o["body"] = std::move(body);
  auto m = Message::create(std::move(o));
  benchmark::DoNotOptimize(m);
}

// The same request made as messaging_bench's client makes it.
void create_request_to_body(long n) {
  json::object body;
  body["echo"] = true;
  body["n"] = n;
  auto m = Message::create("cpp-echo:/", std::move(body));
  benchmark::DoNotOptimize(m);
}

// The echo's request, and the response its handler makes: `{body: {echoed: <body>}}`.
const Message& echo_request() {
  static const Message request = *Message::parse(kRequest);
  return request;
}
json::object echo_response() {
  json::object echoed;
  echoed["echoed"] = echo_request().body();
  json::object response;
  response["body"] = std::move(echoed);
  return response;
}

// A reply to a request built as a message (make_reply), then written.
void reply_to_request(long) {
  auto reply = hydra::umf::make_reply(echo_request(), echo_response());
  auto text = reply.to_short_json();
  benchmark::DoNotOptimize(text);
}

// The same reply as Hydra's send_reply_message writes it: straight from the request and the
// response object, with no reply message built.
void reply_json_to_request(long) {
  const auto response = echo_response();
  auto reply = hydra::umf::reply_json(echo_request(), response);
  benchmark::DoNotOptimize(reply);
}

void parse_route(long) {
  auto r = hydra::umf::parse_route("5d0e6e1c43f24e37a0a4f7c3a4c9be1f@cpp-client:/");
  benchmark::DoNotOptimize(r);
}

void message_id(long) {
  auto id = hydra::umf::new_message_id();
  benchmark::DoNotOptimize(id);
}

// The echo's PUBLISH of its reply, as the connection encodes it into its write buffer.
void encode_publish(long) {
  static const hydra::redis::Command publish{
      "PUBLISH", "hydra:service:mc:cpp-client:5d0e6e1c43f24e37a0a4f7c3a4c9be1f", kReply};
  std::string out;
  hydra::redis::resp::encode(out, publish);
  benchmark::DoNotOptimize(out);
}

struct Step {
  const char* name;
  void (*run)(long);
};
constexpr Step kSteps[] = {{"ParseRequest", parse_request},
                           {"ParseReply", parse_reply},
                           {"BoostParseReply", boost_parse_reply},
                           {"ShortJsonReply", short_json_reply},
                           {"CreateRequest", create_request},
                           {"CreateRequestToBody", create_request_to_body},
                           {"ReplyToRequest", reply_to_request},
                           {"ReplyJsonToRequest", reply_json_to_request},
                           {"ParseRoute", parse_route},
                           {"MessageId", message_id},
                           {"EncodePublish", encode_publish}};

void timed(benchmark::State& state, void (*run)(long)) {
  long n = 0;
  for (auto _ : state)
    run(++n);
}

}  // namespace

// `umf_bench --count NAME N` runs one step exactly N times and nothing else, for instruction
// counts (valgrind --tool=callgrind --toggle-collect='*count_step*'); otherwise Google
// Benchmark's flags apply.
[[gnu::noinline]] void count_step(void (*run)(long), long n) {
  for (long i = 1; i <= n; ++i)
    run(i);
}

int main(int argc, char** argv) {
  if (argc == 4 && std::string_view(argv[1]) == "--count") {
    for (const auto& step : kSteps) {
      if (std::string_view(argv[2]) == step.name) {
        step.run(0);  // first-use set-up (statics) outside the count
        count_step(step.run, std::stol(argv[3]));
        return 0;
      }
    }
    std::fprintf(stderr, "umf_bench: no step named %s\n", argv[2]);
    return 2;
  }
  for (const auto& step : kSteps)
    benchmark::RegisterBenchmark(step.name, timed, step.run);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
