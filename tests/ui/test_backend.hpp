#pragma once
// A real store backend over a fresh SQLite database in a temp directory, for the UI tests.

#include "../support/temp_dir.hpp"
#include "loyalty/terminal/store.hpp"
#include "loyalty/ui/store_worker.hpp"

namespace loyalty::test {

class TestBackend final : public ui::StoreBackend {
 public:
  explicit TestBackend(const std::string& dir, const terminal::CounterConfig& config = {})
      : m_dir(dir), m_survey(config.survey), m_db(terminal::openTerminalDatabase(dir)), m_counter(m_db, config, m_ids),
        m_feedback(m_db, "S001", "T1", m_ids, config.survey.dimensions), m_queries(m_db, config.zone) {}
  db::Database& database() override { return m_db; }
  terminal::CounterService& counter() override { return m_counter; }
  terminal::FeedbackService& feedback() override { return m_feedback; }
  terminal::CounterQueries& queries() override { return m_queries; }
  ui::StoreInfo info() const override {
    return {m_dir, "S001", "T1", "zh-CN", "CNY", "2026-01", 2000, 100, m_survey.scale, m_survey.dimensions};
  }

 private:
  std::string m_dir;
  terminal::SurveySettings m_survey;
  db::Database m_db;
  terminal::RandomIds m_ids{11};
  terminal::CounterService m_counter;
  terminal::FeedbackService m_feedback;
  terminal::CounterQueries m_queries;
};

}  // namespace loyalty::test
