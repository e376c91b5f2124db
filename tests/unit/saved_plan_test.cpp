// Saved plans: the file format, and the fingerprint that says what changed.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "model/ownership.hpp"
#include "reconciler/saved_plan.hpp"
#include "values.hpp"

using namespace netkeep;
using namespace netkeep::test;
namespace fs = std::filesystem;

namespace {

struct ConfigDir {
  ConfigDir() {
    char t[] = "/tmp/netkeep-saved-XXXXXX";
    path = mkdtemp(t);
  }
  ~ConfigDir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
  }
  fs::path path;
};

Actual router() {
  Actual a;
  a.links = {{"lan0", "", *Mac::parse("02:00:00:00:00:aa"), 1500, true, ""}};
  a.addrs = {{"lan0", pre("10.10.0.1/24"), ip("10.10.0.255"), kAddrProtoInterfaces}};
  a.routes = {
      {pre("10.99.0.0/16"), ip("10.10.0.254"), "lan0", kRouteProtoNetkeep, 0, std::nullopt, 0}};
  a.sysctls = {{"net/ipv4/ip_forward", "1"}};
  return a;
}

}  // namespace

TEST_CASE("saved plan: written and read back whole") {
  SavedPlan p{
      {{"config interfaces.json", "0123456789abcdef"}, {"kernel links", "fedcba9876543210"}},
      "[\n  {\"kind\": \"sysctl_set\"}\n]\n",
      "~ sysctl net.ipv4.ip_forward: 0 -> 1\n"};
  auto back = parse_saved_plan(serialize(p));
  REQUIRE_MESSAGE(back.has_value(), (back ? "" : back.error()));
  CHECK(back->fingerprint == p.fingerprint);
  CHECK(back->plan_json == p.plan_json);
  CHECK(back->plan_text == p.plan_text);
}

TEST_CASE("saved plan: damaged, foreign and other-version files are refused, saying which") {
  SavedPlan p{{{"kernel links", "fedcba9876543210"}}, "[]\n", ""};
  const std::string good = serialize(p);
  auto why = [](std::string text) {
    auto r = parse_saved_plan(text);
    return r ? std::string("accepted") : r.error();
  };
  CHECK(why("{\"format_version\": \"1.0\"}") == "not a netkeep saved plan");
  CHECK(why("") == "not a netkeep saved plan");
  CHECK(why(good.substr(0, good.size() / 2)).starts_with("damaged"));
  std::string edited = good;
  edited[edited.find("fedcba")] = '0';
  CHECK(why(edited).starts_with("damaged"));
  std::string v2 = good;
  v2.replace(v2.find(" 1\n"), 3, " 2\n");
  CHECK(why(v2) ==
        "a saved plan of another version (\"netkeep saved plan 2\"); this netkeep reads "
        "\"netkeep saved plan 1\"");
}

TEST_CASE("fingerprint: each config file and kind of kernel object apart") {
  ConfigDir dir;
  dir.write("interfaces.json", "{}");
  const Actual a = router();
  const Fingerprint f = fingerprint(dir.path, a);
  CHECK(f.at("config interfaces.json") != "missing");
  CHECK(f.at("config portforwardings.json") == "missing");
  CHECK(fingerprint_diff(f, fingerprint(dir.path, a)).empty());

  dir.write("interfaces.json", "{ }");
  CHECK(fingerprint_diff(f, fingerprint(dir.path, a)) == "interfaces.json changed");
  dir.write("portforwardings.json", "{}");
  CHECK(fingerprint_diff(f, fingerprint(dir.path, a)) ==
        "interfaces.json changed; portforwardings.json appeared");
  fs::remove(dir.path / "interfaces.json");
  fs::remove(dir.path / "portforwardings.json");
  CHECK(fingerprint_diff(f, fingerprint(dir.path, a)) == "interfaces.json was removed");
  dir.write("interfaces.json", "{}");

  Actual b = a;
  b.addrs[0].broadcast = std::nullopt;
  b.sysctls["net/ipv4/ip_forward"] = "0";
  CHECK(fingerprint_diff(f, fingerprint(dir.path, b)) ==
        "the kernel's addresses changed; the kernel's sysctls changed");

  // What the kernel makes and owns itself does not count.
  b = a;
  b.addrs.push_back({"lan0", pre("fe80::1/64"), std::nullopt, 3});
  b.routes.push_back(
      {pre("fe80::/64"), std::nullopt, "lan0", kRouteProtoKernel, 0, std::nullopt, 256});
  CHECK(fingerprint_diff(f, fingerprint(dir.path, b)).empty());
  // A foreign route that is not the kernel's own does.
  b.routes.push_back(
      {pre("10.98.0.0/16"), ip("10.10.0.253"), "lan0", kRouteProtoBoot, 0, std::nullopt, 0});
  CHECK(fingerprint_diff(f, fingerprint(dir.path, b)) == "the kernel's routes changed");

  // WireGuard private keys count, though the snapshot's JSON hides them.
  b = a;
  b.wireguard = {{"wg0", 51820, std::string(32, 'a'), "", {}}};
  Actual c = b;
  c.wireguard[0].private_key = std::string(32, 'b');
  CHECK(fingerprint_diff(fingerprint(dir.path, b), fingerprint(dir.path, c)) ==
        "the kernel's wireguard changed");

  Fingerprint other = f;
  other["kernel something new"] = "0";
  CHECK(fingerprint_diff(other, f) == "it was fingerprinted by another netkeep");
}
