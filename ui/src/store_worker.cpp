#include "loyalty/ui/store_worker.hpp"

#include <algorithm>
#include <exception>

#include "loyalty/terminal/store.hpp"

namespace loyalty::ui {

namespace {

using terminal::CounterService;

/// Catalogue and day figures are reads the Counter service has no call for yet; they run here,
/// on the worker's connection, in one read snapshot each.
std::vector<Reward> readCatalog(db::Database& db) {
  const db::ReadTransaction snapshot(db);
  auto& st = db.prepare("SELECT reward_id, name, points FROM rewards WHERE active = 1 ORDER BY points, reward_id");
  std::vector<Reward> out;
  while (st.step()) out.push_back({st.getText(0), st.getText(1), st.getInt(2)});
  st.reset();
  return out;
}

std::int64_t scalar(db::Database& db, const char* sql, const std::string& from, const std::string& to) {
  auto& st = db.prepare(sql);
  st.bind(1, from).bind(2, to);
  st.step();
  const std::int64_t v = st.isNull(0) ? 0 : st.getInt(0);
  st.reset();
  return v;
}

DayFigures readDay(db::Database& db, Timestamp fromAt, Timestamp toAt) {
  const db::ReadTransaction snapshot(db);
  const std::string from = formatRfc3339(fromAt), to = formatRfc3339(toAt);
  DayFigures d;
  auto& st = db.prepare(
      "SELECT COUNT(*), COUNT(member_id), COALESCE(SUM(total), 0), COALESCE(SUM(points_earned), 0), "
      "COALESCE(SUM(points_redeemed), 0) FROM sales WHERE at >= ? AND at < ?");
  st.bind(1, from).bind(2, to);
  st.step();
  d.sales = st.getInt(0);
  d.memberSales = st.getInt(1);
  d.total = Money::fromMinor(st.getInt(2));
  d.pointsEarned = st.getInt(3);
  d.pointsRedeemed = st.getInt(4);
  st.reset();
  d.pointsRedeemed += scalar(db, "SELECT SUM(points) FROM redemptions WHERE at >= ? AND at < ?", from, to);
  d.refunds = scalar(db, "SELECT COUNT(*) FROM refunds WHERE at >= ? AND at < ?", from, to);
  d.refunded = Money::fromMinor(scalar(db, "SELECT SUM(amount) FROM refunds WHERE at >= ? AND at < ?", from, to));
  d.enrolments = scalar(db, "SELECT COUNT(*) FROM members WHERE enrolled_at >= ? AND enrolled_at < ?", from, to);
  d.complaints = scalar(db, "SELECT COUNT(*) FROM complaints WHERE at >= ? AND at < ?", from, to);
  auto& sv = db.prepare("SELECT COUNT(*), COUNT(CASE WHEN scale = 'csat5' THEN 1 END), "
                        "COALESCE(SUM(CASE WHEN scale = 'csat5' THEN score END), 0) FROM surveys "
                        "WHERE at >= ? AND at < ?");
  sv.bind(1, from).bind(2, to);
  sv.step();
  d.surveys = sv.getInt(0);
  const std::int64_t csat = sv.getInt(1);
  d.surveyAverage = csat > 0 ? static_cast<double>(sv.getInt(2)) / static_cast<double>(csat) : 0.0;
  sv.reset();
  return d;
}

reply::Status status(StoreBackend& backend, bool full) {
  reply::Status s{terminal::outboxPending(backend.database()), std::nullopt};
  if (full) s.stats = backend.counter().stats();
  return s;
}

reply::Member memberReply(CounterService& counter, const std::string& memberId, Timestamp at) {
  reply::Member r{counter.member(memberId, at), {}};
  if (r.detail) {
    if (auto h = counter.history(memberId, 10)) r.history = std::move(*h);
  }
  return r;
}

Timestamp now() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

}  // namespace

Reply runCommand(StoreBackend& backend, Command command) {
  CounterService& counter = backend.counter();
  return std::visit(
      [&](auto& c) -> Reply {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, cmd::SignIn>) {
          return reply::SignedIn{terminal::signIn(backend.database(), c.staffId, c.pin)};
        } else if constexpr (std::is_same_v<C, cmd::Lookup>) {
          return reply::Lookup{c.seq, c.jumpIfOne, counter.lookup({c.query, 20})};
        } else if constexpr (std::is_same_v<C, cmd::Member>) {
          return memberReply(counter, c.memberId, now());
        } else if constexpr (std::is_same_v<C, cmd::Enroll>) {
          return reply::Enrolled{counter.enroll(c.request)};
        } else if constexpr (std::is_same_v<C, cmd::Sale>) {
          auto result = counter.sale(c.request);
          return reply::Sold{std::move(c.request), std::move(result)};
        } else if constexpr (std::is_same_v<C, cmd::Redeem>) {
          return reply::Redeemed{counter.redeem(c.request)};
        } else if constexpr (std::is_same_v<C, cmd::Refund>) {
          return reply::Refunded{counter.refund(c.request)};
        } else if constexpr (std::is_same_v<C, cmd::Survey>) {
          return reply::SurveyRecorded{backend.feedback().recordSurvey(c.answer)};
        } else if constexpr (std::is_same_v<C, cmd::Complaint>) {
          return reply::ComplaintFiled{backend.feedback().fileComplaint(c.complaint)};
        } else if constexpr (std::is_same_v<C, cmd::Catalog>) {
          return reply::Catalog{readCatalog(backend.database())};
        } else if constexpr (std::is_same_v<C, cmd::DaySummary>) {
          return reply::Day{readDay(backend.database(), c.from, c.to)};
        } else {
          return status(backend, c.full);
        }
      },
      command);
}

StoreWorker::StoreWorker(BackendFactory open, ReplySink sink)
    : m_open(std::move(open)), m_sink(std::move(sink)),
      m_thread([this](std::stop_token stop) { run(std::move(stop)); }) {}

StoreWorker::~StoreWorker() {
  m_thread.request_stop();
  m_wake.notify_all();
}

void StoreWorker::submit(Command command) {
  {
    const std::lock_guard lock(m_mutex);
    m_queue.push_back(std::move(command));
  }
  m_wake.notify_one();
}

bool StoreWorker::next(std::stop_token& stop, Command& out) {
  std::unique_lock lock(m_mutex);
  for (;;) {
    if (!m_wake.wait(lock, stop, [&] { return !m_queue.empty(); })) return false;
    out = std::move(m_queue.front());
    m_queue.pop_front();
    const bool superseded =
        std::holds_alternative<cmd::Lookup>(out) &&
        std::any_of(m_queue.begin(), m_queue.end(),
                    [](const Command& c) { return std::holds_alternative<cmd::Lookup>(c); });
    if (!superseded) return true;
  }
}

void StoreWorker::run(std::stop_token stop) {
  std::unique_ptr<StoreBackend> backend;
  try {
    backend = m_open();
    m_sink(reply::StoreOpened{backend->info()});
    m_sink(status(*backend, false));
  } catch (const std::exception& e) {
    m_sink(reply::StoreOpened{Error{errc::kInternal, "data", e.what()}});
    return;
  } catch (...) {
    m_sink(reply::StoreOpened{Error{errc::kInternal, "data", "the store could not be opened"}});
    return;
  }
  Command command;
  while (next(stop, command)) {
    try {
      // An operation that changed a member's points refreshes the member panel and status bar.
      std::optional<std::string> touched;
      if (auto* sale = std::get_if<cmd::Sale>(&command)) touched = sale->request.member;
      if (auto* redeem = std::get_if<cmd::Redeem>(&command)) touched = redeem->request.member;
      const bool changes = !std::holds_alternative<cmd::Lookup>(command) &&
                           !std::holds_alternative<cmd::Member>(command) &&
                           !std::holds_alternative<cmd::Catalog>(command) &&
                           !std::holds_alternative<cmd::Status>(command);
      m_sink(runCommand(*backend, std::move(command)));
      if (touched) m_sink(memberReply(backend->counter(), *touched, now()));
      if (changes) m_sink(status(*backend, false));
    } catch (const std::exception& e) {
      m_sink(reply::Failed{e.what()});
    }
  }
}

void MainQueue::post(Reply r) {
  {
    const std::lock_guard lock(m_mutex);
    m_items.push_back(std::move(r));
  }
  if (m_wake) m_wake();
}

std::deque<Reply> MainQueue::drain() {
  const std::lock_guard lock(m_mutex);
  return std::exchange(m_items, {});
}

}  // namespace loyalty::ui
