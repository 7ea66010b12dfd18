#include "loyalty/terminal/sync_store.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <variant>

#include "loyalty/core/lifecycle.hpp"
#include "loyalty/core/text.hpp"
#include "loyalty/sync/codec.hpp"
#include "loyalty/sync/event_types.hpp"
#include "loyalty/terminal/at_rest.hpp"
#include "loyalty/terminal/config.hpp"
#include "loyalty/terminal/feedback.hpp"
#include "loyalty/terminal/outbox.hpp"
#include "loyalty/terminal/reward_repository.hpp"
#include "loyalty/terminal/store.hpp"

namespace loyalty::terminal {

using nlohmann::json;

namespace {

std::string metaText(db::Database& db, const char* key, const std::string& fallback) {
  return metaValue(db, key).value_or(fallback);
}

}  // namespace

// [SECTION] Outbox

std::string TerminalOutbox::terminalId() { return metaText(m_db, "terminal_id", "T1"); }

std::int64_t TerminalOutbox::ackedThrough() {
  return std::stoll(metaText(m_db, "outbox_acked_through", "0"));
}

std::vector<sync::EventEnvelope> TerminalOutbox::eventsAfter(std::int64_t afterSeq, std::size_t limit) {
  auto q = m_db.query("SELECT seq, event_id, type, at, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?")
               .bind(1, afterSeq)
               .bind(2, static_cast<std::int64_t>(limit));
  std::vector<sync::EventEnvelope> events;
  while (q.step()) {
    sync::EventEnvelope e;
    e.seq = q.int64("seq");
    e.eventId = q.text("event_id");
    e.type = q.text("type");
    e.at = q.text("at");
    e.payload = json::parse(openOutboxPayload(m_db, e.eventId, e.type, q.blob("payload")));
    events.push_back(std::move(e));
  }
  return events;
}

void TerminalOutbox::setAckedThrough(std::int64_t seq) {
  db::Transaction tx(m_db);
  setMetaValue(m_db, "outbox_acked_through", std::to_string(seq));
  tx.commit();
}

void TerminalOutbox::noteClockAhead(std::chrono::seconds ahead) {
  db::Transaction tx(m_db);
  if (CounterService::noteClockAhead(m_db, ahead) && m_service) {
    m_service->undoEarlyTierReviews(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  }
  tx.commit();
}

void TerminalOutbox::acknowledge(std::int64_t seq, const std::vector<sync::EventResult>& results) {
  db::Transaction tx(m_db);
  setMetaValue(m_db, "outbox_acked_through", std::to_string(seq));
  for (const sync::EventResult& r : results) {
    if (!m_service || r.status != sync::EventStatus::kRejected) continue;
    auto q = m_db.query("SELECT type, payload FROM outbox WHERE event_id = ? AND seq <= ?").bind(1, r.eventId).bind(2, seq);
    if (!q.step() || q.text("type") != sync::kPointsAdjusted) continue;
    auto adjusted = sync::decodePointsAdjusted(json::parse(openOutboxPayload(m_db, r.eventId, q.text("type"), q.blob("payload"))), "payload");
    if (!adjusted || adjusted->kind != "expire") continue;
    m_service->putBackRefusedExpiry(r.eventId, adjusted->memberId, adjusted->refId, adjusted->points,
                                    std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  }
  tx.commit();
}

std::int64_t TerminalOutbox::pendingCount() { return outboxPending(m_db); }

// [SECTION] Points effects of this terminal's own events

std::optional<PointsEffect> pointsEffect(const std::string& type, const json& payload) {
  auto effect = sync::decodePointsEffect(type, payload);
  return effect ? *effect : std::nullopt;
}

// [SECTION] Change sink

TerminalChangeSink::TerminalChangeSink(db::Database& db, CounterService& service,
                                       std::function<Timestamp()> now)
    : m_db(db), m_members(db), m_service(service), m_now(std::move(now)) {}

std::string TerminalChangeSink::cursor() { return metaText(m_db, "hq_cursor", ""); }

std::unordered_map<std::string, std::int64_t> TerminalChangeSink::pendingEffects(
    std::int64_t appliedThrough) {
  std::unordered_map<std::string, std::int64_t> effects;
  auto q = m_db.query("SELECT event_id, type, payload FROM outbox WHERE seq > ? ORDER BY seq").bind(1, appliedThrough);
  while (q.step()) {
    const std::string type = q.text("type");
    const json payload = json::parse(openOutboxPayload(m_db, q.text("event_id"), type, q.blob("payload")));
    if (auto e = pointsEffect(type, payload)) effects[e->memberId] += e->points;
  }
  return effects;
}

void TerminalChangeSink::applyPage(const sync::ChangePage& page) {
  const bool erases = std::any_of(page.changes.begin(), page.changes.end(), [](const sync::Change& c) {
    return std::holds_alternative<sync::MemberErasedChange>(c);
  });
  std::optional<Scrub> scrub;
  if (erases) scrub.emplace(m_db);  // zero what the erasures overwrite, in every file
  db::Transaction tx(m_db);
  const auto pending = pendingEffects(page.appliedThrough);
  for (const sync::Change& change : page.changes) {
    std::visit(
        [&](const auto& c) {
          using T = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<T, sync::MemberChange>) {
            applyMember(c, page.nextCursor, pending);
          } else if constexpr (std::is_same_v<T, sync::MemberMergedChange>) {
            applyMerge(c, page.nextCursor, pending);
          } else if constexpr (std::is_same_v<T, sync::MemberErasedChange>) {
            applyErased(c);
          } else if constexpr (std::is_same_v<T, sync::CatalogChange>) {
            applyCatalog(c);
          } else if constexpr (std::is_same_v<T, sync::ProductChange>) {
            m_service.putHeadOfficeProduct(c.product, m_now());
          } else if constexpr (std::is_same_v<T, sync::ConfigChange>) {
            applyConfig(c);
          } else {
            // A change type from a newer head office: nothing to do with it here; skip it.
          }
        },
        change);
  }
  setMetaValue(m_db, "hq_cursor", page.nextCursor);
  setMetaValue(m_db, "hq_applied_through", std::to_string(page.appliedThrough));
  setMetaValue(m_db, "hq_pulled_at", formatRfc3339(m_now()));
  tx.commit();
  if (scrub && !scrub->checkpoint()) {
    m_problems.push_back("another connection kept the WAL from being reset after an erasure; its old pages are "
                         "overwritten as it is reused");
  }
}

void TerminalChangeSink::reconcile(const std::string& memberId, std::int64_t target,
                                   const std::string& cursor) {
  {
    auto q = m_db.query("SELECT balance FROM members WHERE member_id = ?").bind(1, memberId);
    if (!q.step() || q.int64("balance") == target) return;
  }
  auto done = m_service.reconcileBalance(memberId, target, "hq-sync:" + cursor, m_now());
  if (!done) m_problems.push_back("member " + memberId + ": balance not reconciled: " + done.error().message);
}

void TerminalChangeSink::applyMember(const sync::MemberChange& change, const std::string& cursor,
                                     const std::unordered_map<std::string, std::int64_t>& pending) {
  const sync::MemberSnapshot& m = change.member;
  try {
    db::Transaction member(m_db);  // a savepoint: a refused member leaves the rest of the page
    if (m_members.isErased(m.memberId)) {
      member.commit();
      return;  // head office sends erased members no more; an old page must not bring one back
    }
    if (m_members.exists(m.memberId)) {
      if (m_members.updateDetails(m.memberId, {m.cardNo, m.phone, m.name, m.birthday, m.language, m.consentMarketing})) {
        // Decided at another counter: head office's feed says what, not when, where or which text.
        m_members.recordConsent(m.memberId, {formatRfc3339(m_now()), m.consentMarketing, std::nullopt, std::nullopt,
                                             std::nullopt});
      }
    } else {
      NewMember stored;
      stored.memberId = m.memberId;
      stored.cardNo = m.cardNo;
      stored.phone = m.phone;
      stored.name = m.name;
      stored.birthday = m.birthday;
      stored.language = m.language;
      stored.consentMarketing = m.consentMarketing;
      if (m.referrerId && m_members.exists(*m.referrerId)) stored.referrerId = m.referrerId;
      stored.enrolledAt = m.enrolledAt;
      stored.enrolledStore = m.enrolledStore;
      m_members.insert(stored);
    }
    if (!change.tier.empty()) {
      // The month is the store's local month, as the local review counts months.
      m_members.takeHeadOfficeTier(m.memberId, change.tier,
                                   reviewMonthOf(m_service.config().zone.localDate(m_now())));
    }
    m_db.query(
            "INSERT INTO hq_members(member_id, balance, points_debt, tier, lifetime_spend, cursor) VALUES "
            "(?,?,?,?,?,?) "
            "ON CONFLICT(member_id) DO UPDATE SET balance = excluded.balance, points_debt = "
            "excluded.points_debt, "
            "tier = excluded.tier, lifetime_spend = excluded.lifetime_spend, cursor = excluded.cursor")
        .bind(1, m.memberId)
        .bind(2, change.balance)
        .bind(3, change.pointsDebt)
        .bind(4, change.tier)
        .bind(5, m.lifetimeSpend)
        .bind(6, cursor)
        .run();
    const auto own = pending.find(m.memberId);
    reconcile(m.memberId, change.balance + (own == pending.end() ? 0 : own->second), cursor);
    member.commit();
  } catch (const db::DbError& e) {
    if (!e.isConstraint()) throw;
    m_problems.push_back("member " + m.memberId + " (card " + m.cardNo +
                         ") from head office not stored: " + e.what());
  }
}

void TerminalChangeSink::applyMerge(const sync::MemberMergedChange& change, const std::string& cursor,
                                    const std::unordered_map<std::string, std::int64_t>& pending) {
  m_db.query(
          "INSERT INTO member_merges(from_id, into_id, cursor) VALUES (?,?,?) "
          "ON CONFLICT(from_id) DO UPDATE SET into_id = excluded.into_id, cursor = excluded.cursor")
      .bind(1, change.from)
      .bind(2, change.into)
      .bind(3, cursor)
      .run();
  // The merged-away member is no longer offered by name search; its points went to `into`
  // at head office (into's own snapshot brings them), so only this terminal's unapplied
  // events still count on it.
  m_members.removeFromNameSearch(change.from);
  const auto own = pending.find(change.from);
  reconcile(change.from, own == pending.end() ? 0 : own->second, cursor);
}

void TerminalChangeSink::applyErased(const sync::MemberErasedChange& change) {
  if (!m_members.erase(change.memberId, formatRfc3339(m_now()))) return;  // unknown here, or erased before
  redactMemberEvents(m_db, change.memberId);
  redactComplaints(m_db, change.memberId);
}

void TerminalChangeSink::applyCatalog(const sync::CatalogChange& change) {
  std::set<std::string> listed;
  for (const sync::Reward& r : change.rewards) {
    if (r.rewardId.empty() || r.name.empty() || r.points <= 0) {
      m_problems.push_back("reward \"" + r.rewardId +
                           "\" from head office skipped: it needs an id, a name and points > 0");
      continue;
    }
    listed.insert(r.rewardId);
    RewardRepository(m_db).put(r.rewardId, r.name, r.points, r.active);
  }
  // Rewards are referenced by past redemptions: ones left out of the catalogue are retired.
  std::vector<std::string> retired;
  {
    auto all = m_db.query("SELECT reward_id FROM rewards WHERE active = 1");
    while (all.step()) {
      std::string id = all.text("reward_id");
      if (!listed.count(id)) retired.push_back(std::move(id));
    }
  }
  for (const auto& id : retired)
    m_db.query("UPDATE rewards SET active = 0 WHERE reward_id = ?").bind(1, id).run();
}

void TerminalChangeSink::applyConfig(const sync::ConfigChange& change) {
  const std::string name = "head office configuration v" + std::to_string(change.version);
  const auto parsed = parseConfig(change.toml, name);
  std::optional<std::string> error;
  if (const auto* e = std::get_if<ConfigError>(&parsed)) {
    error = e->toString();
    m_problems.push_back(name + " refused (the previous one stays): " + *error);
  }
  m_db.query(
          "INSERT INTO hq_config(version, toml, error, received_at) VALUES (?,?,?,?) "
          "ON CONFLICT(version) DO UPDATE SET toml = excluded.toml, error = excluded.error, "
          "received_at = excluded.received_at")
      .bind(1, change.version)
      .bind(2, change.toml)
      .bind(3, error)
      .bind(4, formatRfc3339(m_now()))
      .run();
}

}  // namespace loyalty::terminal
