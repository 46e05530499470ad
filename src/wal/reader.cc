#include "wal/reader.h"

#include <algorithm>
#include <memory>

#include "io/file_system.h"
#include "wal/record.h"

namespace loge::wal {

namespace {

// Large enough that replaying small records costs few reads, small enough not
// to matter next to the head the replay is rebuilding.
constexpr size_t kReadChunkBytes = 1 << 20;  // 1 MiB

// Sequential reads through a window over a RandomAccessFile.
class Window {
 public:
  explicit Window(const io::RandomAccessFile* file) : file_(file), size_(file->Size()) {}

  // Points *p at n bytes at offset. *ok is false if the file turned out
  // shorter than its size said (it shrank under us): treat as a torn tail.
  Status Fetch(uint64_t offset, size_t n, const char** p, bool* ok) {
    if (offset < start_ || offset + n > start_ + buf_.size()) {
      // Callers never ask past the end, so this is at least n.
      buf_.resize(static_cast<size_t>(
          std::min<uint64_t>(std::max(n, kReadChunkBytes), size_ - offset)));
      size_t got = 0;
      LOGE_RETURN_IF_ERROR(file_->Read(offset, buf_.size(), buf_.data(), &got));
      buf_.resize(got);
      start_ = offset;
    }
    *ok = offset + n <= start_ + buf_.size();
    *p = buf_.data() + (offset - start_);
    return Status::OK();
  }

 private:
  const io::RandomAccessFile* file_;
  uint64_t size_;
  std::string buf_;     // file bytes [start_, start_ + buf_.size())
  uint64_t start_ = 0;
};

}  // namespace

Status ReplayFile(io::FileSystem* fs, const std::string& path, uint64_t name_seq,
                  uint64_t prev_seq, const ReplayFn& fn, FileReplay* out) {
  *out = FileReplay();
  LOGE_ASSIGN_OR_RETURN(auto file, fs->OpenRandomAccess(path));
  const uint64_t size = file->Size();
  out->size = size;
  Window window(file.get());
  uint64_t offset = 0;
  uint64_t last_seq = prev_seq;
  while (offset < size) {
    if (size - offset < kHeaderBytes) break;  // 1: torn header
    const char* p = nullptr;
    bool ok = false;
    LOGE_RETURN_IF_ERROR(window.Fetch(offset, kHeaderBytes, &p, &ok).WithContext("read " + path));
    if (!ok) break;
    RecordHeader h = DecodeHeader(p);
    if (h.length > kMaxPayloadBytes) break;               // 2: garbage length
    if (h.length > size - offset - kHeaderBytes) break;  // 2: torn payload
    LOGE_RETURN_IF_ERROR(
        window.Fetch(offset, kHeaderBytes + h.length, &p, &ok).WithContext("read " + path));
    if (!ok) break;
    std::string_view payload(p + kHeaderBytes, h.length);
    if (!CrcMatches(h, payload)) break;                   // 3
    if (h.seq <= last_seq || h.seq < name_seq) break;     // 4
    if (fn) LOGE_RETURN_IF_ERROR(fn(h.seq, payload));
    last_seq = h.seq;
    out->last_seq = h.seq;
    out->records++;
    offset += kHeaderBytes + h.length;
  }
  out->dropped_bytes = size - offset;
  return Status::OK();
}

}  // namespace loge::wal
