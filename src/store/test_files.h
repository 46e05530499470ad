// Test helpers of the store's suites: a fresh directory, the options of a
// store that flushes, checkpoints and merges only when told, and the
// decompressed bytes of every data file of a directory (to check that
// deleted text is physically gone). Test-only; header-only.
#pragma once

#include <gtest/gtest.h>

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "io/file_system.h"
#include "storage/seekable_zstd.h"
#include "store/store.h"

namespace loge::store {

// A new empty directory under the test's temp dir, named after `what`.
inline std::string NewTestDir(const std::string& what) {
  std::string tmpl = ::testing::TempDir() + "/" + what + "XXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

// Polls cond every few ms until it holds or 30 s pass.
inline bool Eventually(const std::function<bool()>& cond) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A store in dir that flushes, checkpoints and merges only when told.
inline StoreOptions WhenToldOptions(const std::string& dir) {
  StoreOptions o;
  o.output_path = dir;
  o.flush_interval = std::chrono::hours(1);
  o.checkpoint_interval = std::chrono::hours(1);
  o.merge_interval = Duration(0);
  return o;
}

// Every flush file and segment under dir, decompressed and joined.
inline std::string DecompressedDataFiles(const std::string& dir) {
  std::string all;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (!name.ends_with(".sqlite.zst")) continue;
    auto f = io::DefaultFileSystem()->OpenRandomAccess(e.path().string());
    EXPECT_TRUE(f.ok()) << name;
    if (!f.ok()) continue;
    auto r = storage::SeekableReader::Open(std::move(*f));
    EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    if (!r.ok()) continue;
    std::string frame;
    for (size_t i = 0; i < (*r)->FrameCount(); i++) {
      EXPECT_TRUE((*r)->ReadFrame(i, &frame).ok()) << name;
      all += frame;
    }
  }
  return all;
}

}  // namespace loge::store
