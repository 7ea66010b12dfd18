#include "loyalty/hq/credentials.hpp"

#include "loyalty/hq/analytics.hpp"
#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/sql.hpp"

namespace loyalty::hq {

namespace {

ApiTokenInfo tokenRow(const SqlRows& r, std::size_t i) {
  return {tokenId(r.text(i, 0)), r.text(i, 1), r.text(i, 2), r.text(i, 3), r.optText(i, 4), r.optText(i, 5)};
}

constexpr const char* kTokenColumns = "SELECT token_hash, name, role, created_at, expires_at, revoked_at FROM api_tokens ";

Result<bool> dashboardUserDisabled(SqlConnection& c, const std::string& name) {
  const auto r = c.query("SELECT disabled_at FROM dashboard_users WHERE name = $1", {name});
  if (r.empty()) return Error{errc::kNotFound, "name", "no dashboard account " + name};
  return !r.isNull(0, 0);
}

}  // namespace

void holdDashboardName(SqlConnection& c, const std::string& name) { c.lockRow(SqlConnection::RowSpace::kDashboardName, name); }

std::string liveToken(const std::string& at) { return "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > " + at + ")"; }

void endDashboardSessions(SqlConnection& c, const std::string& name) {
  holdDashboardName(c, name);
  c.query("DELETE FROM dashboard_sessions WHERE name = $1", {name});
  c.query("DELETE FROM dashboard_tickets WHERE name = $1", {name});
}

std::string tokenId(const std::string& tokenHash) { return tokenHash.substr(0, 12); }

void ensureCredentialsSchema(SqlConnection& c) {
  if (!c.hasTable("api_tokens") || hasColumn(c, "api_tokens", "expires_at")) return;
  try {
    c.execScript("ALTER TABLE api_tokens ADD COLUMN expires_at TEXT");
  } catch (const SqlError&) {
    if (!hasColumn(c, "api_tokens", "expires_at")) throw;  // else another process added it meanwhile
  }
}

std::vector<ApiTokenInfo> listApiTokens(SqlConnection& c) {
  SqlTransaction tx(c, SqlTransaction::Kind::kRead);
  const auto r = c.query(std::string(kTokenColumns) + "ORDER BY created_at, token_hash");
  tx.commit();
  std::vector<ApiTokenInfo> out;
  for (std::size_t i = 0; i < r.size(); ++i) out.push_back(tokenRow(r, i));
  return out;
}

Result<ApiTokenInfo> revokeApiToken(SqlConnection& c, const std::optional<std::string>& id,
                                    const std::optional<std::string>& name, const std::string& actor, Timestamp now) {
  if (id.has_value() == name.has_value()) return invalidArgument("id", "name the token by --id or by --name");
  if (id && (id->size() != 12 || id->find_first_not_of("0123456789abcdef") != std::string::npos)) {
    return invalidArgument("id", "a token id is 12 hex digits, as `loyalty-hq token list` shows");
  }
  ensureAnalyticsSchema(c);
  SqlTransaction tx(c);
  // The id is the hash's prefix: LIKE on hex digits only, checked above.
  const auto r = id ? c.query(std::string(kTokenColumns) + "WHERE token_hash LIKE $1", {*id + "%"})
                    : c.query(std::string(kTokenColumns) + "WHERE name = $1", {*name});
  const std::string what = id ? "id " + *id : "name " + *name;
  if (r.empty()) return Error{errc::kNotFound, id ? "id" : "name", "no API token with " + what};
  if (r.size() > 1) {
    std::string ids;
    for (std::size_t i = 0; i < r.size(); ++i) ids += (i ? ", " : "") + tokenId(r.text(i, 0));
    return Error{errc::kConflict, id ? "id" : "name", "several tokens have " + what + " (" + ids + "): revoke one by --id"};
  }
  ApiTokenInfo token = tokenRow(r, 0);
  if (!token.revokedAt) {
    token.revokedAt = formatRfc3339(now);
    c.query("UPDATE api_tokens SET revoked_at = $2 WHERE token_hash = $1", {r.text(0, 0), *token.revokedAt});
    // Dashboard sessions opened with the token's tickets carry its name: they end with it (a
    // dashboard user of the same name signs in again).
    if (token.role != "terminal") endDashboardSessions(c, token.name);
    recordAudit(c, {*token.revokedAt, actor, audit::kTokenRevoke, token.name, std::nullopt, "token " + token.id + ", " + token.role});
  }
  tx.commit();
  return token;
}

Result<Ok> disableDashboardUser(SqlConnection& c, const std::string& name, const std::string& actor, Timestamp now) {
  ensureAnalyticsSchema(c);
  SqlTransaction tx(c);
  holdDashboardName(c, name);  // before the account is read
  auto disabled = dashboardUserDisabled(c, name);
  if (!disabled) return disabled.error();
  if (!*disabled) {
    c.query("UPDATE dashboard_users SET disabled_at = $2 WHERE name = $1", {name, formatRfc3339(now)});
    recordAudit(c, {formatRfc3339(now), actor, audit::kUserDisable, name, std::nullopt, std::nullopt});
  }
  // Signed in already, or holding a sign-in ticket: over at once, disabled before or not.
  endDashboardSessions(c, name);
  tx.commit();
  return Ok{};
}

Result<Ok> enableDashboardUser(SqlConnection& c, const std::string& name, const std::string& actor, Timestamp now) {
  ensureAnalyticsSchema(c);
  SqlTransaction tx(c);
  auto disabled = dashboardUserDisabled(c, name);
  if (!disabled) return disabled.error();
  if (*disabled) {
    c.query("UPDATE dashboard_users SET disabled_at = NULL WHERE name = $1", {name});
    recordAudit(c, {formatRfc3339(now), actor, audit::kUserSet, name, std::nullopt, std::string("enabled")});
  }
  tx.commit();
  return Ok{};
}

}  // namespace loyalty::hq
