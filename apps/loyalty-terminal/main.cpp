// loyalty-terminal: the counter program. Without a sub-command it opens the touchscreen counter
// app; sub-commands for automation (exec), bulk set-up (import-members, gen-members, staff add)
// and checks (verify). The composition root: the only code that wires loyalty_terminal and
// loyalty_ui together (docs/architecture.md).
#include <CLI/CLI.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "loyalty/terminal/at_rest.hpp"
#include "loyalty/terminal/backup.hpp"
#include "loyalty/terminal/config.hpp"
#include "loyalty/terminal/counter_service.hpp"
#include "loyalty/terminal/exec.hpp"
#include "loyalty/terminal/json_codec.hpp"
#include "loyalty/terminal/member_import.hpp"
#include "loyalty/terminal/staff.hpp"
#include "loyalty/terminal/store.hpp"
#include "loyalty/terminal/sync_link.hpp"
#include "loyalty/terminal/timezone.hpp"
#include "loyalty/terminal/update.hpp"
#include "loyalty/terminal/feedback.hpp"
#include "loyalty/ui/app_backend.hpp"
#include "loyalty/ui/shell.hpp"

namespace {

using namespace loyalty;
using namespace loyalty::terminal;

Timestamp now() { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); }

struct Opened {
  db::Database db;
  CounterConfig config;
};

/// A configuration the program cannot run with: reported as FILE:LINE: KEY: REASON.
struct BadConfig {
  ConfigError error;
};

Opened open(const std::string& dataDir, const std::optional<std::string>& configPath,
            std::optional<std::string> store, const std::optional<std::string>& terminal) {
  TerminalSettings settings;
  if (configPath) {
    auto loaded = loadConfig(*configPath);
    if (auto* error = std::get_if<ConfigError>(&loaded)) throw BadConfig{*error};
    settings = std::get<TerminalSettings>(std::move(loaded));
    if (!store && settings.storeIdSet) store = settings.store.id;
  }
  db::Database database = openTerminalDatabase(dataDir);
  const Identity id = resolveIdentity(database, store, terminal);
  CounterConfig config;
  config.store = std::move(settings.store);
  config.store.id = id.storeId;
  config.terminalId = id.terminalId;
  config.rules = std::move(settings.rules);
  config.survey = std::move(settings.survey);
  // Once registered, head office decides: its programme and the store's time zone.
  if (auto pushed = pushedProgramme(database)) config.rules = std::move(*pushed);
  if (auto link = loadHqLink(database)) config.store.timezone = link->timezone;
  // The configuration reader has already checked the name, so this only fails if the zone
  // database changed underneath; say so and stop rather than use the wrong local day.
  auto zone = loadZone(config.store.timezone);
  if (!zone) throw std::runtime_error(zone.error().message);
  config.zone = std::move(*zone);
  return {std::move(database), std::move(config)};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"loyalty-terminal: the store loyalty counter (without a sub-command: the counter app)"};
  app.require_subcommand(0, 1);
  std::string dataDir;
  std::optional<std::string> configPath, storeId, terminalId;
  const auto addCommon = [&](CLI::App* sub) {
    sub->add_option("--data", dataDir, "data directory")->required();
    sub->add_option("--config", configPath, "TOML configuration (docs/configuration.md)");
  };

  // The counter app's options (no sub-command).
  std::string appData, size = "1024x768", lang;
  std::optional<std::string> appConfig;
  ui::ShellOptions shell;
  app.add_option("--data", appData, "data directory (counter app)");
  app.add_option("--config", appConfig, "TOML configuration (counter app)");
  app.add_flag("--windowed", shell.windowed, "a window instead of full screen");
  app.add_option("--size", size, "window size WxH with --windowed (default 1024x768)");
  app.add_flag("--customer-display", shell.customerDisplay, "open the customer-facing display");
  app.add_option("--lang", lang, "zh-CN or en (default: the store's language)");
  app.add_option("--tap-map", shell.tapMapPath, "")->group("");      // test hook: where buttons are
  app.add_option("--bench-out", shell.benchOut, "")->group("");      // benchmark: JSON figures
  app.add_option("--bench-staff", shell.benchStaff, "")->group("");
  app.add_option("--bench-pin", shell.benchPin, "")->group("");
  app.add_option("--bench-query", shell.benchQuery, "")->group("");
  app.add_option("--bench-idle", shell.benchIdleSeconds, "")->group("");

  auto* exec = app.add_subcommand("exec", "answer JSON-line requests on stdin (docs/exec-cli.md)");
  addCommon(exec);
  exec->add_option("--store", storeId, "store id");
  exec->add_option("--terminal", terminalId, "terminal id");

  std::string csvPath;
  bool skipInvalid = false;
  auto* import = app.add_subcommand("import-members", "enrol the members of a CSV file");
  import->add_option("file", csvPath, "CSV with a header: phone,name[,birthday,consent_marketing,card_no,language,referrer]")
      ->required();
  addCommon(import);
  import->add_flag("--skip-invalid", skipInvalid, "import the valid rows even if some are refused");

  std::int64_t count = 0;
  std::uint64_t seed = 1;
  auto* gen = app.add_subcommand("gen-members", "enrol generated members (demos, benchmarks)");
  addCommon(gen);
  gen->add_option("--count", count, "how many")->required()->check(CLI::Range(1, 100'000'000));
  gen->add_option("--seed", seed, "random seed (same seed, same members)");

  auto* staff = app.add_subcommand("staff", "staff accounts");
  staff->require_subcommand(1);
  std::string staffId, staffName, role = "cashier";
  auto* staffAdd = staff->add_subcommand("add", "add a staff account; reads the PIN from the first line of stdin");
  addCommon(staffAdd);
  staffAdd->add_option("--id", staffId, "staff id (e.g. employee number)")->required();
  staffAdd->add_option("--name", staffName, "name")->required();
  staffAdd->add_option("--role", role, "cashier or supervisor")->check(CLI::IsMember({"cashier", "supervisor"}));
  auto* staffUnlock = staff->add_subcommand("unlock", "clear the wrong-PIN count of a locked account");
  addCommon(staffUnlock);
  staffUnlock->add_option("--id", staffId, "staff id")->required();

  auto* verify = app.add_subcommand("verify", "prove balances equal ledger sums and the outbox is contiguous");
  addCommon(verify);

  RegisterOptions registration;
  auto* reg = app.add_subcommand("register", "register this terminal with head office (a one-time code)");
  reg->add_option("--data", dataDir, "data directory")->required();
  reg->add_option("--hq", registration.hqUrl, "head office, https://HOST:PORT")->required();
  reg->add_option("--ca", registration.caFile, "head office's CA certificate (PEM), the only one trusted")->required();
  reg->add_option("--code", registration.code, "code printed by loyalty-hq terminal add")->required();
  reg->add_option("--pin", registration.pin, "optional pin of head office's public key, sha256//BASE64");

  bool once = false;
  auto* syncCmd = app.add_subcommand("sync", "exchange events and changes with head office");
  addCommon(syncCmd);
  syncCmd->add_flag("--once", once, "one round: upload everything pending, pull all changes")->required();

  std::string backupOut, backupDir, restoreFrom;
  std::optional<int> keepDays;
  auto* backup = app.add_subcommand("backup", "copy the databases into one file (0600) while the counter runs");
  backup->add_option("--data", dataDir, "data directory")->required();
  auto* backupOutOption = backup->add_option("--out", backupOut, "the backup file to write (must not exist)");
  auto* backupDirOption =
      backup->add_option("--dir", backupDir, "write DIR/loyalty-terminal-YYYYMMDDTHHMMSSZ.backup instead")->excludes(backupOutOption);
  backup->add_option("--keep-days", keepDays, "with --dir: remove this program's backups there older than N days")
      ->check(CLI::Range(1, 3650))
      ->needs(backupDirOption);
  auto* restore = app.add_subcommand("restore", "replace the databases by a backup (the counter app stopped), then verify");
  addCommon(restore);
  restore->add_option("--from", restoreFrom, "a file written by loyalty-terminal backup")->required();

  // Fleet updates (docs/fleet-updates.md): `apply` and `keep` are the root-run updater's.
  auto* updateCmd = app.add_subcommand("update", "fleet updates: the root-run updater and its checks");
  updateCmd->require_subcommand(1);
  update::ApplyOptions apply;
  std::string applyRoot = "/", applyData = apply.dataDir.string(), keyFile, keepFile;
  int healthSeconds = 60;
  auto* updateApply = updateCmd->add_subcommand("apply", "install a staged, verified package; roll back if it is not healthy (root)");
  updateApply->add_option("--data", applyData, "the terminal's data directory (default /var/lib/loyalty-terminal)");
  updateApply->add_option("--root", applyRoot, "install under this root directory (default /)");
  updateApply->add_option("--unit", apply.unit, "the app's systemd unit to restart and watch, or none (default loyalty-kiosk.service)");
  updateApply->add_option("--key", keyFile, "the release public key trusted (default ROOT/etc/loyalty/release.pub, else pinned)");
  updateApply->add_option("--health-timeout", healthSeconds, "seconds the new program has to answer (default 60)")->check(CLI::Range(1, 3600));
  auto* updateKeep = updateCmd->add_subcommand("keep", "keep the installed version's package file for rollback (root)");
  updateKeep->add_option("file", keepFile, "the installed package (.deb)")->required();
  updateKeep->add_option("--root", applyRoot, "the root it is installed under (default /)");
  auto* updateVersion = updateCmd->add_subcommand("status", "the installed version and the updater's state (JSON)");
  updateVersion->add_option("--root", applyRoot, "the root it is installed under (default /)");

  CLI11_PARSE(app, argc, argv);

  if (*backup) {
    if (backupOut.empty() && backupDir.empty()) {
      std::cerr << "loyalty-terminal: backup: give --out FILE or --dir DIR\n";
      return 2;
    }
    try {
      const auto at = std::chrono::system_clock::now();
      auto made = backupDir.empty() ? backupTerminal(dataDir, backupOut, at)
                                    : backupTerminalInto(dataDir, backupDir, keepDays.value_or(0), at);
      if (!made) {
        std::cerr << "loyalty-terminal: backup: " << made.error().field << ": " << made.error().message << '\n';
        return 1;
      }
      nlohmann::json pruned = nlohmann::json::array();
      for (const auto& file : made->pruned) pruned.push_back(file.string());
      std::cout << nlohmann::json{{"backup", made->file.string()}, {"store_id", made->storeId}, {"terminal_id", made->terminalId},
                                  {"outbox_seq", made->outboxSeq}, {"sealed", made->sealed}, {"pruned", pruned}}
                       .dump()
                << '\n';
      if (made->sealed) {
        std::cerr << "loyalty-terminal: members in the backup are sealed with the at-rest key "
                  << atRestKeyFile(dataDir).string() << ": the backup is useless without it; keep a copy of the key apart\n";
      }
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "loyalty-terminal: backup: " << e.what() << '\n';
      return 1;
    }
  }
  if (*restore) {
    try {
      auto restored = restoreTerminal(dataDir, restoreFrom);
      if (!restored) {
        std::cerr << "loyalty-terminal: restore: " << restored.error().field << ": " << restored.error().message << '\n';
        return 1;
      }
      Opened o = open(dataDir, configPath, std::nullopt, std::nullopt);
      RandomIds ids;
      CounterService service(o.db, o.config, ids);
      const VerifyReport report = service.verify();
      std::cout << nlohmann::json{{"restored", restoreFrom}, {"created_at", restored->createdAt}, {"store_id", restored->storeId},
                                  {"terminal_id", restored->terminalId}, {"outbox_seq", restored->outboxSeq},
                                  {"verify", report}}
                       .dump()
                << '\n';
      return report.problems.empty() ? 0 : 1;
    } catch (const BadConfig& bad) {
      std::cerr << "loyalty-terminal: invalid configuration: " << bad.error.toString() << '\n';
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "loyalty-terminal: restore: " << e.what() << '\n';
      return 1;
    }
  }

  if (*updateCmd) {
    try {
      if (*updateApply) {
        apply.dataDir = applyData;
        apply.root = applyRoot;
        if (!keyFile.empty()) apply.keyFile = keyFile;
        apply.healthTimeout = std::chrono::seconds(healthSeconds);
        return update::runApply(apply, std::cout, std::cerr);
      }
      if (*updateKeep) return update::runKeep(applyRoot, keepFile, std::cout, std::cerr);
      const auto installed = update::installedPackage(applyRoot);
      const update::UpdateState st = update::readState(applyRoot);
      nlohmann::json j{{"build_version", update::buildVersion()}, {"state", st.state}};
      j["installed"] = installed ? nlohmann::json(installed->version) : nlohmann::json();
      if (st.version) j["version"] = *st.version;
      if (st.previous) j["previous"] = *st.previous;
      if (st.detail) j["detail"] = *st.detail;
      if (st.at) j["at"] = *st.at;
      std::cout << j.dump() << '\n';
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "loyalty-terminal: update: " << e.what() << '\n';
      return 1;
    }
  }

  if (*reg) {
    try {
      db::Database database = openTerminalDatabase(dataDir);
      return runRegister(database, registration, now(), std::cout, std::cerr);
    } catch (const std::exception& e) {
      std::cerr << "loyalty-terminal: " << e.what() << '\n';
      return 1;
    }
  }

  if (app.get_subcommands().empty()) {
    if (appData.empty()) {
      std::cerr << "loyalty-terminal: --data: the counter app needs a data directory\n";
      return 2;
    }
    int w = 0, h = 0;
    char x = 0;
    std::istringstream sizeText(size);
    if (!(sizeText >> w >> x >> h) || x != 'x' || w < 640 || h < 480 || w > 7680 || h > 4320) {
      std::cerr << "loyalty-terminal: --size: give WIDTHxHEIGHT, at least 640x480\n";
      return 2;
    }
    shell.width = w;
    shell.height = h;
    if (!lang.empty()) {
      ui::Lang l{};
      if (!ui::parseLang(lang, l)) {
        std::cerr << "loyalty-terminal: --lang: zh-CN or en\n";
        return 2;
      }
      shell.lang = l;
    }
    if (appConfig) {
      // Refuse a bad configuration before any window opens; the worker loads it again.
      auto loaded = loadConfig(*appConfig);
      if (auto* error = std::get_if<ConfigError>(&loaded)) {
        std::cerr << "loyalty-terminal: invalid configuration: " << error->toString() << '\n';
        return 2;
      }
    }
    return ui::runCounterApp(shell, [appData, appConfig]() -> std::unique_ptr<ui::StoreBackend> {
      Opened o = open(appData, appConfig, std::nullopt, std::nullopt);
      return ui::openAppBackend(std::move(o.db), std::move(o.config), appData);
    });
  }

  try {
    Opened o = open(dataDir, configPath, storeId, terminalId);
    RandomIds ids;
    CounterService service(o.db, o.config, ids);
    const auto authoriser = makeRedemptionAuthoriser(o.db);  // online redemption when registered
    service.setAuthoriser(authoriser.get());
    if (*syncCmd) return runSyncOnce(o.db, service, std::cout, std::cerr, dataDir);
    if (*exec) {
      std::ios::sync_with_stdio(false);
      // Attempts a kill left between asking head office and recording the redemption end first.
      service.releaseInterruptedAttempts(now());
      ExecSession session(service, now);
      FeedbackService feedback(o.db, o.config.store.id, o.config.terminalId, ids, o.config.survey.dimensions);
      session.setFeedback(&feedback);
      session.run(std::cin, std::cout);
      return 0;
    }
    if (*import) {
      std::ifstream in(csvPath, std::ios::binary);
      if (!in) {
        std::cerr << csvPath << ": cannot open\n";
        return 1;
      }
      const ImportReport r = importMembers(service, o.db, in, csvPath, skipInvalid, now(), std::cerr);
      std::cout << nlohmann::json{{"imported", r.imported}, {"rejected", r.rejected}}.dump() << '\n';
      return r.rejected > 0 && !skipInvalid ? 1 : 0;
    }
    if (*gen) {
      const std::int64_t n = generateMembers(service, o.db, count, seed, now());
      std::cout << nlohmann::json{{"enrolled", n}}.dump() << '\n';
      return 0;
    }
    if (*staffAdd) {
      std::string pin;
      std::getline(std::cin, pin);
      if (!pin.empty() && pin.back() == '\r') pin.pop_back();
      auto added = addStaff(o.db, staffId, staffName, role, pin);
      if (!added) {
        std::cerr << "staff add: " << added.error().field << ": " << added.error().message << '\n';
        return 1;
      }
      std::cout << nlohmann::json{{"staff_id", added->staffId}, {"role", added->role}}.dump() << '\n';
      return 0;
    }
    if (*staffUnlock) {
      if (auto s = unlockStaff(o.db, staffId); !s) {
        std::cerr << "staff unlock: " << s.error().field << ": " << s.error().message << '\n';
        return 1;
      }
      std::cout << nlohmann::json{{"staff_id", staffId}, {"unlocked", true}}.dump() << '\n';
      return 0;
    }
    if (*verify) {
      const VerifyReport report = service.verify();
      std::cout << nlohmann::json(report).dump() << '\n';
      return report.problems.empty() ? 0 : 1;
    }
  } catch (const BadConfig& bad) {
    std::cerr << "loyalty-terminal: invalid configuration: " << bad.error.toString() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "loyalty-terminal: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
