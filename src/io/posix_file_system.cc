#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "io/file_system.h"

namespace loge::io {

namespace {

Status Errno(const std::string& what, const std::string& path, int err) {
  return Status::IOError(what + " " + path + ": " + std::strerror(err));
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  PosixWritableFile(const PosixWritableFile&) = delete;
  PosixWritableFile& operator=(const PosixWritableFile&) = delete;

  Status Append(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("write", path_, errno);
      }
      data.remove_prefix(n);
      size_ += n;
    }
    return Status::OK();
  }
  Status Sync() override {
    if (::fdatasync(fd_) != 0) return Errno("fdatasync", path_, errno);
    return Status::OK();
  }
  Status Close() override {
    int fd = fd_;
    fd_ = -1;
    if (fd >= 0 && ::close(fd) != 0) return Errno("close", path_, errno);
    return Status::OK();
  }
  uint64_t Size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }
  PosixRandomAccessFile(const PosixRandomAccessFile&) = delete;
  PosixRandomAccessFile& operator=(const PosixRandomAccessFile&) = delete;

  Status Read(uint64_t offset, size_t n, char* buf, size_t* got) const override {
    *got = 0;
    while (*got < n) {
      ssize_t r = ::pread(fd_, buf + *got, n - *got, static_cast<off_t>(offset + *got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Errno("pread", path_, errno);
      }
      if (r == 0) break;
      *got += r;
    }
    return Status::OK();
  }
  uint64_t Size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

class PosixMappedRegion final : public MappedRegion {
 public:
  PosixMappedRegion(void* base, size_t len, size_t skip, size_t n) : base_(base), len_(len), skip_(skip), n_(n) {}
  ~PosixMappedRegion() override { ::munmap(base_, len_); }
  std::string_view bytes() const override { return {static_cast<const char*>(base_) + skip_, n_}; }
  // For a read-only file mapping, MADV_DONTNEED unmaps the pages from this
  // process only: the page cache keeps them, and a later read faults them
  // back in (a minor fault) with the file's bytes, never zeros.
  void DoRelease() const override { (void)::madvise(base_, len_, MADV_DONTNEED); }

 private:
  void* base_;
  size_t len_;   // what was mapped: from the page boundary at or before the offset
  size_t skip_;  // offset - that boundary
  size_t n_;
};

// Opens path read-only; *size is its size. The caller closes the fd.
Result<int> OpenForReading(const std::string& path, uint64_t* size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("open " + path + ": no such file");
    return Errno("open", path, errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Errno("stat", path, err);
  }
  *size = static_cast<uint64_t>(st.st_size);
  return fd;
}

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, bool append) override {
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return Errno("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return Errno("stat", path, err);
    }
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd, st.st_size));
  }
  Result<std::unique_ptr<RandomAccessFile>> OpenRandomAccess(const std::string& path) override {
    uint64_t size = 0;
    LOGE_ASSIGN_OR_RETURN(int fd, OpenForReading(path, &size));
    return std::unique_ptr<RandomAccessFile>(new PosixRandomAccessFile(path, fd, size));
  }
  Result<std::shared_ptr<const MappedRegion>> MapReadOnly(const std::string& path, uint64_t offset,
                                                          size_t n) override {
    if (n == 0) return Status::InvalidArgument("map " + path + ": empty range");
    uint64_t size = 0;
    LOGE_ASSIGN_OR_RETURN(int fd, OpenForReading(path, &size));
    if (offset > size || n > size - offset) {
      ::close(fd);
      return Status::InvalidArgument("map " + path + ": range past the end of the file");
    }
    static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t start = offset / page * page;
    const size_t len = static_cast<size_t>(offset - start) + n;
    void* base = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(start));
    const int err = errno;
    ::close(fd);  // the mapping keeps the file
    if (base == MAP_FAILED) return Errno("mmap", path, err);
    // Probes land anywhere in a filter: read-ahead around a fault would
    // only bring in pages nobody asked for.
    (void)::madvise(base, len, MADV_RANDOM);
    return std::shared_ptr<const MappedRegion>(
        std::make_shared<PosixMappedRegion>(base, len, static_cast<size_t>(offset - start), n));
  }
  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return Errno("rename", from + " -> " + to, errno);
    return Status::OK();
  }
  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) return Status::NotFound("unlink " + path + ": no such file");
      return Errno("unlink", path, errno);
    }
    return Status::OK();
  }
  Status SyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Errno("open dir", dir, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return Errno("fsync dir", dir, err);
    return Status::OK();
  }
  Status CreateDirs(const std::string& dir) override {
    std::string cur;
    size_t i = 0;
    while (i <= dir.size()) {
      size_t j = dir.find('/', i);
      if (j == std::string::npos) j = dir.size();
      cur = dir.substr(0, j);
      if (!cur.empty() && ::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
        return Errno("mkdir", cur, errno);
      }
      i = j + 1;
    }
    return Status::OK();
  }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return Errno("opendir", dir, errno);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    ::closedir(d);
    return names;
  }
  Result<uint64_t> FileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Errno("stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }
  bool Exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }
};

}  // namespace

FileSystem* DefaultFileSystem() {
  static PosixFileSystem* fs = new PosixFileSystem();  // never destroyed: used until exit
  return fs;
}

void MappedRegion::Touch() const {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  // Readers of one region call this together: skip the store when another
  // already wrote this millisecond, so the line is not bounced between cores.
  if (last_use_ms_.load(std::memory_order_relaxed) != now) last_use_ms_.store(now, std::memory_order_relaxed);
}

uint64_t FileResidentBytes() {
  // statm: size resident shared text lib data dt, in pages. "shared" is
  // RssFile + RssShmem, kept as counters by the kernel: reading it costs no
  // walk of the mappings (smaps would).
  int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[128];
  const ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  unsigned long long size = 0, resident = 0, shared = 0;
  if (std::sscanf(buf, "%llu %llu %llu", &size, &resident, &shared) != 3) return 0;
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return shared * page;
}

Result<std::shared_ptr<const MappedRegion>> FileSystem::MapReadOnly(const std::string& path, uint64_t, size_t) {
  return Status::Unsupported("this file system does not map files (" + path + ")");
}

Result<std::string> ReadFileToString(FileSystem* fs, const std::string& path) {
  LOGE_ASSIGN_OR_RETURN(auto f, fs->OpenRandomAccess(path));
  std::string data(f->Size(), '\0');
  size_t got = 0;
  LOGE_RETURN_IF_ERROR(f->Read(0, data.size(), data.data(), &got));
  data.resize(got);
  return data;
}

Status WriteFileAtomic(FileSystem* fs, const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  LOGE_ASSIGN_OR_RETURN(auto f, fs->NewWritableFile(tmp, /*append=*/false));
  LOGE_RETURN_IF_ERROR(f->Append(data));
  LOGE_RETURN_IF_ERROR(f->Sync());
  LOGE_RETURN_IF_ERROR(f->Close());
  LOGE_RETURN_IF_ERROR(fs->Rename(tmp, path));
  return fs->SyncDir(DirName(path));
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out(dir);
  if (out.back() != '/') out.push_back('/');
  out += name;
  return out;
}

std::string DirName(std::string_view path) {
  size_t p = path.rfind('/');
  if (p == std::string_view::npos) return ".";
  if (p == 0) return "/";
  return std::string(path.substr(0, p));
}

}  // namespace loge::io
