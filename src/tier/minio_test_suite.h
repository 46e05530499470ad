// MinioSuite: a gtest fixture base for tests against one MinIO per test
// suite, with a bucket of the derived fixture's kBucket made at the start.
// Tests are skipped when MinIO is not installed (scripts/minio.sh install).
//
//   class UploaderMinio : public MinioSuite<UploaderMinio> {
//    public:
//     static constexpr const char* kBucket = "loge-upload";
//   };
//
// Thread-safety: gtest's thread only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "tier/minio_test_server.h"
#include "tier/s3_store.h"
#include "tier/uploader.h"

namespace loge::tier {

inline AwsCredentials MinioTestCredentials() { return {MinioServer::kUser, MinioServer::kPassword, "", "test"}; }

template <typename Derived>
class MinioSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    binary_ = MinioServer::FindBinary();
    if (binary_.empty()) return;
    server_ = new MinioServer();
    start_ = server_->Start(binary_);
    if (!start_.ok()) return;
    auto s = S3Store::Open(Options(""), MinioTestCredentials());
    start_ = s.ok() ? (*s)->TEST_CreateBucket() : s.status();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  // Skips without MinIO; fails when it did not start.
  void SetUp() override {
    if (binary_.empty()) GTEST_SKIP() << "MinIO is not installed: run scripts/minio.sh install (or set LOGE_MINIO_BIN)";
    ASSERT_TRUE(start_.ok()) << start_.ToString();
  }
  static S3Options Options(const std::string& prefix, const std::string& bucket = Derived::kBucket) {
    S3Options o;
    o.bucket = bucket;
    o.prefix = prefix;
    o.endpoint = server_->endpoint();
    o.force_path_style = true;
    o.region = "us-east-1";
    o.low_speed_time = std::chrono::seconds(5);
    return o;
  }

  static std::unique_ptr<S3Store> OpenS3(const std::string& prefix) {
    auto s = S3Store::Open(Options(prefix), MinioTestCredentials());
    LOGE_ASSERT(s.ok(), s.status().ToString().c_str());
    return std::move(*s);
  }
  // An uploader that runs a pass only when told, whose clock stands at now_ns.
  static std::unique_ptr<Uploader> ManualUploader(S3Store* s3, int64_t now_ns) {
    UploaderOptions uo;
    uo.rotate_interval = std::chrono::milliseconds(0);
    uo.grace = std::chrono::milliseconds(0);
    auto up = std::make_unique<Uploader>(uo, s3);
    up->TEST_SetClocks([now_ns] { return now_ns; }, nullptr);
    return up;
  }

  static inline std::string binary_;
  static inline MinioServer* server_ = nullptr;
  static inline Status start_;
};

}  // namespace loge::tier
