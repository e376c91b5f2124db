#include "reconciler/nft_script.hpp"

#include <linux/netfilter.h>

#include <fmt/format.h>

#include "model/nft_text.hpp"
#include "model/overload.hpp"
#include "reconciler/nft_desired.hpp"
#include "reconciler/nft_protect.hpp"
#include "reconciler/protect_words.hpp"

namespace netkeep {

namespace {

std::string where(NftFamily family, const std::string& table, const std::string& name) {
  return fmt::format("{} {} {}", family_name(family), table, name);
}

const char* hook_name(uint32_t hook) {
  switch (hook) {
    case NF_INET_PRE_ROUTING:
      return "prerouting";
    case NF_INET_LOCAL_IN:
      return "input";
    case NF_INET_FORWARD:
      return "forward";
    case NF_INET_LOCAL_OUT:
      return "output";
    default:
      return "postrouting";
  }
}

std::string ports(uint16_t first, uint16_t last) {
  return first == last ? std::to_string(first) : fmt::format("{}-{}", first, last);
}

std::string counts(uint64_t packets, uint64_t bytes) {
  return packets || bytes ? fmt::format(" counter packets {} bytes {}", packets, bytes) : "";
}

// A forwarding map's element: "8080 : 10.10.0.23 . 80", the data a range
// only in the map of ranges to themselves.
std::string map_elem(const std::string& map, const NftMapElem& e, bool with_counts) {
  const std::string to = port_data(map) ? std::to_string(e.to_first) : ports(e.to_first, e.to_last);
  return fmt::format("{}{} : {}.{}.{}.{} . {}", ports(e.first, e.last),
                     with_counts ? counts(e.packets, e.bytes) : "", e.addr[0], e.addr[1], e.addr[2],
                     e.addr[3], to);
}

std::string map_decl(const NftMapAdd& o) {
  const bool ranges = ranges_set(o.name);
  std::string type = "type inet_service";
  if (o.kind == NftMapKind::dnat)
    type +=
        port_data(o.name) ? " : ipv4_addr . inet_service" : " : interval ipv4_addr . inet_service";
  return fmt::format("{{ {}; {}counter; }}", type, ranges ? "flags interval; " : "");
}

void lines(const Op& op, std::string& out) {
  auto line = [&](std::string s) { out += std::move(s) + "\n"; };
  std::visit(
      Overload{
          [&](const NftTableAdd& o) {
            line(fmt::format("add table {} {}", family_name(o.table.family), o.table.name));
          },
          [&](const NftCounterAdd& o) {
            line(fmt::format("add counter {}", where(o.family, o.table, o.name)));
          },
          [&](const NftChainAdd& o) {
            if (!o.base) return line(fmt::format("add chain {}", where(o.family, o.table, o.name)));
            line(fmt::format("add chain {} {{ type {} hook {} priority {}; policy {}; }}",
                             where(o.family, o.table, o.name), o.base->type,
                             hook_name(o.base->hook), o.base->priority,
                             o.base->policy == NF_DROP ? "drop" : "accept"));
          },
          [&](const NftChainDel& o) {
            line(fmt::format("delete chain {}", where(o.family, o.table, o.name)));
          },
          [&](const NftRuleDel& o) {
            line(fmt::format("delete rule {} handle {}", where(o.family, o.table, o.chain),
                             o.handle));
          },
          [&](const NftRuleAdd& o) {
            if (o.place == RulePlace::before_handle)
              return line(fmt::format("insert rule {} position {} {}",
                                      where(o.family, o.table, o.chain), o.ref, rule_text(o.body)));
            line(fmt::format("add rule {} {}", where(o.family, o.table, o.chain),
                             rule_text(o.body)));
          },
          [&](const NftMapAdd& o) {
            line(fmt::format("add {} {} {}", o.kind == NftMapKind::dnat ? "map" : "set",
                             where(o.family, o.table, o.name), map_decl(o)));
          },
          [&](const NftMapDel& o) {
            line(fmt::format("delete {} {}", count_set_proto(o.name) ? "set" : "map",
                             where(o.family, o.table, o.name)));
          },
          [&](const NftForwardAdd& o) {
            line(fmt::format("add element {} {{ {} }}", where(o.family, o.table, o.map),
                             map_elem(o.map, o.elem, true)));
            if (!o.count.empty())
              line(fmt::format("add element {} {{ {}{} }}", where(o.family, kCountTable, o.count),
                               ports(o.elem.first, o.elem.last),
                               counts(o.count_packets, o.count_bytes)));
          },
          [&](const NftForwardDel& o) {
            line(fmt::format("delete element {} {{ {} }}", where(o.family, o.table, o.map),
                             ports(o.elem.first, o.elem.last)));
            if (!o.count.empty())
              line(fmt::format("delete element {} {{ {} }}", where(o.family, kCountTable, o.count),
                               ports(o.elem.first, o.elem.last)));
          },
          [&](const NftForwardChange& o) {
            line(fmt::format("delete element {} {{ {} }}", where(o.family, o.table, o.map),
                             ports(o.from.first, o.from.last)));
            line(fmt::format("add element {} {{ {} }}", where(o.family, o.table, o.map),
                             map_elem(o.map, o.to, true)));
          },
          [&](const NftElemAdd& o) {
            line(fmt::format("add element {} {{ {}{} }}", where(o.family, o.table, o.set),
                             ports(o.elem.first, o.elem.last),
                             counts(o.elem.packets, o.elem.bytes)));
          },
          [&](const NftElemDel& o) {
            line(fmt::format("delete element {} {{ {} }}", where(o.family, o.table, o.set),
                             ports(o.elem.first, o.elem.last)));
          },
          [&](const NftKeySetAdd& o) {
            line(fmt::format("add {} {} {{ {} }}", o.name == kCtStateMap ? "map" : "set",
                             where(o.family, o.table, o.name), keyset_decl_nft(o.family, o.name)));
          },
          [&](const NftKeySetDel& o) {
            line(fmt::format("delete {} {}", o.name == kCtStateMap ? "map" : "set",
                             where(o.family, o.table, o.name)));
          },
          [&](const NftKeyElemAdd& o) {
            line(fmt::format("add element {} {{ {} }}", where(o.family, o.table, o.set),
                             keyset_elem_nft(o.family, o.set, o.elem)));
          },
          [&](const NftKeyElemDel& o) {
            line(fmt::format("delete element {} {{ {} }}", where(o.family, o.table, o.set),
                             keyset_elem_nft(o.family, o.set, o.elem)));
          },
          [](const auto&) {},  // not nftables
      },
      op);
}

}  // namespace

std::string to_nft_script(const Plan& p) {
  std::string out =
      "#!/usr/sbin/nft -f\n"
      "# The nftables part of netkeep's plan: `nft -f` makes it in one transaction.\n";
  for (const auto& op : p.ops)
    if (is_nft(op)) lines(op, out);
  return out;
}

}  // namespace netkeep
