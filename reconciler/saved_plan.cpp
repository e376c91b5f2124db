#include "reconciler/saved_plan.hpp"

#include <fmt/format.h>

#include "model/actual_json.hpp"
#include "model/desired.hpp"
#include "model/file_read.hpp"

namespace netkeep {

namespace {

constexpr std::string_view kMagic = "netkeep saved plan";
constexpr int kVersion = 1;

// FNV-1a, 64 bits: the parts only need to tell "changed" from "the same";
// the plan itself is compared byte for byte.
std::string hash_hex(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", h);
}

// One kind of object of the snapshot, alone, as show --json prints it.
template <class F>
std::string part(const Actual& a, F keep) {
  Actual only;
  keep(a, only);
  return hash_hex(to_json(only));
}

}  // namespace

std::string config_file_hash(const std::filesystem::path& file) {
  FileText t = read_regular_file(file);
  return t.result == ReadResult::ok        ? hash_hex(t.text)
         : t.result == ReadResult::missing ? "missing"
                                           : "unreadable";
}

Fingerprint fingerprint(const std::filesystem::path& config, const Actual& a) {
  Fingerprint f;
  for (const char* name : kConfigFiles) {
    f[fmt::format("config {}", name)] = config_file_hash(config / name);
  }
  f["kernel links"] = part(a, [](const Actual& x, Actual& o) { o.links = x.links; });
  // Addresses netkeep owns; routes but those the kernel makes itself (a
  // prefix route, one learned from a router advertisement), which come
  // and go with links and never carry a plan. Whatever else changes a
  // plan is caught by comparing the plan itself.
  f["kernel addresses"] = part(a, [](const Actual& x, Actual& o) {
    for (const auto& ad : x.addrs)
      if (ad.origin() != Origin::foreign) o.addrs.push_back(ad);
  });
  f["kernel routes"] = part(a, [](const Actual& x, Actual& o) {
    for (const auto& r : x.routes)
      if (r.proto != kRouteProtoKernel && r.proto != kRouteProtoRa) o.routes.push_back(r);
  });
  f["kernel sysctls"] = part(a, [](const Actual& x, Actual& o) { o.sysctls = x.sysctls; });
  f["kernel files"] = part(a, [](const Actual& x, Actual& o) { o.files = x.files; });
  f["kernel fec"] = part(a, [](const Actual& x, Actual& o) { o.fec = x.fec; });
  // The JSON hides private keys; the hash must not.
  std::string wg = to_json([&] {
    Actual o;
    o.wireguard = a.wireguard;
    return o;
  }());
  for (const auto& d : a.wireguard) wg += d.name + '\0' + d.private_key + '\0';
  f["kernel wireguard"] = hash_hex(wg);
  f["kernel nftables"] = part(a, [](const Actual& x, Actual& o) { o.nft = x.nft; });
  return f;
}

std::string fingerprint_diff(const Fingerprint& saved, const Fingerprint& now) {
  std::string out;
  auto add = [&](const std::string& what) { out += (out.empty() ? "" : "; ") + what; };
  for (const auto& [name, hash] : now) {
    auto it = saved.find(name);
    if (it == saved.end()) continue;  // checked below, as the same set
    if (it->second != hash) {
      const bool config = name.starts_with("config ");
      const std::string what = name.substr(7);  // after "config " or "kernel "
      if (config && it->second == "missing")
        add(what + " appeared");
      else if (config && hash == "missing")
        add(what + " was removed");
      else
        add(config ? what + " changed" : "the kernel's " + what + " changed");
    }
  }
  if (saved.size() != now.size() ||
      !std::equal(saved.begin(), saved.end(), now.begin(),
                  [](const auto& x, const auto& y) { return x.first == y.first; }))
    add("it was fingerprinted by another netkeep");
  return out;
}

std::string serialize(const SavedPlan& p) {
  std::string body = fmt::format("{} {}\n", kMagic, kVersion);
  for (const auto& [name, hash] : p.fingerprint) body += fmt::format("part {}={}\n", name, hash);
  body += fmt::format("json {}\n{}\n", p.plan_json.size(), p.plan_json);
  body += fmt::format("text {}\n{}\n", p.plan_text.size(), p.plan_text);
  return body + fmt::format("end {}\n", hash_hex(body));
}

Result<SavedPlan, std::string> parse_saved_plan(std::string_view text) {
  auto bad = [](std::string why) { return unexpected(std::move(why)); };
  if (!text.starts_with(kMagic)) return bad("not a netkeep saved plan");
  // The version first: another version may checksum otherwise.
  const std::string_view first = text.substr(0, text.find('\n'));
  const std::string want = fmt::format("{} {}", kMagic, kVersion);
  if (first != want)
    return bad(fmt::format("a saved plan of another version (\"{}\"); this netkeep reads \"{}\"",
                           first.substr(0, 40), want));
  const size_t end = text.rfind("end ");
  if (end == std::string_view::npos ||
      text.substr(end) != fmt::format("end {}\n", hash_hex(text.substr(0, end))))
    return bad("damaged: its checksum does not match (truncated or edited?)");
  std::string_view in = text.substr(first.size() + 1, end - first.size() - 1);
  auto line = [&]() {
    const size_t nl = in.find('\n');
    std::string_view l = in.substr(0, nl);
    in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
    return l;
  };
  SavedPlan p;
  auto blob = [&](std::string_view tag, std::string& out) -> bool {
    std::string_view l = line();
    if (!l.starts_with(tag)) return false;
    const size_t n = std::strtoull(std::string(l.substr(tag.size())).c_str(), nullptr, 10);
    if (n >= in.size() || in[n] != '\n') return false;  // no n + 1: it may wrap
    out = std::string(in.substr(0, n));
    in.remove_prefix(n + 1);
    return true;
  };
  while (in.starts_with("part ")) {
    std::string_view l = line().substr(5);
    const size_t eq = l.rfind('=');
    if (eq == std::string_view::npos) return bad("damaged: a fingerprint line without a value");
    p.fingerprint[std::string(l.substr(0, eq))] = std::string(l.substr(eq + 1));
  }
  if (!blob("json ", p.plan_json) || !blob("text ", p.plan_text) || !in.empty())
    return bad("damaged: the plan is not where the header says");
  return p;
}

}  // namespace netkeep
