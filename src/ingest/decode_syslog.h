// Syslog: RFC 5424 and RFC 3164 messages, and RFC 6587 framing of a TCP
// stream (octet counting, or one message per line), as rsyslog, syslog-ng
// and logger(1) send them to --syslog-listen.
//
// A message becomes one entry:
//   labels    facility (kern, user, …, local7), level (the severity:
//             emerg, alert, crit, err, warning, notice, info, debug),
//             hostname, app_name (RFC 5424 APP-NAME; RFC 3164 TAG), the
//             last two only when present
//   metadata  procid (RFC 3164: the [pid]), msgid, and every structured
//             data parameter as <SD-ID>_<name> ([exampleSDID@32473 iut="3"]
//             -> exampleSDID_32473_iut="3")
//   time      the header's timestamp; RFC 3164's "Mmm dd hh:mm:ss" is read
//             in the server's local time zone, in the year that puts it
//             nearest to now; "-" or unreadable: the receive time. A stamp
//             of whole seconds (RFC 3164's always) takes its fraction of a
//             second from the receive time, so a line repeated within a
//             second is not dropped as a duplicate
//   line      MSG, without a leading UTF-8 BOM or leading spaces (rsyslog
//             forwards the space after "tag:" as part of MSG)
// A message without a PRI is user.notice with the whole text as MSG
// (RFC 3164 4.3.3); any header a parser cannot follow leaves the rest as
// MSG rather than losing the message.
//
// Thread-safety: single-threaded values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/types.h"
#include "ingest/decode_json.h"
#include "ingest/fields.h"

namespace loge::ingest {

// Turns messages into a payload, one entry each.
class SyslogDecoder {
 public:
  explicit SyslogDecoder(const Limits& limits);
  SyslogDecoder(const SyslogDecoder&) = delete;
  SyslogDecoder& operator=(const SyslogDecoder&) = delete;

  // Adds one message (framing removed). InvalidArgument, and nothing is
  // added, for an empty message or a MSG over the line limit.
  Status Add(std::string_view message, int64_t now_ns);
  size_t lines() const { return lines_; }
  // Hands over the payload (after ValidatePayload) and starts a new one.
  // An empty payload when nothing was added.
  Result<Payload> Take();

 private:
  const Limits limits_;
  Payload payload_;
  StreamGrouper grouper_{&payload_};
  MetadataBuilder md_;
  size_t lines_ = 0;
};

// RFC 6587 framing of a TCP byte stream, chosen by the stream's first byte
// as rsyslog does: a digit means octet counting ("27 <13>1 …"), anything
// else non-transparent framing, one message per LF (a CR before it and
// NULs dropped). An octet-counting stream may still send a frame that does
// not start with a digit (read up to its LF); a line-framed stream never
// switches to counts, so its lines may start with digits.
class SyslogFramer {
 public:
  explicit SyslogFramer(size_t max_frame) : max_frame_(max_frame) {}
  SyslogFramer(const SyslogFramer&) = delete;
  SyslogFramer& operator=(const SyslogFramer&) = delete;

  void Append(std::string_view bytes);
  // The next complete frame in *frame (a view valid until the next Append).
  // True when there was one, false when more bytes are needed.
  // InvalidArgument when the stream cannot be framed any further (an octet
  // count over max_frame, a line longer than max_frame): close it then.
  Result<bool> Next(std::string_view* frame);
  // At the end of the stream: the last unterminated line, if any.
  bool Rest(std::string_view* frame);
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  enum class Mode { kUnknown, kOctetCounting, kLines };
  const size_t max_frame_;
  Mode mode_ = Mode::kUnknown;
  std::string buf_;
  size_t pos_ = 0;  // start of the first unconsumed byte in buf_
};

// Syslog names, by code.
std::string_view SyslogFacilityName(int facility);  // 0..23
std::string_view SyslogSeverityName(int severity);  // 0..7

}  // namespace loge::ingest
