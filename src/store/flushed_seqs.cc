#include "store/flushed_seqs.h"

#include <algorithm>
#include <charconv>

namespace loge::store {

std::string EncodeSeqRanges(std::vector<uint64_t> seqs) {
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  std::string out;
  for (size_t i = 0; i < seqs.size();) {
    size_t j = i;
    while (j + 1 < seqs.size() && seqs[j + 1] == seqs[j] + 1) j++;
    if (!out.empty()) out.push_back(',');
    out += std::to_string(seqs[i]);
    if (j > i) {
      out.push_back('-');
      out += std::to_string(seqs[j]);
    }
    i = j + 1;
  }
  return out;
}

Result<std::vector<std::pair<uint64_t, uint64_t>>> DecodeSeqRanges(std::string_view text) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  auto num = [&](std::string_view s, uint64_t* v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
    return ec == std::errc() && p == s.data() + s.size();
  };
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    size_t dash = part.find('-');
    uint64_t a, b;
    if (dash == std::string_view::npos) {
      if (!num(part, &a)) return Status::Corruption("bad seq range \"" + std::string(part) + "\"");
      b = a;
    } else if (!num(part.substr(0, dash), &a) || !num(part.substr(dash + 1), &b) || b < a) {
      return Status::Corruption("bad seq range \"" + std::string(part) + "\"");
    }
    out.emplace_back(a, b);
  }
  return out;
}

void FlushedSeqs::Add(uint32_t nbuckets, uint32_t bucket, const std::vector<std::pair<uint64_t, uint64_t>>& ranges) {
  auto& m = ranges_[{nbuckets, bucket}];
  for (auto [a, b] : ranges) {
    // Merge with any overlapping or adjacent range.
    auto it = m.upper_bound(a);
    if (it != m.begin() && std::prev(it)->second + 1 >= a) {
      --it;
      a = it->first;
      b = std::max(b, it->second);
      it = m.erase(it);
    }
    while (it != m.end() && it->first <= b + 1) {
      b = std::max(b, it->second);
      it = m.erase(it);
    }
    m.emplace(a, b);
  }
}

bool FlushedSeqs::Contains(uint64_t seq, uint64_t fp) const {
  for (const auto& [key, m] : ranges_) {
    if (fp % key.first != key.second) continue;
    auto it = m.upper_bound(seq);
    if (it != m.begin() && std::prev(it)->second >= seq) return true;
  }
  return false;
}

}  // namespace loge::store
