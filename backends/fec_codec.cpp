#include "backends/fec_codec.hpp"

#include <linux/ethtool.h>
#include <linux/ethtool_netlink.h>
#include <linux/genetlink.h>

#include "backends/genl.hpp"

namespace netkeep::fec {

namespace {

struct Mode {
  const char* name;
  int bit;  // ETHTOOL_LINK_MODE_FEC_*_BIT
};
// "off" and "none" both mean no FEC (ethtool's "off" sets FEC_NONE).
constexpr Mode kModes[] = {{"off", ETHTOOL_LINK_MODE_FEC_NONE_BIT},
                           {"none", ETHTOOL_LINK_MODE_FEC_NONE_BIT},
                           {"rs", ETHTOOL_LINK_MODE_FEC_RS_BIT},
                           {"baser", ETHTOOL_LINK_MODE_FEC_BASER_BIT},
                           {"llrs", ETHTOOL_LINK_MODE_FEC_LLRS_BIT}};

void header(nlmsghdr* nlh, const std::string& dev, uint32_t flags) {
  nlattr* h = mnl_attr_nest_start(nlh, ETHTOOL_A_FEC_HEADER);
  mnl_attr_put_strz(nlh, ETHTOOL_A_HEADER_DEV_NAME, dev.c_str());
  if (flags) mnl_attr_put_u32(nlh, ETHTOOL_A_HEADER_FLAGS, flags);
  mnl_attr_nest_end(nlh, h);
}

const char* mode_name(int bit) {
  for (const auto& m : kModes)
    if (m.bit == bit && std::string_view(m.name) != "none") return m.name;
  return nullptr;
}

}  // namespace

nl::Message encode_get(uint16_t family, const std::string& dev) {
  nl::Message m = genl::request(family, ETHTOOL_MSG_FEC_GET, ETHTOOL_GENL_VERSION);
  header(m.hdr(), dev, ETHTOOL_FLAG_COMPACT_BITSETS);
  return m;
}

std::optional<nl::Message> encode_set(uint16_t family, const std::string& dev,
                                      const std::string& mode) {
  nl::Message m = genl::request(family, ETHTOOL_MSG_FEC_SET, ETHTOOL_GENL_VERSION);
  header(m.hdr(), dev, 0);
  if (mode == "auto") {
    mnl_attr_put_u8(m.hdr(), ETHTOOL_A_FEC_AUTO, 1);
    return m;
  }
  int bit = -1;
  for (const auto& x : kModes)
    if (mode == x.name) bit = x.bit;
  if (bit < 0) return std::nullopt;
  mnl_attr_put_u8(m.hdr(), ETHTOOL_A_FEC_AUTO, 0);
  // A bit-list bitset without a mask: exactly this mode.
  nlattr* set = mnl_attr_nest_start(m.hdr(), ETHTOOL_A_FEC_MODES);
  mnl_attr_put(m.hdr(), ETHTOOL_A_BITSET_NOMASK, 0, nullptr);
  nlattr* bits = mnl_attr_nest_start(m.hdr(), ETHTOOL_A_BITSET_BITS);
  nlattr* one = mnl_attr_nest_start(m.hdr(), ETHTOOL_A_BITSET_BITS_BIT);
  mnl_attr_put_u32(m.hdr(), ETHTOOL_A_BITSET_BIT_INDEX, static_cast<uint32_t>(bit));
  mnl_attr_nest_end(m.hdr(), one);
  mnl_attr_nest_end(m.hdr(), bits);
  mnl_attr_nest_end(m.hdr(), set);
  return m;
}

std::optional<std::string> decode(const nlmsghdr* nlh) {
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(genlmsghdr))) return std::nullopt;
  bool autoneg = false;
  std::optional<std::string> mode;
  for (const nlattr* a : nl::Attrs::of(nlh, sizeof(genlmsghdr))) {
    if (mnl_attr_get_type(a) == ETHTOOL_A_FEC_AUTO && mnl_attr_validate(a, MNL_TYPE_U8) == 0)
      autoneg = mnl_attr_get_u8(a);
    if (mnl_attr_get_type(a) != ETHTOOL_A_FEC_MODES) continue;
    for (const nlattr* b : nl::Attrs::nested(a)) {
      if (mnl_attr_get_type(b) == ETHTOOL_A_BITSET_VALUE) {  // compact form: a bitmap
        const auto* v = static_cast<const uint8_t*>(mnl_attr_get_payload(b));
        const int n = static_cast<int>(mnl_attr_get_payload_len(b)) * 8;
        for (const auto& m : kModes)
          if (!mode && m.bit < n && (v[m.bit / 8] >> (m.bit % 8) & 1)) mode = mode_name(m.bit);
      }
      if (mnl_attr_get_type(b) == ETHTOOL_A_BITSET_BITS)  // bit-list form
        for (const nlattr* bit : nl::Attrs::nested(b))
          for (const nlattr* f : nl::Attrs::nested(bit))
            if (mnl_attr_get_type(f) == ETHTOOL_A_BITSET_BIT_INDEX && !mode)
              if (const char* n = mode_name(static_cast<int>(mnl_attr_get_u32(f)))) mode = n;
    }
  }
  if (autoneg) return "auto";
  return mode ? mode : std::optional<std::string>("none");
}

}  // namespace netkeep::fec
