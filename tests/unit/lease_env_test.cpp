// `netkeep lease`'s pure half: DHCP clients' script environments read into
// lease files in router7's format, every malformed value an error naming
// the variable; the files read back by the config parser; RFC 3339 times.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "model/config_parse.hpp"
#include "model/lease_env.hpp"
#include "model/lease_file.hpp"
#include "tests/unit/values.hpp"

using namespace netkeep;
using netkeep::test::ip;
using netkeep::test::pre;

namespace {

constexpr int64_t kNow = 1780000000;  // 2026-05-28T20:26:40Z

Env bound4() {
  return {{"reason", "BOUND"},
          {"interface", "uplink0"},
          {"new_ip_address", "203.0.113.62"},
          {"new_subnet_mask", "255.255.255.128"},
          {"new_subnet_cidr", "25"},
          {"new_routers", "203.0.113.1 203.0.113.2"},
          {"new_domain_name_servers", "192.0.2.53 192.0.2.54"},
          {"new_dhcp_lease_time", "3600"}};
}

Env bound6() {
  return {{"reason", "BOUND6"},
          {"new_dhcp6_ia_pd1_prefix1", "2001:db8:4a00::"},
          {"new_dhcp6_ia_pd1_prefix1_length", "56"},
          {"new_dhcp6_ia_pd1_prefix1_pltime", "1800"},
          {"new_dhcp6_ia_pd1_prefix1_vltime", "7200"},
          {"new_dhcp6_name_servers", "2001:db8::53"}};
}

std::string error_of(const Env& env) {
  auto a = dhcpcd_action(env, kNow);
  return a ? "" : a.error().str();
}

template <class Lease>
std::optional<Lease> reparse(const std::string& text,
                             std::optional<Lease> (*parse)(std::string_view, json::Sink&),
                             Diagnostics& diags) {
  json::Sink sink{"lease.json", &diags};
  return parse(text, sink);
}

}  // namespace

TEST_CASE("dhcpcd BOUND: router7's dhcp4 lease, to the byte, and it reads back") {
  auto a = dhcpcd_action(bound4(), kNow);
  REQUIRE(a);
  CHECK(a->v4 == LeaseAction::Kind::bind);
  CHECK(a->v6 == LeaseAction::Kind::none);
  const std::string text = render_dhcp4_lease(a->lease4);
  CHECK(text ==
        R"({"valid_until":"2026-05-28T21:26:40Z","client_ip":"203.0.113.62",)"
        R"("subnet_mask":"255.255.255.128","router":"203.0.113.1","dns":["192.0.2.53","192.0.2.54"]})");
  Diagnostics diags;
  auto back = reparse<Dhcp4Lease>(text, parse_dhcp4_lease, diags);
  REQUIRE(back);
  CHECK(diags.empty());
  CHECK(*back == a->lease4);
  CHECK(back->prefix_len == 25);
  CHECK(back->valid_until.unix_seconds == kNow + 3600);
}

TEST_CASE("dhcpcd: RENEW, REBIND and REBOOT bind like BOUND; the mask may come as a length") {
  for (const char* r : {"RENEW", "REBIND", "REBOOT"}) {
    Env e = bound4();
    e["reason"] = r;
    e.erase("new_subnet_mask");
    auto a = dhcpcd_action(e, kNow);
    REQUIRE(a);
    CHECK(a->v4 == LeaseAction::Kind::bind);
    CHECK(a->lease4.prefix_len == 25);
  }
}

TEST_CASE("dhcpcd: events that change nothing write nothing; STOP ends nothing") {
  for (const char* r : {"PREINIT", "CARRIER", "NOCARRIER", "STOP", "STOP6", "TIMEOUT",
                        "ROUTERADVERT", "DELEGATED6", "DEPARTED"}) {
    Env e = bound4();
    e["reason"] = r;
    auto a = dhcpcd_action(e, kNow);
    REQUIRE(a);
    CHECK(*a == LeaseAction{});
  }
}

TEST_CASE("dhcpcd: EXPIRE, RELEASE and NAK end the DHCPv4 lease, EXPIRE6 and RELEASE6 the prefix") {
  for (const char* r : {"EXPIRE", "RELEASE", "NAK"}) {
    auto a = dhcpcd_action({{"reason", r}}, kNow);
    REQUIRE(a);
    CHECK(a->v4 == LeaseAction::Kind::end);
    CHECK(a->v6 == LeaseAction::Kind::none);
  }
  for (const char* r : {"EXPIRE6", "RELEASE6"}) {
    auto a = dhcpcd_action({{"reason", r}}, kNow);
    REQUIRE(a);
    CHECK(a->v6 == LeaseAction::Kind::end);
    CHECK(a->v4 == LeaseAction::Kind::none);
  }
}

TEST_CASE("dhcpcd STOP: a release (its saved lease gone) ends the lease; a plain stop does not") {
  Env e = bound4();
  e["reason"] = "STOP";
  auto a = dhcpcd_action(e, kNow, {.lease4 = true, .lease6 = true});
  REQUIRE(a);
  CHECK(*a == LeaseAction{});
  a = dhcpcd_action(e, kNow, {.lease4 = false, .lease6 = true});
  REQUIRE(a);
  CHECK(a->v4 == LeaseAction::Kind::end);
  CHECK(a->v6 == LeaseAction::Kind::none);
  e["reason"] = "STOP6";
  a = dhcpcd_action(e, kNow, {.lease4 = false, .lease6 = false});
  REQUIRE(a);
  CHECK(a->v6 == LeaseAction::Kind::end);
  CHECK(a->v4 == LeaseAction::Kind::none);
}

TEST_CASE("dhcpcd BOUND6: the delegated prefixes, router7's dhcp6 lease, and it reads back") {
  Env e = bound6();
  e["new_dhcp6_ia_pd1_prefix2"] = "2001:db8:77::";
  e["new_dhcp6_ia_pd1_prefix2_length"] = "64";
  e["new_dhcp6_ia_pd1_prefix2_vltime"] = "3600";
  auto a = dhcpcd_action(e, kNow);
  REQUIRE(a);
  CHECK(a->v6 == LeaseAction::Kind::bind);
  REQUIRE(a->lease6.prefixes.size() == 2);
  // The shortest valid lifetime is the lease's.
  CHECK(a->lease6.valid_until.unix_seconds == kNow + 3600);
  const std::string text = render_dhcp6_lease(a->lease6);
  CHECK(text == R"({"valid_until":"2026-05-28T21:26:40Z","prefixes":[)"
                R"({"IP":"2001:db8:77::","Mask":"//////////8AAAAAAAAAAA=="},)"
                R"({"IP":"2001:db8:4a00::","Mask":"/////////wAAAAAAAAAAAA=="}],"dns":["2001:db8::53"]})");
  Diagnostics diags;
  auto back = reparse<Dhcp6Lease>(text, parse_dhcp6_lease, diags);
  REQUIRE(back);
  CHECK(*back == a->lease6);
}

TEST_CASE("dhcpcd BOUND6: a withdrawn prefix (valid lifetime 0) is left out; all withdrawn ends") {
  Env e = bound6();
  e["new_dhcp6_ia_pd1_prefix1_vltime"] = "0";
  auto a = dhcpcd_action(e, kNow);
  REQUIRE(a);
  CHECK(a->v6 == LeaseAction::Kind::end);
  // No prefix at all (addresses only): nothing said of lan0.
  a = dhcpcd_action({{"reason", "BOUND6"}, {"new_dhcp6_ia_na1_ia_addr1", "2001:db8::5"}}, kNow);
  REQUIRE(a);
  CHECK(a->v6 == LeaseAction::Kind::none);
}

TEST_CASE("dhcpcd: an infinite lease has no time") {
  Env e = bound4();
  e["new_dhcp_lease_time"] = "4294967295";
  auto a = dhcpcd_action(e, kNow);
  REQUIRE(a);
  CHECK(a->lease4.valid_until.kind == Timestamp::Kind::zero);
  CHECK(render_dhcp4_lease(a->lease4).starts_with(R"({"valid_until":"0001-01-01T00:00:00Z",)"));
}

TEST_CASE("dhcpcd: every malformed value is an error naming the variable and the value") {
  auto with = [](Env e, const char* var, const char* value) {
    if (value)
      e[var] = value;
    else
      e.erase(var);
    return error_of(e);
  };
  CHECK(error_of({}) == "reason: missing");
  CHECK(with(bound4(), "new_ip_address", "203.0.113.300") ==
        R"(new_ip_address="203.0.113.300": not an IPv4 address)");
  CHECK(with(bound4(), "new_ip_address", "2001:db8::1") ==
        R"(new_ip_address="2001:db8::1": not an IPv4 address)");
  CHECK(with(bound4(), "new_ip_address", nullptr) == "new_ip_address: missing");
  CHECK(with(bound4(), "new_subnet_mask", "255.0.255.0") ==
        R"(new_subnet_mask="255.0.255.0": not a contiguous netmask)");
  CHECK(with(bound4(), "new_subnet_mask", "0.0.0.0") ==
        R"(new_subnet_mask="0.0.0.0": not a contiguous netmask)");
  Env no_mask = bound4();
  no_mask.erase("new_subnet_mask");
  CHECK(with(no_mask, "new_subnet_cidr", "33") == R"(new_subnet_cidr="33": not a prefix length (1-32))");
  CHECK(with(no_mask, "new_subnet_cidr", nullptr) == "new_subnet_mask: missing");
  CHECK(with(bound4(), "new_routers", nullptr) == "new_routers: missing");
  CHECK(with(bound4(), "new_routers", "203.0.113.1 x") ==
        R"(new_routers="203.0.113.1 x": "x" is not an IPv4 address)");
  CHECK(with(bound4(), "new_domain_name_servers", "2001:db8::53") ==
        R"(new_domain_name_servers="2001:db8::53": "2001:db8::53" is not an IPv4 address)");
  for (const char* t : {"", "0", "-5", "12s", "4294967296", "99999999999999999999"})
    CHECK(with(bound4(), "new_dhcp_lease_time", t) ==
          (std::string(t) == "0" ? R"(new_dhcp_lease_time="0": a lease of 0 seconds)"
                                 : fmt::format(R"(new_dhcp_lease_time="{}": not a lifetime in seconds (0-4294967295))", t)));
  CHECK(with(bound4(), "new_dhcp_lease_time", nullptr) == "new_dhcp_lease_time: missing");
  CHECK(with(bound6(), "new_dhcp6_ia_pd1_prefix1", "10.0.0.0") ==
        R"(new_dhcp6_ia_pd1_prefix1="10.0.0.0": not an IPv6 address)");
  CHECK(with(bound6(), "new_dhcp6_ia_pd1_prefix1_length", "65") ==
        R"(new_dhcp6_ia_pd1_prefix1_length="65": not a prefix length (1-64))");
  CHECK(with(bound6(), "new_dhcp6_ia_pd1_prefix1_length", "0") ==
        R"(new_dhcp6_ia_pd1_prefix1_length="0": not a prefix length (1-64))");
  CHECK(with(bound6(), "new_dhcp6_ia_pd1_prefix1_vltime", nullptr) ==
        "new_dhcp6_ia_pd1_prefix1_vltime: missing");
  CHECK(with(bound6(), "new_dhcp6_name_servers", "192.0.2.53") ==
        R"(new_dhcp6_name_servers="192.0.2.53": "192.0.2.53" is not an IPv6 address)");
}

TEST_CASE("udhcpc: bound and renew bind; nak ends; deconfig and leasefail end only this run's lease") {
  const Env env{{"ip", "198.51.100.20"}, {"subnet", "255.255.255.0"}, {"mask", "24"},
                {"router", "198.51.100.1"}, {"dns", "198.51.100.53"}, {"lease", "600"}};
  for (const char* ev : {"bound", "renew"}) {
    auto a = udhcpc_action(ev, env, kNow, false);
    REQUIRE(a);
    CHECK(a->v4 == LeaseAction::Kind::bind);
    CHECK(a->lease4.client_ip == ip("198.51.100.20"));
    CHECK(a->lease4.prefix_len == 24);
    CHECK(a->lease4.router == ip("198.51.100.1"));
    CHECK(a->lease4.valid_until.unix_seconds == kNow + 600);
  }
  auto a = udhcpc_action("nak", {}, kNow, false);
  REQUIRE(a);
  CHECK(a->v4 == LeaseAction::Kind::end);
  for (const char* ev : {"deconfig", "leasefail"}) {
    a = udhcpc_action(ev, {}, kNow, false);
    REQUIRE(a);
    CHECK(*a == LeaseAction{});  // udhcpc's start: a lease from before stays
    a = udhcpc_action(ev, {}, kNow, true);
    REQUIRE(a);
    CHECK(a->v4 == LeaseAction::Kind::end);
  }
  a = udhcpc_action("bogus", {}, kNow, false);
  REQUIRE(!a);
  CHECK(a.error().str() == R"(EVENT="bogus": not an udhcpc event (deconfig, bound, renew, leasefail, nak))");
  Env bad = env;
  bad["subnet"] = "255.255.0.255";
  a = udhcpc_action("bound", bad, kNow, false);
  REQUIRE(!a);
  CHECK(a.error().str() == R"(subnet="255.255.0.255": not a contiguous netmask)");
}

TEST_CASE("an ended lease: the same file with \"state\": \"ended\", read back as ended") {
  auto a = dhcpcd_action(bound4(), kNow);
  REQUIRE(a);
  Dhcp4Lease l = a->lease4;
  l.ended = true;
  const std::string text = render_dhcp4_lease(l);
  CHECK(text.ends_with(R"("dns":["192.0.2.53","192.0.2.54"],"state":"ended"})"));
  Diagnostics diags;
  auto back = reparse<Dhcp4Lease>(text, parse_dhcp4_lease, diags);
  REQUIRE(back);
  CHECK(back->ended);
  CHECK(diags.empty());
  // Ended with nothing known of what it was.
  Dhcp4Lease unknown;
  unknown.ended = true;
  const std::string bare = render_dhcp4_lease(unknown);
  CHECK(bare == R"({"valid_until":"0001-01-01T00:00:00Z","state":"ended"})");
  back = reparse<Dhcp4Lease>(bare, parse_dhcp4_lease, diags);
  REQUIRE(back);
  CHECK(back->ended);
  auto six = reparse<Dhcp6Lease>(R"({"valid_until":"0001-01-01T00:00:00Z","prefixes":[],"state":"ended"})",
                                 parse_dhcp6_lease, diags);
  REQUIRE(six);
  CHECK(six->ended);
  // Another state is an error naming the path and the value.
  Diagnostics d2;
  CHECK(!reparse<Dhcp4Lease>(R"({"state":"gone"})", parse_dhcp4_lease, d2));
  REQUIRE(!d2.empty());
  CHECK(d2[0].str().find(R"(state: "gone" is not "bound" or "ended")") != std::string::npos);
}

TEST_CASE("RFC 3339: offsets, fractions, Go's zero time, and what is not a time") {
  CHECK(parse_rfc3339("2026-05-18T23:46:04+02:00") ==
        Timestamp{Timestamp::Kind::time, parse_rfc3339("2026-05-18T21:46:04Z").unix_seconds});
  CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == Timestamp{Timestamp::Kind::time, 0});
  CHECK(parse_rfc3339("2026-05-28T20:26:40.123456789Z").unix_seconds == kNow);
  CHECK(parse_rfc3339("2024-02-29T00:00:00-00:30").unix_seconds ==
        parse_rfc3339("2024-02-29T00:30:00Z").unix_seconds);
  CHECK(parse_rfc3339("0001-01-01T00:00:00Z").kind == Timestamp::Kind::zero);
  for (const char* bad : {"", "2026-05-18", "2026-05-18T23:46:04", "2026-13-01T00:00:00Z",
                          "2023-02-29T00:00:00Z", "2026-05-18T24:00:00Z", "2026-05-18T23:46:04+2:00",
                          "2026-05-18T23:46:04.Z", "2026-05-18T23:46:04Zjunk"})
    CHECK_MESSAGE(parse_rfc3339(bad).kind == Timestamp::Kind::invalid, bad);
  CHECK(format_rfc3339(kNow) == "2026-05-28T20:26:40Z");
  CHECK(format_rfc3339(0) == "1970-01-01T00:00:00Z");
  for (int64_t t : {int64_t{951782400}, int64_t{4102444799}, kNow + 86399})
    CHECK(parse_rfc3339(format_rfc3339(t)).unix_seconds == t);
}

TEST_CASE("show's words for a lease: what is leased, the time it has left, or why there is none") {
  ConfigFile<Dhcp4Lease> f;
  CHECK(lease_summary(f, kNow) == "none (no lease file: no DHCP client has run yet)");
  CHECK(lease_valid_until(f) == 0);
  f.state = FileState::invalid;
  CHECK(lease_summary(f, kNow) == "invalid (netkeep plan names the error)");
  auto a = dhcpcd_action(bound4(), kNow);
  REQUIRE(a);
  f = {FileState::ok, a->lease4};
  CHECK(lease_summary(f, kNow + 60) ==
        "203.0.113.62/25 via 203.0.113.1, valid until 2026-05-28T21:26:40Z (3540 s left)");
  CHECK(lease_valid_until(f) == kNow + 3600);
  CHECK(lease_summary(f, kNow + 3620) ==
        "203.0.113.62/25 via 203.0.113.1, valid until 2026-05-28T21:26:40Z (expired 20 s ago: not "
        "acted on; is the DHCP client running?)");
  f.value.ended = true;
  CHECK(lease_summary(f, kNow) == "ended (203.0.113.62/25 via 203.0.113.1)");
  CHECK(lease_valid_until(f) == 0);
  ConfigFile<Dhcp6Lease> six{FileState::ok, {}};
  six.value.prefixes = {pre("2001:db8:4a00::/56")};
  CHECK(lease_summary(six, kNow) == "2001:db8:4a00::/56, no end time");
}

TEST_CASE("show --json's leases: state, what is leased, and the time left") {
  Leases l;
  CHECK(leases_json(l, kNow) == R"({"dhcp4": {"state": "missing"}, "dhcp6": {"state": "missing"}})");
  auto a = dhcpcd_action(bound4(), kNow);
  REQUIRE(a);
  l.dhcp4 = {FileState::ok, a->lease4};
  l.dhcp6.state = FileState::invalid;
  CHECK(leases_json(l, kNow + 60) ==
        R"({"dhcp4": {"state": "in force", "valid_until": "2026-05-28T21:26:40Z", "seconds_left": 3540, )"
        R"("address": "203.0.113.62/25", "router": "203.0.113.1"}, "dhcp6": {"state": "invalid"}})");
  l.dhcp4.value.ended = true;
  l.dhcp6 = {FileState::ok, {}};
  l.dhcp6.value.prefixes = {pre("2001:db8:4a00::/56"), pre("2001:db8:4b00::/56")};
  CHECK(leases_json(l, kNow + 3620) ==
        R"({"dhcp4": {"state": "ended", "valid_until": "2026-05-28T21:26:40Z", "seconds_left": -20, )"
        R"("address": "203.0.113.62/25", "router": "203.0.113.1"}, )"
        R"("dhcp6": {"state": "in force", "prefixes": ["2001:db8:4a00::/56", "2001:db8:4b00::/56"]}})");
}
