#include "backends/linux_kernel.hpp"

#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <linux/ethtool_netlink.h>
#include <linux/wireguard.h>

#include <algorithm>
#include <cerrno>

#include "backends/conntrack.hpp"
#include "backends/rtnl_neigh.hpp"
#include "backends/sock_diag.hpp"
#include "backends/fec_codec.hpp"
#include "backends/genl.hpp"
#include "backends/resolv_conf.hpp"
#include "backends/wg_codec.hpp"
#include "backends/rtnl_addr.hpp"
#include "backends/rtnl_link.hpp"
#include "backends/rtnl_route.hpp"
#include "backends/sysctl.hpp"

namespace netkeep {

namespace {

// Names the request an error came from, unless it already says.
KernelError during(KernelError e, const char* what) {
  if (e.what.empty()) e.what = what;
  return e;
}

std::filesystem::path under(const std::filesystem::path& root, const std::string& path) {
  return root / std::filesystem::path(path).relative_path();
}

}  // namespace

KernelResult<std::unique_ptr<LinuxKernel>> LinuxKernel::open(std::filesystem::path root) {
  auto s = nl::Socket::open(NETLINK_ROUTE);
  if (!s) return unexpected(s.error());
  auto nft = NftKernel::open();
  if (!nft) return unexpected(nft.error());
  return std::unique_ptr<LinuxKernel>(
      new LinuxKernel(std::move(*s), std::move(*nft), std::move(root)));
}

void LinuxKernel::load_view(std::filesystem::path file) {
  view_file_ = std::move(file);
  view_identity_ = nft_view_identity(nft_->fd());
  auto v = load_nft_view(view_file_, view_identity_);
  if (v) loaded_gen_ = v->gen;
  nft_->set_view(std::move(v), /*from_file=*/true);
}

std::optional<KernelError> LinuxKernel::save_view() {
  if (view_file_.empty()) return std::nullopt;
  const auto& v = nft_->view();
  if (v && loaded_gen_ == v->gen) return std::nullopt;  // unchanged
  if (!v) {
    std::error_code ec;
    std::filesystem::remove(view_file_, ec);
    return std::nullopt;
  }
  auto e = save_nft_view(view_file_, view_identity_, *v);
  if (!e) loaded_gen_ = v->gen;
  return e;
}

KernelResult<Actual> LinuxKernel::snapshot() {
  // A dump interrupted by a concurrent change is retried whole, so links,
  // addresses, routes and the ruleset describe one moment: the only retry
  // loop of a snapshot, backing off from 1 ms to 100 ms, for at most 2 s
  // (the daemon does nothing else meanwhile). A race of the nftables read
  // that the daemon can judge from its events goes to it (NftRace).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  auto pause = std::chrono::milliseconds(1);
  for (int attempt = 1;; attempt++) {
    Actual a;
    auto e = snapshot_once(a);
    if (!e) return a;
    if (e->code != EAGAIN || e->race) return unexpected(*e);
    if (std::chrono::steady_clock::now() + pause > deadline)
      return unexpected(KernelError{
          e->code, fmt::format("the kernel's state kept changing for 2 s ({} attempts; last: {})",
                               attempt, e->str())});
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
}

std::optional<KernelError> LinuxKernel::snapshot_once(Actual& a) {
  // The ruleset first: its generation is read right after the daemon read
  // the nftables events, so that they have caught up with it.
  if (auto e = nft_->snapshot(a.nft)) return during(*e, "reading the nftables ruleset");
  std::map<int, rtnl::LinkMsg> links;
  auto m = rtnl::encode_link_dump();
  if (auto e = rtnl_->dump(m.hdr(), [&](const nlmsghdr* nlh) {
        if (auto l = rtnl::decode_link(nlh)) links[l->ifindex] = *l;
      }))
    return during(*e, "dumping links");
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
    return during(*e, "dumping addresses");

  m = rtnl::encode_route_dump();
  if (auto e = rtnl_->dump(m.hdr(), [&](const nlmsghdr* nlh) {
        if (auto x = rtnl::decode_route(nlh)) {
          x->route.dev = name_of(x->oif);
          if (!x->route.dev.empty()) a.routes.push_back(x->route);
        }
      }))
    return during(*e, "dumping routes");

  ifindex_.clear();
  for (auto& [index, l] : links) {
    l.link.master = name_of(l.master_index);
    a.links.push_back(l.link);
    ifindex_[l.link.name] = index;
    std::string key = "net/ipv6/conf/" + l.link.name + "/accept_ra";
    if (auto v = sysctls_.read(key)) a.sysctls[key] = *v;
  }
  for (const auto& s : kRouterSysctls)
    if (auto v = sysctls_.read(s.first)) a.sysctls[s.first] = *v;
  sysctls_.sweep();
  a.files[kResolvConf] = files::inspect(under(root_, kResolvConf));
  snapshot_genl(a);
  a.normalize();
  return std::nullopt;
}

std::vector<NftError> LinuxKernel::apply_nft(const std::vector<const Op*>& ops) {
  return nft_->send(ops, true);
}

std::string LinuxKernel::name_of(int ifindex) const {
  for (const auto& [name, index] : ifindex_)
    if (index == ifindex) return name;
  return "";
}

void LinuxKernel::scope(const Desired& d) {
  fec_names_.clear();
  fec_macs_.clear();
  if (!d.interfaces.ok()) return;
  for (const auto& s : d.interfaces.value.interfaces) {
    if (s.fec.empty()) continue;
    fec_names_.insert(s.name);
    if (s.hardware_addr) fec_macs_.insert(*s.hardware_addr);
    if (s.spoof_hardware_addr) fec_macs_.insert(*s.spoof_hardware_addr);
  }
}

KernelResult<uint16_t> LinuxKernel::family(const char* name, std::optional<uint16_t>& cache) {
  if (cache) return *cache;
  if (!genl_) {
    auto s = nl::Socket::open(NETLINK_GENERIC);
    if (!s) return unexpected(s.error());
    genl_ = std::move(*s);
  }
  auto id = genl::resolve(*genl_, name);
  if (id) cache = *id;
  return id;
}

// WireGuard devices and the FEC of configured links. Neither is fatal to a
// snapshot: a kernel without the family simply has nothing to report.
void LinuxKernel::snapshot_genl(Actual& a) {
  bool have_wg = std::any_of(a.links.begin(), a.links.end(),
                             [](const Link& l) { return l.kind == "wireguard"; });
  auto wg_id = have_wg ? family(WG_GENL_NAME, wg_family_) : KernelResult<uint16_t>(0);
  for (const auto& l : a.links) {
    if (l.kind != "wireguard" || !wg_id) continue;
    WgDeviceState d;
    auto m = wg::encode_get_device(*wg_id, l.name);
    if (!genl_->dump(m.hdr(), [&](const nlmsghdr* nlh) { wg::decode_device(nlh, d); })) {
      d.name = l.name;
      a.wireguard.push_back(std::move(d));
    }
  }
  if (fec_names_.empty() && fec_macs_.empty()) return;
  auto id = family(ETHTOOL_GENL_NAME, ethtool_family_);
  if (!id) return;
  for (const auto& l : a.links) {
    if (!fec_names_.contains(l.name) && !fec_macs_.contains(l.mac)) continue;
    auto m = fec::encode_get(*id, l.name);
    std::optional<std::string> mode;
    auto e = genl_->get(m.hdr(), [&](const nlmsghdr* nlh) { mode = fec::decode(nlh); });
    if (e && e->code == EOPNOTSUPP)
      a.fec[l.name] = "unsupported";
    else if (!e && mode)
      a.fec[l.name] = *mode;
  }
}

std::optional<KernelError> LinuxKernel::apply_genl(const Op& op) {
  if (auto* o = std::get_if<WgSetDevice>(&op)) {
    auto id = family(WG_GENL_NAME, wg_family_);
    if (!id)
      return KernelError{id.error().code,
                         fmt::format("{}: the kernel has no WireGuard support ({})", o->device.name,
                                     id.error().message)};
    for (auto& m : wg::encode_set_device(*id, o->device)) {
      writes_++;
      if (auto e = genl_->request(m.hdr())) return e;
    }
    return std::nullopt;
  }
  auto* o = std::get_if<FecSet>(&op);
  auto id = family(ETHTOOL_GENL_NAME, ethtool_family_);
  if (!id) return id.error();
  auto m = fec::encode_set(*id, o->dev, o->to);
  if (!m) return KernelError{EINVAL, fmt::format("unknown FEC mode \"{}\"", o->to)};
  writes_++;
  return genl_->request(m->hdr());
}

KernelResult<Survey> LinuxKernel::survey() {
  Survey s;
  // A dump interrupted by another program's commit is read again.
  for (int attempt = 0;; attempt++) {
    auto chains = nft_->read_foreign_chains();
    if (chains) {
      s.chains = std::move(*chains);
      break;
    }
    if (chains.error().code != EAGAIN || attempt == 4)
      return unexpected(during(chains.error(), "reading other programs' nftables chains"));
  }
  for (const char* key : {"net/ipv4/conf/all/rp_filter", "net/ipv4/conf/uplink0/rp_filter",
                          "net/bridge/bridge-nf-call-iptables"})
    if (auto v = sysctl::read(key)) s.sysctls[key] = *v;
  // lan0's neighbours that do not answer (pinholes to nobody).
  const auto lan = ifindex_.find("lan0");
  auto m = rtnl::encode_neigh_dump();
  if (auto e = rtnl_->dump(m.hdr(), [&](const nlmsghdr* nlh) {
        auto n = rtnl::decode_neigh(nlh);
        if (n && lan != ifindex_.end() && n->ifindex == lan->second &&
            (n->state & (NUD_FAILED | NUD_INCOMPLETE)))
          s.unanswered.push_back(n->addr);
      }))
    return unexpected(during(*e, "dumping neighbours"));
  auto listening = sock_diag::listeners();
  if (!listening) return unexpected(listening.error());
  for (auto& l : *listening) s.listening.push_back({l.proto, l.addr, l.port, std::move(l.program)});
  return s;
}

KernelStats LinuxKernel::stats() const {
  KernelStats s;
  s.rtnl_writes = rtnl_writes_;
  s.rtnl_reads = rtnl_->requests_sent() - rtnl_writes_;
  s.nft_writes = nft_->messages_sent();
  s.nft_reads = nft_->reads();
  s.other_writes = writes_ - rtnl_writes_;
  s.conntrack = ct_ ? ct_->requests_sent() : 0;
  return s;
}

std::optional<KernelError> LinuxKernel::write(nl::Message m) {
  writes_++;
  rtnl_writes_++;
  return rtnl_->request(m.hdr());
}

KernelResult<int> LinuxKernel::index_of(const std::string& name) {
  if (auto it = ifindex_.find(name); it != ifindex_.end()) return it->second;
  auto m = rtnl::encode_link_get(name);
  int index = 0;
  auto e = rtnl_->get(m.hdr(), [&](const nlmsghdr* nlh) {
    if (auto l = rtnl::decode_link(nlh)) index = l->ifindex;
  });
  if (e) return unexpected(KernelError{e->code, fmt::format("link {}: {}", name, e->message)});
  if (!index) return unexpected(KernelError{ENODEV, fmt::format("link {}: no such device", name)});
  ifindex_[name] = index;
  return index;
}

std::optional<KernelError> LinuxKernel::apply_link(const Op& op) {
  if (auto* o = std::get_if<BridgeCreate>(&op))
    return write(rtnl::encode_bridge_create(o->name, o->mac));
  if (auto* o = std::get_if<WgLinkCreate>(&op)) {
    auto e = write(rtnl::encode_link_create(o->name, "wireguard"));
    if (e && e->code == EOPNOTSUPP)
      e->message = fmt::format("{}: the kernel has no WireGuard support ({})", o->name, e->message);
    return e;
  }
  if (std::holds_alternative<WgSetDevice>(op) || std::holds_alternative<FecSet>(op))
    return apply_genl(op);
  if (auto* o = std::get_if<LinkDelete>(&op)) {
    auto index = index_of(o->name);
    if (!index) return index.error();
    auto e = write(rtnl::encode_link_delete(*index));
    if (!e) ifindex_.erase(o->name);
    return e;
  }
  if (auto* o = std::get_if<LinkRename>(&op)) {
    auto index = index_of(o->from);
    if (!index) return index.error();
    rtnl::LinkChange rename, down, up;
    rename.ifindex = down.ifindex = up.ifindex = *index;
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
      ifindex_[o->to] = *index;
    }
    return e;
  }
  rtnl::LinkChange c;
  std::string dev;
  if (auto* o = std::get_if<LinkSetMtu>(&op)) dev = o->dev, c.mtu = o->to;
  if (auto* o = std::get_if<LinkSetMac>(&op)) dev = o->dev, c.mac = o->to;
  if (auto* o = std::get_if<LinkSetUp>(&op)) dev = o->dev, c.up = true;
  if (auto* o = std::get_if<LinkSetDown>(&op)) dev = o->dev, c.up = false;
  if (auto* o = std::get_if<LinkSetMaster>(&op); o && o->master.empty()) {
    dev = o->dev;
    c.master = 0;  // nomaster
  } else if (o) {
    dev = o->dev;
    auto master = index_of(o->master);
    if (!master) return master.error();
    c.master = *master;
  }
  auto index = index_of(dev);
  if (!index) return index.error();
  c.ifindex = *index;
  return write(rtnl::encode_link_change(c));
}

std::optional<KernelError> LinuxKernel::apply(const Op& op) {
  if (auto* o = std::get_if<AddrAdd>(&op)) {
    auto index = index_of(o->addr.dev);
    if (!index) return index.error();
    return write(rtnl::encode_addr_replace(*index, o->addr));
  }
  if (auto* o = std::get_if<AddrDel>(&op)) {
    auto index = index_of(o->addr.dev);
    if (!index) return index.error();
    auto e = write(rtnl::encode_addr_delete(*index, o->addr));
    if (e && e->code == EADDRNOTAVAIL) return std::nullopt;  // already gone
    return e;
  }
  if (auto* o = std::get_if<RouteReplace>(&op)) {
    auto index = index_of(o->route.dev);
    if (!index) return index.error();
    return write(rtnl::encode_route_replace(*index, o->route));
  }
  if (auto* o = std::get_if<RouteDel>(&op)) {
    auto index = index_of(o->route.dev);
    if (!index) return index.error();
    auto e = write(rtnl::encode_route_delete(*index, o->route));
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
  if (auto* o = std::get_if<FileRestore>(&op)) {
    writes_++;
    return files::restore(under(root_, o->path), o->symlink);
  }
  if (auto* o = std::get_if<FlowsEnd>(&op)) return end_flows({o}).front();
  return apply_link(op);
}

KernelResult<nl::Socket*> LinuxKernel::conntrack_socket() {
  if (!ct_) {
    auto s = nl::Socket::open(NETLINK_NETFILTER);
    if (!s) return unexpected(s.error());
    ct_ = std::move(*s);
  }
  return ct_.get();
}

std::vector<std::optional<KernelError>> LinuxKernel::end_flows(
    const std::vector<const FlowsEnd*>& ops) {
  std::vector<std::optional<KernelError>> out(ops.size());
  auto s = conntrack_socket();
  auto found = !s       ? unexpected(s.error())
               : flows_ ? flows_->find(**s, ops)
                        : conntrack::find(**s, ops);
  if (!found) {
    std::fill(out.begin(), out.end(), found.error());
    return out;
  }
  for (size_t i = 0; i < ops.size(); i++) {
    auto n = conntrack::erase(**s, (*found)[i]);
    if (!n) {
      out[i] = n.error();
      continue;
    }
    writes_ += *n;
    (ops[i]->proto == 6 ? ended_tcp_ : ended_udp_) += *n;
    if (flows_) flows_->forget((*found)[i]);
  }
  return out;
}

KernelResult<FlowTracker*> LinuxKernel::track_flows() {
  if (!flows_) {
    auto t = std::make_unique<FlowTracker>();
    if (t->fd() < 0 || !t->error().empty())
      return unexpected(KernelError{EPROTO, t->error(), "subscribing to conntrack events"});
    flows_ = std::move(t);
  }
  return flows_.get();
}

KernelResult<std::vector<uint64_t>> LinuxKernel::count_flows(
    const std::vector<const FlowsEnd*>& ops) {
  auto s = conntrack_socket();
  if (!s) return unexpected(s.error());
  auto found = conntrack::find(**s, ops);
  if (!found) return unexpected(found.error());
  std::vector<uint64_t> counts;
  for (const auto& entries : *found) counts.push_back(entries.size());
  return counts;
}

}  // namespace netkeep
