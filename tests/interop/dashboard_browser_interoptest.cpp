// The router's dashboard in a real browser: headless Chromium loads the page from a live mesh
// (a C++ service, a Node Hydra service and the router), the test checks that the services and
// their instances appear, and saves a screenshot (build/test-artifacts/dashboard.png).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/hello_service.hpp"
#include "support/node_peer.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/router_process.hpp"

using hydra::test::RedisServer;
using namespace std::chrono_literals;

namespace {

const char* kChromium = "/usr/bin/chromium";

std::vector<std::string> chromium_args(const std::string& profile) {
  // The flags keep Chromium off the network (this machine has none) and out of the sandbox,
  // which needs privileges a root test run does not give it.
  return {kChromium,
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--user-data-dir=" + profile};
}

}  // namespace

TEST(DashboardBrowser, ShowsTheServicesAndInstancesOfALiveMesh) {
  if (!hydra::test::node_available()) GTEST_SKIP() << "node or npm hydra not installed";
  ASSERT_TRUE(std::filesystem::exists(kChromium))
      << "Debian's chromium package is needed (scripts/setup.sh installs it)";
  RedisServer redis;
  auto router = hydra::test::start_router(redis, 0);
  auto hello = hydra::test::start_hello_service(redis, 0);
  hydra::test::NodeService node(redis.url(0), "node-peer");
  const std::string url = "http://127.0.0.1:" + std::to_string(router.port) + "/";

  auto args = chromium_args(redis.dir() + "/chromium-dom");
  args.push_back("--virtual-time-budget=10000");
  args.push_back("--dump-dom");
  args.push_back(url);
  auto [status, dom] = hydra::test::run_command(args, {}, 90s);
  ASSERT_EQ(status, 0) << dom.substr(0, 2000);
  EXPECT_NE(dom.find(R"(data-loaded="true")"), std::string::npos) << dom.substr(0, 4000);
  EXPECT_NE(dom.find(R"(data-service="hello-service")"), std::string::npos);
  EXPECT_NE(dom.find(R"(data-service="node-peer")"), std::string::npos);
  EXPECT_NE(dom.find(R"(data-service="hydra-router")"), std::string::npos);
  EXPECT_NE(dom.find("data-instance=\"" + hello.instance_id + "\""), std::string::npos);
  EXPECT_NE(dom.find("data-instance=\"" + node.instance_id() + "\""), std::string::npos);
  EXPECT_NE(dom.find("data-instance=\"" + router.instance_id + "\""), std::string::npos);
  // Routes of both kinds of service are listed.
  EXPECT_NE(dom.find("/v1/hello/greeting"), std::string::npos);
  EXPECT_NE(dom.find("/v1/node/hello"), std::string::npos);

  const std::string artifacts = HYDRA_BINARY_DIR "/test-artifacts";
  std::filesystem::create_directories(artifacts);
  const std::string png = artifacts + "/dashboard.png";
  std::filesystem::remove(png);
  auto shot = chromium_args(redis.dir() + "/chromium-shot");
  // A short budget: the page's clock runs on virtual time, so a long one makes every instance
  // look stale in the picture.
  shot.push_back("--virtual-time-budget=3000");
  shot.push_back("--window-size=1280,800");
  shot.push_back("--screenshot=" + png);
  shot.push_back(url);
  auto [shot_status, shot_out] = hydra::test::run_command(shot, {}, 90s);
  ASSERT_EQ(shot_status, 0) << shot_out.substr(0, 2000);
  ASSERT_TRUE(std::filesystem::exists(png));
  std::ifstream in(png, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG");
  EXPECT_GT(std::filesystem::file_size(png), 10000u);
}
