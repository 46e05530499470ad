#include "tier/s3_store.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "tier/minio_test_server.h"
#include "tier/s3_xml.h"

namespace loge::tier {
namespace {

using std::chrono::seconds;

AwsCredentials TestCredentials() {
  return {MinioServer::kUser, MinioServer::kPassword, "", "test"};
}

std::unique_ptr<S3Store> OpenOrDie(S3Options o, AwsCredentials c = TestCredentials()) {
  if (o.region.empty()) o.region = "us-east-1";
  auto s = S3Store::Open(std::move(o), std::move(c));
  LOGE_ASSERT(s.ok(), s.status().ToString().c_str());
  return std::move(s).value();
}

// A plain GET with libcurl: no credentials. Returns the HTTP status.
long PlainGet(const std::string& url, std::string* body, const std::string& range = "") {
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* u) {
    static_cast<std::string*>(u)->append(d, s * n);
    return s * n;
  });
  curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
  if (!range.empty()) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  long code = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(c);
  return code;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& ch : s) ch = static_cast<char>(rng());
  return s;
}

// ---- without a server ----

TEST(S3Store, UrlsArePathStyleOrVirtualHosted) {
  S3Options o;
  o.bucket = "logs";
  o.region = "eu-west-1";
  auto aws = OpenOrDie(o);
  EXPECT_EQ(aws->PublicUrl("a b/c+d"),
            "https://logs.s3.eu-west-1.amazonaws.com/loge/a%20b/c%2Bd");

  o.force_path_style = true;
  o.endpoint = "http://127.0.0.1:9000/";
  o.prefix = "";
  auto minio = OpenOrDie(o);
  EXPECT_EQ(minio->PublicUrl("x/y.zst"), "http://127.0.0.1:9000/logs/x/y.zst");

  o.read_url_base = "https://cdn.example.com/cold/";
  auto cdn = OpenOrDie(o);
  EXPECT_EQ(cdn->PublicUrl("x/y.zst"), "https://cdn.example.com/cold/x/y.zst");
}

TEST(S3Store, PresignedUrlCarriesTheSigV4QueryFields) {
  S3Options o;
  o.bucket = "logs";
  o.region = "us-west-2";
  o.endpoint = "http://127.0.0.1:9000";
  o.force_path_style = true;
  auto s = OpenOrDie(o, {"AKID", "SECRET", "", "test"});
  s->TEST_SetClock([] { return std::chrono::system_clock::from_time_t(1369353600); });
  auto url = s->PresignGet("seg/1.zst", seconds(0));
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->rfind("http://127.0.0.1:9000/logs/loge/seg/1.zst?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                       "&X-Amz-Credential=AKID%2F20130524%2Fus-west-2%2Fs3%2Faws4_request"
                       "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=900"
                       "&X-Amz-SignedHeaders=host&X-Amz-Signature=",
                       0),
            0u)
      << *url;
  EXPECT_EQ(url->find("SECRET"), std::string::npos);
  EXPECT_EQ(s->PresignGet("k", seconds(604801)).status().code(), Code::kInvalidArgument);
}

TEST(S3Store, OpenRejectsBadOptions) {
  auto check = [](S3Options o, std::string_view want) {
    SCOPED_TRACE(std::string(want));
    o.region = "us-east-1";
    auto s = S3Store::Open(std::move(o), TestCredentials());
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
    EXPECT_NE(s.status().message().find(want), std::string::npos) << s.status().ToString();
  };
  S3Options o;
  check(o, "bucket");
  o.bucket = "a/b";
  check(o, "bucket");
  o.bucket = "ok";
  o.part_size = 1 << 20;
  check(o, "5 MiB");
  o.part_size = 8 << 20;
  o.presign_expiry = seconds(0);
  check(o, "presign");
  o.presign_expiry = seconds(60);
  o.acl = "private\r\nx-injected: 1";
  check(o, "s3-acl");
}

TEST(S3Store, RefusedConnectionIsUnavailableAtOnce) {
  S3Options o;
  o.bucket = "logs";
  o.endpoint = "http://127.0.0.1:" + std::to_string(MinioServer::FreePort());
  o.force_path_style = true;
  auto s = OpenOrDie(o);
  auto start = std::chrono::steady_clock::now();
  auto head = s->HeadObject("k");
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.status().code(), Code::kUnavailable) << head.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(3));
}

TEST(S3Store, SilentServerTimesOutInsteadOfHanging) {
  // A socket that listens but never answers: connections complete in the
  // kernel's backlog and then nothing comes back.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);

  S3Options o;
  o.bucket = "logs";
  o.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  o.force_path_style = true;
  o.low_speed_time = seconds(1);
  auto s = OpenOrDie(o);
  auto start = std::chrono::steady_clock::now();
  auto got = s->GetObjectRange("k", 0, 10);
  auto took = std::chrono::steady_clock::now() - start;
  close(fd);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kUnavailable) << got.status().ToString();
  EXPECT_LT(took, seconds(5));
}

// ---- against a real MinIO ----

class S3StoreMinio : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    binary_ = MinioServer::FindBinary();
    if (binary_.empty()) return;
    server_ = new MinioServer();
    start_ = server_->Start(binary_);
    if (!start_.ok()) return;
    S3Options o = Options();
    auto s = S3Store::Open(o, TestCredentials());
    start_ = s.ok() ? (*s)->TEST_CreateBucket() : s.status();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (binary_.empty()) {
      GTEST_SKIP() << "MinIO is not installed: run scripts/minio.sh install "
                      "(or set LOGE_MINIO_BIN)";
    }
    ASSERT_TRUE(start_.ok()) << start_.ToString();
    store_ = OpenOrDie(Options());
  }

  static S3Options Options() {
    S3Options o;
    o.bucket = "loge-test";
    o.endpoint = server_->endpoint();
    o.force_path_style = true;
    o.region = "us-east-1";
    o.low_speed_time = seconds(5);
    return o;
  }

  // A unique key prefix per test, so tests of one suite share the server.
  std::string Key(const std::string& name) {
    return std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "/" +
           name;
  }

  std::string TempFile(const std::string& bytes) {
    auto p = std::filesystem::temp_directory_path() /
             ("loge-s3-test-" + std::to_string(getpid()) + "-" + std::to_string(files_.size()));
    std::ofstream(p, std::ios::binary) << bytes;
    files_.push_back(p);
    return p.string();
  }
  void TearDown() override {
    for (auto& f : files_) std::filesystem::remove(f);
  }

  static inline std::string binary_;
  static inline MinioServer* server_ = nullptr;
  static inline Status start_;
  std::unique_ptr<S3Store> store_;
  std::vector<std::filesystem::path> files_;
};

TEST_F(S3StoreMinio, PutHeadAndRangeReadRoundTrip) {
  std::string data = RandomBytes(100000, 1);
  ASSERT_TRUE(store_->PutObject(Key("a.bin"), data).ok());
  auto head = store_->HeadObject(Key("a.bin"));
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->size, 100000u);
  EXPECT_EQ(head->etag.size(), 32u) << head->etag;  // md5 hex, quotes stripped

  auto mid = store_->GetObjectRange(Key("a.bin"), 100, 100);
  ASSERT_TRUE(mid.ok()) << mid.status().ToString();
  EXPECT_EQ(*mid, data.substr(100, 100));
  auto tail = store_->GetObjectRange(Key("a.bin"), 99990, 1000);  // clipped at the end
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, data.substr(99990));
  auto past = store_->GetObjectRange(Key("a.bin"), 100000, 10);
  EXPECT_EQ(past.status().code(), Code::kInvalidArgument) << past.status().ToString();
}

TEST_F(S3StoreMinio, MissingObjectIsNotFound) {
  EXPECT_EQ(store_->HeadObject(Key("nope")).status().code(), Code::kNotFound);
  auto get = store_->GetObjectRange(Key("nope"), 0, 1);
  EXPECT_EQ(get.status().code(), Code::kNotFound);
  EXPECT_NE(get.status().message().find("NoSuchKey"), std::string::npos);
}

TEST_F(S3StoreMinio, KeysWithSpacesAndSymbolsRoundTrip) {
  std::string key = Key("a b/c+d=e&f%g \xc3\xa9~.zst");
  ASSERT_TRUE(store_->PutObject(key, "hello").ok());
  auto got = store_->GetObjectRange(key, 0, 5);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "hello");
  auto list = store_->ListObjects(Key(""));
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].key, key);
}

TEST_F(S3StoreMinio, ListFollowsContinuationTokens) {
  for (int i = 0; i < 25; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "k%03d", i);
    ASSERT_TRUE(store_->PutObject(Key(name), std::string(static_cast<size_t>(i), 'x')).ok());
  }
  auto first = store_->ListObjectsPage(Key(""), "", 10);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->objects.size(), 10u);
  EXPECT_FALSE(first->next_token.empty());

  auto all = store_->ListObjects(Key(""), /*page_size=*/10);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 25u);
  for (int i = 0; i < 25; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "k%03d", i);
    EXPECT_EQ((*all)[static_cast<size_t>(i)].key, Key(name));
    EXPECT_EQ((*all)[static_cast<size_t>(i)].size, static_cast<uint64_t>(i));
  }
}

TEST_F(S3StoreMinio, ListIsRelativeToTheStorePrefix) {
  S3Options o = Options();
  o.prefix = "other-root/";
  auto other = OpenOrDie(o);
  ASSERT_TRUE(other->PutObject(Key("x"), "1").ok());
  ASSERT_TRUE(store_->PutObject(Key("y"), "2").ok());
  auto mine = store_->ListObjects(Key(""));
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].key, Key("y"));
  auto theirs = other->ListObjects("");
  ASSERT_TRUE(theirs.ok());
  ASSERT_EQ(theirs->size(), 1u);
  EXPECT_EQ((*theirs)[0].key, Key("x"));
}

TEST_F(S3StoreMinio, DeleteRemovesAndToleratesMissing) {
  ASSERT_TRUE(store_->PutObject(Key("d"), "x").ok());
  ASSERT_TRUE(store_->DeleteObject(Key("d")).ok());
  EXPECT_EQ(store_->HeadObject(Key("d")).status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->DeleteObject(Key("d")).ok());
  ASSERT_TRUE(store_->PutObject(Key("empty"), "").ok());
  EXPECT_EQ(store_->HeadObject(Key("empty"))->size, 0u);
}

TEST_F(S3StoreMinio, SmallFileIsOnePut) {
  std::string data = RandomBytes(3000, 2);
  ASSERT_TRUE(store_->PutFile(Key("small"), TempFile(data)).ok());
  auto head = store_->HeadObject(Key("small"));
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, 3000u);
  EXPECT_EQ(head->etag.find('-'), std::string::npos);  // not a multipart ETag
}

TEST_F(S3StoreMinio, LargeFileIsAMultipartUpload) {
  S3Options o = Options();
  o.multipart_threshold = 8u << 20;
  o.part_size = 5u << 20;
  auto store = OpenOrDie(o);
  std::string data = RandomBytes(12u << 20, 3);
  Status put = store->PutFile(Key("big"), TempFile(data));
  ASSERT_TRUE(put.ok()) << put.ToString();
  auto head = store->HeadObject(Key("big"));
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, data.size());
  EXPECT_EQ(head->etag.substr(head->etag.size() - 2), "-3") << head->etag;  // 5 + 5 + 2 MiB
  // Bytes across both part boundaries.
  for (uint64_t off : {(5ull << 20) - 7, (10ull << 20) - 7, (12ull << 20) - 7}) {
    auto got = store->GetObjectRange(Key("big"), off, 14);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, data.substr(off, 14));
  }
  auto pending = store->ListMultipartUploads(Key(""));
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  EXPECT_TRUE(pending->empty());
}

TEST_F(S3StoreMinio, FailedPartAbortsTheUploadAndLeavesNothing) {
  S3Options o = Options();
  o.multipart_threshold = 8u << 20;
  o.part_size = 5u << 20;
  auto store = OpenOrDie(o);
  std::string path = TempFile(RandomBytes(12u << 20, 4));

  // First show that the listing sees an unfinished upload: one left behind
  // on purpose, then aborted by hand.
  store->TEST_FailUploadPart(2);
  store->TEST_SkipAbort(true);
  ASSERT_FALSE(store->PutFile(Key("big"), path).ok());
  auto left = store->ListMultipartUploads(Key(""));
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].key, Key("big"));
  ASSERT_TRUE(store->AbortMultipartUpload((*left)[0].key, (*left)[0].upload_id).ok());
  ASSERT_TRUE(store->ListMultipartUploads(Key(""))->empty());

  store->TEST_SkipAbort(false);
  Status put = store->PutFile(Key("big"), path);
  ASSERT_FALSE(put.ok());
  EXPECT_NE(put.message().find("UploadPart 2"), std::string::npos) << put.ToString();
  EXPECT_EQ(store->HeadObject(Key("big")).status().code(), Code::kNotFound);
  auto pending = store->ListMultipartUploads(Key(""));
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  EXPECT_TRUE(pending->empty()) << pending->size() << " uploads left, first "
                                << (pending->empty() ? "" : (*pending)[0].key);

  // The same store uploads the file once the failure is gone.
  store->TEST_FailUploadPart(0);
  ASSERT_TRUE(store->PutFile(Key("big"), path).ok());
  EXPECT_EQ(store->HeadObject(Key("big"))->size, 12u << 20);
}

TEST_F(S3StoreMinio, PresignedGetNeedsNoCredentials) {
  std::string data = RandomBytes(5000, 5);
  ASSERT_TRUE(store_->PutObject(Key("p.bin"), data).ok());
  std::string unsigned_body;
  EXPECT_EQ(PlainGet(store_->PublicUrl(Key("p.bin")), &unsigned_body), 403);  // private bucket

  auto url = store_->PresignGet(Key("p.bin"), seconds(60));
  ASSERT_TRUE(url.ok());
  std::string body;
  EXPECT_EQ(PlainGet(*url, &body), 200);
  EXPECT_EQ(body, data);
  std::string part;
  EXPECT_EQ(PlainGet(*url, &part, "10-19"), 206);
  EXPECT_EQ(part, data.substr(10, 10));
}

TEST_F(S3StoreMinio, ExpiredPresignedUrlIsRejected) {
  ASSERT_TRUE(store_->PutObject(Key("e"), "x").ok());
  store_->TEST_SetClock([] { return std::chrono::system_clock::now() - std::chrono::hours(1); });
  auto url = store_->PresignGet(Key("e"), seconds(60));
  ASSERT_TRUE(url.ok());
  std::string body;
  EXPECT_EQ(PlainGet(*url, &body), 403) << body;
  EXPECT_NE(body.find("expired"), std::string::npos) << body;
}

TEST_F(S3StoreMinio, TamperedPresignedUrlIsRejected) {
  ASSERT_TRUE(store_->PutObject(Key("t"), "x").ok());
  ASSERT_TRUE(store_->PutObject(Key("u"), "y").ok());
  auto url = store_->PresignGet(Key("t"), seconds(60));
  ASSERT_TRUE(url.ok());
  std::string sig_flipped = *url;
  sig_flipped.back() = sig_flipped.back() == '0' ? '1' : '0';
  std::string body;
  EXPECT_EQ(PlainGet(sig_flipped, &body), 403);
  EXPECT_NE(body.find("SignatureDoesNotMatch"), std::string::npos) << body;
  // The signature covers the key: the same query on another object fails.
  std::string other = *url;
  other.replace(other.find("/t?"), 3, "/u?");
  body.clear();
  EXPECT_EQ(PlainGet(other, &body), 403) << body;
}

TEST_F(S3StoreMinio, PublicUrlServesOnceTheBucketAllowsIt) {
  ASSERT_TRUE(store_->PutObject(Key("pub"), "public bytes").ok());
  ASSERT_TRUE(store_->TEST_SetPublicReadPolicy().ok());
  std::string body;
  EXPECT_EQ(PlainGet(store_->PublicUrl(Key("pub")), &body, "7-11"), 206);
  EXPECT_EQ(body, "bytes");
}

TEST_F(S3StoreMinio, CannedAclIsSignedAndAccepted) {
  S3Options o = Options();
  o.acl = "private";
  o.multipart_threshold = 5u << 20;
  o.part_size = 5u << 20;
  auto store = OpenOrDie(o);
  ASSERT_TRUE(store->PutObject(Key("small"), "x").ok());
  Status put = store->PutFile(Key("big"), TempFile(RandomBytes(6u << 20, 6)));
  ASSERT_TRUE(put.ok()) << put.ToString();
  EXPECT_EQ(store->HeadObject(Key("big"))->etag.substr(32), "-2");
}

// Temporary credentials from MinIO's STS AssumeRole, signed with the root keys.
AwsCredentials AssumeRoleOnce(const std::string& endpoint, std::string* answer) {
  CURL* c = curl_easy_init();
  std::string body;
  std::string form = "Action=AssumeRole&Version=2011-06-15&DurationSeconds=900";
  curl_easy_setopt(c, CURLOPT_URL, (endpoint + "/").c_str());
  curl_easy_setopt(c, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:sts");
  curl_easy_setopt(c, CURLOPT_USERNAME, MinioServer::kUser);
  curl_easy_setopt(c, CURLOPT_PASSWORD, MinioServer::kPassword);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, form.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* u) {
    static_cast<std::string*>(u)->append(d, s * n);
    return s * n;
  });
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_cleanup(c);
  *answer = std::string(curl_easy_strerror(rc)) + ": " + body;
  return {xml::FirstText(body, "AccessKeyId").value_or(""),
          xml::FirstText(body, "SecretAccessKey").value_or(""),
          xml::FirstText(body, "SessionToken").value_or(""), "sts"};
}

// MinIO's STS can refuse or time out for a while on a loaded machine (it
// once answered without a token under a load average of 8): ask until it
// gives one, for up to a minute, and say what it answered last.
AwsCredentials AssumeRole(const std::string& endpoint) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::string answer;
  for (;;) {
    AwsCredentials c = AssumeRoleOnce(endpoint, &answer);
    if (!c.session_token.empty() || std::chrono::steady_clock::now() > deadline) {
      if (c.session_token.empty()) ADD_FAILURE() << "AssumeRole gave no token; last answer: " << answer;
      return c;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

TEST_F(S3StoreMinio, SessionTokenSignsRequestsAndPresignedUrls) {
  AwsCredentials temp = AssumeRole(server_->endpoint());
  ASSERT_FALSE(temp.session_token.empty());
  auto store = OpenOrDie(Options(), temp);
  ASSERT_TRUE(store->PutObject(Key("s"), "session").ok());
  EXPECT_EQ(store->HeadObject(Key("s"))->size, 7u);
  auto url = store->PresignGet(Key("s"), seconds(60));
  ASSERT_TRUE(url.ok());
  EXPECT_NE(url->find("X-Amz-Security-Token="), std::string::npos);
  std::string body;
  EXPECT_EQ(PlainGet(*url, &body), 200);
  EXPECT_EQ(body, "session");

  // The same temporary keys without their token are refused.
  temp.session_token.clear();
  auto tokenless = OpenOrDie(Options(), temp);
  EXPECT_FALSE(tokenless->HeadObject(Key("s")).ok());
}

TEST_F(S3StoreMinio, WrongSecretIsAClearErrorWithoutTheSecret) {
  auto bad = OpenOrDie(Options(), {MinioServer::kUser, "not-the-secret-42", "", "environment"});
  Status put = bad->PutObject(Key("x"), "y");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.code(), Code::kIOError);
  EXPECT_NE(put.message().find("HTTP 403 SignatureDoesNotMatch"), std::string::npos)
      << put.ToString();
  EXPECT_NE(put.message().find("check the AWS credentials from environment"), std::string::npos);
  EXPECT_EQ(put.message().find("not-the-secret-42"), std::string::npos);
}

TEST_F(S3StoreMinio, UnknownAccessKeyIsAClearError) {
  auto bad = OpenOrDie(Options(), {"NOSUCHKEY", "whatever-secret", "", "test"});
  auto list = bad->ListObjects("");
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.status().message().find("InvalidAccessKeyId"), std::string::npos)
      << list.status().ToString();
}

TEST_F(S3StoreMinio, MissingBucketNamesTheRemedy) {
  S3Options o = Options();
  o.bucket = "no-such-bucket";
  auto s = OpenOrDie(o);
  Status put = s->PutObject("k", "v");
  ASSERT_FALSE(put.ok());
  EXPECT_NE(put.message().find("NoSuchBucket"), std::string::npos) << put.ToString();
  EXPECT_NE(put.message().find("--s3-bucket"), std::string::npos);
}

}  // namespace
}  // namespace loge::tier
