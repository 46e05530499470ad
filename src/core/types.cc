#include "core/types.h"

#include <xxhash.h>

#include <algorithm>

#include "core/json_writer.h"

namespace loge {

Status SortLabels(Labels* labels) {
  std::sort(labels->begin(), labels->end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < labels->size(); i++) {
    if ((*labels)[i].first == (*labels)[i - 1].first) {
      return Status::InvalidArgument("duplicate label name \"" + (*labels)[i].first + "\"");
    }
  }
  return Status::OK();
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  auto first_ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!first_ok(name[0])) return false;
  for (char c : name.substr(1)) {
    if (!first_ok(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::string LabelsToJson(const Labels& labels) {
  JsonWriter w;
  w.BeginObject();
  for (const auto& [k, v] : labels) {
    w.Key(k);
    w.String(v);
  }
  w.EndObject();
  return w.Take();
}

uint64_t Fingerprint(const Labels& labels) {
  // The separators cannot appear in a label name, so ("a","bc") != ("ab","c").
  std::string buf;
  for (const auto& [k, v] : labels) {
    buf += k;
    buf.push_back('\xff');
    buf += v;
    buf.push_back('\xfe');
  }
  return XXH3_64bits(buf.data(), buf.size());
}

size_t Payload::Lines() const {
  size_t n = 0;
  for (const auto& s : streams) n += s.entries.size();
  return n;
}

// Heap cost of a string beyond its inline buffer: the bytes plus malloc's
// header and rounding (glibc: 16-byte chunks, 8 bytes of header).
static size_t HeapBytes(const std::string& s) { return s.size() < 16 ? 0 : ((s.size() + 1 + 8 + 15) & ~size_t{15}); }

size_t Stream::Bytes() const {
  size_t n = 0;
  for (const auto& [k, v] : labels) n += HeapBytes(k) + HeapBytes(v) + 64;
  for (const auto& e : entries) n += HeapBytes(e.line) + HeapBytes(e.metadata) + sizeof(Entry);
  return n;
}

size_t Payload::Bytes() const {
  size_t n = 0;
  for (const auto& s : streams) n += s.Bytes();
  return n;
}

void PutVarint64(std::string* out, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

bool GetVarint64(std::string_view in, size_t* pos, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && *pos < in.size(); shift += 7) {
    uint64_t byte = static_cast<unsigned char>(in[(*pos)++]);
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

namespace {

void PutString(std::string* out, std::string_view s) {
  PutVarint64(out, s.size());
  out->append(s);
}

bool GetString(std::string_view in, size_t* pos, std::string* s) {
  uint64_t n;
  if (!GetVarint64(in, pos, &n) || n > in.size() - *pos) return false;
  s->assign(in.substr(*pos, n));
  *pos += n;
  return true;
}

}  // namespace

void EncodePayload(const Payload& p, std::string* out) {
  PutVarint64(out, p.streams.size());
  for (const auto& s : p.streams) {
    PutVarint64(out, s.labels.size());
    for (const auto& [k, v] : s.labels) {
      PutString(out, k);
      PutString(out, v);
    }
    PutVarint64(out, s.entries.size());
    int64_t prev = 0;
    for (const auto& e : s.entries) {
      PutVarint64(out, ZigZag(static_cast<int64_t>(static_cast<uint64_t>(e.ts) - static_cast<uint64_t>(prev))));
      prev = e.ts;
      PutString(out, e.line);
      PutString(out, e.metadata);
    }
  }
}

Result<Payload> DecodePayload(std::string_view in) {
  auto bad = [] { return Status::Corruption("payload record is truncated or malformed"); };
  Payload p;
  size_t pos = 0;
  uint64_t nstreams;
  if (!GetVarint64(in, &pos, &nstreams) || nstreams > in.size()) return bad();
  p.streams.resize(nstreams);
  for (auto& s : p.streams) {
    uint64_t nlabels;
    if (!GetVarint64(in, &pos, &nlabels) || nlabels > in.size()) return bad();
    s.labels.resize(nlabels);
    for (auto& [k, v] : s.labels) {
      if (!GetString(in, &pos, &k) || !GetString(in, &pos, &v)) return bad();
    }
    uint64_t nentries;
    if (!GetVarint64(in, &pos, &nentries) || nentries > in.size()) return bad();
    s.entries.resize(nentries);
    int64_t prev = 0;
    for (auto& e : s.entries) {
      uint64_t d;
      if (!GetVarint64(in, &pos, &d)) return bad();
      e.ts = static_cast<int64_t>(static_cast<uint64_t>(prev) + static_cast<uint64_t>(UnZigZag(d)));
      prev = e.ts;
      if (!GetString(in, &pos, &e.line) || !GetString(in, &pos, &e.metadata)) return bad();
    }
  }
  if (pos != in.size()) return bad();
  return p;
}

}  // namespace loge
