// `loyalty-hq user set`: dashboard accounts from the command line.
#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>
#include <memory>

#include "loyalty/hq/audit.hpp"
#include "loyalty/hq/dashboard.hpp"
#include "loyalty/hq/local_time.hpp"
#include "loyalty/hq/settings.hpp"

namespace loyalty::hq {

std::function<std::optional<int>()> addAnalyticsCommands(CLI::App& app) {
  struct Args {
    std::string data, name, role;
    bool pii = false;
  };
  auto args = std::make_shared<Args>();
  auto* user = app.add_subcommand("user", "manage dashboard accounts");
  user->require_subcommand(1);
  auto* set = user->add_subcommand("set", "create an account or change its role and password (password on stdin)");
  set->add_option("--data", args->data, "data directory")->required();
  set->add_option("--name", args->name, "user name")->required();
  set->add_option("--role", args->role, "admin or analyst")->required()->check(CLI::IsMember({"admin", "analyst"}));
  set->add_flag("--pii", args->pii, "an analyst who sees full phone numbers and birthdays (admins always do)");
  return [args, set]() -> std::optional<int> {
    if (!set->parsed()) return std::nullopt;
    std::string password;
    if (!std::getline(std::cin, password)) {
      std::cerr << "loyalty-hq: password: give the password on the first line of stdin\n";
      return 2;
    }
    if (!password.empty() && password.back() == '\r') password.pop_back();
    const DataDir dir{args->data};
    auto settings = loadSettings(dir);
    if (!settings) {
      std::cerr << "loyalty-hq: " << settings.error().message << "\n";
      return 1;
    }
    auto c = openStorage(dir, *settings);
    auto r = setDashboardUser(*c, args->name, args->role, password, nowSeconds(), commandLineActor(), args->pii);
    if (!r) {
      std::cerr << "loyalty-hq: " << r.error().field << ": " << r.error().message << "\n";
      return 2;
    }
    std::cerr << "loyalty-hq: dashboard account " << args->name << " (" << args->role << ") saved\n";
    return 0;
  };
}

}  // namespace loyalty::hq
