#include "loyalty/ui/store_worker.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <utility>

#include "loyalty/core/promotions.hpp"
#include "loyalty/core/time.hpp"
#include "loyalty/terminal/store.hpp"

namespace loyalty::ui {

namespace {

using terminal::CounterService;

/// Members per slice of the names read at start (cmd::NameCharacters): a few milliseconds, so a
/// lookup typed meanwhile waits no longer than that.
constexpr std::int64_t kNameSlice = 20'000;

reply::Status status(StoreBackend& backend, bool full) {
  reply::Status s{terminal::outboxPending(backend.database()), std::nullopt};
  if (full) s.stats = backend.counter().stats();
  return s;
}

/// "2026-12-02 09:50": an instant as the store's clock on the wall shows it (its zone).
std::string storeTime(const std::string& rfc3339, const ZoneRules& zone) {
  const auto t = parseRfc3339(rfc3339, "at");
  if (!t) return rfc3339;
  std::string local = formatRfc3339(*t + std::chrono::seconds(zone.offsetAt(*t))).substr(0, 16);
  if (local.size() > 10 && local[10] == 'T') local[10] = ' ';
  return local;
}

reply::Member memberReply(CounterService& counter, const std::string& memberId, Timestamp at) {
  reply::Member r{counter.member(memberId, at), {}};
  if (r.detail) {
    if (auto h = counter.history(memberId, 10)) r.history = std::move(*h);
    for (auto& entry : r.history) entry.at = storeTime(entry.at, counter.config().zone);
  }
  return r;
}

/// The catalogue product whose barcode or sku is exactly `code` (the search lists those first).
std::optional<Product> scannedProduct(CounterService& counter, const std::string& code) {
  auto found = counter.products(code, 1);
  if (!found || found->empty()) return std::nullopt;
  const Product& p = found->front();
  if (p.sku != code && p.barcode != code) return std::nullopt;
  return p;
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
        } else if constexpr (std::is_same_v<C, cmd::NameCharacters>) {
          return reply::NameCharacters{backend.queries().nameCharacters(c.afterRowid, kNameSlice)};
        } else if constexpr (std::is_same_v<C, cmd::Catalog>) {
          return reply::Catalog{backend.queries().catalogue()};
        } else if constexpr (std::is_same_v<C, cmd::QuoteSale>) {
          return reply::SaleQuoted{c.seq, counter.quoteSale(c.request)};
        } else if constexpr (std::is_same_v<C, cmd::Products>) {
          return reply::Products{c.seq, counter.products(c.query, 12)};
        } else if constexpr (std::is_same_v<C, cmd::ScanProduct>) {
          return reply::ProductScanned{c.code, scannedProduct(counter, c.code)};
        } else if constexpr (std::is_same_v<C, cmd::Promotions>) {
          const Date day = counter.config().zone.localDate(c.at);
          return reply::Promotions{day, promotionsRunningOn(day, counter.config().rules)};
        } else if constexpr (std::is_same_v<C, cmd::DaySummary>) {
          auto day = backend.queries().dayFigures(c.at);
          return reply::Day{day.day, day.figures};
        } else if constexpr (std::is_same_v<C, cmd::UpdateMember>) {
          return reply::MemberUpdated{c.request.phone.value_or(""), counter.updateMember(c.request)};
        } else if constexpr (std::is_same_v<C, cmd::Consent>) {
          return reply::ConsentRecorded{counter.consent(c.request)};
        } else if constexpr (std::is_same_v<C, cmd::ExportMember>) {
          auto data = counter.exportMember(c.memberId, c.staffId, c.at);
          if (data) {
            for (auto& d : data->consents) d.at = storeTime(d.at, counter.config().zone);
            for (auto& l : data->log) l.at = storeTime(l.at, counter.config().zone);
            if (data->member.lastVisitAt) data->member.lastVisitAt = storeTime(*data->member.lastVisitAt, counter.config().zone);
          }
          return reply::MemberExported{std::move(data)};
        } else if constexpr (std::is_same_v<C, cmd::ConsentHistory>) {
          auto consents = counter.consentHistory(c.memberId);
          if (consents) {
            for (auto& d : *consents) d.at = storeTime(d.at, counter.config().zone);
          }
          return reply::ConsentHistory{c.memberId, std::move(consents)};
        } else if constexpr (std::is_same_v<C, cmd::RefundPreview>) {
          return reply::RefundPreviewed{c.seq, counter.previewRefund(c.request)};
        } else if constexpr (std::is_same_v<C, cmd::Exchange>) {
          return reply::Exchanged{counter.exchange(c.request)};
        } else if constexpr (std::is_same_v<C, cmd::UnlockStaff>) {
          return reply::StaffUnlocked{c.staffId, terminal::unlockBySupervisor(backend.database(), c.staffId,
                                                                             c.supervisorPin)};
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
    m_queue.emplace_back(std::move(command));
  }
  m_wake.notify_one();
}

void StoreWorker::write(Job job) {
  std::future<void> done;
  {
    std::unique_lock lock(m_mutex);
    if (m_closed) throw terminal::WriterClosed();
    if (std::this_thread::get_id() == m_workerThread) {
      // Already the writer (e.g. a backend writing while it starts): run it here, in turn.
      lock.unlock();
      if (!m_backend) throw std::logic_error("a write before the store is open");
      job(m_backend->database(), m_backend->counter());
      return;
    }
    WriteJob item{std::move(job), {}};
    done = item.done.get_future();
    m_queue.emplace_back(std::move(item));
  }
  m_wake.notify_one();
  done.get();
}

bool StoreWorker::next(std::stop_token& stop, Item& out, const std::function<void()>& whenIdle) {
  // Lookups, sale quotes and product searches answer what is typed: a newer one of the same
  // kind in the queue makes an older one moot.
  const auto kindOf = [](const Item& i) -> std::optional<std::size_t> {
    const auto* c = std::get_if<Command>(&i);
    if (!c || !(std::holds_alternative<cmd::Lookup>(*c) || std::holds_alternative<cmd::QuoteSale>(*c) ||
                std::holds_alternative<cmd::Products>(*c))) {
      return std::nullopt;
    }
    return c->index();
  };
  std::unique_lock lock(m_mutex);
  for (;;) {
    if (m_queue.empty()) {
      lock.unlock();
      whenIdle();
      lock.lock();
    }
    if (!m_wake.wait(lock, stop, [&] { return !m_queue.empty(); })) return false;
    out = std::move(m_queue.front());
    m_queue.pop_front();
    const auto kind = kindOf(out);
    const bool superseded =
        kind && std::any_of(m_queue.begin(), m_queue.end(), [&](const Item& i) { return kindOf(i) == kind; });
    if (!superseded) return true;
  }
}

void StoreWorker::close() {
  std::deque<Item> left;
  {
    const std::lock_guard lock(m_mutex);
    m_closed = true;
    left = std::exchange(m_queue, {});
  }
  for (Item& item : left) {
    if (auto* w = std::get_if<WriteJob>(&item)) w->done.set_exception(std::make_exception_ptr(terminal::WriterClosed()));
  }
}

void StoreWorker::handle(StoreBackend& backend, Command command) {
  try {
    // An operation that changed a member's points refreshes the member panel and status bar.
    std::optional<std::string> touched;
    if (auto* sale = std::get_if<cmd::Sale>(&command)) touched = sale->request.member;
    if (auto* redeem = std::get_if<cmd::Redeem>(&command)) touched = redeem->request.member;
    if (auto* update = std::get_if<cmd::UpdateMember>(&command)) touched = update->request.member;
    if (auto* consent = std::get_if<cmd::Consent>(&command)) touched = consent->request.member;
    const bool changes = !std::holds_alternative<cmd::Lookup>(command) &&
                         !std::holds_alternative<cmd::Member>(command) &&
                         !std::holds_alternative<cmd::Catalog>(command) &&
                         !std::holds_alternative<cmd::NameCharacters>(command) &&
                         !std::holds_alternative<cmd::ConsentHistory>(command) &&
                         !std::holds_alternative<cmd::RefundPreview>(command) &&
                         !std::holds_alternative<cmd::Status>(command) &&
                         !std::holds_alternative<cmd::QuoteSale>(command) &&
                         !std::holds_alternative<cmd::Products>(command) &&
                         !std::holds_alternative<cmd::ScanProduct>(command);
    m_sink(runCommand(backend, std::move(command)));
    if (touched) m_sink(memberReply(backend.counter(), *touched, now()));
    if (changes) m_sink(status(backend, false));
  } catch (const std::exception& e) {
    m_sink(reply::Failed{e.what()});
  }
}

void StoreWorker::run(std::stop_token stop) {
  {
    const std::lock_guard lock(m_mutex);
    m_workerThread = std::this_thread::get_id();
  }
  std::unique_ptr<StoreBackend> backend;
  try {
    backend = m_open();
    m_backend = backend.get();
    // Checkpoints run while the counter waits for the next command, not inside a sale's commit.
    backend->database().deferCheckpoints();
    m_sink(reply::StoreOpened{backend->info()});
    m_sink(status(*backend, false));
    backend->startBackground(*this);
  } catch (const std::exception& e) {
    close();
    m_sink(reply::StoreOpened{Error{errc::kInternal, "data", e.what()}});
    return;
  } catch (...) {
    close();
    m_sink(reply::StoreOpened{Error{errc::kInternal, "data", "the store could not be opened"}});
    return;
  }
  Item item;
  const auto whenIdle = [&] { backend->database().checkpointWhenIdle(); };
  while (next(stop, item, whenIdle)) {
    if (auto* w = std::get_if<WriteJob>(&item)) {
      try {
        w->job(backend->database(), backend->counter());
        w->done.set_value();
      } catch (...) {
        w->done.set_exception(std::current_exception());
      }
    } else {
      handle(*backend, std::move(std::get<Command>(item)));
    }
  }
  // Background work stops with the backend; whatever it still asks of the worker is refused.
  close();
  backend.reset();
}

void MainQueue::post(Reply r) {
  {
    const std::lock_guard lock(m_mutex);
    m_items.push_back(std::move(r));
  }
  m_posted.notify_all();
  if (m_wake) m_wake();
}

bool MainQueue::waitFor(std::chrono::microseconds timeout) {
  std::unique_lock lock(m_mutex);
  return m_posted.wait_for(lock, timeout, [&] { return !m_items.empty(); });
}

std::deque<Reply> MainQueue::drain() {
  const std::lock_guard lock(m_mutex);
  return std::exchange(m_items, {});
}

}  // namespace loyalty::ui
