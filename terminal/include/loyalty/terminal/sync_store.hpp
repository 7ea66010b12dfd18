#pragma once
/// @brief The terminal's storage seen by the sync engine: its outbox (upload) and where pulled
/// changes go (members from other stores, balances reconciled with head office, merges, the
/// reward catalogue, the pushed configuration).

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "loyalty/db/database.hpp"
#include "loyalty/sync/client/engine.hpp"
#include "loyalty/sync/payloads.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/member_repository.hpp"

namespace loyalty::terminal {

/// The outbox table; the watermark is meta.outbox_acked_through. With a Counter service, an
/// acknowledgement also puts back the points of expiries head office refused (the terminal's
/// clock had run ahead) and notes how far ahead the clock is (CounterService::dueDay), in the
/// watermark's transaction.
class TerminalOutbox final : public sync::OutboxSource {
 public:
  explicit TerminalOutbox(db::Database& db, CounterService* service = nullptr) : m_db(db), m_service(service) {}
  std::string terminalId() override;
  std::int64_t ackedThrough() override;
  std::vector<sync::EventEnvelope> eventsAfter(std::int64_t afterSeq, std::size_t limit) override;
  void setAckedThrough(std::int64_t seq) override;
  void acknowledge(std::int64_t seq, const std::vector<sync::EventResult>& results) override;
  void noteClockAhead(std::chrono::seconds ahead) override;
  std::int64_t pendingCount() override;

 private:
  db::Database& m_db;
  CounterService* m_service;
};

/// The points effect an event of this terminal has on a member's balance (docs/sync-wire.md),
/// decoded by the sync protocol; nullopt for none (or a payload the protocol refuses).
using PointsEffect = sync::PointsEffect;
std::optional<PointsEffect> pointsEffect(const std::string& type, const nlohmann::json& payload);

/// Applies change pages to the terminal's database, one transaction per page with its cursor.
/// A page that erases members is written under a Scrub (secure_delete, then a TRUNCATE
/// checkpoint), so their personal data leaves every file of the terminal.
/// A member's balance becomes head office's balance plus the effects of this terminal's own
/// events that head office had not applied yet (seq > applied_through), written as one
/// 'adjust' ledger entry (ref_id "hq-sync:<cursor>") without an outbox event.
class TerminalChangeSink final : public sync::ChangeSink {
 public:
  TerminalChangeSink(db::Database& db, CounterService& service, std::function<Timestamp()> now);
  std::string cursor() override;
  void applyPage(const sync::ChangePage& page) override;
  /// Changes that could not be applied (e.g. a phone already used by another local member),
  /// as sentences; the page is still applied and the cursor moves on.
  const std::vector<std::string>& problems() const { return m_problems; }
  void clearProblems() { m_problems.clear(); }

 private:
  void applyMember(const sync::MemberChange& change, const std::string& cursor,
                   const std::unordered_map<std::string, std::int64_t>& pending);
  void applyMerge(const sync::MemberMergedChange& change, const std::string& cursor,
                  const std::unordered_map<std::string, std::int64_t>& pending);
  void applyErased(const sync::MemberErasedChange& change);
  void applyCatalog(const sync::CatalogChange& change);
  void applyConfig(const sync::ConfigChange& change);
  void reconcile(const std::string& memberId, std::int64_t target, const std::string& cursor);
  std::unordered_map<std::string, std::int64_t> pendingEffects(std::int64_t appliedThrough);

  db::Database& m_db;
  MemberRepository m_members;
  CounterService& m_service;
  std::function<Timestamp()> m_now;
  std::vector<std::string> m_problems;
};

}  // namespace loyalty::terminal
