// Two sources of push bodies for loge-loadgen besides the generated pool:
//
//   BodyFile    pre-built bodies read from a file, each sent once, in file
//               order (bench/vs: every system gets byte-identical bodies).
//   CorpusFeed  the lines of a bench/vs/corpus.py file, replayed endlessly
//               and stamped at send time (bench/sustained).
//
// Thread-safety: both are immutable once loaded and shared by every
// connection; CorpusFeed::Build writes only into the caller's string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace loge::bench {

// One pre-built push body and what it carries.
struct FileBody {
  std::string body;       // the request body, sent as is
  uint64_t lines = 0;     // log lines in it
  uint64_t line_bytes = 0;  // raw (unescaped) bytes of those lines
};

// Reads a body file: records of three little-endian uint64 (body bytes,
// lines, line bytes) followed by the body. Returns "" on success, else why
// not.
std::string ReadBodyFile(const std::string& path, std::vector<FileBody>* out);

// The lines of a corpus.py file (a JSON array of label sets, then
// "<ns> <stream> <line>" rows; the file's timestamps are ignored), sent as
// an endless sequence: row i of the sequence is line i % size() of pass
// i / size(). Pass 0 sends the lines verbatim; pass k > 0 changes every
// Zeek connection/file uid ("C…"/"F…", 18 characters in quotes) so that no
// id repeats across passes (ShiftUid). Zeek "ts" and "_write_ts" values are
// rewritten to the entry's own timestamp in every pass.
class CorpusFeed {
 public:
  // Returns "" on success, else why the file could not be used.
  std::string Load(const std::string& path);

  size_t size() const { return lines_.size(); }

  // Appends to *out the Loki JSON push body of rows [first, first + n) of
  // the sequence, entries stamped base_ns, base_ns + 1, …, grouped by
  // stream in order of first appearance (as a shipper batches). Adds the
  // raw bytes of the lines to *line_bytes.
  void Build(uint64_t first, size_t n, int64_t base_ns, std::string* out, uint64_t* line_bytes) const;

  // The uid in pass k > 0: every character after the leading C/F moves
  // forward in base 62 by UidOffset(k, position), 1..61, so it differs from
  // the uid of any other pass in nearly every position, as two real uids do
  // (shifting only the last characters left uids of different passes
  // sharing 15 of 18 characters, which no real id stream does and which
  // made every pass's lines a partial match for id-key filters). The same
  // in bench/sustained/run_sustained.py; replay a one-cycle corpus so that
  // every uid is unique to its pass.
  static void ShiftUid(char* uid18, uint64_t pass);
  static uint64_t UidOffset(uint64_t pass, size_t position);

 private:
  // A line as it goes into a body: JSON-escaped and quoted once at load, so
  // a push only copies it and patches its uids and times in place (neither
  // holds a byte that escaping changes).
  struct Line {
    uint32_t stream = 0;
    uint32_t raw_bytes = 0;         // the line's own length, unescaped
    std::string quoted;             // "…" as JSON
    std::vector<uint32_t> uid_pos;  // offset in `quoted` of each 18-character uid
    std::vector<uint32_t> ts_pos;   // offset in `quoted` of each 27-character ISO time
  };
  std::vector<std::string> labels_json_;  // per stream: {"app":"…",…}
  std::vector<Line> lines_;
};

}  // namespace loge::bench
