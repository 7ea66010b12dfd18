#include "loyalty/terminal/catalogue_repository.hpp"

namespace loyalty::terminal {

std::vector<CatalogueReward> CatalogueRepository::active() {
  auto q = m_db.query("SELECT reward_id, name, points FROM rewards WHERE active = 1 ORDER BY points, reward_id");
  std::vector<CatalogueReward> out;
  while (q.step()) out.push_back({q.text("reward_id"), q.text("name"), q.int64("points")});
  return out;
}

}  // namespace loyalty::terminal
