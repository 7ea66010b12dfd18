#pragma once
// Storage for the analytics tests: a SQLite file in a temp dir, and fresh databases on one
// PostgreSQL cluster per test process (tests/hq's PgCluster: initdb in a temp dir, free port).

#include <atomic>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "../../support/temp_dir.hpp"
#include "loyalty/hq/sql.hpp"

#if __has_include("../support/hq_fixture.hpp")
#include "../support/hq_fixture.hpp"
#define LOYALTY_ANALYTICS_HAVE_PG 1
#endif

namespace loyalty::test {

class SqliteFile {
 public:
  std::unique_ptr<hq::SqlConnection> open() const { return hq::openSqlite(m_dir.str() + "/hq.sqlite"); }

 private:
  TempDir m_dir;
};

#ifdef LOYALTY_ANALYTICS_HAVE_PG
class SharedPostgres {
 public:
  std::unique_ptr<hq::SqlConnection> fresh() {
    static std::atomic<int> n{0};
    return hq::openPostgres(m_cluster.createDatabase("analytics" + std::to_string(n++)));
  }

 private:
  PgCluster m_cluster;
};

inline SharedPostgres& sharedPostgres() {
  static SharedPostgres pg;
  return pg;
}
#else
struct SharedPostgres {
  std::unique_ptr<hq::SqlConnection> fresh() {
    FAIL("tests/hq/support/hq_fixture.hpp (the PostgreSQL starter) is not in this tree");
    return nullptr;
  }
};
inline SharedPostgres& sharedPostgres() {
  static SharedPostgres pg;
  return pg;
}
#endif

}  // namespace loyalty::test
