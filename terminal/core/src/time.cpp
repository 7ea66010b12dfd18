#include "loyalty/core/time.hpp"

#include <cstdio>

namespace loyalty {
namespace {

/// Reads exactly `width` digits at `pos`.
bool readDigits(std::string_view s, std::size_t pos, std::size_t width, int& out) {
  if (pos + width > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

bool parseYmd(std::string_view s, Date& out) {
  int y = 0, m = 0, d = 0;
  if (s.size() < 10 || !readDigits(s, 0, 4, y) || s[4] != '-' || !readDigits(s, 5, 2, m) ||
      s[7] != '-' || !readDigits(s, 8, 2, d)) {
    return false;
  }
  out = Date{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(m)},
             std::chrono::day{static_cast<unsigned>(d)}};
  return out.ok() && y >= 1900 && y <= 2200;
}

/// A year "%04d" writes as four digits, no sign.
bool fourDigitYear(int y) { return y >= 0 && y <= 9999; }

/// `n` (below 100) as two digits at `at`.
void putTwo(char* at, unsigned n) {
  at[0] = static_cast<char>('0' + n / 10 % 10);
  at[1] = static_cast<char>('0' + n % 10);
}

/// "YYYY-MM-DD" at `at` (ten characters), the year four digits (fourDigitYear).
void putYmd(char* at, int y, unsigned m, unsigned d) {
  const auto year = static_cast<unsigned>(y);
  putTwo(at, year / 100);
  putTwo(at + 2, year % 100);
  at[4] = '-';
  putTwo(at + 5, m);
  at[7] = '-';
  putTwo(at + 8, d);
}

}  // namespace

Result<Timestamp> parseRfc3339(std::string_view text, std::string_view field) {
  const std::string f(field);
  const auto bad = [&] {
    return invalidArgument(f, f + " is not an RFC 3339 time such as 2026-11-23T08:30:00Z: \"" +
                                  std::string(text) + "\"");
  };
  Date date;
  int hh = 0, mm = 0, ss = 0;
  if (!parseYmd(text, date) || text.size() < 19) return bad();
  const char sep = text[10];
  if ((sep != 'T' && sep != 't' && sep != ' ') || !readDigits(text, 11, 2, hh) || text[13] != ':' ||
      !readDigits(text, 14, 2, mm) || text[16] != ':' || !readDigits(text, 17, 2, ss)) {
    return bad();
  }
  if (hh > 23 || mm > 59 || ss > 60) return bad();
  std::size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return bad();
  }
  if (pos >= text.size()) return bad();  // the offset is required
  int offsetMinutes = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int oh = 0, om = 0;
    if (!readDigits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !readDigits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
      return bad();
    }
    offsetMinutes = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  if (ss == 60) ss = 59;  // a leap second is read as the last second of its minute
  using namespace std::chrono;
  return sys_days{date} + hours{hh} + minutes{mm} + seconds{ss} - minutes{offsetMinutes};
}

std::string formatRfc3339(Timestamp t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const Date d{day};
  const hh_mm_ss<seconds> tod{t - day};
  const int y = static_cast<int>(d.year());
  const auto hh = static_cast<unsigned>(tod.hours().count()), mm = static_cast<unsigned>(tod.minutes().count()),
             ss = static_cast<unsigned>(tod.seconds().count());
  if (!fourDigitYear(y)) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02u:%02u:%02uZ", y, static_cast<unsigned>(d.month()),
                  static_cast<unsigned>(d.day()), hh, mm, ss);
    return buf;
  }
  // As the snprintf above, without it: ingest formats several times an event.
  std::string out(20, 'T');
  putYmd(out.data(), y, static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  putTwo(out.data() + 11, hh);
  out[13] = ':';
  putTwo(out.data() + 14, mm);
  out[16] = ':';
  putTwo(out.data() + 17, ss);
  out[19] = 'Z';
  return out;
}

Result<Date> parseDate(std::string_view text, std::string_view field) {
  Date d;
  if (text.size() != 10 || !parseYmd(text, d)) {
    const std::string f(field);
    return invalidArgument(f, f + " is not a date YYYY-MM-DD: \"" + std::string(text) + "\"");
  }
  return d;
}

std::string formatDate(Date d) {
  const int y = static_cast<int>(d.year());
  if (!fourDigitYear(y)) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
    return buf;
  }
  std::string out(10, '-');
  putYmd(out.data(), y, static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return out;
}

}  // namespace loyalty
