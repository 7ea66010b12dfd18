// The words and small helpers of the dashboard's pages kept in their own files.
#include "loyalty/hq/page_words.hpp"

#include <httplib.h>

#include "loyalty/hq/service.hpp"

namespace loyalty::hq {

std::string pageWord(std::span<const PageWord> table, const std::string& lang, const std::string& key) {
  for (const auto& w : table) {
    if (key == w.key) return lang == "zh" ? w.zh : w.en;
  }
  return key;
}

nlohmann::json pageWords(std::span<const PageWord> table, const std::string& lang) {
  nlohmann::json o = nlohmann::json::object();
  for (const auto& w : table) o[w.key] = lang == "zh" ? w.zh : w.en;
  return o;
}

std::string jsonText(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump(); }

StoreTimes::StoreTimes(HqService& service) {
  const auto r = service.onReader(
      [](SqlConnection& c) { return c.query("SELECT store_id, MIN(timezone) FROM terminals GROUP BY store_id"); });
  for (std::size_t i = 0; i < r.size(); ++i) m_zoneOf[r.text(i, 0)] = r.text(i, 1);
}

const ZoneRules& StoreTimes::zone(const nlohmann::json& store) { return m_zones.get(zoneName(store)); }

std::string StoreTimes::zoneName(const nlohmann::json& store) const {
  const auto it = store.is_string() ? m_zoneOf.find(store.get<std::string>()) : m_zoneOf.end();
  return it == m_zoneOf.end() ? "UTC" : it->second;
}

std::string StoreTimes::local(const nlohmann::json& store, const nlohmann::json& at, const nlohmann::json& orStore) {
  if (!at.is_string()) return "";
  const auto t = parseRfc3339(at.get<std::string>(), "at");
  return t ? localDateTime(zone(store.is_null() ? orStore : store), *t) : at.get<std::string>();
}

void seeOther(httplib::Response& res, const std::string& to) {
  res.status = 303;
  res.set_header("Location", to);
}

std::string chainTime(HqService& service, Timestamp t) {
  const std::vector<std::string> zonesInUse = service.onReader([](SqlConnection& c) {
    SqlTransaction tx(c, SqlTransaction::Kind::kRead);
    const auto r = c.query("SELECT DISTINCT timezone FROM terminals WHERE revoked_at IS NULL ORDER BY 1", {});
    tx.commit();
    std::vector<std::string> out;
    for (std::size_t i = 0; i < r.size(); ++i) out.push_back(r.text(i, 0));
    return out;
  });
  if (zonesInUse.size() == 1) {
    if (auto zone = loadZoneRules(zonesInUse[0])) return localDateTime(*zone, t) + " (" + zonesInUse[0] + ")";
  }
  return localDateTime(*loadZoneRules("UTC"), t) + " (UTC)";
}

}  // namespace loyalty::hq
