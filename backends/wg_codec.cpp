#include "backends/wg_codec.hpp"

#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "backends/genl.hpp"

namespace netkeep::wg {

namespace {

struct Builder {
  uint16_t family;
  size_t max;
  std::vector<nl::Message> out;
  nlattr* peers = nullptr;

  nlmsghdr* cur() { return out.back().hdr(); }

  void start(const std::string& ifname) {
    out.push_back(genl::request(family, WG_CMD_SET_DEVICE, WG_GENL_VERSION, 0, max));
    mnl_attr_put_strz(cur(), WGDEVICE_A_IFNAME, ifname.c_str());
  }

  bool open_peers() {
    peers = mnl_attr_nest_start_check(cur(), max, WGDEVICE_A_PEERS);
    return peers != nullptr;
  }
};

void put_endpoint(nlmsghdr* nlh, size_t max, const WgEndpoint& e, bool& ok) {
  if (e.addr->is_v4()) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(e.port);
    std::memcpy(&sa.sin_addr, e.addr->bytes.data(), 4);
    ok = ok && mnl_attr_put_check(nlh, max, WGPEER_A_ENDPOINT, sizeof sa, &sa);
  } else {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(e.port);
    std::memcpy(&sa.sin6_addr, e.addr->bytes.data(), 16);
    ok = ok && mnl_attr_put_check(nlh, max, WGPEER_A_ENDPOINT, sizeof sa, &sa);
  }
}

}  // namespace

std::vector<nl::Message> encode_set_device(uint16_t family, const WgInterfaceSpec& d, size_t max) {
  Builder b{family, max, {}, nullptr};
  b.start(d.name);
  mnl_attr_put(b.cur(), WGDEVICE_A_PRIVATE_KEY, d.private_key.bytes.size(),
               d.private_key.bytes.data());
  mnl_attr_put_u16(b.cur(), WGDEVICE_A_LISTEN_PORT, d.port);
  mnl_attr_put_u32(b.cur(), WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS);
  b.open_peers();
  for (const auto& p : d.peers) {
    size_t next_ip = 0;
    bool first_part = true;
    bool fresh = false;  // a new message was just started for this part
    // One peer may need several messages when its allowed IPs are many.
    while (first_part || next_ip < p.allowed_ips.size()) {
      nlattr* peer = b.peers ? mnl_attr_nest_start_check(b.cur(), max, 0) : nullptr;
      bool ok = peer != nullptr;
      ok = ok && mnl_attr_put_check(b.cur(), max, WGPEER_A_PUBLIC_KEY, p.public_key.size(),
                                    p.public_key.data());
      if (first_part) {
        ok =
            ok && mnl_attr_put_u32_check(b.cur(), max, WGPEER_A_FLAGS, WGPEER_F_REPLACE_ALLOWEDIPS);
        if (p.endpoint && p.endpoint->addr) put_endpoint(b.cur(), max, *p.endpoint, ok);
      }
      nlattr* ips = ok ? mnl_attr_nest_start_check(b.cur(), max, WGPEER_A_ALLOWEDIPS) : nullptr;
      ok = ok && ips;
      size_t placed = 0;
      while (ok && next_ip + placed < p.allowed_ips.size()) {
        const Prefix& ip = p.allowed_ips[next_ip + placed];
        nlattr* one = mnl_attr_nest_start_check(b.cur(), max, 0);
        bool fit = one &&
                   mnl_attr_put_u16_check(b.cur(), max, WGALLOWEDIP_A_FAMILY,
                                          ip.addr.is_v4() ? AF_INET : AF_INET6) &&
                   mnl_attr_put_check(b.cur(), max, WGALLOWEDIP_A_IPADDR,
                                      static_cast<size_t>(ip.addr.size()), ip.addr.bytes.data()) &&
                   mnl_attr_put_u8_check(b.cur(), max, WGALLOWEDIP_A_CIDR_MASK, ip.len);
        if (!fit) {
          if (one) mnl_attr_nest_cancel(b.cur(), one);
          break;
        }
        mnl_attr_nest_end(b.cur(), one);
        placed++;
      }
      if (ok && (placed > 0 || next_ip == p.allowed_ips.size())) {
        mnl_attr_nest_end(b.cur(), ips);
        mnl_attr_nest_end(b.cur(), peer);
        next_ip += placed;
        first_part = false;
        fresh = false;
        continue;
      }
      // Nothing of this peer fits: close the message and continue in a new one.
      if (peer) mnl_attr_nest_cancel(b.cur(), peer);
      if (fresh) break;  // not even into an empty message: max_message is too small
      fresh = true;
      if (b.peers) mnl_attr_nest_end(b.cur(), b.peers);
      b.start(d.name);
      b.open_peers();
    }
  }
  if (b.peers) mnl_attr_nest_end(b.cur(), b.peers);
  return std::move(b.out);
}

nl::Message encode_get_device(uint16_t family, const std::string& ifname) {
  nl::Message m = genl::request(family, WG_CMD_GET_DEVICE, WG_GENL_VERSION);
  mnl_attr_put_strz(m.hdr(), WGDEVICE_A_IFNAME, ifname.c_str());
  return m;
}

namespace {

std::string bytes(const nlattr* a) {
  return std::string(static_cast<const char*>(mnl_attr_get_payload(a)),
                     mnl_attr_get_payload_len(a));
}

void decode_peer(const nlattr* peer_nest, WgDeviceState& d) {
  WgPeerState p;
  std::vector<Prefix> ips;
  for (const nlattr* a : nl::Attrs::nested(peer_nest)) {
    switch (mnl_attr_get_type(a)) {
      case WGPEER_A_PUBLIC_KEY:
        p.public_key = bytes(a);
        break;
      case WGPEER_A_ENDPOINT: {
        const auto len = mnl_attr_get_payload_len(a);
        const void* v = mnl_attr_get_payload(a);
        if (len == sizeof(sockaddr_in)) {
          sockaddr_in sa;
          std::memcpy(&sa, v, sizeof sa);
          p.endpoint = IpAddr::from_bytes(&sa.sin_addr, 4);
          p.endpoint_port = ntohs(sa.sin_port);
        } else if (len == sizeof(sockaddr_in6)) {
          sockaddr_in6 sa;
          std::memcpy(&sa, v, sizeof sa);
          p.endpoint = IpAddr::from_bytes(&sa.sin6_addr, 16);
          p.endpoint_port = ntohs(sa.sin6_port);
        }
        break;
      }
      case WGPEER_A_ALLOWEDIPS:
        for (const nlattr* one : nl::Attrs::nested(a)) {
          std::optional<IpAddr> addr;
          uint8_t cidr = 0;
          for (const nlattr* f : nl::Attrs::nested(one)) {
            if (mnl_attr_get_type(f) == WGALLOWEDIP_A_IPADDR)
              addr = IpAddr::from_bytes(mnl_attr_get_payload(f), mnl_attr_get_payload_len(f));
            if (mnl_attr_get_type(f) == WGALLOWEDIP_A_CIDR_MASK &&
                mnl_attr_validate(f, MNL_TYPE_U8) == 0)
              cidr = mnl_attr_get_u8(f);
          }
          if (addr) ips.push_back({*addr, cidr});
        }
        break;
    }
  }
  // The kernel continues a peer with many allowed IPs in the next message.
  if (!d.peers.empty() && d.peers.back().public_key == p.public_key) {
    auto& last = d.peers.back();
    last.allowed_ips.insert(last.allowed_ips.end(), ips.begin(), ips.end());
    std::sort(last.allowed_ips.begin(), last.allowed_ips.end());
    return;
  }
  p.allowed_ips = std::move(ips);
  std::sort(p.allowed_ips.begin(), p.allowed_ips.end());
  d.peers.push_back(std::move(p));
}

}  // namespace

bool decode_device(const nlmsghdr* nlh, WgDeviceState& d) {
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(genlmsghdr))) return false;
  for (const nlattr* a : nl::Attrs::of(nlh, sizeof(genlmsghdr))) {
    switch (mnl_attr_get_type(a)) {
      case WGDEVICE_A_IFNAME:
        if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) d.name = mnl_attr_get_str(a);
        break;
      case WGDEVICE_A_LISTEN_PORT:
        if (mnl_attr_validate(a, MNL_TYPE_U16) == 0) d.listen_port = mnl_attr_get_u16(a);
        break;
      case WGDEVICE_A_PRIVATE_KEY:
        // All zeros: no key set.
        d.private_key = bytes(a);
        if (std::all_of(d.private_key.begin(), d.private_key.end(), [](char c) { return c == 0; }))
          d.private_key.clear();
        break;
      case WGDEVICE_A_PUBLIC_KEY:
        d.public_key = bytes(a);
        break;
      case WGDEVICE_A_PEERS:
        for (const nlattr* peer : nl::Attrs::nested(a)) decode_peer(peer, d);
        break;
    }
  }
  return true;
}

}  // namespace netkeep::wg
