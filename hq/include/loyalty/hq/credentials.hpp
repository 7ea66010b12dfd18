#pragma once
/// @brief The life of head office's credentials: API tokens listed, revoked and expiring,
/// dashboard accounts disabled and enabled, and the `loyalty-hq token|user|cert` commands that
/// drive them (hq/README.md). Every change is in the audit trail (audit.hpp).

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/core/result.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/hq/sql.hpp"
#include "loyalty/hq/store.hpp"

namespace CLI {
class App;
}

namespace loyalty::hq {

/// How long a new API token is valid unless `token create --expires-days` says otherwise.
inline constexpr int kDefaultTokenDays = 90;

/// A token's public id: the first 12 hex digits of its SHA-256, shown in lists, refusals and
/// the audit trail instead of the secret.
std::string tokenId(const std::string& tokenHash);

/// Adds what older databases lack (api_tokens.expires_at; idempotent). Call outside a transaction.
void ensureCredentialsSchema(SqlConnection& c);

struct ApiTokenInfo {
  std::string id;
  std::string name;
  std::string role;
  std::string createdAt;
  std::optional<std::string> expiresAt;  ///< none: made before tokens expired
  std::optional<std::string> revokedAt;
};

/// Every API token, oldest first (never the secret: head office does not have it).
std::vector<ApiTokenInfo> listApiTokens(SqlConnection& c);

/// Revokes the token with public id `id`, or the one named `name` if only one has that name.
/// Revoking a revoked token again changes nothing.
Result<ApiTokenInfo> revokeApiToken(SqlConnection& c, const std::optional<std::string>& id,
                                    const std::optional<std::string>& name, const std::string& actor, Timestamp now);

/// Within a write transaction: holds `name`, the name dashboard sessions and sign-in tickets
/// are opened under, until the transaction ends (SqlConnection::RowSpace::kDashboardName).
/// Whatever opens a session or issues a ticket under a name holds it first, then checks that
/// what it was checked with still holds (HqService::openSession, issueTicket,
/// signInWithTicket); whatever ends a name's sessions and tickets holds it too
/// (endDashboardSessions), so a sign-in checked before such a change and finished after it
/// leaves nothing that outlives the change.
void holdDashboardName(SqlConnection& c, const std::string& name);
/// SQL: the api_tokens row is neither revoked nor expired at `at` (a bound parameter, as "$4").
std::string liveToken(const std::string& at);
/// Within a write transaction: ends every session and unused sign-in ticket under `name` at
/// once, holding the name (disabling or setting an account, revoking a token).
void endDashboardSessions(SqlConnection& c, const std::string& name);
/// Disables a dashboard account: it cannot sign in, and its open sessions end at once.
Result<Ok> disableDashboardUser(SqlConnection& c, const std::string& name, const std::string& actor, Timestamp now);
/// Enables it again with its password (`user set` also enables, with a new password).
Result<Ok> enableDashboardUser(SqlConnection& c, const std::string& name, const std::string& actor, Timestamp now);

/// Adds `token list`, `token revoke` (to the `token` command), `user disable`, `user enable`
/// (to the `user` command, which must exist) and `cert renew`. The returned function runs the
/// command if it was the one parsed and returns its exit status, otherwise nullopt.
std::function<std::optional<int>()> addCredentialCommands(CLI::App& app);

}  // namespace loyalty::hq
