#include "loyalty/sync/release.hpp"

#include <algorithm>
#include <cctype>

namespace loyalty::sync {

using nlohmann::json;

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/// dpkg's character order: letters first, then the rest; `~` before even the end.
int order(char c) {
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c == '~') return -1;
  if (c) return c + 256;
  return 0;
}

/// dpkg's verrevcmp over one part (upstream or revision).
int compareParts(std::string_view a, std::string_view b) {
  std::size_t i = 0, j = 0;
  const auto at = [](std::string_view s, std::size_t k) { return k < s.size() ? s[k] : '\0'; };
  while (i < a.size() || j < b.size()) {
    int firstDiff = 0;
    while ((i < a.size() && !isDigit(a[i])) || (j < b.size() && !isDigit(b[j]))) {
      const int ac = order(at(a, i)), bc = order(at(b, j));
      if (ac != bc) return ac - bc;
      ++i;
      ++j;
    }
    while (at(a, i) == '0') ++i;
    while (at(b, j) == '0') ++j;
    while (isDigit(at(a, i)) && isDigit(at(b, j))) {
      if (!firstDiff) firstDiff = at(a, i) - at(b, j);
      ++i;
      ++j;
    }
    if (isDigit(at(a, i))) return 1;
    if (isDigit(at(b, j))) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

struct SplitVersion {
  std::int64_t epoch = 0;
  std::string_view upstream, revision;
};

SplitVersion split(std::string_view v) {
  SplitVersion s;
  if (const auto colon = v.find(':'); colon != std::string_view::npos) {
    for (const char c : v.substr(0, colon)) s.epoch = std::min<std::int64_t>(s.epoch * 10 + (c - '0'), 1'000'000'000);
    v.remove_prefix(colon + 1);
  }
  if (const auto dash = v.rfind('-'); dash != std::string_view::npos) {
    s.revision = v.substr(dash + 1);
    v = v.substr(0, dash);
  }
  s.upstream = v;
  return s;
}

std::string text(const json& o, const char* field, std::size_t max) {
  if (!o.contains(field) || !o[field].is_string()) throw Error(invalidArgument(field, std::string(field) + " is a required string"));
  std::string v = o[field].get<std::string>();
  if (v.size() > max) throw Error(invalidArgument(field, std::string(field) + " is longer than " + std::to_string(max)));
  return v;
}

}  // namespace

bool isUpdateState(std::string_view s) {
  return std::any_of(std::begin(kUpdateStates), std::end(kUpdateStates), [&](const char* k) { return s == k; });
}

int compareVersions(std::string_view a, std::string_view b) {
  const SplitVersion x = split(a), y = split(b);
  if (x.epoch != y.epoch) return x.epoch < y.epoch ? -1 : 1;
  if (const int c = compareParts(x.upstream, y.upstream)) return c;
  return compareParts(x.revision, y.revision);
}

Status checkVersion(std::string_view v, const std::string& field) {
  const auto bad = [&](const std::string& why) { return invalidArgument(field, "\"" + std::string(v.substr(0, 80)) + "\" is not a Debian version: " + why); };
  if (v.empty() || v.size() > 64) return bad("1 to 64 characters");
  std::string_view rest = v;
  if (const auto colon = v.find(':'); colon != std::string_view::npos) {
    const std::string_view epoch = v.substr(0, colon);
    if (epoch.empty() || epoch.size() > 9 || !std::all_of(epoch.begin(), epoch.end(), isDigit)) return bad("the epoch is a number");
    rest = v.substr(colon + 1);
  }
  if (rest.empty() || !isDigit(rest[0])) return bad("it starts with a digit");
  for (const char c : rest) {
    if (!isDigit(c) && !isAlpha(c) && c != '.' && c != '+' && c != '~' && c != '-') return bad("letters, digits and . + ~ - only");
  }
  if (rest.back() == '-') return bad("an empty revision");
  return Ok{};
}

Status checkPackageName(std::string_view v, const std::string& field) {
  const bool ok = v.size() >= 2 && v.size() <= 64 && (isDigit(v[0]) || (v[0] >= 'a' && v[0] <= 'z')) &&
                  std::all_of(v.begin(), v.end(), [](char c) { return isDigit(c) || (c >= 'a' && c <= 'z') || c == '+' || c == '-' || c == '.'; });
  if (!ok) return invalidArgument(field, "\"" + std::string(v.substr(0, 80)) + "\" is not a Debian package name");
  return Ok{};
}

Status checkArchitecture(std::string_view v, const std::string& field) {
  const bool ok = !v.empty() && v.size() <= 32 &&
                  std::all_of(v.begin(), v.end(), [](char c) { return isDigit(c) || (c >= 'a' && c <= 'z') || c == '-'; });
  if (!ok) return invalidArgument(field, "\"" + std::string(v.substr(0, 80)) + "\" is not a Debian architecture");
  return Ok{};
}

std::string signedText(const ReleaseManifest& m) {
  return "loyalty-release-v1\npackage=" + m.package + "\nversion=" + m.version + "\narchitecture=" + m.architecture +
         "\nsha256=" + m.sha256 + "\nsize=" + std::to_string(m.size) + "\n";
}

json toJson(const ReleaseOffer& o) {
  return {{"package", o.manifest.package},   {"version", o.manifest.version}, {"architecture", o.manifest.architecture},
          {"sha256", o.manifest.sha256},     {"size", o.manifest.size},       {"signature", o.signature},
          {"key", o.publicKey},              {"url", o.url}};
}

Result<std::optional<ReleaseOffer>> decodeReleaseAnswer(const json& j) {
  if (!j.is_object() || !j.contains("release")) return invalidArgument("release", "the answer has no release field");
  const json& r = j["release"];
  if (r.is_null()) return std::optional<ReleaseOffer>();
  if (!r.is_object()) return invalidArgument("release", "release is an object or null");
  try {
    ReleaseOffer o;
    o.manifest.package = text(r, "package", 64);
    o.manifest.version = text(r, "version", 64);
    o.manifest.architecture = text(r, "architecture", 32);
    o.manifest.sha256 = text(r, "sha256", 64);
    o.signature = text(r, "signature", 200);
    o.publicKey = text(r, "key", 100);
    o.url = text(r, "url", 300);
    if (!r.contains("size") || !r["size"].is_number_integer() || r["size"].get<std::int64_t>() <= 0) {
      return invalidArgument("size", "size is a positive whole number of bytes");
    }
    o.manifest.size = r["size"].get<std::int64_t>();
    if (auto s = checkPackageName(o.manifest.package, "package"); !s) return s.error();
    if (auto s = checkVersion(o.manifest.version, "version"); !s) return s.error();
    if (auto s = checkArchitecture(o.manifest.architecture, "architecture"); !s) return s.error();
    if (o.manifest.sha256.size() != 64 ||
        !std::all_of(o.manifest.sha256.begin(), o.manifest.sha256.end(), [](char c) { return isDigit(c) || (c >= 'a' && c <= 'f'); })) {
      return invalidArgument("sha256", "sha256 is 64 lower-case hex digits");
    }
    if (o.url.rfind("/api/v1/terminal/release/", 0) != 0 || o.url.find_first_of("?# \r\n") != std::string::npos) {
      return invalidArgument("url", "url is a path of head office's download route");
    }
    return std::optional<ReleaseOffer>(std::move(o));
  } catch (const Error& e) {
    return e;
  }
}

std::vector<std::string> toHeaderLines(const TerminalReport& r) {
  std::vector<std::string> out;
  if (r.version) out.push_back(std::string(header::kTerminalVersion) + ": " + *r.version);
  if (r.architecture) out.push_back(std::string(header::kTerminalArch) + ": " + *r.architecture);
  if (r.updateState) out.push_back(std::string(header::kUpdateState) + ": " + *r.updateState);
  if (r.pending) out.push_back(std::string(header::kOutboxPending) + ": " + std::to_string(*r.pending));
  return out;
}

Result<TerminalReport> decodeTerminalReport(const std::function<std::optional<std::string>(const char*)>& get) {
  TerminalReport r;
  if (auto v = get(header::kTerminalVersion)) {
    if (auto s = checkVersion(*v, header::kTerminalVersion); !s) return s.error();
    r.version = std::move(*v);
  }
  if (auto v = get(header::kTerminalArch)) {
    if (auto s = checkArchitecture(*v, header::kTerminalArch); !s) return s.error();
    r.architecture = std::move(*v);
  }
  if (auto v = get(header::kUpdateState)) {
    if (!isUpdateState(*v)) {
      return invalidArgument(header::kUpdateState, "one of idle, staged, installing, installed, rolled_back, failed");
    }
    r.updateState = std::move(*v);
  }
  if (auto v = get(header::kOutboxPending)) {
    if (v->empty() || v->size() > 12 || !std::all_of(v->begin(), v->end(), isDigit)) {
      return invalidArgument(header::kOutboxPending, "a whole number of events from 0");
    }
    r.pending = std::stoll(*v);
  }
  return r;
}

}  // namespace loyalty::sync
