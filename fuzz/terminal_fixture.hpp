#pragma once
/// @brief A real terminal for the harnesses that drive the counter: a database in a temporary
/// directory, created once per process with the sample programme (packaging/config), three
/// members, a sale that leaves one of them above the supervisor threshold, a reward and a
/// supervisor. Each input runs inside one outer transaction that is rolled back afterwards, so
/// every input starts from the same state and a finding replays exactly.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "loyalty/terminal/config.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/feedback.hpp"
#include "loyalty/terminal/staff.hpp"
#include "loyalty/terminal/store.hpp"
#include "loyalty/terminal/timezone.hpp"
#include "support.hpp"

namespace loyalty::fuzz {

/// The instant every input runs at (exec requests may name their own `at`).
inline Timestamp fixedNow() {
  return std::chrono::sys_days{std::chrono::year{2026} / 6 / 17} + std::chrono::hours{2};  // a Wednesday, 10:00 in Shanghai
}

/// Ids drawn from this seed again for every input.
inline constexpr std::uint64_t kIdSeed = 20261217;

/// The supervisor the fixture creates (6 digits: the length the PIN rules ask of supervisors).
inline constexpr const char* kSupervisorPin = "246810";

struct TerminalFixture {
  TempDir dir;
  db::Database db;
  terminal::RandomIds ids{kIdSeed};
  terminal::CounterService service;
  terminal::FeedbackService feedback;

  TerminalFixture()
      : db(terminal::openTerminalDatabase((dir.path() / "data").string())),
        service(db, configFor(db), ids),
        feedback(db, service.config().store.id, service.config().terminalId, ids) {
    seed();
  }

  /// Call before each input: the same ids as for every other input.
  void beginInput() { ids = terminal::RandomIds(kIdSeed); }

  /// Grows only through what rolled-back inputs leave in the WAL; past `limit` bytes the
  /// caller makes a new one.
  bool tooLarge(std::uintmax_t limit = 64u << 20) const { return bytesUnder(dir.path()) > limit; }

 private:
  static terminal::CounterConfig configFor(db::Database& db) {
    auto parsed = terminal::loadConfig(LOYALTY_SOURCE_DIR "/packaging/config/terminal.example.toml");
    if (auto* e = std::get_if<terminal::ConfigError>(&parsed)) fail("the sample configuration loads", e->toString());
    auto& settings = std::get<terminal::TerminalSettings>(parsed);
    terminal::CounterConfig config;
    config.store = settings.store;
    config.store.timezone = "Asia/Shanghai";  // local days differ from UTC days: more paths
    config.rules = settings.rules;
    const auto id = terminal::resolveIdentity(db, config.store.id, std::string("T1"));
    config.store.id = id.storeId;
    config.terminalId = id.terminalId;
    auto zone = terminal::loadZone(config.store.timezone);
    if (!zone) fail("the store's time zone loads", zone.error().message);
    config.zone = *zone;
    return config;
  }

  void seed() {
    const Timestamp at = fixedNow() - std::chrono::days{30};
    const auto enroll = [&](const char* phone, const char* name, std::optional<std::string> birthday, bool consent) {
      terminal::EnrollRequest r;
      r.phone = phone, r.name = name, r.birthday = std::move(birthday), r.consentMarketing = consent, r.at = at;
      auto m = service.enroll(r);
      if (!m) fail("the fixture's members enrol", m.error().message);
      return m->memberId;
    };
    enroll("138 1234 5678", "王小明", "1990-06-20", true);
    enroll("139 0000 1111", "李娜", std::nullopt, false);
    enroll("+44 7700 900123", "Anna Smith", "1985-02-28", true);
    terminal::SaleRequest sale;
    sale.saleId = "INV-1";
    sale.member = "13812345678";
    sale.lines = {{"OIL-5L", std::string("Peanut oil 5 L"), 40, "59.90"}, {"RICE-10KG", std::nullopt, 10, "45.00"}};
    sale.at = at;
    if (auto s = service.sale(sale); !s) fail("the fixture's sale is recorded", s.error().message);
    if (auto r = service.putReward("R-TOWEL", "毛巾", 500); !r) fail("the fixture's reward is stored", r.error().message);
    if (auto s = terminal::addStaff(db, "SUP-1", "Supervisor", "supervisor", kSupervisorPin); !s) {
      fail("the fixture's supervisor is added", s.error().message);
    }
  }
};

}  // namespace loyalty::fuzz
