// KeyFromPublicUrl: the search plan derives object keys from catalog URLs.
#include <gtest/gtest.h>

#include "server/server.h"
#include "tier/s3_store.h"

namespace loge::server {
namespace {

std::unique_ptr<tier::S3Store> Store(tier::S3Options o) {
  o.region = "us-east-1";
  auto s = tier::S3Store::Open(std::move(o), {"AKID", "SECRET", "", "test"});
  LOGE_ASSERT(s.ok(), s.status().ToString().c_str());
  return std::move(s).value();
}

TEST(SearchPlanKeys, PublicUrlIsThePrefixUrlPlusTheKey) {
  std::vector<std::unique_ptr<tier::S3Store>> stores;
  tier::S3Options o;
  o.bucket = "logs";
  stores.push_back(Store(o));  // virtual-hosted AWS
  o.force_path_style = true;
  o.endpoint = "http://127.0.0.1:9000";
  stores.push_back(Store(o));  // path style
  o.prefix = "";
  stores.push_back(Store(o));  // no prefix
  o.prefix = "node-1/cold/";
  o.read_url_base = "https://cdn.example.com/base/";
  stores.push_back(Store(o));  // CDN
  const std::vector<std::string> keys = {"segment-1-2-3.sqlite.zst", "a/b/c.d", "A-Z_a-z.0-9/x", "x"};
  for (const auto& s : stores) {
    for (const auto& k : keys) {
      SCOPED_TRACE(s->PublicUrl(k));
      EXPECT_EQ(s->PublicUrl(k), s->PublicUrl("") + k);
      auto back = KeyFromPublicUrl(*s, s->PublicUrl(k));
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_EQ(*back, k);
    }
    // Keys that need escaping still come back whole.
    auto odd = KeyFromPublicUrl(*s, s->PublicUrl("a b/c+d%e"));
    ASSERT_TRUE(odd.ok());
    EXPECT_EQ(*odd, "a b/c+d%e");
  }
}

TEST(SearchPlanKeys, UrlOutsideTheStoreIsInvalidArgument) {
  tier::S3Options o;
  o.bucket = "logs";
  o.force_path_style = true;
  o.endpoint = "http://127.0.0.1:9000";
  auto s = Store(o);
  for (const std::string& url : std::vector<std::string>{"http://127.0.0.1:9000/other/loge/k", "https://elsewhere/x", "", s->PublicUrl("")}) {
    SCOPED_TRACE(url);
    auto k = KeyFromPublicUrl(*s, url);
    ASSERT_FALSE(k.ok());
    EXPECT_EQ(k.status().code(), Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace loge::server
