#include "loyalty/terminal/catalogue_repository.hpp"

namespace loyalty::terminal {

std::vector<CatalogueReward> CatalogueRepository::active() {
  auto& st = m_db.prepare("SELECT reward_id, name, points FROM rewards WHERE active = 1 ORDER BY points, reward_id");
  std::vector<CatalogueReward> out;
  while (st.step()) out.push_back({st.getText(0), st.getText(1), st.getInt(2)});
  st.reset();
  return out;
}

}  // namespace loyalty::terminal
