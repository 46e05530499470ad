// Test helpers for remote reads: real segment files, a DataSource over fixed
// files, and a MinIO server with a public-read bucket. Tests only.
#pragma once

#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "io/file_system.h"
#include "query/engine.h"
#include "storage/file_set.h"
#include "storage/segment_writer.h"
#include "tier/minio_test_server.h"
#include "tier/s3_store.h"

namespace loge::testutil {

// A merged-style segment (format 2, group filters) of `streams` streams with
// `lines` lines each: stream s (label app="app<s>") has lines at
// ts = base + i * 1000 + s, with random hex text that compresses poorly, so
// the file spans many frames.
struct Segment {
  std::string path;
  storage::CatalogEntry entry;  // path = file name; bytes = compressed size
};

inline constexpr int64_t kBaseTs = 1'700'000'000'000'000'000;

inline Segment BuildSegment(const std::string& dir, const std::string& name, int streams, int lines,
                            uint32_t seed = 1) {
  std::mt19937 rng(seed);
  storage::SegmentWriterOptions wo;
  wo.group_lines = 1024;  // as merges write them: group filters with trigram and id keys
  wo.text_frame_bytes = 256 << 10;  // the remote tests count frames of this size
  storage::SegmentWriter w(wo);
  static const char kHex[] = "0123456789abcdef";
  for (int s = 0; s < streams; s++) {
    std::vector<Entry> es;
    es.reserve(lines);
    for (int i = 0; i < lines; i++) {
      std::string line = "app" + std::to_string(s) + " req=" + std::to_string(i) + " id=";
      for (int k = 0; k < 96; k++) line.push_back(kHex[rng() & 15]);
      es.push_back(Entry{kBaseTs + int64_t{i} * 1000 + s, std::move(line), ""});
    }
    Status st = w.AddStream({{"app", "app" + std::to_string(s)}, {"env", "test"}}, es);
    LOGE_ASSERT(st.ok(), st.ToString().c_str());
  }
  Segment seg;
  seg.path = io::JoinPath(dir, name);
  storage::SegmentInfo info;
  Status st = w.WriteFile(io::DefaultFileSystem(), seg.path, 1, &info);
  LOGE_ASSERT(st.ok(), st.ToString().c_str());
  seg.entry = storage::EntryFor(storage::FileKind::kSegment, name, info, info.bytes);
  return seg;
}

// A handle as the catalog makes it: local (path on disk) or remote (URL).
inline query::FileRef LocalHandle(const Segment& s, int64_t id) {
  storage::CatalogEntry e = s.entry;
  e.id = id;
  return std::make_shared<const storage::FileHandle>(std::move(e), s.path, nullptr);
}
inline query::FileRef RemoteHandle(const Segment& s, int64_t id, const std::string& url) {
  storage::CatalogEntry e = s.entry;
  e.id = id;
  e.tier = storage::Tier::kRemote;
  e.path = url;
  return std::make_shared<const storage::FileHandle>(std::move(e), "", nullptr);
}

// A DataSource over fixed files and no head.
class FixedSource : public query::DataSource {
 public:
  std::vector<query::FileRef> files;
  void Snapshot(const query::Query&, query::TopK*, std::vector<query::FileRef>* out) override { *out = files; }
  std::vector<std::string> LabelKeys() override { return {}; }
};

inline std::string TempDir(const std::string& prefix) {
  std::string tmpl = ::testing::TempDir() + "/" + prefix + "XXXXXX";
  LOGE_ASSERT(mkdtemp(tmpl.data()) != nullptr, "mkdtemp failed");
  return tmpl;
}

inline tier::S3Options MinioOptions(const tier::MinioServer& m, const std::string& bucket) {
  tier::S3Options o;
  o.bucket = bucket;
  o.endpoint = m.endpoint();
  o.force_path_style = true;
  o.region = "us-east-1";
  o.low_speed_time = std::chrono::seconds(5);
  return o;
}

// Opens a store on bucket (creating it), optionally readable by anyone.
inline Result<std::unique_ptr<tier::S3Store>> OpenBucket(const tier::MinioServer& m, const std::string& bucket,
                                                         bool public_read) {
  LOGE_ASSIGN_OR_RETURN(auto store, tier::S3Store::Open(MinioOptions(m, bucket),
                                                        {tier::MinioServer::kUser, tier::MinioServer::kPassword,
                                                         "", "test"}));
  LOGE_RETURN_IF_ERROR(store->TEST_CreateBucket());
  if (public_read) LOGE_RETURN_IF_ERROR(store->TEST_SetPublicReadPolicy());
  return store;
}

// A real MinIO with a public-read bucket "cold" holding one segment of
// `streams` x `lines` under `key`: the set-up shared by the suites that read
// a remote segment. Start in SetUpTestSuite, Stop in TearDownTestSuite; tests
// skip when binary is empty and fail when start is not OK.
struct ColdBucket {
  std::string binary;
  std::string dir;
  Segment* segment = nullptr;
  tier::MinioServer* minio = nullptr;
  tier::S3Store* store = nullptr;
  Status start;

  void Start(const std::string& prefix, const std::string& key, int streams, int lines) {
    binary = tier::MinioServer::FindBinary();
    if (binary.empty()) return;
    dir = TempDir(prefix);
    segment = new Segment(BuildSegment(dir, "segment-1.sqlite.zst", streams, lines));
    minio = new tier::MinioServer();
    start = minio->Start(binary);
    if (!start.ok()) return;
    auto opened = OpenBucket(*minio, "cold", /*public_read=*/true);
    if (!opened.ok()) {
      start = opened.status();
      return;
    }
    store = opened->release();
    start = store->PutFile(key, segment->path);
  }
  void Stop() {
    delete store;
    store = nullptr;
    delete minio;
    minio = nullptr;
    delete segment;
    segment = nullptr;
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
};

}  // namespace loge::testutil
