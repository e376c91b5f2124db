#include "cmd/args.hpp"

#include <fmt/format.h>
#include <netkeep_version.h>

#include <cstdlib>
#include <set>

#include "cmd/help.hpp"

namespace netkeep {

namespace {

int usage_error(const std::string& msg) {
  fmt::print(stderr, "netkeep: {}\n\n{}", msg, kUsage);
  return 1;
}

}  // namespace

std::optional<int> parse_args(const std::vector<std::string>& args, Args& a) {
  if (args.empty()) return usage_error("missing command");
  bool help = false;
  const std::set<std::string> commands = {"plan", "apply", "show", "run", "doctor", "confirm"};
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& s = args[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    if (s == "--help" || s == "-h") {
      help = true;
    } else if (s == "--version") {
      fmt::print("netkeep {}\n", NETKEEP_VERSION);
      return 0;
    } else if (s == "--check" && a.command == "plan") {
      a.check = true;
    } else if (s == "--nft" && a.command == "plan") {
      a.nft = true;
    } else if (s == "--out" && a.command == "plan") {
      if (!value(a.out)) return usage_error("--out needs a file");
    } else if (s == "--plan" && a.command == "apply") {
      if (!value(a.plan_file)) return usage_error("--plan needs a file");
    } else if (s == "--confirm" && (a.command == "apply" || a.command == "run")) {
      std::string v;
      if (!value(v) || (a.confirm = std::atoi(v.c_str())) <= 0 ||
          v.find_first_not_of("0123456789") != std::string::npos)
        return usage_error("--confirm needs a number of seconds greater than 0");
    } else if (s == "--check" && (a.command == "apply" || a.command == "run")) {
      std::string v;
      if (!value(v)) return usage_error("--check needs ping:IP, tcp:HOST:PORT or exec:COMMAND");
      a.checks.push_back(v);
    } else if ((s == "--status" || s == "--rollback") && a.command == "confirm") {
      a.confirm_mode = s.substr(2);
    } else if (s == "--watchdog" && a.command == "confirm") {
      if (!value(a.watchdog_id)) return usage_error("--watchdog needs an id");
      a.confirm_mode = "watchdog";
    } else if (s == "--stats" && a.command == "apply") {
      a.stats = true;
    } else if (s == "--json" && a.command != "run" && a.command != "confirm") {
      a.json = true;
    } else if (s == "--config" && a.command != "confirm") {
      if (!value(a.config)) return usage_error("--config needs a directory");
    } else if (s == "--root") {
      if (!value(a.root)) return usage_error("--root needs a directory");
    } else if (s == "--metrics" && a.command == "run") {
      if (!value(a.metrics)) return usage_error("--metrics needs HOST:PORT");
    } else if (s == "--notify-pidfile" && a.command == "run") {
      std::string p;
      if (!value(p)) return usage_error("--notify-pidfile needs a path");
      a.notify_pidfiles.push_back(p);
    } else if (s == "--resync" && a.command == "run") {
      std::string v;
      if (!value(v) || (a.resync = std::atoi(v.c_str())) <= 0)
        return usage_error("--resync needs a number of seconds greater than 0");
    } else if (s == "--log-queue" && a.command == "run") {
      std::string v;
      if (!value(v) || (a.log_queue = std::atoi(v.c_str())) <= 0)
        return usage_error("--log-queue needs a number of lines greater than 0");
    } else if (a.command.empty() && s == "lease") {
      // Its own arguments: a DHCP client's event (cmd/lease.cpp).
      a.command = s;
      a.lease_args.assign(args.begin() + static_cast<ptrdiff_t>(i) + 1, args.end());
      return std::nullopt;
    } else if (a.command.empty() && commands.contains(s)) {
      a.command = s;
    } else if (a.command.empty() && !s.starts_with("-")) {
      return usage_error(fmt::format("unknown command \"{}\"", s));
    } else {
      return usage_error(
          fmt::format("unknown option \"{}\"{}", s, a.command.empty() ? "" : " for " + a.command));
    }
  }
  if (help) {
    fmt::print("{}", a.command.empty() ? kUsage : kCommandHelp.at(a.command));
    return 0;
  }
  if (a.command.empty()) return usage_error("missing command");
  if (!a.checks.empty() && !a.confirm) return usage_error("--check needs --confirm SECONDS");
  if (a.json && a.nft) return usage_error("--json and --nft: one output at a time");
  if (a.command == "run" && a.confirm && a.checks.empty())
    return usage_error("run --confirm needs at least one --check: nothing else confirms a config");
  return std::nullopt;
}

}  // namespace netkeep
