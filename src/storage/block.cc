#include "storage/block.h"

#include <simdjson.h>

#include "core/json_writer.h"

namespace loge::storage {

EncodedBlock EncodeBlock(const Entry* const* begin, const Entry* const* end) {
  EncodedBlock b;
  b.n = static_cast<uint32_t>(end - begin);
  if (b.n == 0) return b;
  b.min_ts = (*begin)->ts;
  b.max_ts = (*(end - 1))->ts;
  bool any_meta = false;
  size_t bytes = 0;
  for (auto p = begin; p != end; ++p) {
    bytes += (*p)->line.size() + 1;
    any_meta |= !(*p)->metadata.empty();
  }
  b.lines.reserve(bytes);
  int64_t prev = 0;
  for (auto p = begin; p != end; ++p) {
    const Entry* e = *p;
    if (p == begin) {
      PutVarint64(&b.ts, ZigZag(e->ts));
    } else {
      PutVarint64(&b.ts, static_cast<uint64_t>(e->ts) - static_cast<uint64_t>(prev));
    }
    prev = e->ts;
    PutVarint64(&b.lens, e->line.size());
    if (p != begin) b.lines.push_back('\n');
    b.lines += e->line;
  }
  if (any_meta) {
    b.meta.push_back('[');
    for (auto p = begin; p != end; ++p) {
      if (p != begin) b.meta.push_back(',');
      b.meta += (*p)->metadata.empty() ? "null" : (*p)->metadata;
    }
    b.meta.push_back(']');
  }
  return b;
}

EncodedBlock EncodeBlock(const Entry* begin, const Entry* end) {
  std::vector<const Entry*> ptrs;
  ptrs.reserve(end - begin);
  for (const Entry* e = begin; e != end; ++e) ptrs.push_back(e);
  return EncodeBlock(ptrs.data(), ptrs.data() + ptrs.size());
}

Status DecodeBlock(std::string_view ts, std::string_view lens, std::string_view lines, uint32_t n,
                   std::vector<RowView>* rows) {
  rows->clear();
  rows->reserve(n);
  size_t tp = 0, lp = 0, pos = 0;
  int64_t prev = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t t, len;
    if (!GetVarint64(ts, &tp, &t) || !GetVarint64(lens, &lp, &len)) {
      return Status::Corruption("block: truncated ts or lens column");
    }
    int64_t v = i == 0 ? UnZigZag(t) : static_cast<int64_t>(static_cast<uint64_t>(prev) + t);
    prev = v;
    if (i > 0) {
      if (pos >= lines.size() || lines[pos] != '\n') return Status::Corruption("block: missing line separator");
      pos++;
    }
    if (len > lines.size() - pos) return Status::Corruption("block: line length past the lines column");
    rows->push_back({v, lines.substr(pos, len)});
    pos += len;
  }
  if (pos != lines.size() || tp != ts.size() || lp != lens.size()) {
    return Status::Corruption("block: columns longer than the row count says");
  }
  return Status::OK();
}

Result<std::vector<std::string>> DecodeBlockMeta(std::string_view meta, uint32_t n) {
  std::vector<std::string> out(n);
  if (meta.empty()) return out;
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(meta);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS || !doc.is_array()) {
    return Status::Corruption("block: meta column is not a JSON array");
  }
  uint32_t i = 0;
  for (simdjson::dom::element el : doc.get_array()) {
    if (i >= n) return Status::Corruption("block: meta column has too many elements");
    if (!el.is_null()) out[i] = simdjson::minify(el);
    i++;
  }
  if (i != n) return Status::Corruption("block: meta column has too few elements");
  return out;
}

}  // namespace loge::storage
