// Fault tests on real processes over loopback: SIGKILL during uploads, lost, duplicated and
// re-ordered batches, SIGTERM, and TLS refusals. Totals at HQ must equal the terminal's sales.
#include <atomic>
#include <random>

#include "loyalty/hq/crypto.hpp"
#include "loyalty/hq/settings.hpp"
#include "loyalty/sysio/files.hpp"
#include "support/hq_fixture.hpp"

using namespace loyalty::test;
using nlohmann::json;

#define HQ_BACKENDS SqliteBackend, PostgresBackend

namespace {

/// A terminal's outbox: events with contiguous seqs, deleted only once acknowledged.
struct SimulatedTerminal {
  std::string id, store, token;
  std::vector<json> outbox;  ///< index i holds seq i + 1
  std::int64_t acked = 0;
  std::int64_t expectedMinor = 0;
  std::int64_t expectedPoints = 0;
  std::int64_t lostResponses = 0, failedRequests = 0, reordered = 0, duplicated = 0;

  void makeSales(int n) {
    outbox.push_back(enrolEvent(id, store, 1, id + "-M"));
    for (int i = 0; i < n; ++i) {
      const std::int64_t seq = static_cast<std::int64_t>(outbox.size()) + 1;
      const std::int64_t minor = 100 + (i * 37) % 5000;
      const std::string total = loyalty::Money::fromMinor(minor).toString();
      outbox.push_back(saleEvent(id, store, seq, id + "-M", total, minor / 100));
      expectedMinor += minor;
      expectedPoints += minor / 100;
    }
  }

  /// Uploads until everything is acknowledged, through HQ restarts. Misbehaves on purpose:
  /// drops responses, sends batches twice and out of order.
  void syncAll(const std::function<std::unique_ptr<httplib::SSLClient>()>& connect, std::mt19937& rng) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
    while (acked < static_cast<std::int64_t>(outbox.size())) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      json events = json::array();
      for (std::int64_t s = acked; s < static_cast<std::int64_t>(outbox.size()) && events.size() < 200; ++s) {
        events.push_back(outbox[static_cast<std::size_t>(s)]);
      }
      if (rng() % 4 == 0) {
        std::shuffle(events.begin(), events.end(), rng);
        ++reordered;
      }
      const std::string body = batch(id, events).dump();
      auto client = connect();
      const int sends = rng() % 5 == 0 ? 2 : 1;
      duplicated += sends - 1;
      auto res = client->Post("/api/v1/events", bearer(token), body, "application/json");
      if (sends == 2 && res) res = client->Post("/api/v1/events", bearer(token), body, "application/json");
      if (!res || res->status != 200) {
        ++failedRequests;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      if (rng() % 5 == 0) {
        ++lostResponses;  // as if the connection dropped before the answer arrived
        continue;
      }
      const json r = json::parse(res->body);
      for (const auto& e : r.at("results")) REQUIRE(e.at("status") != "conflict");
      acked = std::max(acked, r.at("acked_through").get<std::int64_t>());
    }
  }
};

}  // namespace

TEMPLATE_TEST_CASE("SIGKILL during uploads, lost, duplicated and re-ordered batches: exactly once", "[hq][slow]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  hq.start();
  SimulatedTerminal a;
  a.id = "TA";
  a.store = "S1";
  a.token = hq.registerTerminal("S1", "TA");
  SimulatedTerminal b;
  b.id = "TB";
  b.store = "S2";
  b.token = hq.registerTerminal("S2", "TB");
  a.makeSales(1500);
  b.makeSales(1000);

  std::atomic<bool> done{false};
  std::atomic<int> kills{0};
  std::atomic<int> port{hq.port()};
  const auto connect = [&] {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", port.load());
    c->set_ca_cert_path(hq.caFile().c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(std::chrono::seconds(2));
    c->set_read_timeout(std::chrono::seconds(30));
    return c;
  };
  std::thread killer([&] {
    std::mt19937 rng(7);
    while (!done && kills < 4) {
      std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 300));
      if (done) break;
      hq.stop();  // SIGKILL, wherever the server is
      ++kills;
      hq.start();
      port = hq.port();
    }
  });
  std::thread tb([&] {
    std::mt19937 rng(2);
    b.syncAll(connect, rng);
  });
  std::mt19937 rng(1);
  a.syncAll(connect, rng);
  tb.join();
  done = true;
  killer.join();
  INFO("kills " << kills << ", failed requests " << a.failedRequests + b.failedRequests << ", lost responses "
                << a.lostResponses + b.lostResponses << ", re-ordered " << a.reordered + b.reordered);
  CHECK(kills >= 1);

  const json summary = getJsonChecked(hq, "/api/v1/reports/summary");
  CHECK(summary.at("sales") == 2500);
  CHECK(summary.at("net_revenue") == loyalty::Money::fromMinor(a.expectedMinor + b.expectedMinor).toString());
  auto sql = hq.sql();
  CHECK(sql->query("SELECT COUNT(*) FROM events").integer(0, 0) == 2502);
  CHECK(sql->query("SELECT COUNT(*) FROM event_conflicts").integer(0, 0) == 0);
  CHECK(sql->query("SELECT balance FROM members WHERE member_id = 'TA-M'").integer(0, 0) == a.expectedPoints);
  CHECK(sql->query("SELECT COALESCE(SUM(points), 0) FROM ledger WHERE member_id = 'TB-M'").integer(0, 0) == b.expectedPoints);
  CHECK(sql->query("SELECT applied_through FROM terminals WHERE terminal_id = 'TA'").integer(0, 0) == 1501);
}

TEMPLATE_TEST_CASE("SIGTERM stops the server gracefully, finishing the request in flight", "[hq]", HQ_BACKENDS) {
  HqInstance hq(TestType::kName);
  hq.start();
  const std::string tok = hq.registerTerminal("S1", "T1");
  json events = json::array();
  events.push_back(enrolEvent("T1", "S1", 1, "M1"));
  for (int i = 2; i <= 1000; ++i) events.push_back(saleEvent("T1", "S1", i, "M1", "1.00", 1));
  int status = 0;
  std::thread upload([&] {
    auto res = hq.client()->Post("/api/v1/events", bearer(tok), batch("T1", events).dump(), "application/json");
    status = res ? res->status : -1;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(hq.terminate() == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
  upload.join();
  auto sql = hq.sql();
  const std::int64_t applied = sql->query("SELECT applied_through FROM terminals WHERE terminal_id = 'T1'").integer(0, 0);
  // Never half a batch: either it was answered and is all there, or it was refused and none is.
  if (status == 200) CHECK(applied == 1000);
  else CHECK(applied == 0);
  CHECK(sql->query("SELECT COUNT(*) FROM events").integer(0, 0) == applied);
  hq.start();
  CHECK(getJsonChecked(hq, "/healthz").at("status") == "ok");
}

TEST_CASE("TLS: the client refuses a wrong CA, a wrong host name and an expired certificate", "[hq]") {
  HqInstance hq("sqlite", {"--host", "hq.example.internal,127.0.0.1"});
  hq.start();
  const std::string tok = hq.registerTerminal("S1", "T1");
  const auto postEnrol = [&](httplib::SSLClient& c) {
    return c.Post("/api/v1/events", bearer(tok), batch("T1", {enrolEvent("T1", "S1", 1, "M1")}).dump(), "application/json");
  };

  // A CA the terminal was not registered with.
  TempDir other;
  const auto otherCa = loyalty::hq::makeCertificateAuthority("someone else", 30);
  loyalty::sysio::writeFileAtomic(other.path() / "ca.pem", otherCa.certPem);
  {
    httplib::SSLClient c("127.0.0.1", hq.port());
    c.set_ca_cert_path((other.path() / "ca.pem").c_str());
    c.enable_server_certificate_verification(true);
    auto r = postEnrol(c);
    CHECK_FALSE(r);
    CHECK(r.error() == httplib::Error::SSLServerVerification);
  }
  // A name the certificate does not carry.
  {
    auto c = hq.client("localhost");
    auto r = postEnrol(*c);
    CHECK_FALSE(r);
    CHECK(r.error() == httplib::Error::SSLServerVerification);
  }
  // The names it carries work.
  CHECK(postEnrol(*hq.client("127.0.0.1"))->status == 200);

  // The pin init prints is the server key's, as openssl computes it.
  const auto pin = runCommand({"/bin/sh", "-c", "openssl x509 -in '" + hq.dataDir() + "/tls/server.pem' -pubkey -noout | "
                                "openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64"});
  REQUIRE(pin.first == 0);
  CHECK(hq.initOutput().find("server pin:  sha256//" + pin.second.substr(0, pin.second.size() - 1)) != std::string::npos);

  // An expired server certificate from the right CA.
  hq.stop();
  const loyalty::hq::DataDir dir{hq.dataDir()};
  std::ifstream keyIn(dir.caKey()), certIn(dir.caCert());
  const std::string caKey((std::istreambuf_iterator<char>(keyIn)), {}), caCert((std::istreambuf_iterator<char>(certIn)), {});
  const auto now = std::chrono::system_clock::now();
  const auto expired = loyalty::hq::issueServerCertificate({caKey, caCert}, {"127.0.0.1"}, now - std::chrono::hours(48),
                                                           now - std::chrono::hours(24));
  loyalty::sysio::writeFileAtomic(dir.serverKey(), expired.keyPem);
  loyalty::sysio::writeFileAtomic(dir.serverCert(), expired.certPem);
  hq.start();
  auto r = postEnrol(*hq.client());
  CHECK_FALSE(r);
  CHECK(r.error() == httplib::Error::SSLServerVerification);
  // Nothing was applied by any refused connection.
  CHECK(hq.sql()->query("SELECT COUNT(*) FROM events").integer(0, 0) == 1);
}
