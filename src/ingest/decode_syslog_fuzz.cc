// libFuzzer target: the syslog framer and decoder take any bytes: the
// framer yields frames or InvalidArgument, the decoder stores a message or
// refuses it with InvalidArgument, and what it stores validates.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/decode_syslog.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  loge::ingest::Limits limits;
  limits.max_line_bytes = 4096;
  loge::ingest::SyslogDecoder decoder(limits);
  auto add = [&](std::string_view m) {
    loge::Status st = decoder.Add(m, 1700000000000000000);
    if (!st.ok() && st.code() != loge::Code::kInvalidArgument) std::abort();
  };
  add(in);  // the bytes as one datagram
  // The bytes as a TCP stream, delivered in two reads.
  loge::ingest::SyslogFramer framer(8192);
  std::string_view frame;
  for (std::string_view part : {in.substr(0, size / 2), in.substr(size / 2)}) {
    framer.Append(part);
    for (;;) {
      auto r = framer.Next(&frame);
      if (!r.ok()) {
        if (r.status().code() != loge::Code::kInvalidArgument) std::abort();
        break;
      }
      if (!*r) break;
      add(frame);
    }
  }
  if (framer.Rest(&frame)) add(frame);
  auto p = decoder.Take();
  LOGE_ASSERT(p.ok(), "BUG: decoded syslog messages do not validate");
  return 0;
}
