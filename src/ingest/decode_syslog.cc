// Syslog messages and framing (decode_syslog.h). Written from RFC 5424
// (section 6 grammar), RFC 3164 (section 4.1) and RFC 6587 (section 3.4).
#include "ingest/decode_syslog.h"

#include <ctime>

namespace loge::ingest {
namespace {

// RFC 3164 timestamps carry no year: one more than this far in the future
// means last year (a December line read in January).
constexpr int64_t kFutureSlackSeconds = 31 * 86400;
// Longest RFC 3164 TAG we take as the app name (the RFC says 32; rsyslog
// allows more).
constexpr size_t kMaxTagBytes = 48;
constexpr int64_t kNanosPerSecond = 1'000'000'000;

struct Parsed {
  int pri = 13;  // user.notice: RFC 3164 4.3.3, for a message without a PRI
  int64_t ts = 0;  // 0 = the receive time
  bool whole_seconds = false;  // the header's time has no fraction of a second
  std::string_view hostname, app, procid, msgid, msg;
  std::vector<std::pair<std::string, std::string>> sd;  // normalized name, unescaped value
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Consumes the token up to the next space (and the space). "-" is RFC
// 5424's NILVALUE and comes back empty.
std::string_view Token(std::string_view* rest) {
  const size_t sp = rest->find(' ');
  std::string_view tok = rest->substr(0, sp);
  *rest = sp == std::string_view::npos ? std::string_view() : rest->substr(sp + 1);
  return tok == "-" ? std::string_view() : tok;
}

bool ParsePri(std::string_view* rest, int* pri) {
  std::string_view s = *rest;
  if (s.size() < 3 || s[0] != '<') return false;
  int v = 0;
  size_t i = 1;
  for (; i < s.size() && i <= 4 && IsDigit(s[i]); i++) v = v * 10 + (s[i] - '0');
  if (i == 1 || i > 4 || i >= s.size() || s[i] != '>' || v > 191) return false;
  *pri = v;
  *rest = s.substr(i + 1);
  return true;
}

// [id name="value" …][id2 …]; on success *rest is what follows the last ']'.
bool ParseStructuredData(std::string_view* rest, Parsed* p) {
  std::string_view s = *rest;
  size_t i = 0;
  std::vector<std::pair<std::string, std::string>> sd;
  while (i < s.size() && s[i] == '[') {
    size_t j = ++i;
    while (j < s.size() && s[j] != ' ' && s[j] != ']' && s[j] != '=' && s[j] != '"') j++;
    if (j == i || j >= s.size()) return false;
    const std::string id = NormalizeName(s.substr(i, j - i));
    i = j;
    while (i < s.size() && s[i] == ' ') {
      j = ++i;
      while (j < s.size() && s[j] != '=' && s[j] != ' ' && s[j] != ']' && s[j] != '"') j++;
      if (j == i || j + 1 >= s.size() || s[j] != '=' || s[j + 1] != '"') return false;
      std::string name = id + "_" + NormalizeName(s.substr(i, j - i));
      std::string value;
      i = j + 2;
      for (;; i++) {
        if (i >= s.size()) return false;
        if (s[i] == '"') break;
        // PARAM-VALUE escapes only '"', '\' and ']'; any other backslash is literal.
        if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == ']')) i++;
        value.push_back(s[i]);
      }
      i++;  // the closing quote
      sd.emplace_back(std::move(name), std::move(value));
    }
    if (i >= s.size() || s[i] != ']') return false;
    i++;
  }
  p->sd = std::move(sd);
  *rest = s.substr(i);
  return true;
}

void Parse5424(std::string_view rest, Parsed* p) {
  const std::string_view ts = Token(&rest);
  int64_t t = 0;
  if (!ts.empty() && ParseLogTime(ts, &t)) {
    p->ts = t;
    p->whole_seconds = ts.find('.') == std::string_view::npos;
  }
  p->hostname = Token(&rest);
  p->app = Token(&rest);
  p->procid = Token(&rest);
  p->msgid = Token(&rest);
  if (rest.starts_with('-')) {
    rest.remove_prefix(1);
  } else if (rest.starts_with('[')) {
    if (!ParseStructuredData(&rest, p)) {
      p->msg = rest;  // keep what we could not follow as the line
      return;
    }
  }
  if (rest.starts_with(' ')) rest.remove_prefix(1);  // the SP before MSG
  if (rest.starts_with("\xEF\xBB\xBF")) rest.remove_prefix(3);
  p->msg = rest;
}

int MonthIndex(std::string_view m) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; i++) {
    if (m == kMonths[i]) return i;
  }
  return -1;
}

// "Mmm dd hh:mm:ss" (day space-padded) in local time, in the year nearest now.
bool Parse3164Time(std::string_view s, int64_t now_ns, int64_t* ns) {
  if (s.size() < 15 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':') return false;
  const int mon = MonthIndex(s.substr(0, 3));
  auto two = [&](size_t at, int* v) {
    const char a = s[at] == ' ' ? '0' : s[at];
    if (!IsDigit(a) || !IsDigit(s[at + 1])) return false;
    *v = (a - '0') * 10 + (s[at + 1] - '0');
    return true;
  };
  int day, h, mi, sec;
  if (mon < 0 || !two(4, &day) || !two(7, &h) || !two(10, &mi) || !two(13, &sec) || day < 1 || day > 31 || h > 23 ||
      mi > 59 || sec > 60) {
    return false;
  }
  const time_t now_s = static_cast<time_t>(now_ns / 1000000000);
  struct tm now_tm;
  localtime_r(&now_s, &now_tm);
  for (int year = now_tm.tm_year; year >= now_tm.tm_year - 1; year--) {
    struct tm tm = {};
    tm.tm_year = year;
    tm.tm_mon = mon;
    tm.tm_mday = day;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    tm.tm_isdst = -1;
    const time_t t = mktime(&tm);
    if (t == static_cast<time_t>(-1)) return false;
    if (t <= now_s + kFutureSlackSeconds || year < now_tm.tm_year) {
      *ns = static_cast<int64_t>(t) * 1000000000;
      return true;
    }
  }
  return false;
}

void Parse3164(std::string_view rest, int64_t now_ns, Parsed* p) {
  bool have_time = false;
  int64_t t = 0;
  if (rest.size() > 15 && Parse3164Time(rest.substr(0, 15), now_ns, &t)) {
    p->ts = t;
    p->whole_seconds = true;
    rest.remove_prefix(rest[15] == ' ' ? 16 : 15);
    have_time = true;
  } else if (rest.size() > 10 && IsDigit(rest[0]) && rest[4] == '-') {  // an RFC 3339 stamp (rsyslog's forward format)
    std::string_view probe = rest;
    const std::string_view stamp = Token(&probe);
    if (ParseLogTime(stamp, &t)) {
      p->ts = t;
      p->whole_seconds = stamp.find('.') == std::string_view::npos;
      rest = probe;
      have_time = true;
    }
  }
  // HOSTNAME, unless the next word is already the TAG ("tag:" or "tag[pid]:").
  if (have_time) {
    const size_t sp = rest.find(' ');
    if (sp != std::string_view::npos && sp > 0) {
      const std::string_view word = rest.substr(0, sp);
      if (word.back() != ':' && word.find('[') == std::string_view::npos) {
        p->hostname = word;
        rest.remove_prefix(sp + 1);
      }
    }
  }
  // TAG[PID]: MSG
  size_t i = 0;
  while (i < rest.size() && i <= kMaxTagBytes && rest[i] != ':' && rest[i] != '[' && rest[i] != ' ') i++;
  if (i > 0 && i < rest.size() && i <= kMaxTagBytes && (rest[i] == ':' || rest[i] == '[')) {
    std::string_view tag = rest.substr(0, i);
    std::string_view pid;
    size_t j = i;
    if (rest[j] == '[') {
      const size_t close = rest.find(']', j);
      if (close != std::string_view::npos) {
        pid = rest.substr(j + 1, close - j - 1);
        j = close + 1;
      }
    }
    if (j < rest.size() && rest[j] == ':') {
      p->app = tag;
      p->procid = pid;
      rest.remove_prefix(j + 1);
    }
  }
  p->msg = rest;
}

}  // namespace

std::string_view SyslogFacilityName(int f) {
  static const char* kNames[] = {"kern",  "user",   "mail",   "daemon", "auth",     "syslog", "lpr",    "news",
                                 "uucp",  "cron",   "authpriv", "ftp",  "ntp",      "security", "console", "clock",
                                 "local0", "local1", "local2", "local3", "local4",  "local5", "local6", "local7"};
  return f >= 0 && f < 24 ? kNames[f] : "unknown";
}

std::string_view SyslogSeverityName(int s) {
  static const char* kNames[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
  return s >= 0 && s < 8 ? kNames[s] : "unknown";
}

SyslogDecoder::SyslogDecoder(const Limits& limits) : limits_(limits) {}

Status SyslogDecoder::Add(std::string_view message, int64_t now_ns) {
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r' || message.back() == '\0')) {
    message.remove_suffix(1);
  }
  if (message.empty()) return Status::InvalidArgument("empty syslog message");
  Parsed p;
  std::string_view rest = message;
  if (!ParsePri(&rest, &p.pri)) {
    p.msg = message;
  } else if (rest.starts_with("1 ")) {
    Parse5424(rest.substr(2), &p);
  } else {
    Parse3164(rest, now_ns, &p);
  }
  // Leading spaces go: rsyslog keeps the space after "tag:" in its msg
  // property, so every line it forwards would start with one.
  while (!p.msg.empty() && p.msg.front() == ' ') p.msg.remove_prefix(1);
  if (p.msg.size() > limits_.max_line_bytes) {
    return Status::InvalidArgument("syslog message of " + std::to_string(p.msg.size()) +
                                   " bytes exceeds the maximum line size of " + std::to_string(limits_.max_line_bytes));
  }
  Labels labels;
  labels.emplace_back("facility", std::string(SyslogFacilityName(p.pri / 8)));
  labels.emplace_back("level", std::string(SyslogSeverityName(p.pri % 8)));
  labels.emplace_back("hostname", std::string(p.hostname));
  labels.emplace_back("app_name", std::string(p.app));
  md_.Clear();
  md_.Add("procid", p.procid);
  md_.Add("msgid", p.msgid);
  for (const auto& [k, v] : p.sd) md_.Add(k, v);
  Entry& e = grouper_.For(std::move(labels))->entries.emplace_back();
  e.ts = p.ts != 0 ? p.ts : now_ns;
  // A stamp of whole seconds takes its fraction from the receive time, so
  // that a line repeated within one second is not taken for a duplicate
  // (loge drops an entry identical in stream, time and line).
  if (p.ts != 0 && p.whole_seconds) e.ts += now_ns % kNanosPerSecond;
  e.line.assign(p.msg);
  e.metadata = md_.Json();
  lines_++;
  return Status::OK();
}

Result<Payload> SyslogDecoder::Take() {
  Payload out = std::move(payload_);
  payload_ = Payload();
  grouper_.Reset();
  lines_ = 0;
  if (!out.streams.empty()) LOGE_RETURN_IF_ERROR(ValidatePayload(&out, limits_));
  return out;
}

void SyslogFramer::Append(std::string_view bytes) {
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {  // compact: what is consumed goes
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

Result<bool> SyslogFramer::Next(std::string_view* frame) {
  for (;;) {
    std::string_view s = std::string_view(buf_).substr(pos_);
    // Separators left between frames (a LF after an octet-counted frame, NULs).
    size_t skip = 0;
    while (skip < s.size() && (s[skip] == '\n' || s[skip] == '\r' || s[skip] == '\0')) skip++;
    pos_ += skip;
    s.remove_prefix(skip);
    if (s.empty()) return false;
    if (mode_ == Mode::kUnknown) mode_ = IsDigit(s[0]) ? Mode::kOctetCounting : Mode::kLines;
    if (mode_ == Mode::kOctetCounting && s[0] >= '1' && s[0] <= '9') {
      size_t i = 0;
      uint64_t n = 0;
      while (i < s.size() && i < 10 && IsDigit(s[i])) n = n * 10 + static_cast<uint64_t>(s[i++] - '0');
      if (i == s.size()) return false;  // the count may continue in the next read
      if (s[i] == ' ') {
        if (n > max_frame_) {
          return Status::InvalidArgument("syslog frame of " + std::to_string(n) + " bytes exceeds the maximum of " +
                                         std::to_string(max_frame_));
        }
        if (s.size() < i + 1 + n) return false;
        *frame = s.substr(i + 1, n);
        pos_ += i + 1 + n;
        return true;
      }
      // Digits not followed by a space: a line that starts with digits.
    }
    const size_t nl = s.find('\n');
    if (nl == std::string_view::npos) {
      if (s.size() > max_frame_) {
        return Status::InvalidArgument("syslog line longer than " + std::to_string(max_frame_) + " bytes");
      }
      return false;
    }
    pos_ += nl + 1;
    std::string_view line = s.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    *frame = line;
    return true;
  }
}

bool SyslogFramer::Rest(std::string_view* frame) {
  std::string_view s = std::string_view(buf_).substr(pos_);
  while (!s.empty() && (s.back() == '\r' || s.back() == '\0')) s.remove_suffix(1);
  pos_ = buf_.size();
  if (s.empty()) return false;
  *frame = s;
  return true;
}

}  // namespace loge::ingest
