// Test helper: the decompressed bytes of every data file of a store's
// directory, to check that deleted text is physically gone (deletes_test,
// retention_test). Test-only; header-only.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "io/file_system.h"
#include "storage/seekable_zstd.h"

namespace loge::store {

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
