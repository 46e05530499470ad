// Go's value formatting for templates: fmt.Sprint, fmt.Sprintf and
// time.Format, as far as line_format and label_format use them.
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>

#include "query/logql.h"
#include "query/template.h"

namespace loge::query {

namespace {

// Shortest round-trip digits and decimal exponent of |v| (v finite, != 0):
// v = 0.d1d2d3... * 10^dp.
void ShortestDigits(double v, std::string* digits, int* dp) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, std::fabs(v), std::chars_format::scientific);
  std::string_view s(buf, static_cast<size_t>(r.ptr - buf));
  size_t e = s.find('e');
  std::string_view mant = s.substr(0, e);
  int exp = std::atoi(std::string(s.substr(e + 1)).c_str());
  digits->clear();
  for (char c : mant) {
    if (c != '.') digits->push_back(c);
  }
  while (digits->size() > 1 && digits->back() == '0') digits->pop_back();
  *dp = exp + 1;
}

// strconv.FormatFloat(v, 'g', -1, 64).
std::string GoShortestG(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  std::string d;
  int dp;
  ShortestDigits(v, &d, &dp);
  std::string out = v < 0 ? "-" : "";
  int exp = dp - 1;
  if (exp < -4 || exp >= 6) {
    out.push_back(d[0]);
    if (d.size() > 1) {
      out.push_back('.');
      out.append(d, 1, std::string::npos);
    }
    out.push_back('e');
    out.push_back(exp < 0 ? '-' : '+');
    int ax = std::abs(exp);
    if (ax < 10) out.push_back('0');
    out += std::to_string(ax);
    return out;
  }
  if (dp <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-dp), '0');
    out += d;
  } else if (static_cast<size_t>(dp) >= d.size()) {
    out += d;
    out.append(static_cast<size_t>(dp) - d.size(), '0');
  } else {
    out.append(d, 0, static_cast<size_t>(dp));
    out.push_back('.');
    out.append(d, static_cast<size_t>(dp), std::string::npos);
  }
  return out;
}

size_t Runes(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void Pad(std::string* out, const std::string& body, int width, bool left, bool zero) {
  size_t n = Runes(body);
  if (width <= 0 || n >= static_cast<size_t>(width)) {
    *out += body;
    return;
  }
  size_t pad = static_cast<size_t>(width) - n;
  if (left) {
    *out += body;
    out->append(pad, ' ');
  } else if (zero) {
    size_t sign = !body.empty() && (body[0] == '-' || body[0] == '+') ? 1 : 0;
    out->append(body, 0, sign);
    out->append(pad, '0');
    out->append(body, sign, std::string::npos);
  } else {
    out->append(pad, ' ');
    *out += body;
  }
}

std::string BadVerb(char verb, const TmplValue& v) {
  const char* type = v.index() == 1 ? "string" : v.index() == 2 ? "int" : v.index() == 3 ? "float64"
                     : v.index() == 4 ? "bool" : v.index() == 5 ? "time.Time" : "<nil>";
  return std::string("%!") + verb + "(" + type + "=" + TmplToString(v) + ")";
}

// One verb of a format, Go's way; *zero is cleared where Go pads with
// spaces anyway.
struct Spec {
  bool left = false, plus = false, zero = false, space = false, sharp = false;
  int width = -1, prec = -1;
};

std::string FormatVerb(char verb, const TmplValue& v, Spec* sp) {
  const bool plus = sp->plus, space = sp->space, sharp = sp->sharp;
  const int prec = sp->prec;
  bool& zero = sp->zero;
  std::string body;
  switch (verb) {
    case 'v':
    case 's':
      if (verb == 's' && v.index() != 1 && v.index() != 0 && v.index() != 5) {
        body = BadVerb(verb, v);
      } else {
        body = TmplToString(v);
        if (prec >= 0 && verb == 's') {
          size_t n = 0, k = 0;
          for (; k < body.size(); k++) {
            if ((static_cast<unsigned char>(body[k]) & 0xC0) != 0x80) {
              if (n == static_cast<size_t>(prec)) break;
              n++;
            }
          }
          body.resize(k);
        }
      }
      break;
    case 'q':
      body = v.index() == 1 ? GoQuote(std::get<std::string>(v)) : BadVerb(verb, v);
      break;
    case 'd':
      if (v.index() == 2) {
        int64_t n = std::get<int64_t>(v);
        body = std::to_string(n);
        if (prec >= 0) {
          std::string digits = n < 0 ? body.substr(1) : body;
          if (digits.size() < static_cast<size_t>(prec)) digits.insert(0, static_cast<size_t>(prec) - digits.size(), '0');
          body = (n < 0 ? "-" : "") + digits;
          zero = false;
        }
        if (n >= 0 && plus) body.insert(0, "+");
        else if (n >= 0 && space) body.insert(0, " ");
      } else {
        body = BadVerb(verb, v);
      }
      break;
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
      if (v.index() == 3) {
        double d = std::get<double>(v);
        if (std::isnan(d) || std::isinf(d)) {
          body = std::isnan(d) ? "NaN" : d > 0 ? "+Inf" : "-Inf";
          zero = false;
        } else if ((verb == 'g' || verb == 'G') && prec < 0) {
          body = GoShortestG(d);
        } else {
          char fmt[16];
          std::snprintf(fmt, sizeof fmt, "%%%s.%d%c", sharp ? "#" : "", prec < 0 ? 6 : prec, verb == 'F' ? 'f' : verb);
          char buf[512];
          std::snprintf(buf, sizeof buf, fmt, d);
          body = buf;
        }
        if (!body.empty() && body[0] != '-' && plus) body.insert(0, "+");
        else if (!body.empty() && body[0] != '-' && space) body.insert(0, " ");
      } else {
        body = BadVerb(verb, v);
      }
      break;
    case 't': body = v.index() == 4 ? TmplToString(v) : BadVerb(verb, v); break;
    case 'x':
    case 'X': {
      const char* hex = verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
      if (v.index() == 1) {
        for (unsigned char c : std::get<std::string>(v)) {
          body.push_back(hex[c >> 4]);
          body.push_back(hex[c & 15]);
        }
      } else if (v.index() == 2) {
        int64_t n = std::get<int64_t>(v);
        uint64_t u = n < 0 ? static_cast<uint64_t>(-n) : static_cast<uint64_t>(n);
        do {
          body.insert(body.begin(), hex[u & 15]);
          u >>= 4;
        } while (u != 0);
        if (sharp) body.insert(0, verb == 'x' ? "0x" : "0X");
        if (n < 0) body.insert(0, "-");
      } else {
        body = BadVerb(verb, v);
      }
      break;
    }
    case 'c':
      if (v.index() == 2) {
        int64_t cp = std::get<int64_t>(v);
        if (cp < 0x80) {
          body.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
          body.push_back(static_cast<char>(0xC0 | (cp >> 6)));
          body.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
          body.push_back(static_cast<char>(0xE0 | (cp >> 12)));
          body.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
          body.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
      } else {
        body = BadVerb(verb, v);
      }
      break;
    default: body = std::string("%!") + verb + "(" + TmplToString(v) + ")";
  }
  return body;
}

}  // namespace

std::string TmplToString(const TmplValue& v) {
  switch (v.index()) {
    case 0: return "<no value>";
    case 1: return std::get<std::string>(v);
    case 2: return std::to_string(std::get<int64_t>(v));
    case 3: {
      double d = std::get<double>(v);
      // fmt%s %v: strconv %g, shortest digits.
      return GoShortestG(d);
    }
    case 4: return std::get<bool>(v) ? "true" : "false";
    default: return GoFormatTime(std::get<TmplTime>(v).ns, "2006-01-02 15:04:05.999999999 -0700 MST");
  }
}

std::string GoSprintf(std::string_view f, const std::vector<TmplValue>& args) {
  std::string out;
  size_t argi = 0;
  for (size_t i = 0; i < f.size(); i++) {
    if (f[i] != '%') {
      out.push_back(f[i]);
      continue;
    }
    i++;
    if (i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    bool left = false, plus = false, zero = false, space = false, sharp = false;
    for (; i < f.size(); i++) {
      char c = f[i];
      if (c == '-') {
        left = true;
      } else if (c == '+') {
        plus = true;
      } else if (c == '0') {
        zero = true;
      } else if (c == ' ') {
        space = true;
      } else if (c == '#') {
        sharp = true;
      } else {
        break;
      }
    }
    int width = -1, prec = -1;
    while (i < f.size() && std::isdigit(static_cast<unsigned char>(f[i]))) width = std::min(std::max(width, 0) * 10 + (f[i++] - '0'), 1 << 16);
    if (i < f.size() && f[i] == '.') {
      i++;
      prec = 0;
      while (i < f.size() && std::isdigit(static_cast<unsigned char>(f[i]))) prec = std::min(prec * 10 + (f[i++] - '0'), 1 << 16);
    }
    if (i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    char verb = f[i];
    if (verb == '%') {
      out.push_back('%');
      continue;
    }
    if (argi >= args.size()) {
      out += std::string("%!") + verb + "(MISSING)";
      continue;
    }
    Spec sp{left, plus, zero, space, sharp, width, prec};
    std::string body = FormatVerb(verb, args[argi++], &sp);
    zero = sp.zero;
    Pad(&out, body, width, left, zero && !left && verb != 's' && verb != 'q' && verb != 'v');
  }
  if (argi < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = argi; k < args.size(); k++) {
      if (k > argi) out += ", ";
      const TmplValue& v = args[k];
      out += std::string(v.index() == 1 ? "string" : v.index() == 2 ? "int" : v.index() == 3 ? "float64" : "bool") +
             "=" + TmplToString(v);
    }
    out += ")";
  }
  return out;
}

std::string GoFormatTime(int64_t ns, std::string_view layout) {
  int64_t secs = ns / 1'000'000'000;
  int64_t frac = ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    secs--;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static const char* kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                  "July",    "August",   "September", "October", "November", "December"};
  static const char* kDays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
  auto two = [](int v) {
    char b[24];
    std::snprintf(b, sizeof b, "%02d", v);
    return std::string(b);
  };
  std::string out;
  size_t i = 0;
  while (i < layout.size()) {
    std::string_view rest = layout.substr(i);
    auto take = [&](std::string_view tok) {
      if (!rest.starts_with(tok)) return false;
      i += tok.size();
      return true;
    };
    int hour12 = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
    if (take("2006")) {
      char b[24];
      std::snprintf(b, sizeof b, "%04d", tm.tm_year + 1900);
      out += b;
    } else if (take("January")) {
      out += kMonths[tm.tm_mon];
    } else if (take("Jan")) {
      out += std::string(kMonths[tm.tm_mon]).substr(0, 3);
    } else if (take("Monday")) {
      out += kDays[tm.tm_wday];
    } else if (take("Mon")) {
      out += std::string(kDays[tm.tm_wday]).substr(0, 3);
    } else if (take("MST")) {
      out += "UTC";
    } else if (take("01")) {
      out += two(tm.tm_mon + 1);
    } else if (take("02")) {
      out += two(tm.tm_mday);
    } else if (take("_2")) {
      char b[24];
      std::snprintf(b, sizeof b, "%2d", tm.tm_mday);
      out += b;
    } else if (take("06")) {
      out += two((tm.tm_year + 1900) % 100);
    } else if (take("15")) {
      out += two(tm.tm_hour);
    } else if (take("03")) {
      out += two(hour12);
    } else if (take("04")) {
      out += two(tm.tm_min);
    } else if (take("05")) {
      out += two(tm.tm_sec);
    } else if (take("PM")) {
      out += tm.tm_hour >= 12 ? "PM" : "AM";
    } else if (take("pm")) {
      out += tm.tm_hour >= 12 ? "pm" : "am";
    } else if (take("Z07:00") || take("Z0700") || take("Z07")) {
      out += "Z";
    } else if (take("-07:00")) {
      out += "+00:00";
    } else if (take("-0700")) {
      out += "+0000";
    } else if (take("-07")) {
      out += "+00";
    } else if ((rest.starts_with(".0") || rest.starts_with(",0") || rest.starts_with(".9") || rest.starts_with(",9"))) {
      char digit = rest[1];
      size_t n = 1;
      while (n < rest.size() && rest[n] == digit) n++;
      size_t width = n - 1;
      if (n < rest.size() && std::isdigit(static_cast<unsigned char>(rest[n]))) {
        out.push_back(rest[0]);
        i += 1;
        continue;
      }
      i += n;
      char b[16];
      std::snprintf(b, sizeof b, "%09lld", static_cast<long long>(frac));
      std::string digits(b, std::min<size_t>(width, 9));
      if (digit == '9') {
        while (!digits.empty() && digits.back() == '0') digits.pop_back();
        if (!digits.empty()) out += std::string(1, rest[0]) + digits;
      } else {
        out += std::string(1, rest[0]) + digits;
      }
    } else if (take("1")) {
      out += std::to_string(tm.tm_mon + 1);
    } else if (take("2")) {
      out += std::to_string(tm.tm_mday);
    } else if (take("3")) {
      out += std::to_string(hour12);
    } else if (take("4")) {
      out += std::to_string(tm.tm_min);
    } else if (take("5")) {
      out += std::to_string(tm.tm_sec);
    } else {
      out.push_back(layout[i++]);
    }
  }
  return out;
}

}  // namespace loge::query
