#include "store/check.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "io/file_system.h"
#include "storage/catalog.h"
#include "storage/verify.h"
#include "store/filename.h"
#include "wal/reader.h"
#include "wal/record.h"

namespace loge::store {

namespace {

// Holds <dir>/LOCK (flock) for the check's lifetime; refuses when held.
class DirLock {
 public:
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Take(const std::string& dir) {
    const std::string path = io::JoinPath(dir, kLockName);
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return Status::IOError("open " + path + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      if (err == EWOULDBLOCK) {
        return Status::Unavailable("a running loge holds " + path +
                                   "; loge check reads a directory no server is using: stop the server, or check "
                                   "a copy of the directory");
      }
      return Status::IOError("lock " + path + ": " + std::strerror(err));
    }
    return Status::OK();
  }

 private:
  int fd_ = -1;
};

// The catalog: integrity, then its local rows against the files present.
void CheckCatalog(const std::string& dir, const std::set<std::string>& data_files, CheckReport* r,
                  const std::function<void(const std::string&)>& print) {
  auto problem = [&](const std::string& line) {
    r->problems.push_back(line);
    print("DAMAGED " + line);
  };
  auto catalog = storage::Catalog::OpenReadOnly(dir);
  if (!catalog.ok() && catalog.status().code() == Code::kNotFound) {
    if (!data_files.empty()) print("note    no catalog.sqlite: the next start rebuilds it from the files");
    r->uncataloged = data_files.size();
    return;
  }
  Status st = catalog.ok() ? (*catalog)->Check() : catalog.status();
  if (!st.ok()) {
    problem("catalog.sqlite: " + st.ToString() + " (the next start moves it to quarantine/ and rebuilds it)");
    return;
  }
  auto rows = (*catalog)->List();
  if (!rows.ok()) {
    problem("catalog.sqlite: " + rows.status().ToString());
    return;
  }
  r->catalog_rows = rows->size();
  std::set<std::string> named;
  for (const auto& e : *rows) {
    if (e.tier != storage::Tier::kLocal) continue;
    named.insert(e.path);
    if (!data_files.count(e.path)) {
      r->missing_files++;
      problem("catalog.sqlite names " + e.path + " (" + std::to_string(e.rows) + " rows) but the file is missing");
    }
  }
  for (const auto& name : data_files) {
    if (named.count(name)) continue;
    r->uncataloged++;
    print("note    " + name + " is not in the catalog (an interrupted flush or merge: the next start adopts or "
          "deletes it)");
  }
  print("ok      catalog.sqlite: " + std::to_string(r->catalog_rows) + " rows");
}

// Every WAL record's framing and checksum. Bytes dropped in the newest file
// are a torn tail (what kill -9 leaves); anywhere else they are damage.
void CheckWal(const std::string& dir, CheckReport* r, const std::function<void(const std::string&)>& print) {
  io::FileSystem* fs = io::DefaultFileSystem();
  const std::string wal_dir = io::JoinPath(dir, kWalDirName);
  if (!fs->Exists(wal_dir)) return;
  auto names = fs->ListDir(wal_dir);
  if (!names.ok()) {
    r->problems.push_back(names.status().ToString());
    print("DAMAGED " + names.status().ToString());
    return;
  }
  std::vector<std::pair<uint64_t, std::string>> files;
  for (const auto& n : *names) {
    uint64_t first = 0;
    if (wal::ParseFileName(n, &first)) files.emplace_back(first, n);
  }
  std::sort(files.begin(), files.end());
  uint64_t prev = 0;
  for (size_t i = 0; i < files.size(); i++) {
    const std::string path = io::JoinPath(wal_dir, files[i].second);
    wal::FileReplay fr;
    Status st = wal::ReplayFile(fs, path, files[i].first, prev, [](uint64_t, std::string_view) { return Status::OK(); },
                                &fr);
    r->wal_files++;
    if (!st.ok()) {
      r->problems.push_back(path + ": " + st.ToString());
      print("DAMAGED " + path + ": " + st.ToString());
      continue;
    }
    r->wal_records += fr.records;
    if (fr.last_seq > 0) prev = fr.last_seq;
    if (fr.dropped_bytes == 0) continue;
    const uint64_t offset = fr.size - fr.dropped_bytes;
    if (i + 1 == files.size()) {
      r->wal_torn_bytes += fr.dropped_bytes;
      print("note    " + path + ": torn tail of " + std::to_string(fr.dropped_bytes) + " bytes at offset " +
            std::to_string(offset) + " (unacknowledged writes cut by a crash)");
    } else {
      r->wal_damaged_bytes += fr.dropped_bytes;
      const std::string line = path + ": record at offset " + std::to_string(offset) + " fails its check; " +
                               std::to_string(fr.dropped_bytes) + " bytes after it are not replayed";
      r->problems.push_back(line);
      print("DAMAGED " + line);
    }
  }
  print("ok      wal: " + std::to_string(r->wal_records) + " intact records in " + std::to_string(r->wal_files) +
        " files");
}

}  // namespace

Result<CheckReport> CheckDirectory(const std::string& dir, const std::function<void(const std::string&)>& print) {
  io::FileSystem* fs = io::DefaultFileSystem();
  if (!fs->Exists(dir)) return Status::NotFound(dir + ": no such directory");
  DirLock lock;
  LOGE_RETURN_IF_ERROR(lock.Take(dir));
  LOGE_ASSIGN_OR_RETURN(auto names, fs->ListDir(dir));
  std::sort(names.begin(), names.end());
  CheckReport r;
  std::set<std::string> data_files;
  for (const auto& name : names) {
    const ParsedName p = ParseFileName(name);
    if (p.type == FileType::kTemp) {
      print("note    " + name + ": an unfinished write (the next start deletes it)");
      continue;
    }
    if (p.type != FileType::kFlush && p.type != FileType::kSegment) continue;
    data_files.insert(name);
    r.data_files++;
    storage::VerifyReport vr;
    if (Status st = storage::VerifyDataFile(fs, io::JoinPath(dir, name), &vr); !st.ok()) {
      r.damaged_files++;
      r.problems.push_back(st.message());
      print("DAMAGED " + st.message());
    } else {
      print("ok      " + name + ": " + std::to_string(vr.frames) + " frames, " + std::to_string(vr.decompressed_bytes) +
            " bytes, integrity ok");
    }
  }
  CheckCatalog(dir, data_files, &r, print);
  CheckWal(dir, &r, print);
  if (auto q = fs->ListDir(io::JoinPath(dir, kQuarantineDirName)); q.ok() && !q->empty()) {
    print("note    quarantine/ holds " + std::to_string(q->size()) + " files set aside earlier");
  }
  return r;
}

}  // namespace loge::store
