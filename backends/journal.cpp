#include "backends/journal.hpp"

#include <fmt/format.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "backends/resolv_conf.hpp"
#include "model/actual_json.hpp"
#include "model/file_read.hpp"
#include "model/json_out.hpp"

namespace netkeep {

namespace {

// A snapshot of 10,000 forwardings is a few MB.
constexpr ReadLimits kOwnFile{64 << 20, false};

std::string namespace_dir() {
  struct stat ns {};
  if (::stat("/proc/self/ns/net", &ns) < 0) return "confirm";
  return fmt::format("confirm-net{}", ns.st_ino);
}

}  // namespace

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string to_json(const Pending& p) {
  return fmt::format(
      "{{\"id\": {}, \"applied_ms\": {}, \"deadline_ms\": {}, \"apply_pid\": {}, \"config\": {}, "
      "\"checks\": [{}], \"applying\": {}}}\n",
      json::quote(p.id), p.applied_ms, p.deadline_ms, p.apply_pid, json::quote(p.config),
      json::quote_list(p.checks), p.applying);
}

Result<Pending, std::string> pending_from_json(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::object o;
  if (auto err = parser.parse(padded).get_object().get(o))
    return unexpected(std::string(simdjson::error_message(err)));
  Pending p;
  std::string_view id, config;
  simdjson::dom::array checks;
  if (o["id"].get_string().get(id) || o["applied_ms"].get_int64().get(p.applied_ms) ||
      o["deadline_ms"].get_int64().get(p.deadline_ms) ||
      o["apply_pid"].get_int64().get(p.apply_pid) || o["config"].get_string().get(config) ||
      o["checks"].get_array().get(checks))
    return unexpected(std::string("not a pending change netkeep reads"));
  p.id = id;
  p.config = config;
  // Absent in journals written before it existed: finished.
  if (auto e = o["applying"].get_bool().get(p.applying); e && e != simdjson::NO_SUCH_FIELD)
    return unexpected(std::string("not a pending change netkeep reads"));
  for (auto c : checks) {
    std::string_view s;
    if (c.get_string().get(s)) return unexpected(std::string("not a pending change netkeep reads"));
    p.checks.emplace_back(s);
  }
  return p;
}

std::optional<std::string> watchdog_due(const Pending& p, bool apply_alive, int64_t now_ms) {
  if (p.applying && !apply_alive) return "the apply ended before it finished (the watchdog)";
  if (now_ms < p.deadline_ms + (apply_alive ? 500 : 0)) return std::nullopt;
  return "not confirmed by the deadline (the watchdog)";
}

Journal::Journal(const std::filesystem::path& root)
    : dir_(root / "run/netkeep" / namespace_dir()) {}

std::optional<KernelError> Journal::put(const char* name, const std::string& text) const {
  // 0600 and a 0700 directory: the snapshot holds what the config holds.
  auto e = files::write_own(dir_ / name, text);
  ::chmod(dir_.c_str(), 0700);
  return e;
}

std::optional<KernelError> Journal::begin(const Pending& p, const Actual& before,
                                          const Touched& t) {
  if (auto e = put("before.json", to_json(before))) return e;
  if (auto e = put("touched.json", to_json(t))) return e;
  return put("pending", to_json(p));
}

std::optional<KernelError> Journal::update(const Pending& p) {
  return put("pending", to_json(p));
}

std::optional<KernelError> Journal::update(const Touched& t) {
  return put("touched.json", to_json(t));
}

KernelResult<std::optional<Pending>> Journal::pending() const {
  // No directory (or something else in its place): nothing can be pending.
  std::error_code ec;
  if (!std::filesystem::is_directory(dir_, ec)) return std::optional<Pending>();
  const auto file = dir_ / "pending";
  FileText f = read_regular_file(file, kOwnFile);
  if (f.result == ReadResult::missing) return std::optional<Pending>();
  if (f.result == ReadResult::error) return unexpected(KernelError{f.code, f.error, file.string()});
  auto p = pending_from_json(f.text);
  if (!p) return unexpected(KernelError{EBADMSG, p.error(), file.string()});
  return std::optional<Pending>(std::move(*p));
}

template <class T>
KernelResult<T> Journal::read(const char* name,
                              Result<T, std::string> (*parse)(std::string_view)) const {
  const auto file = dir_ / name;
  FileText f = read_regular_file(file, kOwnFile);
  if (f.result == ReadResult::missing)
    return unexpected(KernelError{ENOENT, "missing", file.string()});
  if (f.result == ReadResult::error) return unexpected(KernelError{f.code, f.error, file.string()});
  auto v = parse(f.text);
  if (!v) return unexpected(KernelError{EBADMSG, v.error(), file.string()});
  return std::move(*v);
}

KernelResult<Actual> Journal::before() const {
  return read<Actual>("before.json", actual_from_json);
}

KernelResult<Touched> Journal::touched() const {
  return read<Touched>("touched.json", touched_from_json);
}

void Journal::end(const std::string& outcome) {
  // `last` first: whoever sees `pending` gone reads `last` to learn how the
  // change ended, so it must already say so.
  put("last", outcome + "\n");
  ::unlink((dir_ / "pending").c_str());
  ::unlink((dir_ / "before.json").c_str());
  ::unlink((dir_ / "touched.json").c_str());
}

std::string Journal::last() const {
  FileText f = read_regular_file(dir_ / "last", kOwnFile);
  if (f.result != ReadResult::ok) return {};
  while (!f.text.empty() && f.text.back() == '\n') f.text.pop_back();
  return f.text;
}

}  // namespace netkeep
