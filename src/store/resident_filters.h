// ResidentFilters: bounds the pages of mapped content filters that the
// process holds resident (--filter-resident-size).
//
// A format-3 file's filters are mapped from its filter frame
// (storage/filter_frame.h). The pages a needle probes stay in the process's
// resident set (RssFile) until the kernel reclaims them under memory
// pressure, so without a bound RSS rises with the store as needles probe
// more files — clean page cache, but what `top` and a container's limit
// show. Check() reads the process's file-backed resident bytes (counters
// the kernel keeps, /proc/self/statm) and, above the limit, gives back the
// pages of the mappings used longest ago (MappedRegion::Release): they
// leave the resident set and stay in the page cache, so a needle that
// probes them again maps them back with minor faults, not disk reads.
//
// What is counted is the file-backed resident set above its level when the
// store opened (the binary's and libraries' pages, which are not filters),
// so it is an estimate: other file mappings the process makes count too.
//
// Thread-safety: Check() from one thread at a time (the store's ticker);
// GetStats() from any.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace loge::io {
class MappedRegion;
}

namespace loge::store {

class ResidentFilters {
 public:
  struct Stats {
    uint64_t resident_bytes = 0;  // file-backed resident bytes above the baseline, at the last check
    uint64_t released_bytes = 0;  // mapped bytes given back, in total
    uint64_t releases = 0;        // mappings given back, in total
  };

  // limit: bytes; 0 = no bound (the kernel alone decides). resident: the
  // process's file-backed resident bytes (io::FileResidentBytes; tests
  // inject their own). The baseline is read here.
  ResidentFilters(uint64_t limit, std::function<uint64_t()> resident);

  // Above the limit, releases the mappings used longest ago (of those used
  // since their last release) until what they map covers the excess over
  // 3/4 of the limit (so a store that sits at its limit is not trimmed
  // every second). Regions: the live mappings.
  void Check(std::vector<std::shared_ptr<const io::MappedRegion>> regions);

  Stats GetStats() const;

 private:
  const uint64_t limit_;
  const std::function<uint64_t()> resident_;
  const uint64_t baseline_;
  std::atomic<uint64_t> resident_bytes_{0};
  std::atomic<uint64_t> released_bytes_{0};
  std::atomic<uint64_t> releases_{0};
};

}  // namespace loge::store
