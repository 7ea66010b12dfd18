#include "loyalty/hq/server.hpp"

#include <openssl/ssl.h>
#include <sys/socket.h>
#include <limits.h>
#include <unistd.h>

#include <httplib.h>

#include <array>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "loyalty/hq/dashboard.hpp"
#include "loyalty/hq/dashboard_forms.hpp"
#include "loyalty/hq/fleet.hpp"
#include "loyalty/hq/http_answer.hpp"
#include "loyalty/hq/http_guard.hpp"
#include "loyalty/hq/leadership.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/outreach.hpp"
#include "loyalty/hq/privacy.hpp"
#include "loyalty/hq/products.hpp"
#include "loyalty/hq/report_cache.hpp"
#include "loyalty/hq/service.hpp"
#include "loyalty/hq/sql_unavailable.hpp"
#include "loyalty/hq/store.hpp"
#include "loyalty/hq/throttle.hpp"
#include "loyalty/logging/logging.hpp"
#include "loyalty/sync/codec.hpp"

namespace loyalty::hq {

using nlohmann::json;
namespace wire = loyalty::sync;

namespace {

/// When the request this thread serves had its headers read (httplib serves a connection's
/// requests on one thread, one after another).
thread_local std::chrono::steady_clock::time_point requestStart;

/// How long one route's requests took: a Prometheus histogram, in seconds.
struct Durations {
  static constexpr auto kBounds = kRequestDurationBounds;
  std::array<std::int64_t, kBounds.size()> within{};  ///< requests at most kBounds[i], per bound
  std::int64_t count = 0;
  double sum = 0;

  void add(double seconds) {
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
      if (seconds <= kBounds[i].seconds) ++within[i];
    }
    ++count;
    sum += seconds;
  }
  void write(std::ostream& os, const std::string& name, const std::string& labels) const {
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
      os << name << "_bucket{" << labels << ",le=\"" << kBounds[i].label << "\"} " << within[i] << "\n";
    }
    os << name << "_bucket{" << labels << ",le=\"+Inf\"} " << count << "\n"
       << name << "_sum{" << labels << "} " << sum << "\n"
       << name << "_count{" << labels << "} " << count << "\n";
  }
};

/// httplib listens with a backlog of 5: a burst of connections would see SYNs dropped (and
/// retried by clients a second or more later) before the accept loop takes them.
class HttpsServer final : public httplib::SSLServer {
 public:
  using httplib::SSLServer::SSLServer;
  void widenBacklog() { ::listen(svr_sock_, SOMAXCONN); }
};

/// 429 for a credential tried too often from one address.
void sendTooMany(httplib::Response& res, std::chrono::seconds wait) {
  sendProblem(res, {wire::problem::kTooManyRequests, 429,
                    "too many failed credentials from this address: retry after " + std::to_string(wait.count()) + " s"});
  res.set_header("Retry-After", std::to_string(wait.count()));
}

/// Routes whose handlers read their bodies through readBody (a ContentReader that stops at the
/// decompressed limit): the only ones that take compressed or chunked bodies.
/// Method and path both: with the other method no handler reads the body, and cpp-httplib would
/// inflate all of it before answering 404.
bool streamingRoute(const httplib::Request& req) {
  static const std::set<std::pair<std::string, std::string>> kRoutes = {
      {"POST", "/api/v1/register"},           {"POST", "/api/v1/events"},        {"POST", "/api/v1/redemptions"},
      {"POST", "/api/v1/admin/members/merge"}, {"POST", "/api/v1/admin/catalog"}, {"PUT", "/api/v1/admin/config"},
      {"PUT", "/api/v1/admin/products"},      {"POST", "/api/v1/admin/reservations/release"}};
  return kRoutes.contains({req.method, req.path});
}

/// Requests that try a credential: a bearer token, or a terminal's registration code.
bool triesCredential(const httplib::Request& req) {
  return req.has_header("Authorization") || req.path == "/api/v1/register";
}

/// Resident set size in bytes (Linux).
std::int64_t residentBytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
}

/// This instance's name for logs and for the other instances: host and process id.
std::string instanceName() {
  char host[HOST_NAME_MAX + 1] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "localhost") + ":" + std::to_string(getpid());
}

ReportCache::Options cacheOptions(const Settings& s) {
  ReportCache::Options o;
  o.maxAge = std::chrono::seconds(s.reportMaxAgeSeconds);
  o.slow = std::chrono::milliseconds(s.reportSlowMs);
  o.refreshEvery = std::chrono::seconds(s.reportRefreshSeconds);
  // The dashboard's default views answer at once after a restart, from the last run's results.
  o.keepAcrossRestarts = true;
  o.generation = LOYALTY_VERSION;
  return o;
}

/// A storage connection, once the schema is upgraded: the server's first, so that no part of it
/// writes to an older release's database outside the one upgrade transaction (HqStore::checkSchema).
std::unique_ptr<SqlConnection> upgradedStorage(const DataDir& d, const Settings& s, const std::string& application) {
  HqStore(openStorage(d, s, "loyalty-hq upgrade")).checkSchema();
  return openStorage(d, s, application);
}

}  // namespace

struct HqServer::Impl {
  DataDir dir;
  ConnectionGuard guard;  ///< before http: outlives every connection of the server
  Throttle throttle;
  PasswordVerifier passwords;
  std::unique_ptr<HttpsServer> http;
  /// Which instance runs the background work; before the service and the jobs, which ask it,
  /// so that it outlives them (and stopped first by ~Impl: it wakes the refresher).
  std::unique_ptr<Leadership> leadership;
  HqService service;  ///< the live data every route reads and writes; it owns the locking
  Fleet fleet;        ///< releases and terminals' reports, on a connection of its own
  std::unique_ptr<OutreachJob> outreach;  ///< the outreach sender (outreach.hpp), on a connection of its own
  const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  // Metrics (Prometheus text format).
  std::mutex metricsMutex;
  std::map<std::pair<std::string, int>, std::int64_t> requests;  ///< (route, status) -> count
  std::map<std::string, std::int64_t> eventResults;               ///< status -> count
  std::map<std::string, Durations> durations;                     ///< route -> how long its requests took
  double ingestSeconds = 0;
  std::int64_t ingestBatches = 0;
  std::atomic<std::int64_t> inFlight{0};

  // run() and stop() meet here: a stop asked before the listening loop has started (a SIGTERM
  // right after start) must still end it; httplib's own stop does nothing until it runs.
  std::mutex runMutex;
  bool stopRequested = false;
  bool runStarted = false;
  std::atomic<bool> runEnded{false};

  Impl(const DataDir& d, const Settings& s)
      : dir(d),
        guard(ConnectionLimits::from(s)),
        throttle(upgradedStorage(d, s, "loyalty-hq throttle"), ThrottleRules::from(s)),
        service(openStorage(d, s, "loyalty-hq writer"), openStorage(d, s, "loyalty-hq reader"),
                openStorage(d, s, "loyalty-hq counter"), cacheOptions(s),
                ReservationPolicy{std::chrono::minutes(s.reservationMinutes), std::chrono::hours(24 * s.reservationHoldDays)},
                openReportConnections(d, s)),
        fleet(d, openStorage(d, s, "loyalty-hq fleet")) {}

  ~Impl() {
    if (leadership) leadership->stop();
  }

  bool leading() const { return !leadership || leadership->leading(); }

  // [SECTION] Plumbing

  /// Who the bearer token belongs to, or why it is refused (unknown, revoked, expired).
  Result<Principal> principalOf(const httplib::Request& req) {
    guard.handlerStarted(req);  // a handler is at work: its body is read (or its own to read)
    return service.authenticate(forms::bearerToken(req).value_or(""));
  }

  /// The principal if it has one of the roles; otherwise answers 401/403 and returns nullopt.
  std::optional<Principal> require(const httplib::Request& req, httplib::Response& res, std::initializer_list<Role> roles) {
    auto p = principalOf(req);
    if (!p) {
      sendError(res, p.error());
      res.set_header("WWW-Authenticate", "Bearer");
      return std::nullopt;
    }
    if (auto nul = refuseNulParameters(req); !nul) {  // a form body's fields, read by now
      sendError(res, nul.error());
      return std::nullopt;
    }
    for (const Role r : roles) {
      if (p->role != r) continue;
      if (r == Role::kTerminal) {
        // What the terminal says about itself (version, update state, backlog): optional headers.
        auto report = sync::decodeTerminalReport([&](const char* name) -> std::optional<std::string> {
          if (!req.has_header(name)) return std::nullopt;
          return req.get_header_value(name);
        });
        if (!report) {
          sendError(res, report.error());
          return std::nullopt;
        }
        fleet.noteReport(p->terminalId, *report, nowSeconds());
        auto health = sync::decodeTerminalHealth([&](const char* name) -> std::optional<std::string> {
          if (!req.has_header(name)) return std::nullopt;
          return req.get_header_value(name);
        });
        if (!health) {
          sendError(res, health.error());
          return std::nullopt;
        }
        fleet.noteHealth(p->terminalId, *health, nowSeconds());
        // Head office's clock, by which the terminal knows whether its own has run ahead.
        res.set_header(sync::header::kHeadOfficeClock, formatRfc3339(nowSeconds()));
      }
      return std::move(*p);
    }
    sendError(res, Error{errc::kForbidden, "", "this credential may not use " + req.path});
    return std::nullopt;
  }

  /// Reads the whole (decompressed) body up to the protocol's limit, and stops inflating there.
  /// A body not read to its end is never parsed as a next request: the guard closes the
  /// connection after the response (so refusals need not read what they refuse).
  bool readBody(const httplib::Request& req, const httplib::ContentReader& content, std::string& body, bool& tooLarge) {
    tooLarge = false;
    const bool ok = content([&](const char* data, size_t n) {
      if (body.size() + n > wire::kMaxBodyBytes) {
        tooLarge = true;
        return false;
      }
      body.append(data, n);
      return true;
    });
    if (ok) guard.bodyRead(req);
    return ok;
  }

  /// The whole (decompressed) body; answers 413/400 when it cannot be had.
  std::optional<std::string> readText(const httplib::Request& req, httplib::Response& res,
                                      const httplib::ContentReader& content) {
    std::string body;
    bool tooLarge = false;
    const bool ok = readBody(req, content, body, tooLarge);
    if (tooLarge || (!ok && res.status == 413)) {
      sendProblem(res, {wire::problem::kTooLarge, 413, "the request body is larger than 8 MiB (decompressed)"});
      return std::nullopt;
    }
    if (!ok) {
      sendProblem(res, {wire::problem::kBadRequest, 400, "the request body could not be read (bad gzip data?)"});
      return std::nullopt;
    }
    return body;
  }

  /// The body as JSON; answers 413/400 when it cannot be had, or when a string in it holds
  /// U+0000 unless `nulPerEvent` (an upload, whose events are refused one by one instead).
  std::optional<json> readJson(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& content,
                               bool nulPerEvent = false) {
    const std::optional<std::string> body = readText(req, res, content);
    if (!body) return std::nullopt;
    auto parsed = nulPerEvent ? wire::parseJson(*body) : wire::parseRequestJson(*body);
    if (!parsed) {
      sendError(res, parsed.error());
      return std::nullopt;
    }
    return std::move(*parsed);
  }

  // [SECTION] Routes

  void routes() {
    auto& s = *http;
    // For load balancers, without credentials: ok or unavailable, nothing else.
    s.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      try {
        service.ping();
        sendJson(res, {{"status", "ok"}});
      } catch (const std::exception& e) {
        logging::log().error("health check: storage is unavailable: {}", e.what());
        sendJson(res, {{"status", "unavailable"}}, 503);
        res.set_header("Retry-After", "5");
      }
    });
    s.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
      if (!require(req, res, {Role::kAdmin})) return;
      res.set_content(metrics(), "text/plain; version=0.0.4");
    });

    s.Post("/api/v1/register", [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& cr) {
      auto body = readJson(req, res, cr);
      if (!body) return;
      auto r = wire::decodeRegisterRequest(*body);
      if (!r) return sendError(res, r.error());
      auto out = service.registerTerminal(r->code);
      if (!out) return sendError(res, out.error());
      sendJson(res, wire::toJson(*out));
    });

    s.Post("/api/v1/events", [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& cr) {
      auto who = require(req, res, {Role::kTerminal});
      if (!who) return;
      auto body = readJson(req, res, cr, /*nulPerEvent=*/true);
      if (!body) return;
      auto upload = wire::takeUploadRequest(std::move(*body));
      if (!upload) return sendError(res, upload.error());
      if (upload->events.size() > wire::kMaxEventsPerBatch) {
        return sendProblem(res, {wire::problem::kTooLarge, 413, "at most 1000 events per request"});
      }
      if (upload->terminalId != who->terminalId) {
        return sendError(res, Error{errc::kForbidden, "",
                                    "this token belongs to terminal " + who->terminalId + ", not " + upload->terminalId});
      }
      const auto t0 = std::chrono::steady_clock::now();
      auto out = service.ingest(*upload);
      if (!out) return sendError(res, out.error());
      {
        std::lock_guard lock(metricsMutex);
        ingestSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        ++ingestBatches;
        for (const auto& r : out->results) ++eventResults[wire::toString(r.status)];
      }
      sendJson(res, wire::toJson(*out));
    });

    s.Get("/api/v1/changes", [this](const httplib::Request& req, httplib::Response& res) {
      auto who = require(req, res, {Role::kTerminal});
      if (!who) return;
      int limit = wire::kDefaultChangeLimit;
      if (req.has_param("limit")) {
        const std::string v = req.get_param_value("limit");
        if (v.empty() || v.size() > 4 || v.find_first_not_of("0123456789") != std::string::npos) {
          return sendError(res, invalidArgument("limit", "limit is a whole number from 1 to 1000"));
        }
        limit = std::stoi(v);
      }
      auto page = service.changes(who->terminalId, req.get_param_value("cursor"), limit);
      if (!page) return sendError(res, page.error());
      sendJson(res, wire::toJson(*page));
    });

    s.Post("/api/v1/redemptions", [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& cr) {
      auto who = require(req, res, {Role::kTerminal});
      if (!who) return;
      auto body = readJson(req, res, cr);
      if (!body) return;
      auto r = wire::decodeRedemptionRequest(*body);
      if (!r) return sendError(res, r.error());
      auto out = service.reserve(who->terminalId, *r);
      if (!out) return sendError(res, out.error());
      sendJson(res, wire::toJson(*out));
    });

    s.Delete(R"(/api/v1/redemptions/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      auto who = require(req, res, {Role::kTerminal});
      if (!who) return;
      const std::string id = req.matches[1].str();
      std::optional<std::int64_t> afterSeq;
      if (req.has_param("after_seq")) {
        const std::string v = req.get_param_value("after_seq");
        if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos) {
          return sendError(res, invalidArgument("after_seq", "after_seq is a whole number: the after_seq the reservation was asked with"));
        }
        afterSeq = std::stoll(v);
      }
      auto out = service.release(who->terminalId, id, afterSeq);
      if (!out) return sendError(res, out.error());
      sendJson(res, {{"redemption_id", id}, {"status", wire::kRedemptionReleased}});
    });

    s.Post("/api/v1/admin/members/merge", [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& cr) {
      if (!require(req, res, {Role::kAdmin})) return;
      auto body = readJson(req, res, cr);
      if (!body) return;
      auto r = wire::decodeMergeRequest(*body);
      if (!r) return sendError(res, r.error());
      auto out = service.merge(r->from, r->into);
      if (!out) return sendError(res, out.error());
      sendJson(res, wire::toJson(*r));
    });

    // Reservations a terminal will not come back to settle or release (the CLI's `reservation`).
    s.Get("/api/v1/admin/reservations", [this](const httplib::Request& req, httplib::Response& res) {
      if (!require(req, res, {Role::kAdmin})) return;
      auto page = forms::listPage(req);
      if (!page) return sendError(res, page.error());
      sendJson(res, service.heldReservations(*page));
    });
    s.Post("/api/v1/admin/reservations/release",
           [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& cr) {
             auto who = require(req, res, {Role::kAdmin});
             if (!who) return;
             auto body = readJson(req, res, cr);
             if (!body) return;
             for (const char* field : {"redemption_id", "reason"}) {
               if (!body->is_object() || !body->contains(field) || !(*body)[field].is_string()) {
                 return sendError(res, invalidArgument(field, std::string(field) + " is a required string"));
               }
             }
             auto out = service.releaseReservation((*body)["redemption_id"].get<std::string>(),
                                                   (*body)["reason"].get<std::string>(), actorOf(*who));
             if (!out) return sendError(res, out.error());
             sendJson(res, *out);
           });

    s.Post("/api/v1/admin/catalog", [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& cr) {
      if (!require(req, res, {Role::kAdmin})) return;
      auto body = readJson(req, res, cr);
      if (!body) return;
      json change = *body;
      if (change.is_object()) change["type"] = "catalog";
      auto c = wire::decodeChange(change);
      if (!c) return sendError(res, c.error());
      auto out = service.publishCatalog(std::get<wire::CatalogChange>(*c).rewards);
      if (!out) return sendError(res, out.error());
      sendJson(res, wire::toJson(*c));
    });

    // Head office's products (docs/hq-api.md): a JSON list, or CSV with Content-Type text/csv.
    s.Put("/api/v1/admin/products", [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& cr) {
      auto who = require(req, res, {Role::kAdmin});
      if (!who) return;
      const std::optional<std::string> body = readText(req, res, cr);
      if (!body) return;
      const bool csv = req.get_header_value("Content-Type").starts_with("text/csv");
      auto products = readProductList(*body, csv);
      if (!products) return sendError(res, products.error());
      auto stored = service.publishProducts(*products, actorOf(*who));
      if (!stored) return sendError(res, stored.error());
      sendJson(res, {{"products", *stored}});
    });

    s.Put("/api/v1/admin/config", [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& cr) {
      auto who = require(req, res, {Role::kAdmin});
      if (!who) return;
      auto body = readJson(req, res, cr);
      if (!body) return;
      if (!body->is_object() || !body->contains("toml") || !(*body)["toml"].is_string()) {
        return sendError(res, invalidArgument("toml", "a string with the TOML text is required"));
      }
      auto out = service.publishConfig((*body)["toml"].get<std::string>(), actorOf(*who));
      if (!out) return sendError(res, out.error());
      sendJson(res, {{"version", *out}});
    });

    // Members' personal data: GET /api/v1/members/{id} (masked, audited), export, erase, audit.
    registerPrivacyRoutes(s, {service,
                              [this](const httplib::Request& req, httplib::Response& res, std::initializer_list<Role> roles) {
                                return require(req, res, roles);
                              }});

    // Every report, the protocol's summary/sales/abc included, is served by the analytics
    // routes (Reports, one parameter parser for all of them): supersets of the spec's shapes.
    registerAnalyticsRoutes(s, service, throttle, passwords, [this](const httplib::Request& req) { guard.handlerStarted(req); });

    // Fleet updates: a terminal's release and its download; terminals and releases for admins.
    registerFleetRoutes(s, fleet, [this](const httplib::Request& req, httplib::Response& res, std::initializer_list<Role> roles) {
      return require(req, res, roles);
    });

    // Before any body is read: framing and size of the body, connections being closed, and
    // addresses locked out for failed credentials.
    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      requestStart = std::chrono::steady_clock::now();
      const bool streaming = streamingRoute(req);
      // httplib reads the bodies of these methods before a plain handler runs; others it never reads.
      const bool readFirst = !streaming && (req.method == "POST" || req.method == "PUT" || req.method == "PATCH" || req.method == "DELETE");
      const auto refuse = [&](const HttpProblem& p) {
        sendProblem(res, p);
        guard.closeAfterResponse(req);
        return httplib::Server::HandlerResponse::Handled;
      };
      if (!guard.headerRead(req, !readFirst)) return refuse({wire::problem::kBadRequest, 400, "this connection is being closed"});
      if (auto b = checkBody(req, streaming)) {
        return refuse({b->status == 413 ? wire::problem::kTooLarge : wire::problem::kBadRequest, b->status, b->detail});
      }
      if (req.path.find('\0') != std::string::npos) {  // decoded from %00: a route's id would reach SQL with it
        return refuse(problemFor(wire::refuseNulCharacters(nlohmann::json(req.path), "the path").error()));  // the JSON rule's words
      }
      if (auto nul = refuseNulParameters(req); !nul) return refuse(problemFor(nul.error()));  // the query's
      if (triesCredential(req)) {
        if (auto wait = throttle.lockedFor({Throttle::addressKey(req.remote_addr)}, nowSeconds())) {
          sendTooMany(res, *wait);
          if (hasBody(req)) guard.closeAfterResponse(req);
          return httplib::Server::HandlerResponse::Handled;
        }
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    s.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      addSecurityHeaders(res);
      if (guard.closesAfterResponse(req)) {
        res.headers.erase("Connection");
        res.set_header("Connection", "close");
      }
    });

    s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 404 && dashboardNotFound(req, res)) return;  // an HTML page in the reader's language
      if (res.status == 404) sendProblem(res, {wire::problem::kNotFound, 404, "no such resource: " + req.path});
      else if (res.status == 413) sendProblem(res, {wire::problem::kTooLarge, 413, "the request body is larger than 8 MiB"});
      else if (res.status == 405) sendProblem(res, {wire::problem::kBadRequest, 405, "method not allowed on " + req.path});
      else if (res.status >= 500) sendProblem(res, {wire::problem::kUnavailable, res.status, "internal error"});
      else sendProblem(res, {wire::problem::kBadRequest, res.status, "the request could not be read"});
    });
    s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown error";
      bool storage = false;
      bool unavailable = false;
      try {
        std::rethrow_exception(ep);
      } catch (const SqlUnavailable& e) {
        what = e.what();
        unavailable = true;
      } catch (const SqlError& e) {
        what = e.what();
        storage = e.isStorageFailure();
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      logging::log().error("request failed: {}", what);
      sendProblem(res, {wire::problem::kUnavailable, 503,
                        storage       ? "head office cannot write to its disk (full or failing); nothing of this request "
                                        "was stored; retry later"
                        : unavailable ? "head office's database is unavailable (stopped or restarting); retry later "
                                        "(events sent again are applied once)"
                                      : "head office could not complete the request; retry later"});
      res.set_header("Retry-After", "5");
    });
    // Runs once the response is written, outside httplib's exception handling: nothing may throw.
    s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      guard.responseWritten(req);
      if (res.status == 401 && triesCredential(req)) {
        try {
          throttle.failed({Throttle::addressKey(req.remote_addr)}, nowSeconds());
        } catch (const std::exception& e) {
          logging::log().error("cannot count a failed credential: {}", e.what());
        }
      }
      // Label by route, never by raw path: paths are the client's to choose.
      static const std::set<std::string> kRoutes = {
          "/healthz", "/metrics", "/api/v1/register", "/api/v1/events", "/api/v1/changes", "/api/v1/redemptions",
          "/api/v1/admin/members/merge", "/api/v1/admin/catalog", "/api/v1/admin/config", "/api/v1/reports/summary",
          "/api/v1/reports/sales", "/api/v1/reports/abc", "/api/v1/terminal/release", "/api/v1/admin/terminals",
          "/api/v1/admin/reservations", "/api/v1/admin/reservations/release"};
      std::string route = req.path.rfind("/api/v1/members/", 0) == 0       ? "/api/v1/members/{id}"
                          : req.path.rfind("/api/v1/redemptions/", 0) == 0 ? "/api/v1/redemptions/{id}"
                          : req.path.rfind("/api/v1/terminal/release/", 0) == 0 ? "/api/v1/terminal/release/{sha256}.deb"
                          : kRoutes.contains(req.path)                    ? req.path
                                                                          : "other";
      // A request refused before routing (unreadable headers) has no start: not timed.
      const auto start = std::exchange(requestStart, std::chrono::steady_clock::time_point{});
      std::lock_guard lock(metricsMutex);
      ++requests[{route, res.status}];
      if (start != std::chrono::steady_clock::time_point{}) {
        durations[route].add(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    });
  }

  std::string metrics() {
    std::ostringstream os;
    const StoreStats st = service.stats();
    const auto lanes = service.laneWaits();
    // Sums of seconds keep their milliseconds after days of uptime (the default shows 6 digits).
    os.precision(15);
    std::lock_guard lock(metricsMutex);
    os << "# HELP loyalty_hq_http_requests_total HTTP requests by route and status.\n"
          "# TYPE loyalty_hq_http_requests_total counter\n";
    for (const auto& [key, n] : requests) {
      os << "loyalty_hq_http_requests_total{route=\"" << key.first << "\",status=\"" << key.second << "\"} " << n << "\n";
    }
    os << "# HELP loyalty_hq_request_duration_seconds Requests by route, from their headers read to their answer written.\n"
          "# TYPE loyalty_hq_request_duration_seconds histogram\n";
    for (const auto& [route, d] : durations) d.write(os, "loyalty_hq_request_duration_seconds", "route=\"" + route + "\"");
    os << "# HELP loyalty_hq_lane_uses_total Times each of this instance's database lanes was taken.\n"
          "# TYPE loyalty_hq_lane_uses_total counter\n";
    for (const auto& [lane, w] : lanes) os << "loyalty_hq_lane_uses_total{lane=\"" << lane << "\"} " << w.uses << "\n";
    os << "# HELP loyalty_hq_lane_wait_seconds_total Time requests waited for a lane busy with another request.\n"
          "# TYPE loyalty_hq_lane_wait_seconds_total counter\n";
    for (const auto& [lane, w] : lanes) os << "loyalty_hq_lane_wait_seconds_total{lane=\"" << lane << "\"} " << w.waitedSeconds << "\n";
    os << "# HELP loyalty_hq_events_total Uploaded events by result since start.\n"
          "# TYPE loyalty_hq_events_total counter\n";
    for (const char* status : {"applied", "duplicate", "conflict", "rejected"}) {
      const auto it = eventResults.find(status);
      os << "loyalty_hq_events_total{status=\"" << status << "\"} " << (it == eventResults.end() ? 0 : it->second) << "\n";
    }
    os << "# HELP loyalty_hq_ingest_seconds Time spent applying upload batches.\n"
          "# TYPE loyalty_hq_ingest_seconds summary\n"
       << "loyalty_hq_ingest_seconds_sum " << ingestSeconds << "\n"
       << "loyalty_hq_ingest_seconds_count " << ingestBatches << "\n";
    const auto gauge = [&](const char* name, const char* help, std::int64_t v) {
      os << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n" << name << " " << v << "\n";
    };
    gauge("loyalty_hq_members", "Enrolled members known to head office.", st.members);
    gauge("loyalty_hq_stored_events", "Events stored.", st.events);
    gauge("loyalty_hq_unknown_events", "Stored events of types this head office does not know.", st.unknownEvents);
    gauge("loyalty_hq_event_conflicts", "Events kept for review (event id reused with other content).", st.conflicts);
    gauge("loyalty_hq_terminals", "Terminals known to head office.", st.terminals);
    gauge("loyalty_hq_overdrafts", "Redemptions that left a member in points debt.", st.overdrafts);
    gauge("loyalty_hq_rejected_events", "Events refused for good and kept for review (wrong store, adjustments no terminal makes).",
          st.rejectedEvents);
    gauge("loyalty_hq_resident_memory_bytes", "Resident set size of the server process.", residentBytes());
    const ConnectionStats c = guard.stats();
    gauge("loyalty_hq_connections", "Open TLS connections.", c.open);
    gauge("loyalty_hq_worker_threads", "Threads serving connections (started on demand).", c.workers);
    const auto counter = [&](const char* name, const char* help, std::int64_t v) {
      os << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n" << name << " " << v << "\n";
    };
    counter("loyalty_hq_connections_closed_by_deadline_total", "Connections closed for sending their request too slowly.",
            c.closedByDeadline);
    counter("loyalty_hq_connections_refused_over_cap_total", "Connections closed at once: their address had too many open.",
            c.refusedOverCap);
    counter("loyalty_hq_password_verifications_total", "Dashboard passwords verified (unknown users against a dummy hash).",
            passwords.verifications());
    gauge("loyalty_hq_leader", "1 while this instance leads the background work (report refresh, outreach sending).",
          leading() ? 1 : 0);
    if (leadership) {
      // Label values are quoted: a name read from the database must not break the format.
      const auto label = [](std::string v) {
        std::erase_if(v, [](char ch) { return ch == '"' || ch == '\\' || ch == '\n'; });
        return v;
      };
      counter("loyalty_hq_leadership_taken_total", "Times this instance took the lead since start.", leadership->taken());
      os << "# HELP loyalty_hq_leader_info The instances' names: this one and the leader as this one last saw it.\n"
            "# TYPE loyalty_hq_leader_info gauge\n"
         << "loyalty_hq_leader_info{instance=\"" << label(leadership->instance()) << "\",leader=\""
         << label(leadership->leader().value_or("")) << "\"} 1\n";
    }
    counter("loyalty_hq_report_refresh_rounds_total", "Rounds of the report refresher run by this instance as the leader.",
            service.reportRefreshRounds());
    gauge("loyalty_hq_uptime_seconds", "Seconds since the server started.",
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count());
    return os.str();
  }
};

HqServer::HqServer(const DataDir& dir, const Settings& settings) : m_impl(std::make_unique<Impl>(dir, settings)) {
  const std::string cert = dir.serverCert().string();
  const std::string key = dir.serverKey().string();
  ConnectionGuard* guard = &m_impl->guard;
  m_impl->http = std::make_unique<HttpsServer>([cert, key, guard](SSL_CTX& ctx) {
    return configureServerTls(ctx) && SSL_CTX_use_certificate_chain_file(&ctx, cert.c_str()) == 1 &&
           SSL_CTX_use_PrivateKey_file(&ctx, key.c_str(), SSL_FILETYPE_PEM) == 1 && SSL_CTX_check_private_key(&ctx) == 1 &&
           guard->attach(ctx);
  });
  if (!m_impl->http->is_valid()) {
    throw std::runtime_error("cannot load the TLS certificate and key (" + cert + ", " + key + ")");
  }
  // Idle and slow connections hold a thread of their own until their deadline, not a shared one.
  m_impl->http->new_task_queue = [guard] { return guard->newTaskQueue(); };
  m_impl->http->set_payload_max_length(wire::kMaxBodyBytes);
  m_impl->http->set_keep_alive_max_count(1000);
  // Answers are small: without this, Nagle + delayed ACK add ~40 ms to every exchange.
  m_impl->http->set_tcp_nodelay(true);
  m_impl->http->set_read_timeout(std::chrono::seconds(30));
  m_impl->routes();
  // After routes(): the schema upgrades it makes come before the first background report.
  Impl* impl = m_impl.get();
  m_impl->leadership = std::make_unique<Leadership>(
      openStorage(dir, settings, "loyalty-hq leadership"),
      Leadership::Options{std::chrono::seconds(settings.serverLeaderCheckSeconds), instanceName()}, [impl](bool leading) {
        if (leading) impl->service.wakeReportRefresher();  // the new leader refreshes at once
      });
  m_impl->service.startReportRefresher(openStorageForReports(dir, settings, "loyalty-hq refresher"), [impl] { return impl->leading(); },
                                       openReportsStorage(settings, "loyalty-hq refresher"));
  m_impl->outreach = std::make_unique<OutreachJob>(openStorage(dir, settings, "loyalty-hq outreach"), [impl] { return impl->leading(); });
}

HqServer::~HqServer() = default;

int HqServer::bind(const std::string& host, int port) {
  if (port == 0) {
    const int p = m_impl->http->bind_to_any_port(host);
    if (p <= 0) throw std::runtime_error("cannot listen on " + host + " (any port)");
    m_impl->http->widenBacklog();
    return p;
  }
  if (!m_impl->http->bind_to_port(host, port)) throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port));
  m_impl->http->widenBacklog();
  return port;
}

void HqServer::run() {
  {
    std::lock_guard lock(m_impl->runMutex);
    if (m_impl->stopRequested) return;
    m_impl->runStarted = true;
  }
  m_impl->http->listen_after_bind();
  m_impl->runEnded = true;
}

void HqServer::stop() {
  {
    std::lock_guard lock(m_impl->runMutex);
    m_impl->stopRequested = true;
    if (!m_impl->runStarted) return;  // run() will see the request and not listen
  }
  // run() has begun: wait for its loop to be running (a few instructions away), then stop it.
  while (!m_impl->http->is_running() && !m_impl->runEnded) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  m_impl->http->stop();
}

}  // namespace loyalty::hq
