#include "model/nft_text.hpp"

// glibc's netinet/in.h must come before the kernel headers that include linux/in.h.
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <array>
#include <cstring>
#include <optional>
#include <vector>

namespace netkeep {

namespace {

// One expression, as views into the rule's bytes: rendering thousands of
// rules (a cold apply prints every one) allocates nothing per attribute.
struct Expr {
  std::string_view name;
  std::array<std::pair<uint16_t, std::string_view>, 16> attrs;
  size_t n = 0;
};

std::optional<std::string_view> attr(const Expr& e, uint16_t type) {
  for (size_t i = 0; i < e.n; i++)
    if (e.attrs[i].first == type) return e.attrs[i].second;
  return std::nullopt;
}

// The IPv4 address in the first four bytes (zeros where missing).
std::string ipv4(std::string_view b) {
  IpAddr a;
  std::memcpy(a.bytes.data(), b.data(), std::min<size_t>(4, b.size()));
  return a.str();
}

// An IPv6 address (or its first bytes, a prefix), zeros where missing.
std::string ipv6(std::string_view b) {
  IpAddr a;
  a.family = Family::v6;
  std::memcpy(a.bytes.data(), b.data(), std::min<size_t>(16, b.size()));
  return a.str();
}

std::string l4_name(int p) {
  return p == IPPROTO_TCP      ? "tcp"
         : p == IPPROTO_UDP    ? "udp"
         : p == IPPROTO_ICMP   ? "icmp"
         : p == IPPROTO_ESP    ? "esp"
         : p == IPPROTO_ICMPV6 ? "icmpv6"
                               : std::to_string(p);
}

// A big-endian u32 attribute (registers, keys, operators), as the kernel sends them.
uint32_t u32(const Expr& e, uint16_t type) {
  auto v = attr(e, type);
  return v ? be32_of(*v) : 0;
}

// The value inside a data attribute (NFTA_DATA_VALUE), e.g. a cmp's operand.
std::string data(const Expr& e, uint16_t type) {
  auto v = attr(e, type);
  if (!v) return {};
  auto inner = nested_attr(*v, NFTA_DATA_VALUE);
  return inner ? std::string(*inner) : std::string();
}

std::string hex(const std::string& bytes) {
  uint64_t v = 0;
  for (unsigned char c : bytes) v = v << 8 | c;
  return fmt::format("0x{:x}", v);
}

std::string host_hex(const std::string& bytes) {  // a host-order u32
  uint32_t v = 0;
  std::memcpy(&v, bytes.data(), std::min<size_t>(4, bytes.size()));
  return fmt::format("0x{:x}", v);
}

uint16_t be16(const std::string& b) {
  return b.size() >= 2 ? static_cast<uint16_t>(static_cast<unsigned char>(b[0]) << 8 |
                                               static_cast<unsigned char>(b[1]))
                       : 0;
}

std::string cstr(std::string_view b) {
  return std::string(b.substr(0, b.find('\0')));
}

struct Renderer {
  std::string out;
  std::string field;  // what reg 1 holds, e.g. "ip daddr"
  std::string mask;   // a bitwise mask applied to it
  uint32_t field_len = 0;
  std::string l4 = "th";            // set by a meta l4proto match
  std::string regs[5];              // immediate data by register
  std::string range_lo;             // a pending "cmp gte"
  std::string map;                  // a map lookup's "tcp dport map @m", for the nat that uses it
  bool l4_unsaid = false;           // a "meta l4proto P" match not yet printed (ports print it)
  std::vector<std::string> loaded;  // the fields loaded since the last match (a concatenation)

  // A match on the protocol alone ("meta l4proto esp accept") says it
  // before what follows it.
  void say_l4() {
    if (l4_unsaid) wordf("meta l4proto {}", l4);
    l4_unsaid = false;
  }

  void word(std::string_view w) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  // A word formatted in place: a cold apply prints thousands of rules.
  template <class... Args>
  void wordf(fmt::format_string<Args...> f, Args&&... args) {
    if (!out.empty()) out += ' ';
    fmt::format_to(std::back_inserter(out), f, std::forward<Args>(args)...);
  }

  void value(uint32_t op, const std::string& data) {
    const char* neg = op == NFT_CMP_NEQ ? "!= " : "";
    if (field == "meta l4proto") {
      int p = data.empty() ? 0 : static_cast<unsigned char>(data[0]);
      l4 = l4_name(p);
      if (op != NFT_CMP_EQ) wordf("meta l4proto {}{}", neg, l4);
      l4_unsaid = op == NFT_CMP_EQ;
      return;
    }
    if (field == "ip daddr" || field == "ip saddr" || field == "ip6 daddr" ||
        field == "ip6 saddr") {
      const bool six = field[2] == '6';
      uint64_t len = uint64_t{field_len} * 8;
      if (!mask.empty()) {
        len = 0;
        for (unsigned char c : mask) len += __builtin_popcount(c);
      }
      wordf("{} {}{}{}", field, neg, six ? ipv6(data) : ipv4(data),
            len == (six ? 128u : 32u) ? "" : "/" + std::to_string(len));
      return;
    }
    if (field == "type" && (l4 == "icmp" || l4 == "icmpv6")) {
      l4_unsaid = false;
      const auto b = [&](size_t i) { return i < data.size() ? int(uint8_t(data[i])) : 0; };
      if (field_len == 2)
        wordf("{} type {}{} {} code {}", l4, neg, b(0), l4, b(1));
      else
        wordf("{} type {}{}", l4, neg, b(0));
      return;
    }
    if (field == "ports") {  // sport and dport loaded together
      l4_unsaid = false;
      wordf("{} sport {} {} dport {}", l4, be16(data), l4,
            be16(data.size() >= 4 ? data.substr(2) : ""));
      return;
    }
    if (field == "ip6 hoplimit") {
      wordf("{} {}{}", field, neg, data.empty() ? 0 : int(uint8_t(data[0])));
      return;
    }
    if (field == "dport" || field == "sport") {
      l4_unsaid = false;  // the ports say it
      if (op == NFT_CMP_GTE) {
        range_lo = std::to_string(be16(data));
        return;
      }
      if (op == NFT_CMP_LTE && !range_lo.empty()) {
        wordf("{} {} {}-{}", l4, field, range_lo, be16(data));
        range_lo.clear();
        return;
      }
      wordf("{} {} {}{}", l4, field, neg, be16(data));
      return;
    }
    if (field == "iifname" || field == "oifname") {
      wordf("{} {}\"{}\"", field, neg, cstr(data));
      return;
    }
    if (!mask.empty()) {  // flags tests: "ct status 0x20", "tcp flags 0x2"
      wordf("{} {}", field, field == "ct status" ? host_hex(mask) : hex(mask));
      return;
    }
    if (field == "fib daddr type") {
      wordf("{} {}{}", field, neg, u32_of(data));
      return;
    }
    wordf("{} {}{}", field.empty() ? "reg" : field, neg, hex(data));
  }

  static uint32_t u32_of(const std::string& d) {
    uint32_t v = 0;
    std::memcpy(&v, d.data(), std::min<size_t>(4, d.size()));
    return v;
  }

  void expr(const Expr& e) {
    const std::string_view n = e.name;
    if (n == "immediate" || n == "objref" || n == "reject" || n == "limit" || n == "counter")
      say_l4();
    if (n == "payload" && !attr(e, NFTA_PAYLOAD_SREG)) {
      uint32_t base = u32(e, NFTA_PAYLOAD_BASE), off = u32(e, NFTA_PAYLOAD_OFFSET);
      field_len = u32(e, NFTA_PAYLOAD_LEN);
      mask.clear();
      if (base == NFT_PAYLOAD_NETWORK_HEADER && off == 16)
        field = "ip daddr";
      else if (base == NFT_PAYLOAD_NETWORK_HEADER && off == 12)
        field = "ip saddr";
      else if (base == NFT_PAYLOAD_TRANSPORT_HEADER && off == 2 && field_len == 2)
        field = "dport";
      else if (base == NFT_PAYLOAD_TRANSPORT_HEADER && off == 0 && field_len <= 2 &&
               (l4 == "icmp" || l4 == "icmpv6"))
        field = "type";
      else if (base == NFT_PAYLOAD_TRANSPORT_HEADER && off == 0 && field_len == 2)
        field = "sport";
      else if (base == NFT_PAYLOAD_TRANSPORT_HEADER && off == 13 && field_len == 1)
        field = "tcp flags";
      else if (base == NFT_PAYLOAD_TRANSPORT_HEADER && off == 0 && field_len == 4)
        field = "ports";
      // IPv6 header fields (the ip family's rules never load these).
      else if (base == NFT_PAYLOAD_NETWORK_HEADER && off == 24)
        field = "ip6 daddr";
      else if (base == NFT_PAYLOAD_NETWORK_HEADER && off == 8 && field_len > 1)
        field = "ip6 saddr";
      else if (base == NFT_PAYLOAD_NETWORK_HEADER && off == 7 && field_len == 1)
        field = "ip6 hoplimit";
      else
        field = fmt::format("@{},{},{}", base, off * 8, field_len * 8);
      loaded.push_back(field);
    } else if (n == "meta" && !attr(e, NFTA_META_SREG)) {
      uint32_t key = u32(e, NFTA_META_KEY);
      field = key == NFT_META_L4PROTO   ? "meta l4proto"
              : key == NFT_META_IIFNAME ? "iifname"
              : key == NFT_META_OIFNAME ? "oifname"
                                        : fmt::format("meta {}", key);
      mask.clear();
      loaded.push_back(field);
    } else if (n == "ct" && !attr(e, NFTA_CT_SREG)) {
      const uint32_t key = u32(e, NFTA_CT_KEY);
      const auto dir = attr(e, NFTA_CT_DIRECTION);
      const char* way = dir && !dir->empty() && (*dir)[0] ? "reply" : "original";
      field = key == NFT_CT_STATUS      ? "ct status"
              : key == NFT_CT_STATE     ? "ct state"
              : key == NFT_CT_PROTO_DST ? fmt::format("ct {} proto-dst", way)
                                        : "ct";
      mask.clear();
      loaded.push_back(field);
    } else if (n == "fib") {
      field = "fib daddr type";
      mask.clear();
    } else if (n == "bitwise") {
      mask = data(e, NFTA_BITWISE_MASK);
    } else if (n == "cmp") {
      loaded.clear();
      value(u32(e, NFTA_CMP_OP), data(e, NFTA_CMP_DATA));
    } else if (n == "immediate") {
      uint32_t reg = u32(e, NFTA_IMMEDIATE_DREG);
      if (reg == NFT_REG_VERDICT) {
        std::string_view verdict;  // NFTA_IMMEDIATE_DATA > NFTA_DATA_VERDICT
        if (auto d = attr(e, NFTA_IMMEDIATE_DATA))
          verdict = nested_attr(*d, NFTA_DATA_VERDICT).value_or("");
        const auto v =
            static_cast<int32_t>(be32_of(nested_attr(verdict, NFTA_VERDICT_CODE).value_or("")));
        const std::string chain(nested_attr(verdict, NFTA_VERDICT_CHAIN).value_or(""));
        if (v == NFT_JUMP)
          word("jump " + cstr(chain));
        else if (v == NFT_GOTO)
          word("goto " + cstr(chain));
        else if (v == NF_ACCEPT)
          word("accept");
        else if (v == NF_DROP)
          word("drop");
        else if (v == NFT_RETURN)
          word("return");
        else
          wordf("verdict {}", v);
      } else if (reg < 5) {
        regs[reg] = data(e, NFTA_IMMEDIATE_DATA);
      }
    } else if (n == "lookup") {
      const std::string set = cstr(attr(e, NFTA_LOOKUP_SET).value_or(""));
      const bool port = field == "dport" || field == "sport";
      if (loaded.size() > 1) {  // a concatenation: "ip6 daddr . meta l4proto . th dport"
        std::string what;
        for (const auto& f : loaded)
          what += (what.empty() ? "" : " . ") + (f == "dport" || f == "sport" ? "th " + f : f);
        loaded.clear();
        l4_unsaid = false;
        wordf("{} @{}", what, set);
        return;
      }
      if (!port && l4_unsaid) wordf("meta l4proto {}", l4);
      l4_unsaid = false;
      const std::string what = port ? l4 + " " + field : field;
      const auto dreg = attr(e, NFTA_LOOKUP_DREG);
      if (dreg && be32_of(*dreg) == NFT_REG_VERDICT)
        wordf("{} vmap @{}", what, set);
      else if (dreg)
        map = fmt::format("{} map @{}", what, set);
      else
        wordf("{} @{}", what, set);
    } else if (n == "nat" && !map.empty()) {
      wordf("{} ip to {}", u32(e, NFTA_NAT_TYPE) == NFT_NAT_DNAT ? "dnat" : "snat", map);
    } else if (n == "nat") {
      bool dnat = u32(e, NFTA_NAT_TYPE) == NFT_NAT_DNAT;
      std::string to;
      uint32_t amin = u32(e, NFTA_NAT_REG_ADDR_MIN);
      if (amin && amin < 5 && regs[amin].size() == 4) to = ipv4(regs[amin]);
      uint32_t pmin = u32(e, NFTA_NAT_REG_PROTO_MIN), pmax = u32(e, NFTA_NAT_REG_PROTO_MAX);
      if (pmin && pmin < 5) {
        to += ":" + std::to_string(be16(regs[pmin]));
        if (pmax && pmax < 5 && pmax != pmin) to += "-" + std::to_string(be16(regs[pmax]));
      }
      wordf("{} to {}", dnat ? "dnat" : "snat", to);
    } else if (n == "masq") {
      word("masquerade");
    } else if (n == "objref") {
      auto name = attr(e, NFTA_OBJREF_IMM_NAME);
      wordf("counter name \"{}\"", name ? cstr(*name) : "?");
    } else if (n == "counter") {
      word("counter");
    } else if (n == "reject") {
      word(u32(e, NFTA_REJECT_TYPE) == NFT_REJECT_TCP_RST ? "reject with tcp reset" : "reject");
    } else if (n == "limit") {
      const auto rate = attr(e, NFTA_LIMIT_RATE), unit = attr(e, NFTA_LIMIT_UNIT);
      uint64_t r = 0, u = 0;
      for (char c : rate.value_or("")) r = r << 8 | uint8_t(c);
      for (char c : unit.value_or("")) u = u << 8 | uint8_t(c);
      wordf("limit rate {}/{} burst {} packets", r, u == 1 ? "second" : std::to_string(u) + "s",
            u32(e, NFTA_LIMIT_BURST));
    } else if (n == "exthdr" && attr(e, NFTA_EXTHDR_SREG)) {
      word("tcp option maxseg size set rt mtu");
    } else if (n == "rt" || n == "byteorder") {
      // Part of "set rt mtu", printed with the exthdr write.
    } else {
      word("[" + std::string(n) + "]");
    }
  }
};

}  // namespace

std::string rule_text(const RuleBody& body) {
  Renderer r;
  r.out.reserve(128);
  for_each_expr(body, [&](std::string_view name, std::string_view data) {
    Expr e;
    e.name = name;
    uint16_t type;
    std::string_view v;
    while (e.n < e.attrs.size() && nla_next(data, type, v)) e.attrs[e.n++] = {type, v};
    r.expr(e);
  });
  return r.out;
}

}  // namespace netkeep
