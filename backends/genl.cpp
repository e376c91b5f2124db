#include "backends/genl.hpp"

#include <cerrno>

namespace netkeep::genl {

nl::Message request(uint16_t family, uint8_t cmd, uint8_t version, uint16_t flags, size_t size) {
  nl::Message m(family, flags, size);
  auto* g = m.put_header<genlmsghdr>();
  g->cmd = cmd;
  g->version = version;
  return m;
}

nl::Message get_family(const std::string& name) {
  nl::Message m = request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1);
  mnl_attr_put_strz(m.hdr(), CTRL_ATTR_FAMILY_NAME, name.c_str());
  return m;
}

std::optional<uint16_t> decode_family_id(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != GENL_ID_CTRL) return std::nullopt;
  for (const nlattr* a : nl::Attrs::of(nlh, sizeof(genlmsghdr)))
    if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID && mnl_attr_validate(a, MNL_TYPE_U16) == 0)
      return mnl_attr_get_u16(a);
  return std::nullopt;
}

KernelResult<uint16_t> resolve(nl::Socket& s, const std::string& name) {
  auto m = get_family(name);
  std::optional<uint16_t> got;
  if (auto e = s.get(m.hdr(), [&](const nlmsghdr* nlh) { got = decode_family_id(nlh); }))
    return unexpected(*e);
  if (!got)
    return unexpected(KernelError{ENOENT, "no family id in the kernel's reply",
                                  "resolving generic netlink family " + name});
  return *got;
}

}  // namespace netkeep::genl
