#include "loyalty/terminal/store_writer.hpp"

namespace loyalty::terminal {

DirectWriter::DirectWriter(db::Database db, const CounterConfig& config)
    : m_db(std::move(db)), m_service(m_db, config, m_ids) {}

}  // namespace loyalty::terminal
