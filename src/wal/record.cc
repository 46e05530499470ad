#include "wal/record.h"

#include <cstdio>

#include "core/crc32c.h"

namespace loge::wal {

namespace {

void PutFixed32(char* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<char>(v >> (8 * i));
}

void PutFixed64(char* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = static_cast<char>(v >> (8 * i));
}

uint32_t GetFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  }
  return v;
}

uint64_t GetFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  }
  return v;
}

uint32_t RecordCrc(const char* seq_bytes, std::string_view payload) {
  uint32_t crc = crc32c::Value(seq_bytes, 8);
  return crc32c::Extend(crc, payload.data(), payload.size());
}

}  // namespace

void AppendRecord(uint64_t seq, std::string_view payload, std::string* out) {
  char header[kHeaderBytes];
  PutFixed32(header, static_cast<uint32_t>(payload.size()));
  PutFixed64(header + 8, seq);
  PutFixed32(header + 4, crc32c::Mask(RecordCrc(header + 8, payload)));
  out->append(header, kHeaderBytes);
  out->append(payload);
}

RecordHeader DecodeHeader(const char* p) {
  RecordHeader h;
  h.length = GetFixed32(p);
  h.masked_crc = GetFixed32(p + 4);
  h.seq = GetFixed64(p + 8);
  return h;
}

bool CrcMatches(const RecordHeader& h, std::string_view payload) {
  char seq_bytes[8];
  PutFixed64(seq_bytes, h.seq);
  return crc32c::Unmask(h.masked_crc) == RecordCrc(seq_bytes, payload);
}

std::string FileName(uint64_t first_seq) {
  char buf[kFileSeqDigits + 1];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(first_seq));
  return std::string(buf) + std::string(kFileSuffix);
}

bool ParseFileName(std::string_view name, uint64_t* first_seq) {
  if (name.size() != kFileSeqDigits + kFileSuffix.size()) return false;
  if (name.substr(kFileSeqDigits) != kFileSuffix) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < kFileSeqDigits; i++) {
    char c = name[i];
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;  // past uint64_t
    v = v * 10 + digit;
  }
  *first_seq = v;
  return true;
}

}  // namespace loge::wal
