// Which flows in flight a plan's forwarding changes end (reconciler/flows.hpp).
#include <doctest/doctest.h>

#include <cerrno>

#include "reconciler/executor.hpp"
#include "reconciler/flows.hpp"
#include "reconciler/plan_print.hpp"
#include "tests/fake/fake_kernel.hpp"

using namespace netkeep;

namespace {

NftMapElem elem(uint16_t first, uint16_t last, uint8_t host, uint16_t to_first, uint16_t to_last) {
  return {first, last, {192, 168, 42, host}, to_first, to_last};
}
NftForwardDel del(uint8_t proto, NftMapElem e) {
  return {NftFamily::ip, "nat", proto == 6 ? "tcp-ports" : "udp-ports", proto, e, {}};
}
NftForwardAdd add(uint8_t proto, NftMapElem e) {
  return {NftFamily::ip, "nat", proto == 6 ? "tcp-ports" : "udp-ports", proto, e, {}};
}
NftForwardChange change(uint8_t proto, NftMapElem from, NftMapElem to) {
  return {NftFamily::ip, "nat", proto == 6 ? "tcp-ports" : "udp-ports", proto, from, to};
}

std::vector<std::string> lines(const std::vector<Op>& ops) {
  std::vector<std::string> out;
  for (const auto& op : ops) out.push_back(to_text(op));
  return out;
}

}  // namespace

TEST_CASE("flows: a forwarding moved elsewhere moves its flows, right after the nftables ops") {
  std::vector<Op> ops{
      SysctlSet{"net/ipv4/ip_forward", "0", "1"},
      change(17, elem(5000, 5000, 23, 5000, 5000), elem(5000, 5000, 24, 5000, 5000)),
      FileWrite{"/tmp/resolv.conf", "nameserver 10.0.0.1\n", FileKind::missing}};
  plan_flows(ops, 1, false);
  REQUIRE(ops.size() == 4);
  CHECK(lines(ops)[2] == "~ conntrack udp 5000 -> 192.168.42.23:5000: flows in flight move");
  CHECK(std::holds_alternative<FileWrite>(ops[3]));
  auto& f = std::get<FlowsEnd>(ops[2]);
  f.in_flight = 1;
  CHECK(to_text(ops[2]) ==
        "~ conntrack udp 5000 -> 192.168.42.23:5000: 1 flow in flight will move");
  CHECK(to_json(ops[2]) ==
        R"({"kind": "flows_end", "proto": "udp", "port": "5000", "dest_addr": "192.168.42.23", )"
        R"("dest_port": "5000", "moves": true, "in_flight": 1})");
}

TEST_CASE("flows: a removed forwarding ends its flows; TCP too unless keep_tcp") {
  std::vector<Op> ops{del(17, elem(5000, 5000, 23, 5000, 5000)),
                      del(6, elem(8080, 8080, 23, 80, 80))};
  auto kept = ops;
  plan_flows(ops, 0, false);
  CHECK(lines(ops) ==
        std::vector<std::string>{"- forward udp 5000 -> 192.168.42.23:5000",
                                 "- forward tcp 8080 -> 192.168.42.23:80",
                                 "~ conntrack udp 5000 -> 192.168.42.23:5000: flows in flight end",
                                 "~ conntrack tcp 8080 -> 192.168.42.23:80: flows in flight end"});
  plan_flows(kept, 0, true);
  REQUIRE(kept.size() == 3);
  CHECK(std::get<FlowsEnd>(kept[2]).proto == 17);
}

TEST_CASE("flows: the same destination in another map, or no forwarding change, ends nothing") {
  // 8080 -> :8080 becomes 8080-8081 -> :8080-8081: from the single-port map to the range map.
  std::vector<Op> moved{del(6, elem(8080, 8080, 23, 8080, 8080)),
                        add(6, elem(8080, 8081, 23, 8080, 8081))};
  plan_flows(moved, 0, false);
  CHECK(moved.size() == 2);
  std::vector<Op> other{add(17, elem(53, 53, 9, 53, 53)), SysctlSet{"k", "0", "1"}};
  plan_flows(other, 0, false);
  CHECK(other.size() == 2);
  std::vector<Op> none;
  plan_flows(none, 0, false);
  CHECK(none.empty());
}

TEST_CASE("flows: a range cut short ends the ports it lost, at their own ports") {
  // 6000-6010 -> .99 (each port to itself) becomes 6000-6004 -> the same
  // (its data still the whole range); 6007 goes elsewhere.
  std::vector<Op> ops{del(17, elem(6000, 6010, 99, 6000, 6010)),
                      add(17, elem(6000, 6004, 99, 6000, 6010)),
                      add(17, elem(6007, 6007, 98, 6007, 6007))};
  plan_flows(ops, 0, false);
  const auto l = lines(ops);
  CHECK(std::vector<std::string>(l.begin() + 3, l.end()) ==
        std::vector<std::string>{
            "~ conntrack udp 6005-6006 -> 192.168.42.99:6005-6006: flows in flight end",
            "~ conntrack udp 6007 -> 192.168.42.99:6007: flows in flight move",
            "~ conntrack udp 6008-6010 -> 192.168.42.99:6008-6010: flows in flight end"});
}

TEST_CASE("flows: a range to one port keeps that port") {
  std::vector<Op> ops{del(6, elem(6000, 6002, 99, 22, 22))};
  plan_flows(ops, 0, false);
  REQUIRE(ops.size() == 2);
  CHECK(to_text(ops[1]) == "~ conntrack tcp 6000-6002 -> 192.168.42.99:22: flows in flight end");
}

TEST_CASE("flows: the executor ends them after a committed transaction, never after a failed one") {
  Plan p;
  p.ops = {del(17, elem(5000, 5000, 23, 5000, 5000))};
  plan_flows(p.ops, 0, false);
  REQUIRE(p.ops.size() == 2);
  FakeKernel refused{Actual{}};
  refused.refuse = [](const Op& op) -> std::optional<KernelError> {
    if (is_nft(op)) return KernelError{EINVAL, "Invalid argument"};
    return std::nullopt;
  };
  ExecResult r = execute(p, refused);
  CHECK(refused.ended.empty());
  REQUIRE(r.failures.size() == 2);
  CHECK(r.failures[1].skipped);
  CHECK(r.failures[1].error.message == "skipped: the nftables transaction failed");
  CHECK(r.flows_ended_udp == 0);

  Plan ends;  // what the planner puts after a committed transaction, alone
  ends.ops = {p.ops[1], FlowsEnd{6, {8080, 8080}, {10, 10, 0, 23}, {80, 80}, false, {}}};
  FakeKernel k{Actual{}};
  ExecResult done = execute(ends, k);
  CHECK(done.ok());
  CHECK(done.applied == std::vector<size_t>{0, 1});
  CHECK(k.ended.size() == 2);
  CHECK(done.flows_ended_udp == 1);
  CHECK(done.flows_ended_tcp == 1);
}
