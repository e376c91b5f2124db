#include "backends/linux_kernel.hpp"

#include <fmt/format.h>
#include <linux/rtnetlink.h>

#include <cerrno>

#include "backends/resolv_conf.hpp"
#include "backends/rtnl_addr.hpp"
#include "backends/rtnl_link.hpp"
#include "backends/rtnl_route.hpp"
#include "backends/sysctl.hpp"

namespace netkeep {

namespace {

const char* const kSysctls[] = {"net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding",
                                "net/ipv4/icmp_ratelimit", "net/ipv6/icmp/ratelimit"};
const char* const kFiles[] = {"/tmp/resolv.conf"};

std::filesystem::path under(const std::filesystem::path& root, const std::string& path) {
  return root / std::filesystem::path(path).relative_path();
}

}  // namespace

std::unique_ptr<LinuxKernel> LinuxKernel::open(std::filesystem::path root, std::string& error) {
  auto s = nl::Socket::open(NETLINK_ROUTE, error);
  if (!s) return nullptr;
  auto nft = NftKernel::open(error);
  if (!nft) return nullptr;
  return std::unique_ptr<LinuxKernel>(new LinuxKernel(std::move(s), std::move(nft), std::move(root)));
}

std::optional<Actual> LinuxKernel::snapshot(std::string& error) {
  // A dump interrupted by a concurrent change is retried whole, so links,
  // addresses and routes describe one moment.
  for (int attempt = 0; attempt < 10; attempt++) {
    Actual a;
    auto e = snapshot_once(a);
    if (!e) return a;
    if (e->code != EAGAIN) {
      error = e->message;
      return std::nullopt;
    }
  }
  error = "the kernel's state kept changing during 10 snapshot attempts";
  return std::nullopt;
}

std::optional<WriteError> LinuxKernel::snapshot_once(Actual& a) {
  std::map<int, rtnl::LinkMsg> links;
  auto m = rtnl::encode_link_dump();
  if (auto e = rtnl_->dump(m.hdr(), [&](const nlmsghdr* nlh) {
        if (auto l = rtnl::decode_link(nlh)) links[l->ifindex] = *l;
      }))
    return e;
  auto name_of = [&](int index) -> std::string {
    auto it = links.find(index);
    return it == links.end() ? "" : it->second.link.name;
  };

  m = rtnl::encode_addr_dump();
  if (auto e = rtnl_->dump(m.hdr(), [&](const nlmsghdr* nlh) {
        if (auto x = rtnl::decode_addr(nlh)) {
          x->addr.dev = name_of(x->ifindex);
          if (!x->addr.dev.empty()) a.addrs.push_back(x->addr);
        }
      }))
    return e;

  m = rtnl::encode_route_dump();
  if (auto e = rtnl_->dump(m.hdr(), [&](const nlmsghdr* nlh) {
        if (auto x = rtnl::decode_route(nlh)) {
          x->route.dev = name_of(x->oif);
          if (!x->route.dev.empty()) a.routes.push_back(x->route);
        }
      }))
    return e;

  ifindex_.clear();
  for (auto& [index, l] : links) {
    l.link.master = name_of(l.master_index);
    a.links.push_back(l.link);
    ifindex_[l.link.name] = index;
    std::string key = "net/ipv6/conf/" + l.link.name + "/accept_ra";
    if (auto v = sysctl::read(key)) a.sysctls[key] = *v;
  }
  for (const char* key : kSysctls)
    if (auto v = sysctl::read(key)) a.sysctls[key] = *v;
  for (const char* f : kFiles) a.files[f] = files::inspect(under(root_, f));
  if (auto e = nft_->snapshot(a.nft)) return WriteError{e->code, "nftables: " + e->message};
  a.normalize();
  return std::nullopt;
}

std::vector<NftError> LinuxKernel::apply_nft(const std::vector<Op>& ops) { return nft_->send(ops, true); }

std::string LinuxKernel::name_of(int ifindex) const {
  for (const auto& [name, index] : ifindex_)
    if (index == ifindex) return name;
  return "";
}

std::optional<WriteError> LinuxKernel::write(nl::Message m) {
  writes_++;
  return rtnl_->request(m.hdr());
}

std::optional<WriteError> LinuxKernel::index_of(const std::string& name, int& index) {
  if (auto it = ifindex_.find(name); it != ifindex_.end()) {
    index = it->second;
    return std::nullopt;
  }
  auto m = rtnl::encode_link_get(name);
  index = 0;
  auto e = rtnl_->get(m.hdr(), [&](const nlmsghdr* nlh) {
    if (auto l = rtnl::decode_link(nlh)) index = l->ifindex;
  });
  if (e) return WriteError{e->code, fmt::format("link {}: {}", name, e->message)};
  if (!index) return WriteError{ENODEV, fmt::format("link {}: no such device", name)};
  ifindex_[name] = index;
  return std::nullopt;
}

std::optional<WriteError> LinuxKernel::apply_link(const Op& op) {
  if (auto* o = std::get_if<BridgeCreate>(&op)) return write(rtnl::encode_bridge_create(o->name, o->mac));
  if (auto* o = std::get_if<LinkRename>(&op)) {
    int index;
    if (auto e = index_of(o->from, index)) return e;
    rtnl::LinkChange rename, down, up;
    rename.ifindex = down.ifindex = up.ifindex = index;
    rename.name = o->to;
    down.up = false;
    up.up = true;
    auto e = write(rtnl::encode_link_change(rename));
    if (e && e->code == EBUSY) {
      // Older kernels refuse to rename a running link: down, rename, up.
      if ((e = write(rtnl::encode_link_change(down)))) return e;
      e = write(rtnl::encode_link_change(rename));
      auto e_up = write(rtnl::encode_link_change(up));
      if (!e) e = e_up;
    }
    if (!e) {
      ifindex_.erase(o->from);
      ifindex_[o->to] = index;
    }
    return e;
  }
  rtnl::LinkChange c;
  std::string dev;
  if (auto* o = std::get_if<LinkSetMtu>(&op)) dev = o->dev, c.mtu = o->to;
  if (auto* o = std::get_if<LinkSetMac>(&op)) dev = o->dev, c.mac = o->to;
  if (auto* o = std::get_if<LinkSetUp>(&op)) dev = o->dev, c.up = true;
  if (auto* o = std::get_if<LinkSetMaster>(&op)) {
    dev = o->dev;
    int master;
    if (auto e = index_of(o->master, master)) return e;
    c.master = master;
  }
  if (auto e = index_of(dev, c.ifindex)) return e;
  return write(rtnl::encode_link_change(c));
}

std::optional<WriteError> LinuxKernel::apply(const Op& op) {
  int index = 0;
  if (auto* o = std::get_if<AddrAdd>(&op)) {
    if (auto e = index_of(o->addr.dev, index)) return e;
    return write(rtnl::encode_addr_replace(index, o->addr));
  }
  if (auto* o = std::get_if<AddrDel>(&op)) {
    if (auto e = index_of(o->addr.dev, index)) return e;
    auto e = write(rtnl::encode_addr_delete(index, o->addr));
    if (e && e->code == EADDRNOTAVAIL) return std::nullopt;  // already gone
    return e;
  }
  if (auto* o = std::get_if<RouteReplace>(&op)) {
    if (auto e = index_of(o->route.dev, index)) return e;
    return write(rtnl::encode_route_replace(index, o->route));
  }
  if (auto* o = std::get_if<RouteDel>(&op)) {
    if (auto e = index_of(o->route.dev, index)) return e;
    auto e = write(rtnl::encode_route_delete(index, o->route));
    // The kernel drops IPv4 routes whose source address was just deleted.
    if (e && e->code == ESRCH) return std::nullopt;
    return e;
  }
  if (auto* o = std::get_if<SysctlSet>(&op)) {
    writes_++;
    return sysctl::write(o->key, o->to);
  }
  if (auto* o = std::get_if<FileWrite>(&op)) {
    writes_++;
    return files::replace_unless_regular(under(root_, o->path), o->content);
  }
  return apply_link(op);
}

}  // namespace netkeep
