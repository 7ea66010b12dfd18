#include "loyalty/terminal/sync_link.hpp"

#include <nlohmann/json.hpp>
#include <ostream>

#include "loyalty/sync/client/engine.hpp"
#include "loyalty/sysio/files.hpp"
#include "loyalty/terminal/store.hpp"
#include "loyalty/terminal/sync_store.hpp"
#include "loyalty/terminal/update.hpp"

namespace loyalty::terminal {

using nlohmann::json;

std::optional<HqLink> loadHqLink(db::Database& db) {
  auto q = db.query(
      "SELECT hq_url, ca_pem, token, pin, store_id, terminal_id, timezone, registered_at FROM hq_link WHERE "
      "id = 1");
  if (!q.step()) return std::nullopt;
  return HqLink{q.text("hq_url"),      q.text("ca_pem"),   q.text("token"),    q.optText("pin"),
                q.text("store_id"),    q.text("terminal_id"), q.text("timezone"), q.text("registered_at")};
}


int runRegister(db::Database& db, const RegisterOptions& options, Timestamp now, std::ostream& out,
                std::ostream& err) {
  if (options.code.empty()) {
    err << "register: code: the registration code printed by `loyalty-hq terminal add` is required\n";
    return 2;
  }
  const auto ca = sysio::readFile(options.caFile);
  if (!ca) {
    err << "register: ca: cannot read " << options.caFile << '\n';
    return 2;
  }
  sync::HqEndpoint endpoint{options.hqUrl, *ca, options.pin, std::nullopt};
  Result<sync::RegisterResponse, sync::Failure> answer = sync::Failure{};
  try {
    answer =
        sync::registerTerminal(endpoint, options.code, {std::chrono::seconds(5), std::chrono::seconds(30)});
  } catch (const std::invalid_argument& e) {
    err << "register: " << e.what() << '\n';
    return 2;
  }
  if (!answer) {
    err << "register: " << answer.error().message << '\n';
    return 1;
  }
  const sync::RegisterResponse& r = answer.value();
  db::Transaction tx(db);
  const bool hasEvents = hasOutboxEvents(db);
  const std::string oldStore = metaValue(db, "store_id").value_or("");
  const std::string oldTerminal = metaValue(db, "terminal_id").value_or("");
  if (hasEvents && (oldStore != r.storeId || oldTerminal != r.terminalId)) {
    err << "register: head office registered this terminal as store " << r.storeId << " terminal "
        << r.terminalId << ", but it already recorded events as store " << oldStore << " terminal "
        << oldTerminal << "; register it under its own ids (loyalty-hq terminal add --store " << oldStore
        << " --terminal " << oldTerminal << ") or use a new data directory\n";
    return 1;
  }
  db.query(
        "INSERT INTO meta(key, value) VALUES ('store_id', ?), ('terminal_id', ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .bind(1, r.storeId)
      .bind(2, r.terminalId)
      .run();
  db.query(
        "INSERT INTO hq_link(id, hq_url, ca_pem, token, pin, store_id, terminal_id, timezone, registered_at) "
        "VALUES (1,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET hq_url = excluded.hq_url, "
        "ca_pem = excluded.ca_pem, token = excluded.token, pin = excluded.pin, store_id = excluded.store_id, "
        "terminal_id = excluded.terminal_id, timezone = excluded.timezone, registered_at = "
        "excluded.registered_at")
      .bind(1, options.hqUrl)
      .bind(2, *ca)
      .bind(3, r.token)
      .bind(4, options.pin)
      .bind(5, r.storeId)
      .bind(6, r.terminalId)
      .bind(7, r.timezone)
      .bind(8, formatRfc3339(now))
      .run();
  tx.commit();
  out << json{{"store_id", r.storeId},
              {"terminal_id", r.terminalId},
              {"timezone", r.timezone},
              {"hq", options.hqUrl}}
             .dump()
      << '\n';
  return 0;
}

int runSyncOnce(db::Database& db, CounterService& service, std::ostream& out, std::ostream& err,
                const std::string& dataDir) {
  const auto link = loadHqLink(db);
  if (!link) {
    err << "sync: this terminal is not registered with head office: run loyalty-terminal register first\n";
    return 2;
  }
  sync::HttpsClient client(link->endpoint());
  TerminalOutbox outbox(db, &service);
  TerminalChangeSink sink(
      db, service, [] { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); });
  const auto installation = dataDir.empty() ? std::nullopt : update::currentInstallation();
  if (!dataDir.empty()) {
    client.setExtraHeaders(sync::toHeaderLines(update::terminalReport(installation, dataDir, outbox.pendingCount())));
  }
  const sync::RoundReport round = sync::syncRound(client, outbox, sink);
  for (const std::string& p : sink.problems()) err << "sync: warning: " << p << '\n';
  if (round.uploadFailure) err << "sync: upload: " << round.uploadFailure->message << '\n';
  if (round.pullFailure) err << "sync: pull: " << round.pullFailure->message << '\n';
  if (round.uploadFailure && !round.pullFailure && round.pull.pages == 0) {
    err << "sync: pull: not attempted after that failure\n";
  }
  json line{{"uploaded", round.upload.uploaded}, {"pulled", round.pull.changes}, {"pending", round.pending}};
  bool updateOk = true;
  if (round.ok() && installation) {
    const auto checked = update::checkForUpdate(client, dataDir, *installation);
    if (checked) {
      line["update"] = checked->result;
      line["update_detail"] = checked->detail;
    } else {
      err << "sync: update check: " << checked.error().message << '\n';
      line["update"] = "error";
      updateOk = false;
    }
  }
  out << line.dump() << '\n';
  return round.ok() && updateOk ? 0 : 1;
}

// [SECTION] Online redemption

HttpsRedemptionAuthoriser::HttpsRedemptionAuthoriser(const HqLink& link, std::chrono::milliseconds timeout)
    : m_client(std::make_unique<sync::HttpsClient>(link.endpoint(), sync::Timeouts{timeout, timeout})) {}

HttpsRedemptionAuthoriser::~HttpsRedemptionAuthoriser() = default;

Authorisation HttpsRedemptionAuthoriser::authorise(const std::string& redemptionId, const std::string& memberId,
                                                   std::int64_t points, std::int64_t afterSeq) {
  if (std::chrono::steady_clock::now() < m_askAgainAt) {
    m_lastProblem = "head office did not answer in time a moment ago; not asked again yet";
    return Authorisation::unreachable;
  }
  auto answer = sync::reserveRedemption(*m_client, {redemptionId, memberId, points, afterSeq});
  if (answer) {
    m_lastProblem.clear();
    return Authorisation::approved;
  }
  m_lastProblem = answer.error().message;
  if (answer.error().kind == sync::FailureKind::kTimeout) {
    m_askAgainAt = std::chrono::steady_clock::now() + kHoldOffAfterTimeout;
  }
  if (answer.error().kind == sync::FailureKind::kRefused && answer.error().httpStatus == 409) {
    return Authorisation::refused;
  }
  return Authorisation::unreachable;
}

void HttpsRedemptionAuthoriser::release(const std::string& redemptionId, std::int64_t afterSeq) {
  auto answer = sync::releaseRedemption(*m_client, redemptionId, afterSeq);
  if (answer) m_lastProblem.clear();
  else
    m_lastProblem = answer.error().message;
}

std::unique_ptr<HttpsRedemptionAuthoriser> makeRedemptionAuthoriser(db::Database& db) {
  const auto link = loadHqLink(db);
  if (!link) return nullptr;
  return std::make_unique<HttpsRedemptionAuthoriser>(*link);
}

}  // namespace loyalty::terminal
