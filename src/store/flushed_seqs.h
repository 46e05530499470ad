// FlushedSeqs: which WAL record parts are already in flush files, so replay
// after a crash does not store an acknowledged line twice.
//
// A flush file of bucket b (of nb buckets) records the seqs whose part for
// that bucket it holds, as ranges ("1-5,7,9-12") in its meta table. A
// stream of record seq is already stored if some file with (nb, b) lists seq
// and Fingerprint(labels) % nb == b: the part was written whole, in one file.
// Keying by nb keeps this right when --buckets changes between runs.
//
// Thread-safety: built and read on the startup thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace loge::store {

// Sorted, merged ranges of seqs: {1,2,3,5} -> "1-3,5".
std::string EncodeSeqRanges(std::vector<uint64_t> seqs);
// Inverse of EncodeSeqRanges; Corruption on malformed text.
Result<std::vector<std::pair<uint64_t, uint64_t>>> DecodeSeqRanges(std::string_view text);

class FlushedSeqs {
 public:
  void Add(uint32_t nbuckets, uint32_t bucket, const std::vector<std::pair<uint64_t, uint64_t>>& ranges);
  // True if the part of record `seq` holding a stream with fingerprint `fp` is stored.
  bool Contains(uint64_t seq, uint64_t fp) const;
  bool empty() const { return ranges_.empty(); }

 private:
  // (nbuckets, bucket) -> range start -> range end (inclusive), non-overlapping.
  std::map<std::pair<uint32_t, uint32_t>, std::map<uint64_t, uint64_t>> ranges_;
};

}  // namespace loge::store
