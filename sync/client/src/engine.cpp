#include "loyalty/sync/client/engine.hpp"

#include <algorithm>

#include "loyalty/sync/codec.hpp"

namespace loyalty::sync {

namespace {

Failure badResponse(const std::string& what, const Error& e) {
  return {FailureKind::kBadResponse, 200, "", std::nullopt,
          "head office's answer to " + what + " is not valid: " + (e.field.empty() ? "" : e.field + ": ") +
              e.message};
}

/// The request body for a batch, shrunk until it fits HQ's decompressed size limit.
std::string encodeBatch(const std::string& terminalId, std::vector<EventEnvelope>& events) {
  for (;;) {
    UploadRequest request{terminalId, events};
    std::string body = dumpJson(toJson(request));
    if (body.size() <= kMaxBodyBytes || events.size() <= 1) return body;
    events.resize(events.size() / 2);
  }
}

/// Why HQ stopped acknowledging at `seq`, from the per-event results of the batch.
Failure notAcknowledged(const std::vector<EventEnvelope>& sent, const UploadResponse& response,
                        std::int64_t seq) {
  const auto ev =
      std::find_if(sent.begin(), sent.end(), [&](const EventEnvelope& e) { return e.seq == seq; });
  std::string statusText = "no result", reason;
  if (ev != sent.end()) {
    const auto res = std::find_if(response.results.begin(), response.results.end(),
                                  [&](const EventResult& r) { return r.eventId == ev->eventId; });
    if (res != response.results.end()) {
      statusText = toString(res->status);
      reason = res->reason.value_or("");
    }
  }
  Failure f{FailureKind::kRefused, 200, statusText, std::nullopt, ""};
  f.message = "head office did not accept event seq " + std::to_string(seq) +
              (ev != sent.end() ? " (" + ev->type + " " + ev->eventId + ")" : "") + ": " + statusText +
              (reason.empty() ? "" : " (" + reason + ")") + "; it stays in the outbox";
  return f;
}

}  // namespace

const Failure* RoundReport::failure() const {
  if (uploadFailure) return &*uploadFailure;
  if (pullFailure) return &*pullFailure;
  return nullptr;
}

Result<UploadReport, Failure> uploadPending(HttpsClient& client, OutboxSource& outbox,
                                            const UploadOptions& options) {
  UploadReport report;
  const std::string terminalId = outbox.terminalId();
  std::size_t batchSize = std::clamp<std::size_t>(options.batchSize, 1, kMaxEventsPerBatch);
  std::int64_t acked = outbox.ackedThrough();
  int stalled = 0;
  for (;;) {
    std::vector<EventEnvelope> events = outbox.eventsAfter(acked, batchSize);
    if (events.empty()) return report;
    const std::string body = encodeBatch(terminalId, events);
    ++report.requests;
    auto answer = client.post("/api/v1/events", body, options.gzip);
    if (answer && answer->status == 413 && events.size() > 1) {
      batchSize = std::max<std::size_t>(events.size() / 2, 1);  // HQ's limit is lower than ours
      continue;
    }
    auto json = client.asJson("POST", "/api/v1/events", std::move(answer));
    if (!json) return json.error();
    auto decoded = decodeUploadResponse(json.value());
    if (!decoded) return badResponse("POST /api/v1/events", decoded.error());
    const UploadResponse& response = decoded.value();
    const std::int64_t lastSent = events.back().seq;
    // HQ cannot hold seqs this terminal never sent; never move the watermark past them.
    const std::int64_t newAcked = std::min(response.ackedThrough, lastSent);
    for (const EventResult& r : response.results) {
      if (r.status == EventStatus::kDuplicate) ++report.duplicates;
    }
    if (newAcked != acked) {
      if (const auto ahead = client.clockAhead()) outbox.noteClockAhead(*ahead);
      outbox.acknowledge(newAcked, response.results);
      if (newAcked > acked) report.uploaded += newAcked - acked;
    }
    if (newAcked > acked) {
      stalled = 0;
    } else if (++stalled >= 3 || newAcked == acked) {
      return notAcknowledged(events, response, acked + 1);
    }
    acked = newAcked;
  }
}

Result<PullReport, Failure> pullChanges(HttpsClient& client, ChangeSink& sink, int pageLimit) {
  PullReport report;
  const int limit = std::clamp(pageLimit, 1, kMaxChangeLimit);
  std::string cursor = sink.cursor();
  for (;;) {
    std::string path = "/api/v1/changes?limit=" + std::to_string(limit);
    if (!cursor.empty()) path += "&cursor=" + client.escape(cursor);
    auto json = client.getJson(path);
    if (!json) return json.error();
    auto page = decodeChangePage(json.value());
    if (!page) return badResponse("GET /api/v1/changes", page.error());
    if (page->hasMore && page->nextCursor == cursor) {
      return Failure{FailureKind::kBadResponse, 200, "", std::nullopt,
                     "head office's change feed did not advance past cursor \"" + cursor + "\""};
    }
    try {
      sink.applyPage(page.value());
    } catch (const std::exception& e) {
      return Failure{FailureKind::kLocal, 0, "", std::nullopt,
                     "cannot store changes from head office (cursor \"" + cursor + "\"): " + e.what()};
    }
    report.changes += static_cast<std::int64_t>(page->changes.size());
    ++report.pages;
    cursor = page->nextCursor;
    if (!page->hasMore) return report;
  }
}

RoundReport syncRound(HttpsClient& client, OutboxSource& outbox, ChangeSink& sink,
                      const UploadOptions& upload, int pageLimit,
                      const std::function<void(const UploadReport&)>& afterUpload) {
  RoundReport round;
  auto up = uploadPending(client, outbox, upload);
  if (up) {
    round.upload = up.value();
    if (afterUpload) afterUpload(round.upload);
  } else {
    round.uploadFailure = up.error();
  }
  // A TLS or credential failure would only repeat itself on the pull.
  const bool sameFailureAgain = round.uploadFailure && (round.uploadFailure->kind == FailureKind::kTls ||
                                                        round.uploadFailure->kind == FailureKind::kLocal ||
                                                        round.uploadFailure->httpStatus == 401);
  if (!sameFailureAgain) {
    auto pull = pullChanges(client, sink, pageLimit);
    if (pull) {
      round.pull = pull.value();
    } else {
      round.pullFailure = pull.error();
    }
  }
  if (const auto ahead = client.clockAhead()) outbox.noteClockAhead(*ahead);
  round.pending = outbox.pendingCount();
  return round;
}

Result<RegisterResponse, Failure> registerTerminal(const HqEndpoint& endpoint, const std::string& code,
                                                   Timeouts timeouts) {
  HqEndpoint anonymous = endpoint;
  anonymous.token.reset();
  HttpsClient client(anonymous, timeouts);
  auto json = client.postJson("/api/v1/register", toJson(RegisterRequest{code}), false);
  if (!json) return json.error();
  auto decoded = decodeRegisterResponse(json.value());
  if (!decoded) return badResponse("POST /api/v1/register", decoded.error());
  return decoded.value();
}

Result<RedemptionResponse, Failure> reserveRedemption(HttpsClient& client, const RedemptionRequest& request) {
  auto json = client.postJson("/api/v1/redemptions", toJson(request), false);
  if (!json) return json.error();
  auto decoded = decodeRedemptionResponse(json.value());
  if (!decoded) return badResponse("POST /api/v1/redemptions", decoded.error());
  return decoded.value();
}

Result<nlohmann::json, Failure> releaseRedemption(HttpsClient& client, const std::string& redemptionId,
                                                  std::optional<std::int64_t> afterSeq) {
  const std::string path = "/api/v1/redemptions/" + client.escape(redemptionId);
  const std::string query = afterSeq ? "?after_seq=" + std::to_string(*afterSeq) : "";
  return client.asJson("DELETE", path, client.del(path + query));
}

}  // namespace loyalty::sync
