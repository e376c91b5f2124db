// WireGuard and FEC messages: encode, decode back, compare field by field;
// a small device against hand-written bytes; big peer lists split.
#include <doctest/doctest.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>

#include <cstring>

#include "model/desired.hpp"
#include "backends/fec_codec.hpp"
#include "backends/wg_codec.hpp"

using namespace netkeep;

namespace {

std::string key(uint8_t b) {
  return std::string(32, static_cast<char>(b));
}

WgInterfaceSpec device(int peers, int ips_each) {
  WgInterfaceSpec d{"wg0", {key(7)}, 51820, {}};
  for (int i = 0; i < peers; i++) {
    WgPeerSpec p{key(static_cast<uint8_t>(i + 1)), std::nullopt, {}};
    if (i % 2 == 0)
      p.endpoint =
          WgEndpoint{"192.0.2.7", static_cast<uint16_t>(51820 + i), IpAddr::parse("192.0.2.7")};
    else
      p.endpoint = WgEndpoint{"2001:db8::7", 51820, IpAddr::parse("2001:db8::7")};
    for (int k = 0; k < ips_each; k++)
      p.allowed_ips.push_back(Prefix{
          IpAddr::v4(0x0a000000u | static_cast<uint32_t>(i) << 16 | static_cast<uint32_t>(k) << 8),
          24});
    p.allowed_ips.push_back(*Prefix::parse("fe80::/64"));
    std::sort(p.allowed_ips.begin(), p.allowed_ips.end());
    d.peers.push_back(std::move(p));
  }
  return d;
}

WgDeviceState decode_all(std::vector<nl::Message>& msgs) {
  WgDeviceState s;
  for (auto& m : msgs) REQUIRE(wg::decode_device(m.hdr(), s));
  return s;
}

void check_equal(const WgInterfaceSpec& want, const WgDeviceState& got) {
  CHECK(got.name == want.name);
  CHECK(got.listen_port == want.port);
  CHECK(got.private_key == want.private_key.bytes);
  REQUIRE(got.peers.size() == want.peers.size());
  for (size_t i = 0; i < want.peers.size(); i++) {
    CHECK(got.peers[i].public_key == want.peers[i].public_key);
    CHECK(got.peers[i].endpoint == want.peers[i].endpoint->addr);
    CHECK(got.peers[i].endpoint_port == want.peers[i].endpoint->port);
    CHECK(got.peers[i].allowed_ips == want.peers[i].allowed_ips);
  }
}

uint32_t peer_flags(const nlattr* peer) {
  for (const nlattr* a : nl::Attrs::nested(peer))
    if (mnl_attr_get_type(a) == WGPEER_A_FLAGS) return mnl_attr_get_u32(a);
  return 0;
}

}  // namespace

TEST_CASE("WireGuard: a device round-trips field by field") {
  auto d = device(3, 2);
  auto msgs = wg::encode_set_device(42, d);
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].hdr()->nlmsg_type == 42);
  check_equal(d, decode_all(msgs));
}

TEST_CASE("WireGuard: a small device matches hand-written bytes") {
  WgInterfaceSpec d{"wg0",
                    {key(7)},
                    51820,
                    {{key(1),
                      WgEndpoint{"192.0.2.7", 51820, IpAddr::parse("192.0.2.7")},
                      {*Prefix::parse("10.0.137.0/24")}}}};
  auto msgs = wg::encode_set_device(42, d);
  REQUIRE(msgs.size() == 1);
  std::vector<uint8_t> want = {WG_CMD_SET_DEVICE,
                               WG_GENL_VERSION,
                               0,
                               0,  // genlmsghdr
                               8,
                               0,
                               WGDEVICE_A_IFNAME,
                               0,
                               'w',
                               'g',
                               '0',
                               0,
                               36,
                               0,
                               WGDEVICE_A_PRIVATE_KEY,
                               0};
  want.insert(want.end(), 32, 7);
  for (int b : std::initializer_list<int>{6,
                                          0,
                                          WGDEVICE_A_LISTEN_PORT,
                                          0,
                                          0x6c,
                                          0xca,
                                          0,
                                          0,  // 51820, host order, padded
                                          8,
                                          0,
                                          WGDEVICE_A_FLAGS,
                                          0,
                                          WGDEVICE_F_REPLACE_PEERS,
                                          0,
                                          0,
                                          0,
                                          104,
                                          0,
                                          WGDEVICE_A_PEERS,
                                          0x80,  // NLA_F_NESTED, as libmnl sets it
                                          100,
                                          0,
                                          0,
                                          0x80,  // peer 0
                                          36,
                                          0,
                                          WGPEER_A_PUBLIC_KEY,
                                          0})
    want.push_back(static_cast<uint8_t>(b));
  want.insert(want.end(), 32, 1);
  for (int b : std::initializer_list<int>{8,
                                          0,
                                          WGPEER_A_FLAGS,
                                          0,
                                          WGPEER_F_REPLACE_ALLOWEDIPS,
                                          0,
                                          0,
                                          0,
                                          20,
                                          0,
                                          WGPEER_A_ENDPOINT,
                                          0,
                                          2,
                                          0,
                                          0xca,
                                          0x6c,
                                          192,
                                          0,
                                          2,
                                          7,
                                          0,
                                          0,
                                          0,
                                          0,
                                          0,
                                          0,
                                          0,
                                          0,
                                          32,
                                          0,
                                          WGPEER_A_ALLOWEDIPS,
                                          0x80,
                                          28,
                                          0,
                                          0,
                                          0x80,
                                          6,
                                          0,
                                          WGALLOWEDIP_A_FAMILY,
                                          0,
                                          2,
                                          0,
                                          0,
                                          0,
                                          8,
                                          0,
                                          WGALLOWEDIP_A_IPADDR,
                                          0,
                                          10,
                                          0,
                                          137,
                                          0,
                                          5,
                                          0,
                                          WGALLOWEDIP_A_CIDR_MASK,
                                          0,
                                          24,
                                          0,
                                          0,
                                          0})
    want.push_back(static_cast<uint8_t>(b));
  const auto* got = static_cast<const uint8_t*>(mnl_nlmsg_get_payload(msgs[0].hdr()));
  REQUIRE(mnl_nlmsg_get_payload_len(msgs[0].hdr()) == want.size());
  for (size_t i = 0; i < want.size(); i++) CHECK_MESSAGE(got[i] == want[i], "byte ", i);
}

TEST_CASE("WireGuard: big peer lists split across messages as the kernel expects") {
  auto d = device(40, 30);  // far more than one 8 KiB message
  auto msgs = wg::encode_set_device(42, d);
  CHECK(msgs.size() > 3);
  for (auto& m : msgs) CHECK(m.hdr()->nlmsg_len <= wg::kMaxMessage);
  check_equal(d, decode_all(msgs));
  // Only the first message replaces the peer list; a peer continued from the
  // previous message does not replace its allowed IPs again.
  std::string last_key;
  for (size_t i = 0; i < msgs.size(); i++) {
    bool replace_peers = false;
    for (const nlattr* a : nl::Attrs::of(msgs[i].hdr(), sizeof(genlmsghdr))) {
      if (mnl_attr_get_type(a) == WGDEVICE_A_FLAGS)
        replace_peers = mnl_attr_get_u32(a) & WGDEVICE_F_REPLACE_PEERS;
      if ((mnl_attr_get_type(a) & NLA_TYPE_MASK) != WGDEVICE_A_PEERS) continue;
      for (const nlattr* peer : nl::Attrs::nested(a)) {
        std::string k;
        for (const nlattr* f : nl::Attrs::nested(peer))
          if (mnl_attr_get_type(f) == WGPEER_A_PUBLIC_KEY)
            k.assign(static_cast<const char*>(mnl_attr_get_payload(f)), 32);
        bool replace_ips = peer_flags(peer) & WGPEER_F_REPLACE_ALLOWEDIPS;
        CHECK(replace_ips == (k != last_key));
        last_key = k;
      }
    }
    CHECK(replace_peers == (i == 0));
  }
  // One peer with more allowed IPs than a message holds.
  auto big = device(1, 1000);
  auto parts = wg::encode_set_device(42, big);
  CHECK(parts.size() > 1);
  check_equal(big, decode_all(parts));
}

TEST_CASE("FEC: every mode round-trips through a set message") {
  for (const char* mode : {"rs", "baser", "llrs", "auto", "off"}) {
    auto m = fec::encode_set(7, "lan0", mode);
    REQUIRE(m);
    CHECK(fec::decode(m->hdr()) == std::string(mode));
  }
  CHECK(fec::decode(fec::encode_set(7, "lan0", "none")->hdr()) == std::string("off"));  // same bit
  CHECK_FALSE(fec::encode_set(7, "lan0", "turbo"));
  for (const char* mode : kFecModes) CHECK_MESSAGE(fec::encode_set(7, "lan0", mode), mode);
}
