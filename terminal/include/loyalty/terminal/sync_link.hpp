#pragma once
/// @brief The terminal's link to head office: credentials kept in its database, `register`,
/// `sync --once`, and online authorisation of redemptions.

#include <chrono>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "loyalty/db/database.hpp"
#include "loyalty/sync/client/https_client.hpp"
#include "loyalty/terminal/counter_service.hpp"

namespace loyalty::terminal {

/// What `register` stored (table hq_link, one row).
struct HqLink {
  std::string hqUrl;
  std::string caPem;
  std::string token;
  std::optional<std::string> pin;
  std::string storeId;
  std::string terminalId;
  std::string timezone;
  std::string registeredAt;

  sync::HqEndpoint endpoint() const { return {hqUrl, caPem, pin, token}; }
};

/// nullopt when the terminal was never registered.
std::optional<HqLink> loadHqLink(db::Database& db);

struct RegisterOptions {
  std::string hqUrl;
  std::string caFile;
  std::string code;
  std::optional<std::string> pin;
};

/// `loyalty-terminal register`: exchanges the code for the terminal's identity and token and
/// stores them with the HQ address, CA and pin, and the store/terminal ids HQ gave, in one
/// transaction. Refuses when events were already recorded under other ids. Prints one JSON
/// line on `out`, a sentence on `err`; returns the exit code.
int runRegister(db::Database& db, const RegisterOptions& options, Timestamp now, std::ostream& out,
                std::ostream& err);

/// `loyalty-terminal sync --once`: one round (upload all, pull all). Prints
/// {"uploaded","pulled","pending"} on `out` and every failure on `err`; 0 only if both halves
/// completed. With `dataDir`, the requests carry the terminal's report (version, update state,
/// backlog) and a program installed from a package then checks for an update
/// (update.hpp; the line gains "update" and "update_detail").
int runSyncOnce(db::Database& db, CounterService& service, std::ostream& out, std::ostream& err,
                const std::string& dataDir = {});

/// Asks head office to reserve points before a redemption, and releases the reservation when
/// the redemption is refused after all; at most `timeout` in all.
/// 409 is `refused`; no connection, timeout, 5xx or any other answer is `unreachable` (the
/// offline allowance then applies).
class HttpsRedemptionAuthoriser final : public RedemptionAuthoriser {
 public:
  explicit HttpsRedemptionAuthoriser(const HqLink& link,
                                     std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
  ~HttpsRedemptionAuthoriser() override;
  Authorisation authorise(const std::string& redemptionId, const std::string& memberId, std::int64_t points,
                          std::int64_t afterSeq) override;
  void release(const std::string& redemptionId, std::int64_t afterSeq) override;
  /// The last failure's sentence (empty after a success), for logs.
  const std::string& lastProblem() const { return m_lastProblem; }

  /// After head office did not answer in time (packets dropped, a link down without a refusal),
  /// it is not asked again for this long: each redemption meanwhile is decided offline at once
  /// instead of keeping the cashier waiting for the timeout. A refused connection fails at once
  /// and holds nothing off.
  static constexpr std::chrono::seconds kHoldOffAfterTimeout{30};

 private:
  std::unique_ptr<sync::HttpsClient> m_client;
  std::string m_lastProblem;
  std::chrono::steady_clock::time_point m_askAgainAt{};
};

/// The authoriser for a registered terminal, nullptr for a stand-alone one.
std::unique_ptr<HttpsRedemptionAuthoriser> makeRedemptionAuthoriser(db::Database& db);

}  // namespace loyalty::terminal
