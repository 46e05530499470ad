#include "storage/zstd_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>

#include "io/file_system.h"
#include "storage/frame_cache.h"
#include "storage/seekable_zstd.h"

namespace loge::storage {

namespace {

// 64 MiB = 1024 frames of 64 KiB: the hot B-tree pages of many segments.
constexpr size_t kDefaultCacheBytes = 64 << 20;
// Longest path SQLite may hand us; segment paths are far shorter.
constexpr int kMaxPathname = 1024;
// Debian's DEFAULT_SECTOR_SIZE; SQLite does not ask for it on immutable files.
constexpr int kSectorSize = 4096;

std::atomic<uint64_t> g_frames_decompressed{0};
std::atomic<uint64_t> g_cache_hits{0};
std::atomic<uint64_t> g_bytes_read{0};

FrameCache& Cache() {
  static FrameCache* cache = new FrameCache(kDefaultCacheBytes);  // lives until exit
  return *cache;
}

// The default VFS, found once at registration; time, sleep and randomness go to it.
sqlite3_vfs* g_default_vfs = nullptr;

// Per-open state; immutable after xOpen, so concurrent connections need no lock.
struct OpenDb {
  std::unique_ptr<SeekableReader> reader;
  std::string cache_id;  // FrameKey::file: path + compressed size
};

// What SQLite allocates (szOsFile bytes) for every open file.
struct ZstdFile {
  sqlite3_file base;  // first, so SQLite's sqlite3_file* is also a ZstdFile*
  OpenDb* db;         // owned; freed by xClose
};

OpenDb* DbOf(sqlite3_file* f) { return reinterpret_cast<ZstdFile*>(f)->db; }

Result<FrameCache::Frame> GetFrame(const OpenDb& db, size_t i) {
  bool hit = false;
  auto frame = Cache().Get(
      FrameKey{db.cache_id, i},
      [&](std::string* out) {
        g_bytes_read.fetch_add(db.reader->CompressedFrameSize(i), std::memory_order_relaxed);
        LOGE_RETURN_IF_ERROR(db.reader->ReadFrame(i, out));
        g_frames_decompressed.fetch_add(1, std::memory_order_relaxed);
        return Status::OK();
      },
      &hit);
  if (hit) g_cache_hits.fetch_add(1, std::memory_order_relaxed);
  return frame;
}

// ---- sqlite3_io_methods ----------------------------------------------------

int XClose(sqlite3_file* f) {
  auto* zf = reinterpret_cast<ZstdFile*>(f);
  delete zf->db;
  zf->db = nullptr;
  return SQLITE_OK;
}

// Serves any range, including ones that cross frames (the 100-byte header
// read, and pages when frames are not a multiple of the page size).
int XRead(sqlite3_file* f, void* buf, int amt, sqlite3_int64 ofst) {
  const OpenDb& db = *DbOf(f);
  if (ofst < 0 || amt < 0) return SQLITE_IOERR_READ;
  char* dst = static_cast<char*>(buf);
  const uint64_t begin = static_cast<uint64_t>(ofst);
  const uint64_t end = begin + static_cast<uint64_t>(amt);
  const uint64_t avail_end = std::min(end, db.reader->DecompressedSize());
  uint64_t pos = begin;
  while (pos < avail_end) {
    // pos < d[N], so frame i is non-empty and holds pos.
    const size_t i = db.reader->FrameOf(pos);
    auto frame = GetFrame(db, i);
    if (!frame.ok()) {
      const Status& s = frame.status();
      const int rc = s.code() == Code::kCorruption ? SQLITE_CORRUPT : SQLITE_IOERR_READ;
      sqlite3_log(rc, "%s: %s", kZstdVfsName, s.ToString().c_str());
      return rc;
    }
    const uint64_t start = db.reader->FrameStart(i);
    const uint64_t stop = std::min(avail_end, start + (*frame)->size());
    std::memcpy(dst + (pos - begin), (*frame)->data() + (pos - start), stop - pos);
    pos = stop;
  }
  if (pos < end) {
    // SQLite relies on the zero fill past EOF (sqlite-vfs.md §1).
    std::memset(dst + (pos - begin), 0, end - pos);
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

int XWrite(sqlite3_file*, const void*, int, sqlite3_int64) { return SQLITE_READONLY; }
int XTruncate(sqlite3_file*, sqlite3_int64) { return SQLITE_READONLY; }
int XSync(sqlite3_file*, int) { return SQLITE_OK; }

int XFileSize(sqlite3_file* f, sqlite3_int64* size) {
  *size = static_cast<sqlite3_int64>(DbOf(f)->reader->DecompressedSize());
  return SQLITE_OK;
}

int XLock(sqlite3_file*, int) { return SQLITE_OK; }
int XUnlock(sqlite3_file*, int) { return SQLITE_OK; }
int XCheckReservedLock(sqlite3_file*, int* out) {
  *out = 0;
  return SQLITE_OK;
}
int XFileControl(sqlite3_file*, int, void*) { return SQLITE_NOTFOUND; }
int XSectorSize(sqlite3_file*) { return kSectorSize; }
int XDeviceCharacteristics(sqlite3_file*) { return SQLITE_IOCAP_IMMUTABLE; }

// Version 1: no shared memory (WAL) and no mmap.
const sqlite3_io_methods kIoMethods = {
    1,
    XClose,
    XRead,
    XWrite,
    XTruncate,
    XSync,
    XFileSize,
    XLock,
    XUnlock,
    XCheckReservedLock,
    XFileControl,
    XSectorSize,
    XDeviceCharacteristics,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

// ---- sqlite3_vfs -------------------------------------------------------------

int XOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* zf = reinterpret_cast<ZstdFile*>(f);
  // With a non-NULL pMethods SQLite calls xClose even when the open fails.
  zf->base.pMethods = nullptr;
  zf->db = nullptr;
  // Journals, WAL and temp files never exist for an immutable database, and
  // OpenCompressedDb sets temp_store=MEMORY so sorts do not ask for them.
  if (name == nullptr || (flags & SQLITE_OPEN_MAIN_DB) == 0) return SQLITE_CANTOPEN;
  auto file = io::DefaultFileSystem()->OpenRandomAccess(name);
  if (!file.ok()) {
    sqlite3_log(SQLITE_CANTOPEN, "%s: %s", kZstdVfsName, file.status().ToString().c_str());
    return SQLITE_CANTOPEN;
  }
  const uint64_t compressed_size = (*file)->Size();
  auto reader = SeekableReader::Open(std::move(file).value());
  if (!reader.ok()) {
    sqlite3_log(SQLITE_CANTOPEN, "%s: %s: %s", kZstdVfsName, name,
                reader.status().ToString().c_str());
    return SQLITE_CANTOPEN;
  }
  // Files are immutable once renamed into place, so path + size names the
  // bytes, and connections to the same file share cached frames.
  std::string cache_id = name;
  cache_id.push_back('\0');
  cache_id += std::to_string(compressed_size);
  zf->db = new OpenDb{std::move(reader).value(), std::move(cache_id)};
  zf->base.pMethods = &kIoMethods;
  if (out_flags != nullptr) *out_flags = SQLITE_OPEN_READONLY;
  return SQLITE_OK;
}

int XDelete(sqlite3_vfs*, const char*, int) { return SQLITE_IOERR_DELETE; }

int XAccess(sqlite3_vfs*, const char*, int, int* out) {
  *out = 0;  // no -journal or -wal ever exists
  return SQLITE_OK;
}

int XFullPathname(sqlite3_vfs*, const char* name, int n_out, char* out) {
  if (std::strlen(name) >= static_cast<size_t>(n_out)) return SQLITE_CANTOPEN;
  sqlite3_snprintf(n_out, out, "%s", name);
  return SQLITE_OK;
}

int XRandomness(sqlite3_vfs*, int n, char* out) {
  return g_default_vfs->xRandomness(g_default_vfs, n, out);
}
int XSleep(sqlite3_vfs*, int micros) { return g_default_vfs->xSleep(g_default_vfs, micros); }
int XCurrentTime(sqlite3_vfs*, double* out) {
  return g_default_vfs->xCurrentTime(g_default_vfs, out);
}
int XGetLastError(sqlite3_vfs*, int n, char* out) {
  if (g_default_vfs->xGetLastError == nullptr) return 0;
  return g_default_vfs->xGetLastError(g_default_vfs, n, out);
}
int XCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  if (g_default_vfs->iVersion >= 2 && g_default_vfs->xCurrentTimeInt64 != nullptr) {
    return g_default_vfs->xCurrentTimeInt64(g_default_vfs, out);
  }
  double days = 0;
  int rc = g_default_vfs->xCurrentTime(g_default_vfs, &days);
  *out = static_cast<sqlite3_int64>(days * 86400000.0);  // Julian day in milliseconds
  return rc;
}

int RegisterOnce() {
  g_default_vfs = sqlite3_vfs_find(nullptr);
  if (g_default_vfs == nullptr) return SQLITE_ERROR;
  // SQLite keeps the pointer and forbids changes after registration.
  static sqlite3_vfs vfs = {};
  vfs.iVersion = 2;
  vfs.szOsFile = sizeof(ZstdFile);
  vfs.mxPathname = kMaxPathname;
  vfs.zName = kZstdVfsName;
  vfs.xOpen = XOpen;
  vfs.xDelete = XDelete;
  vfs.xAccess = XAccess;
  vfs.xFullPathname = XFullPathname;
  vfs.xRandomness = XRandomness;
  vfs.xSleep = XSleep;
  vfs.xCurrentTime = XCurrentTime;
  vfs.xGetLastError = XGetLastError;
  vfs.xCurrentTimeInt64 = XCurrentTimeInt64;
  return sqlite3_vfs_register(&vfs, /*makeDflt=*/0);
}

// "file:" URI for path; '?', '#' and '%' would end or escape the path part.
std::string FileUri(const std::string& path) {
  // "file:///abs" keeps an absolute path that starts with "//" from being
  // read as an authority.
  std::string uri = path.starts_with('/') ? "file://" : "file:";
  for (char c : path) {
    switch (c) {
      case '?': uri += "%3F"; break;
      case '#': uri += "%23"; break;
      case '%': uri += "%25"; break;
      default: uri.push_back(c);
    }
  }
  return uri + "?immutable=1";
}

// Status for a failed sqlite3 call on db (which may be NULL).
Status SqliteError(const std::string& what, const std::string& path, sqlite3* db, int rc) {
  std::string msg = what + " " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(msg);
    case SQLITE_NOMEM:
      return Status::ResourceExhausted(msg);
    default:
      return Status::IOError(msg);
  }
}

}  // namespace

Status RegisterZstdVfs() {
  static const int rc = RegisterOnce();  // thread-safe static initialisation
  if (rc != SQLITE_OK) {
    return Status::IOError(std::string("register sqlite vfs ") + kZstdVfsName + ": " +
                           sqlite3_errstr(rc));
  }
  return Status::OK();
}

void SetFrameCacheCapacity(size_t bytes) { Cache().SetCapacity(bytes); }

Status OpenCompressedDb(const std::string& path, sqlite3** db) {
  *db = nullptr;
  LOGE_RETURN_IF_ERROR(RegisterZstdVfs());
  io::FileSystem* fs = io::DefaultFileSystem();
  if (!fs->Exists(path)) return Status::NotFound("compressed db " + path + ": no such file");
  // Check the seek table here: through SQLite a bad file would only say
  // "unable to open database file".
  {
    LOGE_ASSIGN_OR_RETURN(auto file, fs->OpenRandomAccess(path));
    auto reader = SeekableReader::Open(std::move(file));
    if (!reader.ok()) return reader.status().WithContext("compressed db " + path);
  }
  sqlite3* handle = nullptr;
  int rc = sqlite3_open_v2(FileUri(path).c_str(), &handle,
                           SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
                           kZstdVfsName);
  if (rc != SQLITE_OK) {
    Status s = SqliteError("open", path, handle, rc);
    sqlite3_close(handle);
    return s;
  }
  // Temp files would go through this VFS, which refuses them (sqlite-vfs.md §4).
  rc = sqlite3_exec(handle, "PRAGMA temp_store=MEMORY", nullptr, nullptr, nullptr);
  // Read the header and schema now, so a file that decompresses to something
  // other than a SQLite database fails here and not at the first query.
  if (rc == SQLITE_OK) {
    rc = sqlite3_exec(handle, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr);
  }
  if (rc != SQLITE_OK) {
    Status s = SqliteError("read", path, handle, rc);
    sqlite3_close(handle);
    return s;
  }
  *db = handle;
  return Status::OK();
}

VfsStats GetVfsStats() {
  VfsStats s;
  s.frames_decompressed = g_frames_decompressed.load(std::memory_order_relaxed);
  s.cache_hits = g_cache_hits.load(std::memory_order_relaxed);
  s.bytes_read = g_bytes_read.load(std::memory_order_relaxed);
  return s;
}

void TEST_ClearFrameCache() { Cache().Clear(); }

}  // namespace loge::storage
