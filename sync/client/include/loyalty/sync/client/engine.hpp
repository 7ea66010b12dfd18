#pragma once
/// @brief The sync round: upload the outbox in acknowledged batches, pull the change feed page
/// by page. The terminal's storage is reached only through the two interfaces below.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/sync/client/https_client.hpp"
#include "loyalty/sync/protocol.hpp"

namespace loyalty::sync {

/// The terminal's outbox as the upload engine sees it. Rows are never deleted: HQ's
/// `acked_through` moves a watermark, nothing else.
class OutboxSource {
 public:
  virtual ~OutboxSource() = default;
  virtual std::string terminalId() = 0;
  virtual std::int64_t ackedThrough() = 0;
  /// Up to `limit` events with seq > `afterSeq`, in seq order.
  virtual std::vector<EventEnvelope> eventsAfter(std::int64_t afterSeq, std::size_t limit) = 0;
  /// Stores HQ's acknowledgement (durably, before returning).
  virtual void setAckedThrough(std::int64_t seq) = 0;
  /// HQ's answer to a batch that moved the watermark: stores it as setAckedThrough does, and
  /// hears the batch's per-event results (an event acknowledged as `rejected` was refused for
  /// good). The default only stores the watermark.
  virtual void acknowledge(std::int64_t seq, const std::vector<EventResult>& results) {
    (void)results;
    setAckedThrough(seq);
  }
  /// How far this terminal's clock is ahead of head office's (negative: behind), by head
  /// office's latest answer; heard before that answer's acknowledgement and after each round.
  /// The default ignores it.
  virtual void noteClockAhead(std::chrono::seconds ahead) { (void)ahead; }
  /// Events above the watermark.
  virtual std::int64_t pendingCount() = 0;
};

/// Where pulled changes go.
class ChangeSink {
 public:
  virtual ~ChangeSink() = default;
  /// The cursor stored with the last applied page ("" before the first).
  virtual std::string cursor() = 0;
  /// Applies every change of the page and stores `page.nextCursor` in ONE transaction: after a
  /// crash either the page and its cursor are both there or neither is.
  virtual void applyPage(const ChangePage& page) = 0;
};

struct UploadOptions {
  std::size_t batchSize = 500;  ///< events per request (HQ takes at most kMaxEventsPerBatch)
  bool gzip = true;
};

struct UploadReport {
  std::int64_t uploaded = 0;    ///< events HQ newly acknowledged in this call
  std::int64_t duplicates = 0;  ///< of those, events HQ already had (a lost response before)
  std::int64_t requests = 0;
};

/// Sends everything above the watermark until HQ has acknowledged all of it, or fails.
/// The watermark moves only to HQ's `acked_through`.
Result<UploadReport, Failure> uploadPending(HttpsClient& client, OutboxSource& outbox,
                                            const UploadOptions& options = {});

struct PullReport {
  std::int64_t changes = 0;
  std::int64_t pages = 0;
};

/// Fetches pages from the stored cursor until `has_more` is false, applying each as it comes.
Result<PullReport, Failure> pullChanges(HttpsClient& client, ChangeSink& sink,
                                        int pageLimit = kDefaultChangeLimit);

/// One full round (what `sync --once` does and what the background engine repeats).
struct RoundReport {
  UploadReport upload;
  PullReport pull;
  std::optional<Failure> uploadFailure;
  std::optional<Failure> pullFailure;
  std::int64_t pending = 0;
  bool ok() const { return !uploadFailure && !pullFailure; }
  /// The first failure, if any.
  const Failure* failure() const;
};

/// Uploads, then pulls (the pull runs even if the upload failed, so the terminal still learns
/// balances and the catalogue while one of its events is held up).
/// `afterUpload`, if given, hears about a successful upload before the pull starts.
RoundReport syncRound(HttpsClient& client, OutboxSource& outbox, ChangeSink& sink,
                      const UploadOptions& upload = {}, int pageLimit = kDefaultChangeLimit,
                      const std::function<void(const UploadReport&)>& afterUpload = {});

/// Exchanges a one-time registration code for this terminal's identity and token.
/// `endpoint.token` is not sent.
Result<RegisterResponse, Failure> registerTerminal(const HqEndpoint& endpoint, const std::string& code,
                                                   Timeouts timeouts = {});

/// POST /api/v1/redemptions. A 409 insufficient_points comes back as a kRefused Failure with
/// that problemCode.
Result<RedemptionResponse, Failure> reserveRedemption(HttpsClient& client, const RedemptionRequest& request);

/// DELETE /api/v1/redemptions/{redemption_id}: gives back a reservation this terminal made and
/// will not use (idempotent: nothing held is released too). `afterSeq`: the attempt's, so that a
/// late release leaves a later attempt's reservation alone.
Result<nlohmann::json, Failure> releaseRedemption(HttpsClient& client, const std::string& redemptionId,
                                                  std::optional<std::int64_t> afterSeq = std::nullopt);

}  // namespace loyalty::sync
