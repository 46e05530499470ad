#include "storage/block.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>

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

namespace {

struct NlException {
  uint64_t index;  // line index in the block
  uint64_t count;  // '\n' bytes inside that line
};

Status DecodeNl(std::string_view nl, std::vector<NlException>* out) {
  out->clear();
  size_t pos = 0;
  uint64_t index = 0;
  while (pos < nl.size()) {
    uint64_t delta, count;
    if (!GetVarint64(nl, &pos, &delta) || !GetVarint64(nl, &pos, &count) || count == 0) {
      return Status::Corruption("block: malformed nl column");
    }
    index += delta;
    if (!out->empty() && delta == 0) return Status::Corruption("block: nl indexes not increasing");
    out->push_back({index, count});
  }
  return Status::OK();
}

void EncodeNl(const std::vector<NlException>& ex, std::string* out) {
  out->clear();
  uint64_t prev = 0;
  for (const auto& e : ex) {
    PutVarint64(out, e.index - prev);
    PutVarint64(out, e.count);
    prev = e.index;
  }
}

// "[null,null,...]" for n rows without metadata.
std::string NullMeta(uint32_t n) {
  std::string m = "[";
  for (uint32_t i = 0; i < n; i++) m += i ? ",null" : "null";
  return m + "]";
}

}  // namespace

Block EncodeBlock2(const Entry* const* begin, const Entry* const* end) {
  Block b;
  b.n = static_cast<uint32_t>(end - begin);
  if (b.n == 0) return b;
  b.min_ts = (*begin)->ts;
  b.max_ts = (*(end - 1))->ts;
  bool any_meta = false;
  size_t bytes = 0;
  for (auto p = begin; p != end; ++p) {
    bytes += (*p)->line.size();
    any_meta |= !(*p)->metadata.empty();
  }
  b.bytes = bytes;
  b.lines.reserve(bytes + b.n);
  b.ts.reserve(b.n * 5);
  std::vector<NlException> ex;
  int64_t prev = 0;
  for (auto p = begin; p != end; ++p) {
    const Entry* e = *p;
    if (p == begin) {
      PutVarint64(&b.ts, ZigZag(e->ts));
    } else {
      PutVarint64(&b.ts, static_cast<uint64_t>(e->ts) - static_cast<uint64_t>(prev));
    }
    prev = e->ts;
    if (p != begin) b.lines.push_back('\n');
    b.lines += e->line;
    if (e->line.find('\n') != std::string::npos) {
      ex.push_back({static_cast<uint64_t>(p - begin),
                    static_cast<uint64_t>(std::count(e->line.begin(), e->line.end(), '\n'))});
    }
  }
  if (!ex.empty()) EncodeNl(ex, &b.nl);
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

void AppendBlock(Block* dst, const Block& src) {
  if (src.n == 0) return;
  if (dst->n == 0) {
    *dst = src;
    return;
  }
  // ts: src's first value is absolute; after dst's last row it is a delta.
  size_t pos = 0;
  uint64_t first = 0;
  GetVarint64(src.ts, &pos, &first);
  PutVarint64(&dst->ts, static_cast<uint64_t>(UnZigZag(first)) - static_cast<uint64_t>(dst->max_ts));
  dst->ts.append(src.ts, pos, std::string::npos);
  if (!src.nl.empty()) {
    std::vector<NlException> a, b;
    (void)DecodeNl(dst->nl, &a);
    (void)DecodeNl(src.nl, &b);
    for (auto& e : b) a.push_back({e.index + dst->n, e.count});
    EncodeNl(a, &dst->nl);
  }
  if (!dst->meta.empty() || !src.meta.empty()) {
    std::string left = dst->meta.empty() ? NullMeta(dst->n) : std::move(dst->meta);
    std::string_view right = src.meta;
    std::string right_nulls;
    if (right.empty()) {
      right_nulls = NullMeta(src.n);
      right = right_nulls;
    }
    left.back() = ',';
    left.append(right.substr(1));
    dst->meta = std::move(left);
  }
  dst->lines.push_back('\n');
  dst->lines += src.lines;
  if (dst->id_keys_known && src.id_keys_known) {
    dst->id_keys.insert(dst->id_keys.end(), src.id_keys.begin(), src.id_keys.end());
  } else {
    dst->id_keys_known = false;
    dst->id_keys.clear();
  }
  dst->n += src.n;
  dst->bytes += src.bytes;
  dst->max_ts = src.max_ts;
  dst->min_ts = std::min(dst->min_ts, src.min_ts);
}

Result<std::vector<Entry>> BlockEntries(const Block& b) {
  std::vector<RowView> rows;
  LOGE_RETURN_IF_ERROR(DecodeBlock2(b.ts, b.lines, b.nl, b.n, &rows));
  std::vector<std::string> meta;
  if (!b.meta.empty()) {
    LOGE_ASSIGN_OR_RETURN(meta, DecodeBlockMeta(b.meta, b.n));
  }
  std::vector<Entry> out(rows.size());
  for (size_t i = 0; i < rows.size(); i++) {
    out[i].ts = rows[i].ts;
    out[i].line = std::string(rows[i].line);
    if (!meta.empty()) out[i].metadata = std::move(meta[i]);
  }
  return out;
}

namespace {

// Splits through entries: decodes every row and encodes both parts again.
// For blocks whose lines hold '\n' (the nl column), which are rare, and a
// meta column MetaCut cannot cut (never written by this process).
Block TakeFrontByEntries(Block* src, uint32_t max_lines, size_t max_bytes) {
  auto entries = BlockEntries(*src);
  if (!entries.ok()) {  // cannot happen for a block this process encoded; keep it whole
    Block all = std::move(*src);
    *src = Block();
    return all;
  }
  std::vector<const Entry*> ptrs;
  for (const auto& e : *entries) ptrs.push_back(&e);
  size_t k = 0, bytes = 0;
  while (k < ptrs.size() && k < max_lines && (k == 0 || bytes + ptrs[k]->line.size() + 1 <= max_bytes)) {
    bytes += ptrs[k]->line.size() + 1;
    k++;
  }
  Block front = EncodeBlock2(ptrs.data(), ptrs.data() + k);
  Block rest = EncodeBlock2(ptrs.data() + k, ptrs.data() + ptrs.size());
  if (src->id_keys_known) {
    front.id_keys = src->id_keys;
    front.id_keys_known = rest.id_keys_known = true;
    rest.id_keys = std::move(src->id_keys);
  }
  *src = std::move(rest);
  return front;
}

// The offset of the ',' that ends element k-1 of the meta column (a JSON
// array of objects and nulls, as EncodeBlock2 writes it), or npos when the
// column does not have more than k elements or is malformed.
size_t MetaCut(std::string_view meta, uint32_t k) {
  if (k == 0 || meta.size() < 2 || meta.front() != '[') return std::string_view::npos;
  int depth = 0;
  bool in_string = false;
  uint32_t seen = 0;
  for (size_t i = 1; i < meta.size(); i++) {
    const char c = meta[i];
    if (in_string) {
      if (c == '\\') {
        i++;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if (c == '}' || c == ']') {
      if (--depth < 0) return std::string_view::npos;  // the array ended first
    } else if (c == ',' && depth == 0 && ++seen == k) {
      return i;
    }
  }
  return std::string_view::npos;
}

}  // namespace

Block TakeFront(Block* src, uint32_t max_lines, size_t max_bytes) {
  if (src->n == 0) return Block();
  max_lines = std::max<uint32_t>(max_lines, 1);
  if (!src->nl.empty()) return TakeFrontByEntries(src, max_lines, max_bytes);
  // Walk line boundaries and timestamps together; the meta column, when
  // there is one (detected_level puts one in nearly every block), is cut
  // at the same row by scanning its JSON, not decoding it.
  const std::string_view text = src->lines;
  size_t pos = 0, tp = 0;
  uint32_t k = 0;
  int64_t ts = 0;
  size_t used = 0;
  while (k < src->n && k < max_lines) {
    const void* nlp = memchr(text.data() + pos, '\n', text.size() - pos);
    const size_t end = nlp ? static_cast<size_t>(static_cast<const char*>(nlp) - text.data()) : text.size();
    if (k > 0 && used + (end - pos) + 1 > max_bytes) break;
    uint64_t v = 0;
    GetVarint64(src->ts, &tp, &v);
    ts = k == 0 ? UnZigZag(v) : static_cast<int64_t>(static_cast<uint64_t>(ts) + v);
    used += (end - pos) + 1;
    pos = end + 1;
    k++;
  }
  if (k >= src->n) {
    Block all = std::move(*src);
    *src = Block();
    return all;
  }
  size_t meta_cut = std::string_view::npos;
  if (!src->meta.empty()) {
    meta_cut = MetaCut(src->meta, k);
    if (meta_cut == std::string_view::npos) return TakeFrontByEntries(src, max_lines, max_bytes);
  }
  Block front;
  front.n = k;
  front.min_ts = src->min_ts;
  front.max_ts = ts;
  front.ts = src->ts.substr(0, tp);
  front.lines = std::string(text.substr(0, pos - 1));
  front.bytes = front.lines.size() - (k - 1);
  // The rest: its first timestamp becomes absolute again.
  Block rest;
  rest.n = src->n - k;
  uint64_t d = 0;
  size_t tp2 = tp;
  GetVarint64(src->ts, &tp2, &d);
  const int64_t first = static_cast<int64_t>(static_cast<uint64_t>(ts) + d);
  PutVarint64(&rest.ts, ZigZag(first));
  rest.ts.append(src->ts, tp2, std::string::npos);
  rest.min_ts = first;
  rest.max_ts = src->max_ts;
  rest.lines = std::string(text.substr(pos));
  rest.bytes = src->bytes - front.bytes;
  if (meta_cut != std::string_view::npos) {
    front.meta.reserve(meta_cut + 1);
    front.meta.append(src->meta, 0, meta_cut);
    front.meta.push_back(']');
    rest.meta.reserve(src->meta.size() - meta_cut);
    rest.meta.push_back('[');
    rest.meta.append(src->meta, meta_cut + 1, std::string::npos);
  }
  if (src->id_keys_known) {
    front.id_keys = src->id_keys;
    front.id_keys_known = rest.id_keys_known = true;
    rest.id_keys = std::move(src->id_keys);
  }
  *src = std::move(rest);
  return front;
}

Status DecodeBlock2(std::string_view ts, std::string_view lines, std::string_view nl, uint32_t n,
                    std::vector<RowView>* rows) {
  rows->clear();
  rows->reserve(n);
  thread_local std::vector<NlException> ex;
  LOGE_RETURN_IF_ERROR(DecodeNl(nl, &ex));
  size_t next_ex = 0;
  size_t tp = 0, pos = 0;
  int64_t prev = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t t;
    if (!GetVarint64(ts, &tp, &t)) return Status::Corruption("block: truncated ts column");
    int64_t v = i == 0 ? UnZigZag(t) : static_cast<int64_t>(static_cast<uint64_t>(prev) + t);
    prev = v;
    if (i > 0) {
      if (pos >= lines.size() || lines[pos] != '\n') return Status::Corruption("block: missing line separator");
      pos++;
    }
    // The line runs to the next '\n', or past as many as nl says it holds.
    uint64_t inner = 0;
    if (next_ex < ex.size() && ex[next_ex].index == i) inner = ex[next_ex++].count;
    size_t end = pos;
    for (uint64_t k = 0;; k++) {
      const void* hit = end < lines.size() ? memchr(lines.data() + end, '\n', lines.size() - end) : nullptr;
      size_t at = hit ? static_cast<size_t>(static_cast<const char*>(hit) - lines.data()) : lines.size();
      if (k == inner) {
        end = at;
        break;
      }
      if (!hit) return Status::Corruption("block: nl count past the text");
      end = at + 1;
    }
    rows->push_back({v, lines.substr(pos, end - pos)});
    pos = end;
  }
  if (pos != lines.size() || tp != ts.size() || next_ex != ex.size()) {
    return Status::Corruption("block: columns longer than the row count says");
  }
  return Status::OK();
}

EncodedBlock EncodeBlock(const Entry* begin, const Entry* end) {
  std::vector<const Entry*> ptrs;
  ptrs.reserve(end - begin);
  for (const Entry* e = begin; e != end; ++e) ptrs.push_back(e);
  return EncodeBlock(ptrs.data(), ptrs.data() + ptrs.size());
}

Status DecodeTimestamps(std::string_view ts, uint32_t n, std::vector<int64_t>* out) {
  out->clear();
  out->reserve(n);
  size_t tp = 0;
  int64_t prev = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t t;
    if (!GetVarint64(ts, &tp, &t)) return Status::Corruption("block: truncated ts column");
    prev = i == 0 ? UnZigZag(t) : static_cast<int64_t>(static_cast<uint64_t>(prev) + t);
    out->push_back(prev);
  }
  if (tp != ts.size()) return Status::Corruption("block: ts column longer than the row count says");
  return Status::OK();
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
