// Unit tests for the router dashboard embedded by apps/hydra-router/cmake/embed_assets.cmake.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>

#include "../../apps/hydra-router/src/dashboard_assets.hpp"

namespace {

using hydra::router::Asset;
using hydra::router::find_dashboard_asset;

const std::filesystem::path kDashboardDir =
    std::filesystem::path(HYDRA_SOURCE_DIR) / "apps" / "hydra-router" / "dashboard";

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const Asset& get(std::string_view path) {
  const Asset* asset = find_dashboard_asset(path);
  if (asset == nullptr) throw std::runtime_error("no dashboard asset " + std::string(path));
  return *asset;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

TEST(DashboardAssets, RootAndIndexHtmlAreTheSamePage) {
  const Asset& root = get("/");
  const Asset& index = get("/index.html");
  EXPECT_EQ(root.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index.path, "/index.html");
  EXPECT_EQ(root.body.data(), index.body.data());
  EXPECT_EQ(root.body.size(), index.body.size());
  EXPECT_TRUE(index.body.starts_with("<!doctype html>"));
}

TEST(DashboardAssets, StylesheetAndScriptHaveTheirContentTypes) {
  EXPECT_EQ(get("/index.css").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(get("/index.js").content_type, "application/javascript; charset=utf-8");
  EXPECT_EQ(get("/index.css").path, "/index.css");
  EXPECT_EQ(get("/index.js").path, "/index.js");
}

TEST(DashboardAssets, PageLoadsItsStylesheetAndScriptByAbsolutePath) {
  const std::string_view html = get("/").body;
  EXPECT_TRUE(contains(html, "href=\"/index.css\"")) << html;
  EXPECT_TRUE(contains(html, "src=\"/index.js\"")) << html;
  // A Content-Security-Policy of default-src 'self' must not break the page.
  EXPECT_FALSE(contains(html, "<script>"));
  EXPECT_FALSE(contains(html, " onclick="));
  for (const char* id :
       {"id=\"status\"", "id=\"summary\"", "id=\"services\"", "id=\"routes\"", "id=\"log\""}) {
    EXPECT_TRUE(contains(html, id)) << id;
  }
}

TEST(DashboardAssets, UnknownPathsAreNotFound) {
  EXPECT_EQ(find_dashboard_asset(""), nullptr);
  EXPECT_EQ(find_dashboard_asset("/nope.js"), nullptr);
  EXPECT_EQ(find_dashboard_asset("index.html"), nullptr);
  EXPECT_EQ(find_dashboard_asset("/index.html/"), nullptr);
  EXPECT_EQ(find_dashboard_asset("/INDEX.HTML"), nullptr);
  EXPECT_EQ(find_dashboard_asset("//index.html"), nullptr);
  EXPECT_EQ(find_dashboard_asset("/../index.html"), nullptr);
  EXPECT_EQ(find_dashboard_asset("/v1/router/list/services"), nullptr);
}

TEST(DashboardAssets, QueryStringIsIgnored) {
  const Asset* page = find_dashboard_asset("/?token=abc");
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page, find_dashboard_asset("/"));
  ASSERT_NE(find_dashboard_asset("/index.js?v=2"), nullptr);
  EXPECT_EQ(find_dashboard_asset("/index.js?v=2")->path, "/index.js");
  EXPECT_EQ(find_dashboard_asset("/nope?x=/index.js"), nullptr);
}

// Every file of the dashboard directory is embedded byte for byte.
TEST(DashboardAssets, BodiesAreTheFilesOnDisk) {
  ASSERT_TRUE(std::filesystem::is_directory(kDashboardDir)) << kDashboardDir;
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(kDashboardDir)) {
    if (!entry.is_regular_file()) continue;
    const std::string relative = entry.path().lexically_relative(kDashboardDir).generic_string();
    if (relative.starts_with(".") || contains(relative, "/.")) continue;
    SCOPED_TRACE(relative);
    const Asset* asset = find_dashboard_asset("/" + relative);
    ASSERT_NE(asset, nullptr);
    const std::string on_disk = read_file(entry.path());
    EXPECT_EQ(asset->body.size(), on_disk.size());
    EXPECT_TRUE(asset->body == on_disk);
    ++files;
  }
  EXPECT_GE(files, 3);
}

TEST(DashboardAssets, BodiesAreNotEmptyAndDoNotReferenceOtherSites) {
  for (const char* path : {"/index.html", "/index.css", "/index.js"}) {
    SCOPED_TRACE(path);
    const std::string_view body = get(path).body;
    EXPECT_GT(body.size(), 100u);
    EXPECT_EQ(body.find('\0'), std::string_view::npos);
    // The page works offline: nothing is loaded from elsewhere (the SVG namespace is a name only).
    std::string text(body);
    for (std::size_t at = text.find("http"); at != std::string::npos; at = text.find("http", at)) {
      const std::string_view rest = std::string_view(text).substr(at);
      if (rest.starts_with("http://") || rest.starts_with("https://")) {
        EXPECT_TRUE(rest.starts_with("http://www.w3.org/2000/svg")) << rest.substr(0, 60);
      }
      ++at;
    }
  }
}

TEST(DashboardAssets, ScriptUsesTheDocumentedEndpointsAndIds) {
  const std::string_view js = get("/index.js").body;
  for (const char* part :
       {"/v1/router/list/services", "/v1/router/list/routes", "/v1/router/stats", "/v1/router/log",
        "/v1/router/version", "'no-store'", "dataset.loaded", "data-instance"}) {
    EXPECT_TRUE(contains(js, part)) << part;
  }
  EXPECT_FALSE(contains(js, "innerHTML"));
}

}  // namespace
