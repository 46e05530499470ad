// Test helper: a Server on a fresh directory and a loopback port chosen by
// the kernel, one I/O and one handler thread (routes_test,
// handler_loki_test). Test-only; header-only.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <memory>
#include <string>

#include "server/server.h"

namespace loge::server {

inline std::unique_ptr<Server> StartTestServer(std::string api_key, const std::string& what) {
  std::string dir = ::testing::TempDir() + "/" + what + "XXXXXX";
  EXPECT_NE(mkdtemp(dir.data()), nullptr);
  ServerOptions o;
  o.api_key = std::move(api_key);
  o.store.output_path = dir;
  o.http.address = "127.0.0.1";
  o.http.port = 0;
  o.http.io_threads = 1;
  o.http.handler_threads = 1;
  auto s = Server::Start(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

}  // namespace loge::server
