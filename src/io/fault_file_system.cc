#include "io/fault_file_system.h"

#include <cstring>

namespace loge::io {

namespace {

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultFileSystem* fs, std::string path, std::unique_ptr<WritableFile> base)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)) {}

  Status Append(std::string_view data) override {
    Status s = fs_->Check("write", path_);
    if (!s.ok()) {
      // A short write: the first half reaches the file, then the error.
      (void)base_->Append(data.substr(0, data.size() / 2));
      return s;
    }
    return base_->Append(data);
  }
  Status Sync() override {
    LOGE_RETURN_IF_ERROR(fs_->Check("sync", path_));
    return base_->Sync();
  }
  Status Close() override {
    Status s = fs_->Check("close", path_);
    Status c = base_->Close();  // the descriptor is released either way
    return s.ok() ? c : s;
  }
  uint64_t Size() const override { return base_->Size(); }

 private:
  FaultFileSystem* const fs_;
  const std::string path_;
  std::unique_ptr<WritableFile> base_;
};

}  // namespace

void FaultFileSystem::FailAt(uint64_t n, int err, uint64_t times) {
  MutexLock l(&mu_);
  fail_at_ = calls_ + n;
  err_ = err;
  times_ = times;
}

void FaultFileSystem::Clear() {
  MutexLock l(&mu_);
  fail_at_ = 0;
}

void FaultFileSystem::Reset() {
  MutexLock l(&mu_);
  calls_ = 0;
  fail_at_ = 0;
  injected_ = 0;
  first_fault_.clear();
}

uint64_t FaultFileSystem::calls() const {
  MutexLock l(&mu_);
  return calls_;
}

uint64_t FaultFileSystem::injected() const {
  MutexLock l(&mu_);
  return injected_;
}

std::string FaultFileSystem::first_fault() const {
  MutexLock l(&mu_);
  return first_fault_;
}

Status FaultFileSystem::Check(const char* op, const std::string& path) {
  MutexLock l(&mu_);
  const uint64_t n = ++calls_;
  if (fail_at_ == 0 || n < fail_at_ || (times_ != 0 && n >= fail_at_ + times_)) return Status::OK();
  if (injected_++ == 0) first_fault_ = std::string(op) + " " + path;
  return Status::IOError(std::string(op) + " " + path + ": " + std::strerror(err_) + " (injected)");
}

Result<std::unique_ptr<WritableFile>> FaultFileSystem::NewWritableFile(const std::string& path, bool append) {
  LOGE_RETURN_IF_ERROR(Check(append ? "open for append" : "create", path));
  LOGE_ASSIGN_OR_RETURN(auto f, base_->NewWritableFile(path, append));
  return std::unique_ptr<WritableFile>(new FaultWritableFile(this, path, std::move(f)));
}

Status FaultFileSystem::Rename(const std::string& from, const std::string& to) {
  LOGE_RETURN_IF_ERROR(Check("rename", from));
  return base_->Rename(from, to);
}

Status FaultFileSystem::Remove(const std::string& path) {
  LOGE_RETURN_IF_ERROR(Check("remove", path));
  return base_->Remove(path);
}

Status FaultFileSystem::SyncDir(const std::string& dir) {
  LOGE_RETURN_IF_ERROR(Check("sync directory", dir));
  return base_->SyncDir(dir);
}

Status FaultFileSystem::CreateDirs(const std::string& dir) {
  LOGE_RETURN_IF_ERROR(Check("create directories", dir));
  return base_->CreateDirs(dir);
}

}  // namespace loge::io
