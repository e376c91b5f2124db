// dhcpcd (`script`, with `noconfigure`) and udhcpc (`-s`) negotiate the
// uplink's leases; this turns each event into router7's lease files, which
// the daemon reads like any config file. netkeep stays the one writer of
// addresses and routes.
#include "cmd/lease.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "backends/resolv_conf.hpp"
#include "cmd/help.hpp"
#include "model/config_parse.hpp"
#include "model/file_read.hpp"
#include "model/lease_env.hpp"
#include "model/lease_file.hpp"

extern char** environ;

namespace netkeep {

namespace {

namespace fs = std::filesystem;

Env read_environment() {
  Env env;
  for (char** e = environ; *e; e++) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

// Written beside, fsynced, renamed over, the directory fsynced: a reader
// sees the old file or the new one, and a crash leaves one of the two.
std::optional<std::string> write_lease(const fs::path& p, const std::string& text) {
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  if (ec) return fmt::format("{}: {}", p.parent_path().string(), ec.message());
  auto tmp = files::write_beside(p, text, 0644, /*sync=*/true);
  if (!tmp) return tmp.error().str();
  if (::rename(tmp->c_str(), p.c_str()) < 0) {
    std::string e = fmt::format("{}: {}", p.string(), std::strerror(errno));
    ::unlink(tmp->c_str());
    return e;
  }
  int dir = ::open(p.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return std::nullopt;
}

// The lease file as it is: nullopt when missing or not a valid lease.
template <class Lease>
std::optional<Lease> current(const fs::path& p,
                             std::optional<Lease> (*parse)(std::string_view, json::Sink&)) {
  FileText f = read_regular_file(p);
  if (f.result != ReadResult::ok) return std::nullopt;
  Diagnostics diags;
  json::Sink sink{p.string(), &diags};
  return parse(f.text, sink);
}

// Ends the lease in `p`: the same lease, marked ended. A lease already
// ended stays as it is; a missing or unreadable file becomes a bare ended
// one (the client had a lease netkeep never saw: whatever DHCP put on the
// uplink goes).
template <class Lease>
std::optional<std::string> end_lease(const fs::path& p,
                                     std::optional<Lease> (*parse)(std::string_view, json::Sink&),
                                     std::string (*render)(const Lease&), std::string& did) {
  std::optional<Lease> l = current(p, parse);
  if (l && l->ended) {
    did = fmt::format("{} already ended", p.string());
    return std::nullopt;
  }
  Lease ended = l.value_or(Lease{});
  ended.ended = true;
  did = fmt::format("{}: lease ended", p.string());
  return write_lease(p, render(ended));
}

// Writes the lease `kind` asks for, or ends the one in `file`; tells
// `report` what it did or what failed.
template <class Lease, class Report>
void apply_one(LeaseAction::Kind kind, const fs::path& file, const Lease& lease,
               std::optional<Lease> (*parse)(std::string_view, json::Sink&),
               std::string (*render)(const Lease&), Report report) {
  if (kind == LeaseAction::Kind::bind) {
    report(write_lease(file, render(lease)), fmt::format("{}: {}", file.string(), lease_what(lease)));
  } else if (kind == LeaseAction::Kind::end) {
    std::string did;
    auto error = end_lease<Lease>(file, parse, render, did);
    report(error, did);
  }
}

// udhcpc runs its script as a child: its pid and start time (field 22 of
// /proc/PID/stat) name this run of it, so a restarted udhcpc is another.
std::string udhcpc_run_id() {
  pid_t parent = ::getppid();
  std::ifstream f(fmt::format("/proc/{}/stat", parent));
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return {};
  // Fields after the command: state is field 3, start time field 22.
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; i++) {
  }
  return fmt::format("{} {}\n", parent, field);
}

// Where Debian's dhcpcd keeps its leases (its DBDIR, fixed at build time).
constexpr const char* kDhcpcdDbDir = "/var/lib/dhcpcd";

DhcpcdSaved dhcpcd_saved(const Env& env) {
  auto it = env.find("interface");
  if (it == env.end() || it->second.empty() || it->second.find('/') != std::string::npos) return {};
  const fs::path base = fs::path(kDhcpcdDbDir) / it->second;
  std::error_code ec;
  return {fs::exists(base.string() + ".lease", ec), fs::exists(base.string() + ".lease6", ec)};
}

int usage(const std::string& why) {
  fmt::print(stderr, "netkeep lease: {}\n\n{}", why, kCommandHelp.at("lease"));
  return 1;
}

}  // namespace

int cmd_lease(std::string config, const std::vector<std::string>& args) {
  std::vector<std::string> words;
  for (size_t i = 0; i < args.size(); i++) {
    if (args[i] == "--help" || args[i] == "-h") {
      fmt::print("{}", kCommandHelp.at("lease"));
      return 0;
    }
    if (args[i] == "--config") {
      if (i + 1 >= args.size()) return usage("--config needs a directory");
      config = args[++i];
    } else if (args[i].starts_with("-")) {
      return usage(fmt::format("unknown option \"{}\" for lease", args[i]));
    } else {
      words.push_back(args[i]);
    }
  }
  const bool dhcpcd = words.size() == 1 && words[0] == "dhcpcd";
  const bool udhcpc = words.size() == 2 && words[0] == "udhcpc";
  if (!dhcpcd && !udhcpc) return usage("expected \"dhcpcd\" or \"udhcpc EVENT\"");

  const fs::path dir(config);
  const fs::path file4 = dir / kDhcp4File, file6 = dir / kDhcp6File;
  const fs::path run_file = file4.parent_path() / "udhcpc.run";
  const Env env = read_environment();
  const int64_t now = std::time(nullptr);
  std::string event;
  Result<LeaseAction, EnvError> action = LeaseAction{};
  if (dhcpcd) {
    auto it = env.find("reason");
    event = "dhcpcd " + (it == env.end() ? std::string("(no reason)") : it->second);
    action = dhcpcd_action(env, now, dhcpcd_saved(env));
  } else {
    event = "udhcpc " + words[1];
    const std::string run = udhcpc_run_id();
    FileText marker = read_regular_file(run_file);
    const bool this_run = marker.result == ReadResult::ok && !run.empty() && marker.text == run;
    action = udhcpc_action(words[1], env, now, this_run);
    if (action && action->v4 == LeaseAction::Kind::bind && !run.empty())
      if (auto e = write_lease(run_file, run)) fmt::print(stderr, "netkeep lease: {}\n", *e);
  }
  if (!action) {
    fmt::print(stderr, "netkeep lease: {}: {}; the lease files are left as they were\n", event,
               action.error().str());
    return 1;
  }
  int rc = 0;
  auto report = [&](const std::optional<std::string>& error, const std::string& did) {
    if (error) {
      fmt::print(stderr, "netkeep lease: {}: {}\n", event, *error);
      rc = 1;
    } else {
      fmt::print("netkeep lease: {}: {}\n", event, did);
    }
  };
  apply_one(action->v4, file4, action->lease4, parse_dhcp4_lease, render_dhcp4_lease, report);
  apply_one(action->v6, file6, action->lease6, parse_dhcp6_lease, render_dhcp6_lease, report);
  return rc;
}

}  // namespace netkeep
