// netkeep's command line read into Args: which command, and its options
// (cmd/help.cpp says what each means).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace netkeep {

struct Args {
  std::string command;  // plan, apply, show, run, doctor, confirm, lease
  std::string config = "/perm";
  std::string root = "/";
  std::string metrics;
  std::vector<std::string> notify_pidfiles;
  int resync = 300;
  int log_queue = 1000;  // run --log-queue LINES
  bool json = false;
  bool nft = false;  // plan --nft
  bool check = false;
  bool stats = false;
  std::string out;                       // plan --out
  std::string plan_file;                 // apply --plan
  int confirm = 0;                       // apply --confirm SECONDS
  std::vector<std::string> checks;       // apply --check
  std::string confirm_mode = "confirm";  // confirm [--status | --rollback | --watchdog ID]
  std::string watchdog_id;
  std::vector<std::string> lease_args;  // lease: a DHCP client's event (cmd/lease.cpp)
};

// Reads `args` (argv without the program's name) into `a`. nullopt: run
// a.command; otherwise the exit status now, the output printed (--help,
// --version, or a usage error with the usage).
std::optional<int> parse_args(const std::vector<std::string>& args, Args& a);

}  // namespace netkeep
