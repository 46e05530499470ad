#include "bench/corpus_feed.h"

#include <simdjson.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>

#include "core/json_writer.h"

namespace loge::bench {

namespace {

constexpr size_t kUidLen = 18;      // C or F and 17 base-62 characters
constexpr size_t kIsoLen = 27;      // 2018-03-24T17:15:20.865716Z
constexpr char kB62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

int B62Value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  if (c >= 'a' && c <= 'z') return c - 'a' + 36;
  return -1;
}

// Offsets of every quoted 18-character C…/F… uid in a Zeek line (the
// pattern corpus.py changes per cycle).
std::vector<uint32_t> FindUids(const std::string& s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i + kUidLen + 2 <= s.size(); i++) {
    if (s[i] != '"' || (s[i + 1] != 'C' && s[i + 1] != 'F') || s[i + kUidLen + 1] != '"') continue;
    bool ok = true;
    for (size_t k = 2; k <= kUidLen && ok; k++) ok = B62Value(s[i + k]) >= 0;
    if (ok) {
      out.push_back(static_cast<uint32_t>(i + 1));
      i += kUidLen + 1;
    }
  }
  return out;
}

// Offsets of the values of "ts" and "_write_ts" when they have corpus.py's
// 27-character ISO form.
std::vector<uint32_t> FindIsoTimes(const std::string& s) {
  std::vector<uint32_t> out;
  for (const char* key : {"\"ts\":\"", "\"_write_ts\":\""}) {
    const size_t klen = std::strlen(key);
    for (size_t at = s.find(key); at != std::string::npos; at = s.find(key, at + 1)) {
      size_t v = at + klen;
      if (v + kIsoLen < s.size() && s[v + kIsoLen - 1] == 'Z' && s[v + kIsoLen] == '"') {
        out.push_back(static_cast<uint32_t>(v));
      }
    }
  }
  return out;
}

void WriteIso(char* p, int64_t ns) {
  const time_t sec = static_cast<time_t>(ns / 1'000'000'000);
  struct tm tm;
  gmtime_r(&sec, &tm);
  char buf[96];  // 28 bytes for any time this benchmark sends; room for what the compiler cannot rule out
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ns % 1'000'000'000 / 1000));
  std::memcpy(p, buf, kIsoLen);
}

}  // namespace

std::string ReadBodyFile(const std::string& path, std::vector<FileBody>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot open " + path;
  for (;;) {
    unsigned char hdr[24];
    in.read(reinterpret_cast<char*>(hdr), sizeof(hdr));
    if (in.gcount() == 0) break;
    if (in.gcount() != sizeof(hdr)) return path + ": truncated record header";
    uint64_t v[3] = {0, 0, 0};
    for (int f = 0; f < 3; f++) {
      for (int k = 7; k >= 0; k--) v[f] = (v[f] << 8) | hdr[f * 8 + k];
    }
    FileBody b;
    b.body.resize(v[0]);
    b.lines = v[1];
    b.line_bytes = v[2];
    in.read(b.body.data(), static_cast<std::streamsize>(v[0]));
    if (static_cast<uint64_t>(in.gcount()) != v[0]) return path + ": truncated body";
    out->push_back(std::move(b));
  }
  if (out->empty()) return path + ": no bodies";
  return "";
}

uint64_t CorpusFeed::UidOffset(uint64_t pass, size_t k) {
  uint64_t z = pass * 32 + k + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return 1 + z % 61;
}

void CorpusFeed::ShiftUid(char* uid, uint64_t pass) {
  if (pass == 0) return;
  for (size_t k = 1; k < kUidLen; k++) {
    uid[k] = kB62[(static_cast<uint64_t>(B62Value(uid[k])) + UidOffset(pass, k)) % 62];
  }
}

std::string CorpusFeed::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot open " + path;
  std::string header;
  if (!std::getline(in, header)) return path + ": empty";
  simdjson::dom::parser parser;
  simdjson::dom::array streams;
  if (parser.parse(header).get_array().get(streams)) return path + ": first line is not a JSON array of label sets";
  std::vector<bool> zeek;
  for (simdjson::dom::element el : streams) {
    simdjson::dom::object obj;
    if (el.get_object().get(obj)) return path + ": a label set is not an object";
    JsonWriter w;
    w.BeginObject();
    bool is_zeek = false;
    for (auto field : obj) {
      std::string_view v;
      if (field.value.get_string().get(v)) return path + ": a label value is not a string";
      w.Key(field.key);
      w.String(v);
      is_zeek = is_zeek || (field.key == "app" && v == "zeek");
    }
    w.EndObject();
    labels_json_.push_back(w.Take());
    zeek.push_back(is_zeek);
  }
  std::string row;
  while (std::getline(in, row)) {
    const size_t s1 = row.find(' ');
    const size_t s2 = s1 == std::string::npos ? s1 : row.find(' ', s1 + 1);
    if (s2 == std::string::npos) return path + ": malformed row " + std::to_string(lines_.size() + 1);
    Line l;
    l.stream = static_cast<uint32_t>(std::stoul(row.substr(s1 + 1, s2 - s1 - 1)));
    if (l.stream >= labels_json_.size()) return path + ": stream index out of range";
    const std::string text = row.substr(s2 + 1);
    l.raw_bytes = static_cast<uint32_t>(text.size());
    JsonWriter::Escape(text, &l.quoted);
    if (zeek[l.stream]) {
      // Offsets in the quoted form: the escaped length of what precedes.
      auto quoted_at = [&](uint32_t raw) {
        std::string prefix;
        JsonWriter::Escape(std::string_view(text).substr(0, raw), &prefix);
        return static_cast<uint32_t>(prefix.size() - 1);  // without the closing quote
      };
      for (uint32_t p : FindUids(text)) l.uid_pos.push_back(quoted_at(p));
      for (uint32_t p : FindIsoTimes(text)) l.ts_pos.push_back(quoted_at(p));
    }
    lines_.push_back(std::move(l));
  }
  if (lines_.empty()) return path + ": no rows";
  return "";
}

void CorpusFeed::Build(uint64_t first, size_t n, int64_t base_ns, std::string* out, uint64_t* line_bytes) const {
  // Rows of the body by stream, streams in order of first appearance.
  std::vector<int> slot(labels_json_.size(), -1);
  std::vector<std::pair<uint32_t, std::vector<size_t>>> groups;
  for (size_t j = 0; j < n; j++) {
    const Line& l = lines_[(first + j) % lines_.size()];
    if (slot[l.stream] < 0) {
      slot[l.stream] = static_cast<int>(groups.size());
      groups.push_back({l.stream, {}});
    }
    groups[static_cast<size_t>(slot[l.stream])].second.push_back(j);
  }
  char ts[24];
  *out += "{\"streams\":[";
  for (size_t g = 0; g < groups.size(); g++) {
    if (g) out->push_back(',');
    *out += "{\"stream\":";
    *out += labels_json_[groups[g].first];
    *out += ",\"values\":[";
    bool first_value = true;
    for (size_t j : groups[g].second) {
      const uint64_t i = first + j;
      const Line& l = lines_[i % lines_.size()];
      const int64_t t = base_ns + static_cast<int64_t>(j);
      *line_bytes += l.raw_bytes;
      const auto ts_end = std::to_chars(ts, ts + sizeof(ts), t).ptr;
      if (!first_value) out->push_back(',');
      first_value = false;
      *out += "[\"";
      out->append(ts, ts_end);
      *out += "\",";
      const size_t at = out->size();
      *out += l.quoted;
      for (uint32_t p : l.uid_pos) ShiftUid(&(*out)[at + p], i / lines_.size());
      for (uint32_t p : l.ts_pos) WriteIso(&(*out)[at + p], t);
      out->push_back(']');
    }
    *out += "]}";
  }
  *out += "]}";
}

}  // namespace loge::bench
