#include "tests/fake/fake_kernel.hpp"

#include "reconciler/nft_apply.hpp"

#include <algorithm>
#include <cerrno>

namespace netkeep {

namespace {

KernelError err(int code, std::string message) {
  return {code, std::move(message)};
}

template <class T, class P>
void erase_if(std::vector<T>& v, P pred) {
  v.erase(std::remove_if(v.begin(), v.end(), pred), v.end());
}

}  // namespace

Link* FakeKernel::find(const std::string& name) {
  for (auto& l : state_.links)
    if (l.name == name) return &l;
  return nullptr;
}

std::optional<KernelError> FakeKernel::apply_link(const Op& op) {
  if (auto* o = std::get_if<BridgeCreate>(&op)) {
    if (find(o->name)) return err(EEXIST, "File exists");
    state_.links.push_back({o->name, "bridge", o->mac, 1500, false, ""});
    return std::nullopt;
  }
  if (auto* o = std::get_if<WgLinkCreate>(&op)) {
    if (find(o->name)) return err(EEXIST, "File exists");
    state_.links.push_back({o->name, "wireguard", {}, 1420, false, ""});
    state_.wireguard.push_back({o->name, 0, "", "", {}});
    return std::nullopt;
  }
  if (auto* o = std::get_if<WgSetDevice>(&op)) {
    auto it = std::find_if(state_.wireguard.begin(), state_.wireguard.end(),
                           [&](const WgDeviceState& w) { return w.name == o->device.name; });
    if (!find(o->device.name) || it == state_.wireguard.end()) return err(ENODEV, "No such device");
    it->private_key = o->device.private_key.bytes;
    it->listen_port = o->device.port;
    it->peers.clear();
    for (const auto& p : o->device.peers) {
      WgPeerState s{p.public_key, std::nullopt, 0, p.allowed_ips};
      std::sort(s.allowed_ips.begin(), s.allowed_ips.end());
      if (p.endpoint && p.endpoint->addr) {
        s.endpoint = p.endpoint->addr;
        s.endpoint_port = p.endpoint->port;
      }
      it->peers.push_back(std::move(s));
    }
    return std::nullopt;
  }
  if (auto* o = std::get_if<FecSet>(&op)) {
    if (!find(o->dev)) return err(ENODEV, "No such device");
    state_.fec[o->dev] = o->to;
    return std::nullopt;
  }
  if (auto* o = std::get_if<LinkRename>(&op)) {
    Link* l = find(o->from);
    if (!l) return err(ENODEV, "No such device");
    if (find(o->to)) return err(EEXIST, "File exists");
    l->name = o->to;
    for (auto& x : state_.links)
      if (x.master == o->from) x.master = o->to;
    for (auto& a : state_.addrs)
      if (a.dev == o->from) a.dev = o->to;
    for (auto& r : state_.routes)
      if (r.dev == o->from) r.dev = o->to;
    // Per-device sysctls follow the device.
    std::string old_prefix = "net/ipv6/conf/" + o->from + "/";
    std::map<std::string, std::string> moved;
    for (auto it = state_.sysctls.begin(); it != state_.sysctls.end();) {
      if (it->first.starts_with(old_prefix)) {
        moved["net/ipv6/conf/" + o->to + "/" + it->first.substr(old_prefix.size())] = it->second;
        it = state_.sysctls.erase(it);
      } else {
        ++it;
      }
    }
    state_.sysctls.merge(moved);
    return std::nullopt;
  }
  std::string dev;
  std::visit(
      [&](const auto& o) {
        if constexpr (requires { o.dev; }) dev = o.dev;
      },
      op);
  Link* l = find(dev);
  if (!l) return err(ENODEV, "No such device");
  if (auto* o = std::get_if<LinkSetMtu>(&op)) l->mtu = o->to;
  if (auto* o = std::get_if<LinkSetMac>(&op)) l->mac = o->to;
  if (std::holds_alternative<LinkSetUp>(op)) l->up = true;
  if (std::holds_alternative<LinkSetDown>(op)) l->up = false;
  if (auto* o = std::get_if<LinkSetMaster>(&op); o && o->master.empty()) {
    l->master.clear();
    return std::nullopt;
  }
  if (auto* o = std::get_if<LinkSetMaster>(&op)) {
    Link* m = find(o->master);
    if (!m) return err(ENODEV, "No such device");
    if (m->kind != "bridge") return err(EOPNOTSUPP, "Operation not supported");
    l->master = o->master;
  }
  return std::nullopt;
}

std::optional<KernelError> FakeKernel::apply(const Op& op) {
  writes_++;
  if (refuse)
    if (auto e = refuse(op)) return e;
  auto e = apply_one(op);
  state_.normalize();
  return e;
}

std::optional<KernelError> FakeKernel::apply_one(const Op& op) {
  if (auto* o = std::get_if<FlowsEnd>(&op)) {
    ended.push_back(*o);
    return std::nullopt;
  }
  if (auto* o = std::get_if<AddrAdd>(&op)) {
    if (!find(o->addr.dev)) return err(ENODEV, "No such device");
    auto it = std::find_if(state_.addrs.begin(), state_.addrs.end(), [&](const Address& a) {
      return a.dev == o->addr.dev && a.local == o->addr.local;
    });
    if (it != state_.addrs.end())
      it->broadcast = o->addr.broadcast;  // replace keeps the address's identity
    else
      state_.addrs.push_back(o->addr);
    return std::nullopt;
  }
  if (auto* o = std::get_if<AddrDel>(&op)) {
    erase_if(state_.addrs,
             [&](const Address& a) { return a.dev == o->addr.dev && a.local == o->addr.local; });
    return std::nullopt;
  }
  if (auto* o = std::get_if<RouteReplace>(&op)) {
    if (!find(o->route.dev)) return err(ENODEV, "No such device");
    erase_if(state_.routes, [&](const Route& r) {
      return r.dst == o->route.dst && r.priority == o->route.priority;
    });
    state_.routes.push_back(o->route);
    return std::nullopt;
  }
  if (auto* o = std::get_if<RouteDel>(&op)) {
    erase_if(state_.routes, [&](const Route& r) { return r == o->route; });
    return std::nullopt;
  }
  if (auto* o = std::get_if<SysctlSet>(&op)) {
    state_.sysctls[o->key] = o->to;
    return std::nullopt;
  }
  if (auto* o = std::get_if<FileWrite>(&op)) {
    state_.files[o->path] = {FileKind::regular, o->content};
    return std::nullopt;
  }
  if (auto* o = std::get_if<FileRestore>(&op)) {
    state_.files[o->path] = {o->symlink.empty() ? FileKind::missing : FileKind::symlink, {}};
    return std::nullopt;
  }
  if (auto* o = std::get_if<LinkDelete>(&op)) {
    if (!find(o->name)) return err(ENODEV, "No such device");
    erase_if(state_.links, [&](const Link& l) { return l.name == o->name; });
    erase_if(state_.addrs, [&](const Address& a) { return a.dev == o->name; });
    erase_if(state_.routes, [&](const Route& r) { return r.dev == o->name; });
    erase_if(state_.wireguard, [&](const WgDeviceState& w) { return w.name == o->name; });
    for (auto& l : state_.links)
      if (l.master == o->name) l.master.clear();
    return std::nullopt;
  }
  return apply_link(op);
}

}  // namespace netkeep

namespace netkeep {

std::vector<NftError> FakeKernel::apply_nft(const std::vector<const Op*>& ops) {
  if (ops.empty()) return {};
  writes_ += ops.size() + 2;  // batch begin and end
  if (next_handle_ == 0)
    for (const auto& c : state_.nft.chains)
      for (const auto& r : c.rules) next_handle_ = std::max(next_handle_, r.handle);
  NftState s = state_.nft;  // all or nothing
  std::vector<NftError> errors;
  for (size_t i = 0; i < ops.size(); i++) {
    std::optional<KernelError> e = refuse ? refuse(*ops[i]) : std::nullopt;
    if (!e) e = apply_nft_op(s, *ops[i], next_handle_ + 1);
    if (!e && std::holds_alternative<NftRuleAdd>(*ops[i])) next_handle_++;
    if (e) errors.push_back({i, *e});
  }
  if (errors.empty()) state_.nft = std::move(s);
  return errors;
}

}  // namespace netkeep
