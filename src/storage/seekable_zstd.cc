#include "storage/seekable_zstd.h"

#include <atomic>
#include <mutex>
#include <thread>

#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "core/types.h"
#include "io/file_system.h"

namespace loge::storage {

namespace {

// Format constants (seekable-zstd.md §2–§3).
constexpr uint32_t kSeekTableMagic = 0x184D2A5E;  // skippable frame magic of the seek table
constexpr uint32_t kSeekableMagic = 0x8F92EAB1;   // last 4 bytes of every seekable file
constexpr size_t kTableHeaderSize = 8;            // skippable magic + Frame_Size
constexpr size_t kFooterSize = 9;                 // frame count + descriptor + magic
constexpr uint8_t kChecksumFlag = 0x80;           // descriptor bit 7
constexpr uint8_t kReservedBits = 0x7C;           // descriptor bits 6..2, must be 0
constexpr uint64_t kMaxFrames = 0x8000000;        // the reference writer's limit
constexpr uint64_t kMaxFrameSize = 1ull << 30;    // largest decompressed frame (1 GiB)
constexpr uint64_t kReusedReadBuffer = 1ull << 20;  // ReadFrame's per-thread buffer, at most

uint32_t Checksum(const char* data, size_t n) {
  return static_cast<uint32_t>(XXH64(data, n, 0) & 0xffffffffu);
}

std::string Hex(uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*" PRIX32, digits, v);
  return buf;
}
std::string Hex32(uint32_t v) { return Hex(v, 8); }

Status Corrupt(const std::string& what) { return Status::Corruption("seekable zstd: " + what); }

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// One context per thread: creating a context costs more than compressing a
// small frame, and a context must not be shared between threads.
ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> ctx(ZSTD_createCCtx());
  return ctx.get();
}
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> ctx(ZSTD_createDCtx());
  return ctx.get();
}

// Reads exactly n bytes at offset; a short read means the file is shorter
// than its seek table claims.
Status ReadExact(const io::RandomAccessFile& file, uint64_t offset, size_t n, char* buf) {
  size_t got = 0;
  LOGE_RETURN_IF_ERROR(file.Read(offset, n, buf, &got));
  if (got != n) {
    return Corrupt("truncated: wanted " + std::to_string(n) + " bytes at offset " +
                   std::to_string(offset) + ", got " + std::to_string(got));
  }
  return Status::OK();
}

}  // namespace

// The same output as the sequential path, with frames compressed by
// opts.threads workers (frames are independent) and assembled in order.
static Status CompressSeekableParallel(std::string_view data, const SeekableOptions& opts, uint64_t frames,
                                std::string* out) {
  std::vector<std::string> parts(frames);
  std::atomic<uint64_t> next(0);
  std::mutex mu;
  Status failed;
  auto worker = [&] {
    SeekableOptions one = opts;
    one.threads = 1;
    one.checksums = false;
    for (;;) {
      uint64_t i = next.fetch_add(1);
      if (i >= frames) return;
      // Compress one chunk as a one-frame seekable file, then keep just the
      // frame: its length is the whole output minus the 17-byte table.
      std::string one_file;
      Status st = CompressSeekable(data.substr(i * opts.frame_size, opts.frame_size), one, &one_file);
      if (!st.ok()) {
        std::lock_guard<std::mutex> l(mu);
        if (failed.ok()) failed = st;
        return;
      }
      one_file.resize(one_file.size() - (kTableHeaderSize + 8 + kFooterSize));
      parts[i] = std::move(one_file);
    }
  };
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < opts.threads; t++) threads.emplace_back(worker);
  }
  LOGE_RETURN_IF_ERROR(failed);
  const size_t entry_size = opts.checksums ? 12 : 8;
  std::string table;
  AppendLE32(&table, kSeekTableMagic);
  AppendLE32(&table, static_cast<uint32_t>(frames * entry_size + kFooterSize));
  size_t total = 0;
  for (const auto& p : parts) total += p.size();
  out->reserve(out->size() + total + frames * entry_size + kTableHeaderSize + kFooterSize);
  for (uint64_t i = 0; i < frames; i++) {
    std::string_view chunk = data.substr(i * opts.frame_size, opts.frame_size);
    out->append(parts[i]);
    AppendLE32(&table, static_cast<uint32_t>(parts[i].size()));
    AppendLE32(&table, static_cast<uint32_t>(chunk.size()));
    if (opts.checksums) AppendLE32(&table, Checksum(chunk.data(), chunk.size()));
    std::string().swap(parts[i]);
  }
  AppendLE32(&table, static_cast<uint32_t>(frames));
  table.push_back(static_cast<char>(opts.checksums ? kChecksumFlag : 0));
  AppendLE32(&table, kSeekableMagic);
  out->append(table);
  return Status::OK();
}

Status CompressSeekable(std::string_view data, const SeekableOptions& opts, std::string* out) {
  if (opts.frame_size == 0 || opts.frame_size > kMaxFrameSize) {
    return Status::InvalidArgument("seekable frame_size must be in [1, 1 GiB], got " +
                                   std::to_string(opts.frame_size));
  }
  if (opts.level < ZSTD_minCLevel() || opts.level > ZSTD_maxCLevel()) {
    return Status::InvalidArgument("seekable zstd level " + std::to_string(opts.level) +
                                   " out of range");
  }
  const uint64_t frames = (data.size() + opts.frame_size - 1) / opts.frame_size;
  if (frames > kMaxFrames) {
    return Status::InvalidArgument("seekable input needs " + std::to_string(frames) +
                                   " frames, more than the format's limit; raise frame_size");
  }
  if (opts.threads > 1 && frames > 1) return CompressSeekableParallel(data, opts, frames, out);
  ZSTD_CCtx* cctx = ThreadCCtx();
  if (cctx == nullptr) return Status::ResourceExhausted("ZSTD_createCCtx: out of memory");
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  size_t rc = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, opts.level);
  if (ZSTD_isError(rc)) return Status::InvalidArgument(std::string("zstd level: ") + ZSTD_getErrorName(rc));

  const size_t entry_size = opts.checksums ? 12 : 8;
  std::string table;
  table.reserve(kTableHeaderSize + frames * entry_size + kFooterSize);
  AppendLE32(&table, kSeekTableMagic);
  AppendLE32(&table, static_cast<uint32_t>(frames * entry_size + kFooterSize));

  const size_t original_size = out->size();
  out->reserve(original_size + ZSTD_compressBound(data.size()) + table.capacity());
  for (size_t pos = 0; pos < data.size(); pos += opts.frame_size) {
    std::string_view chunk = data.substr(pos, opts.frame_size);
    const size_t bound = ZSTD_compressBound(chunk.size());
    const size_t start = out->size();
    out->resize(start + bound);
    // ZSTD_compress2 ends the frame, so every chunk is a complete frame that
    // does not depend on its neighbours.
    size_t csize = ZSTD_compress2(cctx, out->data() + start, bound, chunk.data(), chunk.size());
    if (ZSTD_isError(csize)) {
      out->resize(original_size);
      return Status::IOError("zstd compress frame " + std::to_string(pos / opts.frame_size) + ": " +
                             ZSTD_getErrorName(csize));
    }
    out->resize(start + csize);
    AppendLE32(&table, static_cast<uint32_t>(csize));  // < 4 GiB: chunk <= 1 GiB
    AppendLE32(&table, static_cast<uint32_t>(chunk.size()));
    if (opts.checksums) AppendLE32(&table, Checksum(chunk.data(), chunk.size()));
  }
  AppendLE32(&table, static_cast<uint32_t>(frames));
  table.push_back(static_cast<char>(opts.checksums ? kChecksumFlag : 0));
  AppendLE32(&table, kSeekableMagic);
  out->append(table);
  return Status::OK();
}

SeekableWriter::SeekableWriter(io::WritableFile* out, int level, bool checksums)
    : out_(out), level_(level), checksums_(checksums) {}

Status SeekableWriter::AddFrame(std::string_view data) {
  if (data.empty() || data.size() > kMaxFrameSize) {
    return Status::InvalidArgument("seekable frame of " + std::to_string(data.size()) + " bytes");
  }
  if (frames_ + 1 > kMaxFrames) return Status::InvalidArgument("seekable file has too many frames");
  ZSTD_CCtx* cctx = ThreadCCtx();
  if (cctx == nullptr) return Status::ResourceExhausted("ZSTD_createCCtx: out of memory");
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  size_t rc = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level_);
  if (ZSTD_isError(rc)) return Status::InvalidArgument(std::string("zstd level: ") + ZSTD_getErrorName(rc));
  scratch_.resize(ZSTD_compressBound(data.size()));
  size_t csize = ZSTD_compress2(cctx, scratch_.data(), scratch_.size(), data.data(), data.size());
  if (ZSTD_isError(csize)) {
    return Status::IOError("zstd compress frame " + std::to_string(frames_) + ": " + ZSTD_getErrorName(csize));
  }
  LOGE_RETURN_IF_ERROR(out_->Append(std::string_view(scratch_.data(), csize)));
  AppendLE32(&table_, static_cast<uint32_t>(csize));
  AppendLE32(&table_, static_cast<uint32_t>(data.size()));
  if (checksums_) AppendLE32(&table_, Checksum(data.data(), data.size()));
  frames_++;
  return Status::OK();
}

Status SeekableWriter::AddSkippableFrame(uint32_t magic, std::string_view payload) {
  if ((magic & 0xFFFFFFF0u) != 0x184D2A50u || magic == kSeekTableMagic) {
    return Status::InvalidArgument("skippable frame magic " + Hex32(magic));
  }
  if (payload.size() > kMaxFrameSize) return Status::InvalidArgument("skippable frame too large");
  if (frames_ + 1 > kMaxFrames) return Status::InvalidArgument("seekable file has too many frames");
  std::string header;
  AppendLE32(&header, magic);
  AppendLE32(&header, static_cast<uint32_t>(payload.size()));
  LOGE_RETURN_IF_ERROR(out_->Append(header));
  LOGE_RETURN_IF_ERROR(out_->Append(payload));
  AppendLE32(&table_, static_cast<uint32_t>(header.size() + payload.size()));
  AppendLE32(&table_, 0);
  if (checksums_) AppendLE32(&table_, Checksum(nullptr, 0));
  frames_++;
  return Status::OK();
}

Status SeekableWriter::Finish() {
  const size_t entry_size = checksums_ ? 12 : 8;
  std::string t;
  AppendLE32(&t, kSeekTableMagic);
  AppendLE32(&t, static_cast<uint32_t>(frames_ * entry_size + kFooterSize));
  t += table_;
  AppendLE32(&t, static_cast<uint32_t>(frames_));
  t.push_back(static_cast<char>(checksums_ ? kChecksumFlag : 0));
  AppendLE32(&t, kSeekableMagic);
  std::string().swap(scratch_);
  return out_->Append(t);
}

SeekableReader::~SeekableReader() = default;

Result<std::unique_ptr<SeekableReader>> SeekableReader::Open(
    std::unique_ptr<io::RandomAccessFile> file) {
  const uint64_t size = file->Size();
  if (size < kTableHeaderSize + kFooterSize) {
    return Corrupt("file of " + std::to_string(size) +
                   " bytes is too small to hold a seek table (17 bytes minimum)");
  }
  char foot[kFooterSize];
  LOGE_RETURN_IF_ERROR(ReadExact(*file, size - kFooterSize, kFooterSize, foot));
  const uint32_t magic = LoadLE32(foot + 5);
  if (magic != kSeekableMagic) {
    return Corrupt("footer magic " + Hex32(magic) + " is not " + Hex32(kSeekableMagic) +
                   ": not a seekable file");
  }
  const uint8_t desc = static_cast<uint8_t>(foot[4]);
  if ((desc & kReservedBits) != 0) {
    return Corrupt("reserved bits set in seek table descriptor " + Hex(desc, 2) +
                   " (bits 6..2 must be 0)");
  }
  const bool checksums = (desc & kChecksumFlag) != 0;
  const uint64_t entry_size = checksums ? 12 : 8;
  const uint64_t n = LoadLE32(foot);
  // Cannot overflow: n < 2^32, so tsize < 2^36.
  const uint64_t tsize = kTableHeaderSize + n * entry_size + kFooterSize;
  if (tsize > size) {
    return Corrupt("seek table for " + std::to_string(n) + " frames needs " +
                   std::to_string(tsize) + " bytes, file has " + std::to_string(size));
  }
  std::string t(tsize, '\0');
  LOGE_RETURN_IF_ERROR(ReadExact(*file, size - tsize, tsize, t.data()));
  if (LoadLE32(t.data()) != kSeekTableMagic) {
    return Corrupt("seek table frame magic " + Hex32(LoadLE32(t.data())) + " is not " +
                   Hex32(kSeekTableMagic));
  }
  if (uint64_t{LoadLE32(t.data() + 4)} + kTableHeaderSize != tsize) {
    return Corrupt("seek table frame size " + std::to_string(LoadLE32(t.data() + 4)) +
                   " disagrees with " + std::to_string(n) + " frames");
  }

  auto r = std::make_shared<SeekTable>();
  r->file_size = size;
  r->c.resize(n + 1);
  r->d.resize(n + 1);
  if (checksums) r->checksums.resize(n);
  r->c[0] = r->d[0] = 0;
  const char* e = t.data() + kTableHeaderSize;
  for (uint64_t i = 0; i < n; ++i, e += entry_size) {
    const uint32_t csize = LoadLE32(e);
    const uint32_t dsize = LoadLE32(e + 4);
    if (dsize > kMaxFrameSize) {
      return Corrupt("frame " + std::to_string(i) + " claims " + std::to_string(dsize) +
                     " decompressed bytes, more than the 1 GiB limit");
    }
    r->c[i + 1] = r->c[i] + csize;
    r->d[i + 1] = r->d[i] + dsize;
    if (checksums) r->checksums[i] = LoadLE32(e + 8);
  }
  if (r->c[n] != size - tsize) {
    return Corrupt("frames in the seek table add up to " + std::to_string(r->c[n]) +
                   " bytes but the file has " + std::to_string(size - tsize) +
                   " bytes before the table");
  }
  return std::unique_ptr<SeekableReader>(new SeekableReader(std::move(file), std::move(r)));
}

Result<std::unique_ptr<SeekableReader>> SeekableReader::Open(
    std::unique_ptr<io::RandomAccessFile> file, std::shared_ptr<const SeekTable> table) {
  if (table == nullptr || table->d.empty() || table->c.size() != table->d.size()) {
    return Status::InvalidArgument("seekable reader: no seek table");
  }
  if (file->Size() != table->file_size) {
    return Status::InvalidArgument("seekable reader: file has " + std::to_string(file->Size()) +
                                   " bytes, its cached seek table was read from " +
                                   std::to_string(table->file_size));
  }
  return std::unique_ptr<SeekableReader>(new SeekableReader(std::move(file), std::move(table)));
}

SeekableReader::SeekableReader(std::unique_ptr<io::RandomAccessFile> file,
                               std::shared_ptr<const SeekTable> t)
    : file_(std::move(file)), t_(std::move(t)), c_(t_->c), d_(t_->d), checksums_(t_->checksums) {}

size_t SeekableReader::FrameOf(uint64_t pos) const {
  // The last i with d_[i] <= pos; frames of size 0 share a start with their
  // successor and are skipped because upper_bound passes over equal values.
  auto it = std::upper_bound(d_.begin(), d_.end(), pos);
  return static_cast<size_t>(it - d_.begin()) - 1;
}

Result<SeekableReader::Skippable> SeekableReader::FindSkippable(uint32_t magic) const {
  for (size_t i = FrameCount(); i-- > 0;) {
    if (FrameSize(i) != 0 || CompressedFrameSize(i) < 8) continue;
    char h[8];
    LOGE_RETURN_IF_ERROR(ReadExact(*file_, c_[i], sizeof h, h));
    if (LoadLE32(h) != magic) continue;
    if (uint64_t{LoadLE32(h + 4)} + 8 != CompressedFrameSize(i)) {
      return Corrupt("skippable frame " + std::to_string(i) + " says " + std::to_string(LoadLE32(h + 4)) +
                     " bytes, its seek table entry " + std::to_string(CompressedFrameSize(i) - 8));
    }
    return Skippable{c_[i] + 8, CompressedFrameSize(i) - 8};
  }
  return Status::NotFound("no skippable frame " + Hex32(magic));
}

Status SeekableReader::ReadRaw(uint64_t offset, size_t n, char* out) const {
  return ReadExact(*file_, offset, n, out);
}

Status SeekableReader::ReadFrame(size_t i, std::string* out) const {
  if (i >= FrameCount()) {
    return Status::InvalidArgument("seekable frame " + std::to_string(i) + " out of range (" +
                                   std::to_string(FrameCount()) + " frames)");
  }
  const uint64_t csize = CompressedFrameSize(i);
  const uint64_t dsize = FrameSize(i);
  // The compressed bytes go into a buffer the thread keeps (text frames
  // decode to 64 KiB to 1 MiB as loge writes them, and compress to less):
  // a merge reads every frame of its inputs, and a fresh zeroed buffer each
  // time showed in its profile. At most 1 MiB stays with each thread that
  // has read a frame; a larger frame gets a buffer of its own.
  thread_local std::string reused;
  std::string fresh;
  std::string& src = csize <= kReusedReadBuffer ? reused : fresh;
  if (src.size() < csize) src.resize(csize);
  LOGE_RETURN_IF_ERROR(ReadExact(*file_, c_[i], csize, src.data()));
  out->resize(dsize);
  if (csize == 0) {
    if (dsize == 0) return Status::OK();
    return Corrupt("frame " + std::to_string(i) + " has 0 compressed bytes for " +
                   std::to_string(dsize) + " decompressed");
  }
  ZSTD_DCtx* dctx = ThreadDCtx();
  if (dctx == nullptr) return Status::ResourceExhausted("ZSTD_createDCtx: out of memory");
  // dst capacity is the table's size, so a frame that decodes to more fails
  // here (dstSize_tooSmall) instead of overrunning.
  const size_t got = ZSTD_decompressDCtx(dctx, out->data(), dsize, src.data(), csize);
  if (ZSTD_isError(got)) {
    return Corrupt("frame " + std::to_string(i) + ": " + ZSTD_getErrorName(got));
  }
  if (got != dsize) {
    return Corrupt("frame " + std::to_string(i) + " decompressed to " + std::to_string(got) +
                   " bytes, seek table says " + std::to_string(dsize));
  }
  // A skippable frame has no data and so nothing to check against.
  if (!checksums_.empty() && dsize > 0) {
    const uint32_t sum = Checksum(out->data(), out->size());
    if (sum != checksums_[i]) {
      return Corrupt("frame " + std::to_string(i) + " checksum mismatch: data hashes to " +
                     Hex32(sum) + ", seek table says " + Hex32(checksums_[i]));
    }
  }
  return Status::OK();
}

}  // namespace loge::storage
