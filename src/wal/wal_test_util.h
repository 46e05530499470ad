// Test helpers for src/wal: a scratch directory and a FileSystem wrapper that
// counts syncs, can fail them, and can hold the writer inside Sync.
//
// Thread-safety: TestFileSystem is safe to share, like the file system it wraps.
#pragma once

#include <stdlib.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>

#include "io/file_system.h"

namespace loge::wal::testing {

// A fresh directory under the system temp dir, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "loge-wal-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Forwards to the POSIX file system. Counts file syncs and directory syncs;
// fails file syncs while fail_sync is set; with hold_sync set, a file Sync
// reports that it has begun and then blocks until Release().
class TestFileSystem final : public io::FileSystem {
 public:
  std::atomic<int> file_syncs{0};
  std::atomic<int> dir_syncs{0};
  std::atomic<int> appends{0};
  std::atomic<bool> fail_sync{false};
  std::atomic<bool> hold_sync{false};
  std::atomic<bool> hold_dir_sync{false};  // SyncDir blocks (like a held Sync) until Release()

  // Blocks until a held Sync has begun.
  void WaitForHeldSync() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [this] { return held_; });
  }
  // Lets held Syncs return, and stops holding new ones.
  void Release() {
    std::lock_guard<std::mutex> l(mu_);
    hold_sync = false;
    hold_dir_sync = false;
    released_ = true;
    cv_.notify_all();
  }

  Result<std::unique_ptr<io::WritableFile>> NewWritableFile(const std::string& path,
                                                            bool append) override {
    auto f = base_->NewWritableFile(path, append);
    if (!f.ok()) return f.status();
    return std::unique_ptr<io::WritableFile>(new File(this, std::move(f).value()));
  }
  Result<std::unique_ptr<io::RandomAccessFile>> OpenRandomAccess(const std::string& path) override {
    return base_->OpenRandomAccess(path);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    return base_->Rename(from, to);
  }
  Status Remove(const std::string& path) override { return base_->Remove(path); }
  Status SyncDir(const std::string& dir) override {
    dir_syncs++;
    if (hold_dir_sync) {
      std::unique_lock<std::mutex> l(mu_);
      held_ = true;
      cv_.notify_all();
      cv_.wait(l, [this] { return released_; });
    }
    return base_->SyncDir(dir);
  }
  Status CreateDirs(const std::string& dir) override { return base_->CreateDirs(dir); }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    return base_->ListDir(dir);
  }
  Result<uint64_t> FileSize(const std::string& path) override { return base_->FileSize(path); }
  bool Exists(const std::string& path) override { return base_->Exists(path); }

 private:
  class File final : public io::WritableFile {
   public:
    File(TestFileSystem* fs, std::unique_ptr<io::WritableFile> base)
        : fs_(fs), base_(std::move(base)) {}
    Status Append(std::string_view data) override {
      fs_->appends++;
      return base_->Append(data);
    }
    Status Sync() override {
      fs_->file_syncs++;
      if (fs_->hold_sync) {
        std::unique_lock<std::mutex> l(fs_->mu_);
        fs_->held_ = true;
        fs_->cv_.notify_all();
        fs_->cv_.wait(l, [this] { return fs_->released_; });
      }
      if (fs_->fail_sync) return Status::IOError("fdatasync: injected failure");
      return base_->Sync();
    }
    Status Close() override { return base_->Close(); }
    uint64_t Size() const override { return base_->Size(); }

   private:
    TestFileSystem* fs_;
    std::unique_ptr<io::WritableFile> base_;
  };

  io::FileSystem* base_ = io::DefaultFileSystem();
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;      // a Sync is (or was) held
  bool released_ = false;  // Release() was called
};

}  // namespace loge::wal::testing
