#include "loyalty/terminal/member_import.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <random>
#include <stdexcept>

#include "loyalty/terminal/csv.hpp"

namespace loyalty::terminal {
namespace {

constexpr std::array<std::string_view, 7> kColumns = {"phone",   "name",     "birthday", "consent_marketing",
                                                       "card_no", "language", "referrer"};

Result<bool> parseFlag(const std::string& text) {
  if (text == "1" || text == "true" || text == "yes" || text == "y" || text == "TRUE" || text == "Yes") return true;
  if (text.empty() || text == "0" || text == "false" || text == "no" || text == "n" || text == "FALSE" || text == "No") {
    return false;
  }
  return invalidArgument("consent_marketing", "consent_marketing is yes/no, true/false or 1/0");
}

/// A refusal on one line: messages quote the refused value, which may hold a quoted newline
/// (or a forged "FILE:LINE: ..." line after it).
std::string oneLine(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) out += '?';
    else out += c;
  }
  return out;
}

}  // namespace

ImportReport importMembers(CounterService& service, db::Database& db, std::istream& csv,
                           const std::string& fileName, bool skipInvalid, Timestamp at, std::ostream& errors) {
  CsvReader reader(csv);
  ImportReport report;
  // An unclosed quote swallows the rest of the file: a refusal like a bad row, reported where
  // the record starts, not an exception out of the import.
  bool unclosed = false;
  const auto read = [&](std::vector<std::string>& fields) {
    try {
      return reader.next(fields);
    } catch (const std::runtime_error&) {
      errors << fileName << ':' << reader.line() << ": a quoted field is not closed\n";
      ++report.rejected;
      unclosed = true;
      return false;
    }
  };
  std::vector<std::string> header;
  if (!read(header)) {
    if (!unclosed) errors << fileName << ": the file is empty; it needs a header line such as phone,name\n";
    report.rejected = 1;
    return report;
  }
  if (!header.empty() && header[0].starts_with("\xEF\xBB\xBF")) header[0].erase(0, 3);  // Excel's BOM
  std::map<std::string, std::size_t> column;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (std::find(kColumns.begin(), kColumns.end(), std::string_view(header[i])) == kColumns.end()) {
      errors << fileName << ":1: unknown column \"" << oneLine(header[i])
             << "\" (known: phone, name, birthday, consent_marketing, card_no, language, referrer)\n";
      report.rejected = 1;
      return report;
    }
    column[header[i]] = i;
  }
  if (!column.contains("phone") || !column.contains("name")) {
    errors << fileName << ":1: the header needs the columns phone and name\n";
    report.rejected = 1;
    return report;
  }

  db::Transaction tx(db);
  std::vector<std::string> row;
  while (read(row)) {
    if (row.size() == 1 && row[0].empty()) continue;  // blank line
    const auto cell = [&](const char* name) -> std::optional<std::string> {
      const auto it = column.find(name);
      if (it == column.end() || it->second >= row.size() || row[it->second].empty()) return std::nullopt;
      return row[it->second];
    };
    Error error;
    bool ok = false;
    if (row.size() != header.size()) {
      error = invalidArgument("", "has " + std::to_string(row.size()) + " fields, the header " +
                                      std::to_string(header.size()));
    } else if (auto consent = parseFlag(cell("consent_marketing").value_or("")); !consent) {
      error = consent.error();
    } else {
      EnrollRequest r;
      r.phone = cell("phone").value_or("");
      r.name = cell("name").value_or("");
      r.birthday = cell("birthday");
      r.consentMarketing = *consent;
      r.cardNo = cell("card_no");
      r.language = cell("language");
      r.referrer = cell("referrer");
      r.at = at;
      auto enrolled = service.enroll(r);
      ok = enrolled.hasValue();
      if (!ok) error = enrolled.error();
    }
    if (ok) {
      ++report.imported;
    } else {
      ++report.rejected;
      errors << fileName << ':' << reader.line() << ": " << (error.field.empty() ? "" : error.field + ": ")
             << oneLine(error.message) << '\n';
    }
  }
  if (report.rejected > 0 && !skipInvalid) {
    errors << fileName << ": nothing imported (" << report.rejected
           << " rows refused; fix them, or use --skip-invalid to import the rest)\n";
    report.imported = 0;
    return report;  // the transaction rolls back
  }
  tx.commit();
  return report;
}

std::string generatedPhone(std::int64_t index) {
  // Real mobile prefixes; the 8 digits after them are a bijection of the index (multiplying by
  // a number coprime to 10^8), so numbers are unique yet look scattered.
  static constexpr std::array<std::string_view, 24> kPrefixes = {
      "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
      "153", "155", "156", "157", "158", "159", "177", "180", "186", "187", "188", "189"};
  const auto i = static_cast<std::uint64_t>(index);
  const std::uint64_t n = (i / kPrefixes.size() * 7'919ULL + 1'234'567ULL) % 100'000'000ULL;
  std::string digits = std::to_string(n);
  digits.insert(0, 8 - digits.size(), '0');
  return std::string(kPrefixes[i % kPrefixes.size()]) + digits;
}

std::int64_t generateMembers(CounterService& service, db::Database& db, std::int64_t count, std::uint64_t seed,
                             Timestamp at) {
  static constexpr std::array<std::string_view, 40> kSurnames = {
      "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",
      "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯",
      "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "欧阳", "司马"};
  static constexpr std::array<std::string_view, 60> kGiven = {
      "伟", "芳", "娜", "秀", "英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰",
      "娟", "涛", "明", "超", "兰", "霞", "平", "刚", "桂", "华", "文", "辉", "玲", "鹏", "飞",
      "红", "建", "国", "小", "晓", "婷", "宇", "浩", "欣", "怡", "子", "涵", "梓", "萱", "思",
      "雨", "博", "轩", "佳", "琪", "嘉", "俊", "一", "诺", "晨", "阳", "海", "云", "春", "梅"};
  static constexpr std::array<std::string_view, 16> kFirst = {
      "James", "Mary", "John", "Linda", "David", "Susan", "Wei", "Anna",
      "Peter", "Emma", "Oliver", "Grace", "Lucas", "Chloe", "Daniel", "Sophie"};
  static constexpr std::array<std::string_view, 12> kLast = {
      "Smith", "Brown", "Wilson", "Taylor", "Chan", "Wong", "Lee", "Green", "Hall", "Wood", "Clarke", "Evans"};
  std::mt19937_64 gen(seed);
  const auto pick = [&](const auto& list) { return std::string(list[gen() % list.size()]); };

  std::int64_t enrolled = 0;
  constexpr std::int64_t kBatch = 5'000;
  for (std::int64_t start = 0; start < count; start += kBatch) {
    db::Transaction tx(db);
    for (std::int64_t i = start; i < std::min(count, start + kBatch); ++i) {
      EnrollRequest r;
      r.phone = generatedPhone(i);
      if (gen() % 10 == 0) {
        r.name = pick(kFirst) + " " + pick(kLast);
      } else {
        r.name = pick(kSurnames) + pick(kGiven) + (gen() % 3 != 0 ? pick(kGiven) : "");
      }
      if (gen() % 4 != 0) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", 1950 + static_cast<int>(gen() % 55),
                      1 + static_cast<int>(gen() % 12), 1 + static_cast<int>(gen() % 28));
        r.birthday = buf;
      }
      r.consentMarketing = gen() % 3 != 0;
      r.at = at;
      if (service.enroll(r)) ++enrolled;
    }
    tx.commit();
  }
  return enrolled;
}

}  // namespace loyalty::terminal
