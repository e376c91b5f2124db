// plan --nft: the nftables ops of a plan as an `nft -f` script, a line an
// op (a forwarding with its count set element is two). The netns test
// test_nft_roundtrip.sh has nft itself load such scripts.
#include <doctest/doctest.h>
#include <netinet/in.h>

#include "nft_helpers.hpp"
#include "reconciler/nft_desired.hpp"
#include "reconciler/nft_protect.hpp"
#include "reconciler/nft_script.hpp"

using namespace netkeep;
using namespace netkeep::test;

namespace {

bool has_line(const std::string& script, const std::string& line) {
  return script.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("plan --nft: a fresh ruleset's objects, rules and elements in nft's words") {
  const Desired d =
      with_forwardings({{IPPROTO_TCP, {8080, 8080}, *IpAddr::parse("10.10.0.23"), {80, 80}},
                        {IPPROTO_TCP, {6000, 6010}, *IpAddr::parse("10.10.0.99"), {6000, 6010}},
                        {IPPROTO_UDP, {7000, 7005}, *IpAddr::parse("10.10.0.5"), {22, 22}}});
  const std::string s = to_nft_script(plan(d, Actual{}));
  INFO(s);
  CHECK(s.starts_with("#!/usr/sbin/nft -f\n"));
  for (const char* line : {
           "add table ip nat",
           "add counter ip filter fwded",
           "add chain ip nat router7-portforwardings",
           "add chain ip nat prerouting { type nat hook prerouting priority 0; policy accept; }",
           "add map ip nat netkeep-portforwardings-tcp { type inet_service : ipv4_addr . "
           "inet_service; counter; }",
           "add map ip nat netkeep-portforwardings-tcp-ranges { type inet_service : interval "
           "ipv4_addr . inet_service; flags interval; counter; }",
           "add map ip nat netkeep-portforwardings-udp-ranges-to-port { type inet_service : "
           "ipv4_addr . inet_service; flags interval; counter; }",
           "add set ip netkeep forwarded-tcp { type inet_service; counter; }",
           "add element ip nat netkeep-portforwardings-tcp { 8080 : 10.10.0.23 . 80 }",
           "add element ip netkeep forwarded-tcp { 8080 }",
           "add element ip nat netkeep-portforwardings-tcp-ranges { 6000-6010 : 10.10.0.99 . "
           "6000-6010 }",
           "add element ip nat netkeep-portforwardings-udp-ranges-to-port { 7000-7005 : "
           "10.10.0.5 . 22 }",
           "add rule ip nat router7-portforwardings fib daddr type != 2 return",
           "add rule ip nat router7-portforwardings dnat ip to tcp dport map "
           "@netkeep-portforwardings-tcp",
       })
    CHECK_MESSAGE(has_line(s, line), line);
  CHECK(s.find("sysctl") == std::string::npos);  // nftables only
}

TEST_CASE("plan --nft: rules replaced by handle, changed elements, counts carried") {
  const Op ops[] = {
      NftRuleDel{NftFamily::ip, "nat", "postrouting", 7, "oifname \"uplink0\" masquerade"},
      NftRuleAdd{NftFamily::ip, "nat", "postrouting", {}, 1, RulePlace::before_handle, 9},
      NftForwardChange{NftFamily::ip, "nat", kForwardingMapUdp, IPPROTO_UDP,
                       NftMapElem{53, 53, {10, 10, 0, 99}, 53, 53, 0, 0},
                       NftMapElem{53, 53, {10, 10, 0, 98}, 53, 53, 0, 0}},
      NftForwardAdd{NftFamily::ip, "nat", kForwardingMapTcp, IPPROTO_TCP,
                    NftMapElem{22, 22, {10, 10, 0, 2}, 22, 22, 5, 300}, kCountSetTcp, 7, 700},
      NftForwardDel{NftFamily::ip, "nat", kForwardingRangesTcp, IPPROTO_TCP,
                    NftMapElem{6000, 6010, {10, 10, 0, 99}, 6000, 6010, 0, 0}, kCountRangesTcp},
      NftChainDel{NftFamily::ip6, kProtectTable, kProtectLanChain, "protection is off"},
      NftMapDel{NftFamily::ip, kCountTable, kCountSetUdp, "not of the type netkeep makes"},
      SysctlSet{"net.ipv4.ip_forward", "0", "1"},
  };
  Plan p;
  p.ops.assign(std::begin(ops), std::end(ops));
  const std::string s = to_nft_script(p);
  INFO(s);
  for (const char* line : {
           "delete rule ip nat postrouting handle 7",
           "insert rule ip nat postrouting position 9 ",
           "delete element ip nat netkeep-portforwardings-udp { 53 }",
           "add element ip nat netkeep-portforwardings-udp { 53 : 10.10.0.98 . 53 }",
           "add element ip nat netkeep-portforwardings-tcp { 22 counter packets 5 bytes 300 : "
           "10.10.0.2 . 22 }",
           "add element ip netkeep forwarded-tcp { 22 counter packets 7 bytes 700 }",
           "delete element ip nat netkeep-portforwardings-tcp-ranges { 6000-6010 }",
           "delete element ip netkeep forwarded-tcp-ranges { 6000-6010 }",
           "delete chain ip6 netkeep protect-lan",
           "delete set ip netkeep forwarded-udp",
       })
    CHECK_MESSAGE(has_line(s, line), line);
  CHECK(s.find("ip_forward") == std::string::npos);
}

TEST_CASE("plan --nft: protection's sets, map and elements") {
  Desired d;
  FirewallConfig fw;
  fw.open = {{IPPROTO_TCP, {22, 22}}};
  fw.pinholes = {
      {IPPROTO_TCP, {443, 443}, *IpAddr::parse("2001:db8:5::7"), std::nullopt, std::nullopt, 0}};
  d.firewall = {FileState::ok, fw};
  const std::string s = to_nft_script(plan(d, Actual{}));
  INFO(s);
  for (const char* line : {
           "add map ip6 netkeep ct-state { type ct_state : verdict; }",
           "add set ip6 netkeep pinholes { type ipv6_addr . inet_proto . inet_service; counter; }",
           "add set ip netkeep pinholes { type ipv4_addr . inet_proto . inet_service; counter; }",
           "add set ip netkeep open { type inet_proto . inet_service; counter; }",
           "add element ip6 netkeep ct-state { invalid : drop }",
           "add element ip6 netkeep ct-state { established : accept }",
           "add element ip6 netkeep pinholes { 2001:db8:5::7 . tcp . 443 }",
           "add element ip netkeep open { tcp . 22 }",
           "add chain ip6 netkeep protect-lan { type filter hook forward priority 0; policy "
           "accept; }",
       })
    CHECK_MESSAGE(has_line(s, line), line);
}
