#include "storage/zstd_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>

#include "core/mutex.h"
#include "io/file_system.h"
#include "storage/frame_cache.h"
#include "storage/seekable_zstd.h"

namespace loge::storage {

namespace {

// 64 MiB = 1024 frames of 64 KiB: the hot B-tree pages of many segments.
constexpr size_t kDefaultCacheBytes = 64 << 20;
// Longest name SQLite may hand us: room for a presigned URL with a session
// token (well over 1 KiB); local segment paths are far shorter.
constexpr int kMaxPathname = 8192;
// Debian's DEFAULT_SECTOR_SIZE; SQLite does not ask for it on immutable files.
constexpr int kSectorSize = 4096;

std::atomic<uint64_t> g_frames_decompressed{0};
std::atomic<uint64_t> g_cache_hits{0};
std::atomic<uint64_t> g_bytes_read{0};

FrameCache& SharedCache() {
  static FrameCache* cache = new FrameCache(kDefaultCacheBytes);  // lives until exit
  return *cache;
}

thread_local FrameCache* t_private_cache = nullptr;  // ScopedFrameCache

FrameCache& Cache() { return t_private_cache ? *t_private_cache : SharedCache(); }

RemoteCache& Remote() {
  static RemoteCache* cache = new RemoteCache(RemoteCacheLimits{});  // lives until exit
  return *cache;
}

std::atomic<uint64_t> g_remote_requests{0};
std::atomic<uint64_t> g_remote_bytes{0};
thread_local RemoteIoStats t_remote_io;
thread_local Status t_read_error;

// The installed remote opener; copied out under the lock at each open.
struct OpenerSlot {
  Mutex mu;
  std::shared_ptr<const RemoteFileOpener> opener GUARDED_BY(mu);
};
OpenerSlot& Opener() {
  static OpenerSlot* slot = new OpenerSlot();  // lives until exit
  return *slot;
}
std::shared_ptr<const RemoteFileOpener> CurrentOpener() {
  OpenerSlot& s = Opener();
  MutexLock l(&s.mu);
  return s.opener;
}

// The default VFS, found once at registration; time, sleep and randomness go to it.
sqlite3_vfs* g_default_vfs = nullptr;

// Per-open state; immutable after xOpen, so concurrent connections need no lock.
struct OpenDb {
  std::unique_ptr<SeekableReader> reader;
  std::string cache_id;  // local: FrameKey::file (path + compressed size); remote: RemoteCacheKey
  bool remote = false;   // frames live in Remote(), not Cache()
};

// What SQLite allocates (szOsFile bytes) for every open file.
struct ZstdFile {
  sqlite3_file base;  // first, so SQLite's sqlite3_file* is also a ZstdFile*
  OpenDb* db;         // owned; freed by xClose
};

OpenDb* DbOf(sqlite3_file* f) { return reinterpret_cast<ZstdFile*>(f)->db; }

Result<FrameCache::Frame> GetFrame(const OpenDb& db, size_t i) {
  bool hit = false;
  auto load = [&](std::string* out) {
    g_bytes_read.fetch_add(db.reader->CompressedFrameSize(i), std::memory_order_relaxed);
    LOGE_RETURN_IF_ERROR(db.reader->ReadFrame(i, out));
    g_frames_decompressed.fetch_add(1, std::memory_order_relaxed);
    return Status::OK();
  };
  auto frame = db.remote ? Remote().GetFrame(db.cache_id, i, load, &hit)
                         : Cache().Get(FrameKey{db.cache_id, i}, load, &hit);
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
      t_read_error = s.WithContext(db.remote ? db.cache_id : std::string(kZstdVfsName));
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

// Opens a remote file: with its cached seek table when the cache has one (no
// request), else by reading the table through the opener and caching it.
Result<std::unique_ptr<SeekableReader>> OpenRemoteSeekable(const std::string& url) {
  std::shared_ptr<const RemoteFileOpener> opener = CurrentOpener();
  const std::string key = RemoteCacheKey(url);
  if (opener == nullptr) {
    return Status::Unavailable(key + ": remote reads are not enabled in this process");
  }
  if (auto table = Remote().Table(key)) {
    LOGE_ASSIGN_OR_RETURN(auto file, (*opener)(url, table->file_size));
    return SeekableReader::Open(std::move(file), table);
  }
  LOGE_ASSIGN_OR_RETURN(auto file, (*opener)(url, 0));
  auto r = SeekableReader::Open(std::move(file));
  if (!r.ok()) return r.status().WithContext(key);
  Remote().PutTable(key, (*r)->table());
  return r;
}

Result<OpenDb*> OpenRemote(const std::string& url) {
  LOGE_ASSIGN_OR_RETURN(std::unique_ptr<SeekableReader> reader, OpenRemoteSeekable(url));
  return new OpenDb{std::move(reader), RemoteCacheKey(url), true};
}

int XOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* zf = reinterpret_cast<ZstdFile*>(f);
  // With a non-NULL pMethods SQLite calls xClose even when the open fails.
  zf->base.pMethods = nullptr;
  zf->db = nullptr;
  // Journals, WAL and temp files never exist for an immutable database, and
  // OpenCompressedDb sets temp_store=MEMORY so sorts do not ask for them.
  if (name == nullptr || (flags & SQLITE_OPEN_MAIN_DB) == 0) return SQLITE_CANTOPEN;
  if (IsRemoteUrl(name)) {
    auto db = OpenRemote(name);
    if (!db.ok()) {
      t_read_error = db.status();
      sqlite3_log(SQLITE_CANTOPEN, "%s: %s", kZstdVfsName, db.status().ToString().c_str());
      return SQLITE_CANTOPEN;
    }
    zf->db = *db;
    zf->base.pMethods = &kIoMethods;
    if (out_flags != nullptr) *out_flags = SQLITE_OPEN_READONLY;
    return SQLITE_OK;
  }
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

// Status for a failed sqlite3 call on db (which may be NULL): the VFS's own
// cause when a read failed, else one derived from SQLite's code.
Status SqliteError(const std::string& what, const std::string& path, sqlite3* db, int rc) {
  if (Status cause = TakeVfsReadError(); !cause.ok()) return cause.WithContext(what);
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

void SetFrameCacheCapacity(size_t bytes) { SharedCache().SetCapacity(bytes); }

Status OpenCompressedDb(const std::string& path, sqlite3** db) {
  *db = nullptr;
  LOGE_RETURN_IF_ERROR(RegisterZstdVfs());
  (void)TakeVfsReadError();  // a stale cause must not explain this open's failure
  const bool remote = IsRemoteUrl(path);
  const std::string shown = remote ? RemoteCacheKey(path) : path;
  // Check the seek table here: through SQLite a bad file would only say
  // "unable to open database file". For a remote file this also caches the
  // table, so SQLite's own open below fetches nothing more.
  if (remote) {
    auto probe = OpenRemote(path);
    if (!probe.ok()) return probe.status().WithContext("compressed db");
    delete *probe;
  } else {
    io::FileSystem* fs = io::DefaultFileSystem();
    if (!fs->Exists(path)) return Status::NotFound("compressed db " + path + ": no such file");
    LOGE_ASSIGN_OR_RETURN(auto file, fs->OpenRandomAccess(path));
    auto reader = SeekableReader::Open(std::move(file));
    if (!reader.ok()) return reader.status().WithContext("compressed db " + path);
  }
  sqlite3* handle = nullptr;
  int rc = sqlite3_open_v2(FileUri(path).c_str(), &handle,
                           SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
                           kZstdVfsName);
  if (rc != SQLITE_OK) {
    Status s = SqliteError("open", shown, handle, rc);
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
    Status s = SqliteError("read", shown, handle, rc);
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

void TEST_ClearFrameCache() { SharedCache().Clear(); }

bool IsRemoteUrl(std::string_view name) {
  return name.starts_with("http://") || name.starts_with("https://");
}

std::string RemoteCacheKey(std::string_view url) {
  return std::string(url.substr(0, url.find_first_of("?#")));
}

void SetRemoteFileOpener(RemoteFileOpener opener) {
  OpenerSlot& s = Opener();
  auto p = opener ? std::make_shared<const RemoteFileOpener>(std::move(opener)) : nullptr;
  MutexLock l(&s.mu);
  s.opener = std::move(p);
}

bool HasRemoteFileOpener() { return CurrentOpener() != nullptr; }

void SetRemoteCacheLimits(const RemoteCacheLimits& limits) { Remote().SetLimits(limits); }
RemoteCacheLimits GetRemoteCacheLimits() { return Remote().Limits(); }

void CountRemoteRequest(uint64_t bytes) {
  g_remote_requests.fetch_add(1, std::memory_order_relaxed);
  g_remote_bytes.fetch_add(bytes, std::memory_order_relaxed);
  t_remote_io.requests++;
  t_remote_io.bytes += bytes;
}

RemoteIoStats GetRemoteIoStats() {
  return {g_remote_requests.load(std::memory_order_relaxed),
          g_remote_bytes.load(std::memory_order_relaxed)};
}

RemoteIoStats ThisThreadRemoteIoStats() { return t_remote_io; }

RemoteCacheStats GetRemoteCacheStats() { return {Remote().Files(), Remote().Bytes()}; }

size_t RemoteFramesCached(std::string_view url) { return Remote().FramesOf(RemoteCacheKey(url)); }

void TEST_ClearRemoteCache() { Remote().Clear(); }

Status TakeVfsReadError() {
  Status s = std::move(t_read_error);
  t_read_error = Status::OK();
  return s;
}

}  // namespace loge::storage

namespace loge::storage {

ScopedFrameCache::ScopedFrameCache(size_t bytes)
    : cache_(std::make_unique<FrameCache>(bytes)), previous_(t_private_cache) {
  t_private_cache = cache_.get();
}

ScopedFrameCache::~ScopedFrameCache() { t_private_cache = previous_; }

Result<std::unique_ptr<SeekableReader>> OpenSeekable(const std::string& name) {
  if (IsRemoteUrl(name)) return OpenRemoteSeekable(name);
  LOGE_ASSIGN_OR_RETURN(auto file, io::DefaultFileSystem()->OpenRandomAccess(name));
  return SeekableReader::Open(std::move(file));
}

}  // namespace loge::storage
