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

// What the record at an offset is.
enum class Check {
  kIntact,
  kTorn,     // checks 1-2: its bytes run past the end of the file
  kDamaged,  // check 2 (garbage length), 3 or 4
};

struct Cursor {
  Window* window;
  const std::string* path;
  uint64_t size;
  uint64_t name_seq;
};

// Checks the record at offset (reader.h, checks 1-4, seqs above last_seq).
// With seq_cap != 0, a seq above it fails first, before any payload is read:
// that keeps a resync scan linear in the bytes it skips.
Status CheckAt(const Cursor& c, uint64_t offset, uint64_t last_seq, uint64_t seq_cap, Check* out,
               RecordHeader* h, std::string_view* payload) {
  *out = Check::kTorn;
  if (c.size - offset < kHeaderBytes) return Status::OK();  // 1
  const char* p = nullptr;
  bool ok = false;
  LOGE_RETURN_IF_ERROR(c.window->Fetch(offset, kHeaderBytes, &p, &ok).WithContext("read " + *c.path));
  if (!ok) return Status::OK();
  *h = DecodeHeader(p);
  *out = Check::kDamaged;
  if (h->seq <= last_seq || h->seq < c.name_seq || (seq_cap != 0 && h->seq > seq_cap)) return Status::OK();  // 4
  if (h->length > kMaxPayloadBytes) return Status::OK();                                                    // 2
  if (h->length > c.size - offset - kHeaderBytes) {                                                         // 2
    *out = Check::kTorn;
    return Status::OK();
  }
  LOGE_RETURN_IF_ERROR(
      c.window->Fetch(offset, kHeaderBytes + h->length, &p, &ok).WithContext("read " + *c.path));
  if (!ok) {
    *out = Check::kTorn;
    return Status::OK();
  }
  *payload = std::string_view(p + kHeaderBytes, h->length);
  if (!CrcMatches(*h, *payload)) return Status::OK();  // 3
  *out = Check::kIntact;
  return Status::OK();
}

// The offset of the next intact record after a bad one at `bad`, or 0 when
// there is none. Records in a file carry consecutive seqs (one writer
// appends them in seq order; a failed write ends the file's life), so the
// next intact record has seq base + 1 + (records lost), and the lost
// records took at least kHeaderBytes each: a candidate's seq must be at most
// base + 1 + skipped / kHeaderBytes. Random bytes pass that window, the
// length bounds and the 32-bit crc together with negligible probability; a
// log line quoting a whole WAL record would also need the exact seq.
Status Resync(const Cursor& c, uint64_t bad, uint64_t base, uint64_t* found) {
  *found = 0;
  for (uint64_t at = bad + 1; at + kHeaderBytes <= c.size; at++) {
    Check check;
    RecordHeader h;
    std::string_view payload;
    const uint64_t cap = base + 1 + (at - bad) / kHeaderBytes;
    LOGE_RETURN_IF_ERROR(CheckAt(c, at, base, cap, &check, &h, &payload));
    if (check == Check::kIntact) {
      *found = at;
      return Status::OK();
    }
  }
  return Status::OK();
}

}  // namespace

Status ReplayFile(io::FileSystem* fs, const std::string& path, uint64_t name_seq,
                  uint64_t prev_seq, const ReplayFn& fn, FileReplay* out) {
  *out = FileReplay();
  LOGE_ASSIGN_OR_RETURN(auto file, fs->OpenRandomAccess(path));
  const uint64_t size = file->Size();
  out->size = size;
  Window window(file.get());
  const Cursor c{&window, &path, size, name_seq};
  uint64_t offset = 0;
  uint64_t last_seq = prev_seq;
  while (offset < size) {
    Check check;
    RecordHeader h;
    std::string_view payload;
    LOGE_RETURN_IF_ERROR(CheckAt(c, offset, last_seq, 0, &check, &h, &payload));
    if (check != Check::kIntact) {
      // The seq a record here should have: the one after the last intact
      // record of this file, else the file name's.
      const uint64_t base = std::max(last_seq, name_seq > 0 ? name_seq - 1 : 0);
      uint64_t next = 0;
      LOGE_RETURN_IF_ERROR(Resync(c, offset, base, &next));
      if (next == 0) {
        // Nothing intact follows. A whole record with the expected seq and a
        // bad crc was damaged after it was written; anything else is a tail
        // that was being written when the process stopped.
        const bool damaged = check == Check::kDamaged && size - offset >= kHeaderBytes && h.seq == base + 1 &&
                             h.length <= size - offset - kHeaderBytes;
        if (damaged) {
          out->damage.push_back(Damage{path, offset, size - offset, 1, base + 1});
          offset = size;
        }
        break;
      }
      RecordHeader nh;
      LOGE_RETURN_IF_ERROR(CheckAt(c, next, base, 0, &check, &nh, &payload));
      LOGE_ASSERT(check == Check::kIntact, "BUG: wal resync found a record that does not check");
      out->damage.push_back(Damage{path, offset, next - offset, std::max<uint64_t>(nh.seq - base - 1, 1), base + 1});
      offset = next;
      h = nh;
    }
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
