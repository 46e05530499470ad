#include "query/template_funcs.h"

#include <re2/re2.h>

#include <algorithm>
#include <limits>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>

#include "query/pipeline.h"
#include "query/template_funcs_internal.h"

namespace loge::query {

namespace tmpl {

constexpr TmplFuncInfo kFuncs[] = {
    // Loki's own.
    {"ToLower", 1, 1}, {"ToUpper", 1, 1}, {"Replace", 4, 4}, {"Trim", 2, 2}, {"TrimLeft", 2, 2},
    {"TrimRight", 2, 2}, {"TrimPrefix", 2, 2}, {"TrimSuffix", 2, 2}, {"TrimSpace", 1, 1},
    {"regexReplaceAll", 3, 3}, {"regexReplaceAllLiteral", 3, 3}, {"count", 2, 2}, {"urldecode", 1, 1},
    {"urlencode", 1, 1}, {"bytes", 1, 1}, {"duration", 1, 1}, {"duration_seconds", 1, 1},
    {"unixEpochMillis", 1, 1}, {"unixEpochNanos", 1, 1}, {"toDateInZone", 3, 3}, {"unixToTime", 1, 1},
    {"alignLeft", 2, 2}, {"alignRight", 2, 2}, {"b64dec", 1, 1}, {"__line__", 0, 0}, {"__timestamp__", 0, 0},
    // Sprig's, as Loki registers them.
    {"b64enc", 1, 1}, {"lower", 1, 1}, {"upper", 1, 1}, {"title", 1, 1}, {"trunc", 2, 2}, {"substr", 3, 3},
    {"contains", 2, 2}, {"hasPrefix", 2, 2}, {"hasSuffix", 2, 2}, {"indent", 2, 2}, {"nindent", 2, 2},
    {"replace", 3, 3}, {"repeat", 2, 2}, {"trim", 1, 1}, {"trimAll", 2, 2}, {"trimSuffix", 2, 2},
    {"trimPrefix", 2, 2}, {"int", 1, 1}, {"float64", 1, 1}, {"add", 0, -1}, {"sub", 2, 2}, {"mul", 1, -1},
    {"div", 2, 2}, {"mod", 2, 2}, {"addf", 0, -1}, {"subf", 1, -1}, {"mulf", 1, -1}, {"divf", 1, -1},
    {"max", 1, -1}, {"min", 1, -1}, {"maxf", 1, -1}, {"minf", 1, -1}, {"ceil", 1, 1}, {"floor", 1, 1},
    {"round", 2, 3}, {"fromJson", 1, 1}, {"date", 2, 2}, {"toDate", 2, 2}, {"now", 0, 0}, {"unixEpoch", 1, 1},
    {"default", 1, -1},
    // Go's builtins.
    {"and", 1, -1}, {"or", 1, -1}, {"not", 1, 1}, {"len", 1, 1}, {"index", 1, -1}, {"print", 0, -1},
    {"printf", 1, -1}, {"println", 0, -1}, {"eq", 1, -1}, {"ne", 2, 2}, {"lt", 2, 2}, {"le", 2, 2},
    {"gt", 2, 2}, {"ge", 2, 2}, {"html", 0, -1}, {"js", 0, -1}, {"urlquery", 0, -1}, {"slice", 1, -1},
};

const char* TypeName(const TmplValue& v) {
  switch (v.index()) {
    case 0: return "<nil>";
    case 1: return "string";
    case 2: return "int";
    case 3: return "float64";
    case 4: return "bool";
    default: return "time.Time";
  }
}

Status WrongType(size_t i, const char* want, const TmplValue& got) {
  return Status::InvalidArgument("wrong type for value; expected " + std::string(want) + "; got " + TypeName(got) +
                                 " (argument " + std::to_string(i) + ")");
}

Result<std::string> Str(const std::vector<TmplValue>& a, size_t i) {
  if (const auto* s = std::get_if<std::string>(&a[i])) return *s;
  return WrongType(i, "string", a[i]);
}

Result<int64_t> Int(const std::vector<TmplValue>& a, size_t i) {
  if (const auto* n = std::get_if<int64_t>(&a[i])) return *n;
  if (const auto* d = std::get_if<double>(&a[i]); d != nullptr && *d == std::floor(*d)) {
    return ToInt64(*d);
  }
  return WrongType(i, "int", a[i]);
}

Result<int64_t> TimeArg(const std::vector<TmplValue>& a, size_t i) {
  if (const auto* t = std::get_if<TmplTime>(&a[i])) return t->ns;
  return WrongType(i, "time.Time", a[i]);
}

// Sprig's cast.ToInt64 / ToFloat64: strings parse (0 on failure), floats
// truncate, bools are 0/1.
// A double as int64 the way Go converts in practice: truncated, clamped,
// NaN as the minimum (never undefined behaviour).
// a * b clamped to int64 (timestamps scaled to ns from user input).
int64_t MulSat(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return (a < 0) != (b < 0) ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  return r;
}

// The most padding a template may ask for (indent, alignLeft, %*s): beyond
// any line, short of exhausting memory.
constexpr int64_t kMaxPad = 1 << 16;

int64_t ToInt64(double d) {
  if (std::isnan(d) || d <= -9.2233720368547758e18) return std::numeric_limits<int64_t>::min();
  if (d >= 9.2233720368547758e18) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(d);
}

int64_t CastInt(const TmplValue& v) {
  switch (v.index()) {
    case 1: {
      std::string s = std::get<std::string>(v);
      // cast trims a zero decimal part ("12.000" -> "12").
      size_t dot = s.find('.');
      if (dot != std::string::npos && s.find_first_not_of('0', dot + 1) == std::string::npos) s.resize(dot);
      char* end = nullptr;
      errno = 0;
      long long n = std::strtoll(s.c_str(), &end, 0);
      if (s.empty() || end != s.c_str() + s.size() || errno != 0) return 0;
      return n;
    }
    case 2: return std::get<int64_t>(v);
    case 3: return ToInt64(std::get<double>(v));
    case 4: return std::get<bool>(v) ? 1 : 0;
    default: return 0;
  }
}

double CastFloat(const TmplValue& v) {
  switch (v.index()) {
    case 1: {
      auto r = ParseGoFloat(std::get<std::string>(v));
      return r.ok() ? *r : 0;
    }
    case 2: return static_cast<double>(std::get<int64_t>(v));
    case 3: return std::get<double>(v);
    case 4: return std::get<bool>(v) ? 1 : 0;
    default: return 0;
  }
}

bool Truth(const TmplValue& v) {
  switch (v.index()) {
    case 0: return false;
    case 1: return !std::get<std::string>(v).empty();
    case 2: return std::get<int64_t>(v) != 0;
    case 3: return std::get<double>(v) != 0;
    case 4: return std::get<bool>(v);
    default: return std::get<TmplTime>(v).ns != 0;
  }
}

// Go's template comparison: -1, 0, 1; error for incompatible kinds.
Result<int> Cmp(const TmplValue& a, const TmplValue& b, bool ordered) {
  if (a.index() != b.index()) {
    return Status::InvalidArgument("incompatible types for comparison");
  }
  switch (a.index()) {
    case 1: {
      const auto& x = std::get<std::string>(a);
      const auto& y = std::get<std::string>(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 2: {
      auto x = std::get<int64_t>(a), y = std::get<int64_t>(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 3: {
      auto x = std::get<double>(a), y = std::get<double>(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 4:
      if (ordered) return Status::InvalidArgument("invalid type for comparison");
      return std::get<bool>(a) == std::get<bool>(b) ? 0 : 1;
    default:
      if (ordered) return Status::InvalidArgument("invalid type for comparison");
      return Status::InvalidArgument("invalid type for comparison");
  }
}

size_t RuneCount(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Byte offset of rune `k` in s (s.size() past the end).
size_t RuneOffset(std::string_view s, size_t k) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i++) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (n == k) return i;
      n++;
    }
  }
  return s.size();
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string ReplaceAll(const std::string& s, const std::string& from, const std::string& to, int64_t n) {
  if (n == 0) return s;
  std::string out;
  size_t i = 0;
  int64_t done = 0;
  if (from.empty()) {
    // Go inserts `to` before every rune and at the end.
    for (size_t k = 0; k <= s.size(); k++) {
      if ((n < 0 || done < n) && (k == s.size() || (static_cast<unsigned char>(s[k]) & 0xC0) != 0x80)) {
        out += to;
        done++;
      }
      if (k < s.size()) out.push_back(s[k]);
    }
    return out;
  }
  while (true) {
    size_t at = s.find(from, i);
    if (at == std::string::npos || (n >= 0 && done >= n)) break;
    out.append(s, i, at - i);
    out += to;
    i = at + from.size();
    done++;
  }
  out.append(s, i, std::string::npos);
  return out;
}

std::string TrimCutset(std::string s, const std::string& cutset, bool left, bool right) {
  auto in = [&](char c) { return cutset.find(c) != std::string::npos; };
  if (right) {
    while (!s.empty() && in(s.back())) s.pop_back();
  }
  if (left) {
    size_t k = 0;
    while (k < s.size() && in(s[k])) k++;
    s.erase(0, k);
  }
  return s;
}

std::string TrimSpaceStr(std::string s) { return TrimCutset(std::move(s), " \t\n\r\v\f", true, true); }

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

Result<std::string> UrlDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        return Status::InvalidArgument("invalid URL escape \"" + s.substr(i, 3) + "\"");
      }
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string B64Enc(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i + 2 < s.size()) {
    uint32_t v = (static_cast<unsigned char>(s[i]) << 16) | (static_cast<unsigned char>(s[i + 1]) << 8) |
                 static_cast<unsigned char>(s[i + 2]);
    for (int k = 3; k >= 0; k--) out.push_back(kB64[(v >> (6 * k)) & 63]);
    i += 3;
  }
  if (i < s.size()) {
    uint32_t v = static_cast<unsigned char>(s[i]) << 16;
    if (i + 1 < s.size()) v |= static_cast<unsigned char>(s[i + 1]) << 8;
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(i + 1 < s.size() ? kB64[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string B64Dec(std::string v) {
  size_t rem = v.size() % 4;
  if (rem != 0 && rem != 1) v.append(4 - rem, '=');
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < v.size(); i++) {
    char c = v[i];
    if (c == '=') break;
    const char* p = std::strchr(kB64, c);
    if (p == nullptr || c == 0) return "illegal base64 data at input byte " + std::to_string(i);
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string Indent(int64_t n, const std::string& s) {
  std::string pad(static_cast<size_t>(std::clamp<int64_t>(n, 0, kMaxPad)), ' ');
  return pad + ReplaceAll(s, "\n", "\n" + pad, -1);
}

std::string Title(const std::string& s) {
  std::string out = s;
  bool start = true;
  for (auto& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isspace(u) || std::ispunct(u)) {
      start = true;
    } else {
      if (start) c = static_cast<char>(std::toupper(u));
      start = false;
    }
  }
  return out;
}

// Go's time.Parse for the layout elements templates use, in UTC.
Result<int64_t> GoParseTime(std::string_view layout, std::string_view value) {
  int year = 1, month = 1, day = 1, hour = 0, min = 0, sec = 0;
  int64_t frac = 0;
  int64_t offset = 0;
  auto num = [&](size_t width, int* out) -> bool {
    if (value.size() < width) return false;
    int v = 0;
    for (size_t k = 0; k < width; k++) {
      if (!std::isdigit(static_cast<unsigned char>(value[k]))) return false;
      v = v * 10 + (value[k] - '0');
    }
    *out = v;
    value.remove_prefix(width);
    return true;
  };
  auto bad = [&] { return Status::InvalidArgument("parsing time \"" + std::string(value) + "\": cannot parse"); };
  while (!layout.empty()) {
    if (layout.starts_with("2006")) {
      if (!num(4, &year)) return bad();
      layout.remove_prefix(4);
    } else if (layout.starts_with("01")) {
      if (!num(2, &month)) return bad();
      layout.remove_prefix(2);
    } else if (layout.starts_with("02")) {
      if (!num(2, &day)) return bad();
      layout.remove_prefix(2);
    } else if (layout.starts_with("15")) {
      if (!num(2, &hour)) return bad();
      layout.remove_prefix(2);
    } else if (layout.starts_with("04")) {
      if (!num(2, &min)) return bad();
      layout.remove_prefix(2);
    } else if (layout.starts_with("05")) {
      if (!num(2, &sec)) return bad();
      layout.remove_prefix(2);
      if (!value.empty() && value[0] == '.' && !(layout.starts_with(".0") || layout.starts_with(".9"))) {
        value.remove_prefix(1);
        int64_t scale = 100000000;
        while (!value.empty() && std::isdigit(static_cast<unsigned char>(value[0]))) {
          frac += (value[0] - '0') * scale;
          scale /= 10;
          value.remove_prefix(1);
        }
      }
    } else if (layout.starts_with(".000") || layout.starts_with(".999")) {
      size_t n = 1;
      while (n < layout.size() && (layout[n] == '0' || layout[n] == '9')) n++;
      layout.remove_prefix(n);
      if (!value.empty() && value[0] == '.') {
        value.remove_prefix(1);
        int64_t scale = 100000000;
        while (!value.empty() && std::isdigit(static_cast<unsigned char>(value[0]))) {
          frac += (value[0] - '0') * scale;
          scale /= 10;
          value.remove_prefix(1);
        }
      }
    } else if (layout.starts_with("Z07:00") || layout.starts_with("-07:00")) {
      bool z = layout[0] == 'Z';
      layout.remove_prefix(6);
      if (z && !value.empty() && value[0] == 'Z') {
        value.remove_prefix(1);
      } else {
        if (value.size() < 6 || (value[0] != '+' && value[0] != '-')) return bad();
        int sign = value[0] == '-' ? -1 : 1;
        value.remove_prefix(1);
        int oh, om;
        if (!num(2, &oh)) return bad();
        if (value.empty() || value[0] != ':') return bad();
        value.remove_prefix(1);
        if (!num(2, &om)) return bad();
        offset = sign * (oh * 3600 + om * 60);
      }
    } else {
      if (value.empty() || value[0] != layout[0]) return bad();
      value.remove_prefix(1);
      layout.remove_prefix(1);
    }
  }
  if (!value.empty()) return Status::InvalidArgument("parsing time: extra text: \"" + std::string(value) + "\"");
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset;
  return MulSat(secs, 1'000'000'000) + frac;
}

// One function per template function name (or a few that share code).
using TmplFn = Result<TmplValue> (*)(const std::vector<TmplValue>& a, const TmplCallContext& ctx, std::string_view nm);

Result<TmplValue> FnLine([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return V(std::string(ctx.line));
}

Result<TmplValue> FnTimestamp([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return V(TmplTime{ctx.ts});
}

Result<TmplValue> FnToLower([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 0));
  return V(Lower(s));
}

Result<TmplValue> FnToUpper([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 0));
  return V(Upper(s));
}

Result<TmplValue> FnTitle([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 0));
  return V(Title(s));
}

Result<TmplValue> FnReplace([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 0));
  LOGE_ASSIGN_OR_RETURN(auto o, Str(a, 1));
  LOGE_ASSIGN_OR_RETURN(auto w, Str(a, 2));
  LOGE_ASSIGN_OR_RETURN(auto k, Int(a, 3));
  return V(ReplaceAll(s, o, w, k));
}

Result<TmplValue> FnSprigReplace([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto o, Str(a, 0));
  LOGE_ASSIGN_OR_RETURN(auto w, Str(a, 1));
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 2));
  return V(ReplaceAll(s, o, w, -1));
}

Result<TmplValue> FnTrim([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 0));
  LOGE_ASSIGN_OR_RETURN(auto c, Str(a, 1));
  return V(TrimCutset(s, c, nm != "TrimRight", nm != "TrimLeft"));
}

Result<TmplValue> FnTrimAll([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto c, Str(a, 0));
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 1));
  return V(TrimCutset(s, c, true, true));
}

Result<TmplValue> FnTrimPrefix([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  // Loki's (s, affix); Sprig's (affix, s).
  bool sprig = nm[0] == 't';
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, sprig ? 1 : 0));
  LOGE_ASSIGN_OR_RETURN(auto x, Str(a, sprig ? 0 : 1));
  bool prefix = nm.ends_with("Prefix");
  if (prefix && s.starts_with(x)) return V(s.substr(x.size()));
  if (!prefix && s.ends_with(x)) return V(s.substr(0, s.size() - x.size()));
  return V(s);
}

Result<TmplValue> FnTrimSpace([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 0));
  return V(TrimSpaceStr(s));
}

Result<TmplValue> FnRegexReplaceAll([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto re, Str(a, 0));
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 1));
  RE2::Options o;
  o.set_log_errors(false);
  RE2 r(re, o);
  if (!r.ok()) return Status::InvalidArgument("error parsing regexp: " + r.error());
  if (nm == "count") {
    int64_t c = 0;
    re2::StringPiece in(s);
    re2::StringPiece m;
    size_t pos = 0;
    while (pos <= s.size() && r.Match(in, pos, s.size(), RE2::UNANCHORED, &m, 1)) {
      c++;
      size_t end = static_cast<size_t>(m.data() - s.data()) + m.size();
      pos = m.empty() ? end + 1 : end;
    }
    return V(c);
  }
  LOGE_ASSIGN_OR_RETURN(auto repl, Str(a, 2));
  std::string out = s;
  if (nm == "regexReplaceAllLiteral") {
    std::string quoted;
    for (char c : repl) {
      if (c == '\\') quoted.push_back('\\');
      quoted.push_back(c);
    }
    RE2::GlobalReplace(&out, r, quoted);
  } else {
    // Go's $1 / ${name} expansion becomes RE2's \1.
    std::string rewrite;
    for (size_t i = 0; i < repl.size(); i++) {
      if (repl[i] == '\\') {
        rewrite += "\\\\";
      } else if (repl[i] == '$' && i + 1 < repl.size() && std::isdigit(static_cast<unsigned char>(repl[i + 1]))) {
        rewrite.push_back('\\');
        rewrite.push_back(repl[++i]);
      } else if (repl[i] == '$' && i + 1 < repl.size() && repl[i + 1] == '{') {
        size_t close = repl.find('}', i);
        std::string g = close == std::string::npos ? "" : repl.substr(i + 2, close - i - 2);
        auto it = r.NamedCapturingGroups().find(g);
        if (it != r.NamedCapturingGroups().end()) rewrite += "\\" + std::to_string(it->second);
        i = close == std::string::npos ? repl.size() : close;
      } else {
        rewrite.push_back(repl[i]);
      }
    }
    RE2::GlobalReplace(&out, r, rewrite);
  }
  return V(out);
}

Result<TmplValue> FnUrlencode([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 0));
  return V(UrlEncode(s));
}

Result<TmplValue> FnUrldecode([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 0));
  LOGE_ASSIGN_OR_RETURN(auto d, UrlDecode(s));
  return V(d);
}

Result<TmplValue> FnBytes([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 0));
  LOGE_ASSIGN_OR_RETURN(uint64_t b, ParseHumanBytes(s));
  return V(static_cast<double>(b));
}

Result<TmplValue> FnDuration([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 0));
  LOGE_ASSIGN_OR_RETURN(int64_t d, ParseGoDuration(s));
  return V(static_cast<double>(d) / 1e9);
}

Result<TmplValue> FnUnixEpochMillis([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(int64_t t, TimeArg(a, 0));
  int64_t v = nm == "unixEpochNanos" ? t : nm == "unixEpochMillis" ? t / 1'000'000 : t / 1'000'000'000;
  if (t < 0 && nm != "unixEpochNanos" && t % (nm == "unixEpochMillis" ? 1'000'000 : 1'000'000'000) != 0) v--;
  return V(std::to_string(v));
}

Result<TmplValue> FnUnixToTime([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 0));
  char* end = nullptr;
  long long i = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || end != s.c_str() + s.size()) {
    return Status::InvalidArgument("unable to parse time '" + s + "': strconv.ParseInt: parsing \"" + s +
                                   "\": invalid syntax");
  }
  switch (s.size()) {
    case 5: return V(TmplTime{MulSat(i, 86400LL * 1'000'000'000)});
    case 10: return V(TmplTime{MulSat(i, 1'000'000'000LL)});
    case 13: return V(TmplTime{MulSat(i, 1'000'000LL)});
    case 16: return V(TmplTime{MulSat(i, 1000LL)});
    case 19: return V(TmplTime{i});
    default: return Status::InvalidArgument("unable to parse time '" + s + "': <nil>");
  }
}

Result<TmplValue> FnToDateInZone([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto layout, Str(a, 0));
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, nm == "toDate" ? 1 : 2));
  auto t = GoParseTime(layout, s);
  return V(TmplTime{t.ok() ? *t : std::numeric_limits<int64_t>::min()});
}

Result<TmplValue> FnDate([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto layout, Str(a, 0));
  int64_t ns;
  if (const auto* t = std::get_if<TmplTime>(&a[1])) {
    ns = t->ns;
  } else if (const auto* i = std::get_if<int64_t>(&a[1])) {
    ns = MulSat(*i, 1'000'000'000);
  } else {
    ns = 0;
  }
  return V(GoFormatTime(ns, layout));
}

Result<TmplValue> FnNow([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  return V(TmplTime{static_cast<int64_t>(std::time(nullptr)) * 1'000'000'000});
}

Result<TmplValue> FnAlignLeft([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto c, Int(a, 0));
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 1));
  int64_t l = static_cast<int64_t>(RuneCount(s));
  if (c < 0 || c == l) return V(s);
  if (c > l) {
    std::string pad(static_cast<size_t>(std::min<int64_t>(c - l, kMaxPad)), ' ');
    return V(nm == "alignLeft" ? s + pad : pad + s);
  }
  if (nm == "alignLeft") return V(s.substr(0, RuneOffset(s, static_cast<size_t>(c))));
  return V(s.substr(RuneOffset(s, static_cast<size_t>(l - c))));
}

Result<TmplValue> FnB64enc([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 0));
  return V(B64Enc(s));
}

Result<TmplValue> FnB64dec([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 0));
  return V(B64Dec(s));
}

Result<TmplValue> FnTrunc([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto c, Int(a, 0));
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 1));
  int64_t l = static_cast<int64_t>(RuneCount(s));
  if (c < 0 && l + c > 0) return V(s.substr(RuneOffset(s, static_cast<size_t>(l + c))));
  if (c >= 0 && l > c) return V(s.substr(0, RuneOffset(s, static_cast<size_t>(c))));
  return V(s);
}

Result<TmplValue> FnSubstr([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto start, Int(a, 0));
  LOGE_ASSIGN_OR_RETURN(auto end, Int(a, 1));
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 2));
  int64_t l = static_cast<int64_t>(s.size());
  if (start < 0) return V(s.substr(0, static_cast<size_t>(std::clamp<int64_t>(end, 0, l))));
  if (end < 0 || end > l) return V(start > l ? std::string() : s.substr(static_cast<size_t>(start)));
  if (start > end) return V(std::string());
  return V(s.substr(static_cast<size_t>(start), static_cast<size_t>(end - start)));
}

Result<TmplValue> FnContains([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto x, Str(a, 0));
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 1));
  if (nm == "contains") return V(s.find(x) != std::string::npos);
  if (nm == "hasPrefix") return V(s.starts_with(x));
  return V(s.ends_with(x));
}

Result<TmplValue> FnIndent([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto c, Int(a, 0));
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 1));
  return V((nm == "nindent" ? "\n" : "") + Indent(c, s));
}

Result<TmplValue> FnRepeat([[maybe_unused]] const std::vector<TmplValue>& a, [[maybe_unused]] const TmplCallContext& ctx, [[maybe_unused]] std::string_view nm) {
  LOGE_ASSIGN_OR_RETURN(auto c, Int(a, 0));
  LOGE_ASSIGN_OR_RETURN(auto s, Str(a, 1));
  std::string out;
  for (int64_t i = 0; i < c && out.size() < (1u << 20); i++) out += s;
  return V(out);
}

struct TmplImpl {
  std::string_view name;
  TmplFn fn;
};

constexpr TmplImpl kImpls[] = {
    {"__line__", FnLine},
    {"__timestamp__", FnTimestamp},
    {"ToLower", FnToLower},
    {"lower", FnToLower},
    {"ToUpper", FnToUpper},
    {"upper", FnToUpper},
    {"title", FnTitle},
    {"Replace", FnReplace},
    {"replace", FnSprigReplace},
    {"Trim", FnTrim},
    {"TrimLeft", FnTrim},
    {"TrimRight", FnTrim},
    {"trimAll", FnTrimAll},
    {"TrimPrefix", FnTrimPrefix},
    {"TrimSuffix", FnTrimPrefix},
    {"trimPrefix", FnTrimPrefix},
    {"trimSuffix", FnTrimPrefix},
    {"TrimSpace", FnTrimSpace},
    {"trim", FnTrimSpace},
    {"regexReplaceAll", FnRegexReplaceAll},
    {"regexReplaceAllLiteral", FnRegexReplaceAll},
    {"count", FnRegexReplaceAll},
    {"urlencode", FnUrlencode},
    {"urldecode", FnUrldecode},
    {"bytes", FnBytes},
    {"duration", FnDuration},
    {"duration_seconds", FnDuration},
    {"unixEpochMillis", FnUnixEpochMillis},
    {"unixEpochNanos", FnUnixEpochMillis},
    {"unixEpoch", FnUnixEpochMillis},
    {"unixToTime", FnUnixToTime},
    {"toDateInZone", FnToDateInZone},
    {"toDate", FnToDateInZone},
    {"date", FnDate},
    {"now", FnNow},
    {"alignLeft", FnAlignLeft},
    {"alignRight", FnAlignLeft},
    {"b64enc", FnB64enc},
    {"b64dec", FnB64dec},
    {"trunc", FnTrunc},
    {"substr", FnSubstr},
    {"contains", FnContains},
    {"hasPrefix", FnContains},
    {"hasSuffix", FnContains},
    {"indent", FnIndent},
    {"nindent", FnIndent},
    {"repeat", FnRepeat},
    {"int", FnInt},
    {"float64", FnFloat64},
    {"add", FnAdd},
    {"sub", FnSub},
    {"mul", FnMul},
    {"div", FnDiv},
    {"mod", FnDiv},
    {"max", FnMax},
    {"min", FnMin},
    {"addf", FnAddf},
    {"subf", FnSubf},
    {"mulf", FnMulf},
    {"divf", FnDivf},
    {"maxf", FnMaxf},
    {"minf", FnMinf},
    {"ceil", FnCeil},
    {"floor", FnFloor},
    {"round", FnRound},
    {"fromJson", FnFromJson},
    {"default", FnDefault},
    {"and", FnAnd},
    {"or", FnOr},
    {"not", FnNot},
    {"len", FnLen},
    {"print", FnPrint},
    {"println", FnPrint},
    {"html", FnPrint},
    {"js", FnPrint},
    {"urlquery", FnPrint},
    {"printf", FnPrintf},
    {"eq", FnEq},
    {"ne", FnNe},
    {"lt", FnNe},
    {"le", FnNe},
    {"gt", FnNe},
    {"ge", FnNe},
    {"index", FnIndex},
    {"slice", FnIndex},
};

}  // namespace tmpl

const TmplFuncInfo* FindTmplFunc(std::string_view name) {
  for (const auto& f : tmpl::kFuncs) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

Result<TmplValue> CallTmplFunc(const std::string& name, const std::vector<TmplValue>& a, const TmplCallContext& ctx) {
  const TmplFuncInfo* info = FindTmplFunc(name);
  if (info == nullptr) return Status::InvalidArgument("function \"" + name + "\" not defined");
  const int n = static_cast<int>(a.size());
  if (n < info->min_args || (info->max_args >= 0 && n > info->max_args)) {
    return Status::InvalidArgument("wrong number of args for " + name + ": want " + std::to_string(info->min_args) +
                                   " got " + std::to_string(n));
  }
  const std::string_view nm = name;
  for (const auto& impl : tmpl::kImpls) {
    if (impl.name == nm) return impl.fn(a, ctx, nm);
  }
  return Status::InvalidArgument("function \"" + name + "\" not defined");
}

}  // namespace loge::query
