#include "reconciler/restore.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <map>
#include <set>

#include "model/json_out.hpp"
#include "model/overload.hpp"
#include "reconciler/flows.hpp"
#include "reconciler/plan.hpp"

namespace netkeep {

namespace {

bool same_addr_key(const Address& a, const Address& b) {
  return a.dev == b.dev && a.local == b.local;
}

bool same_route_key(const Route& a, const Route& b) {
  return a.dst == b.dst && a.priority == b.priority;
}

// A per-link sysctl's key with the link's name replaced: "net/ipv6/conf/
// uplink0/accept_ra" names eth3's after a rename.
constexpr std::string_view kConf[] = {"net/ipv6/conf/", "net/ipv4/conf/"};

std::string sysctl_link(const std::string& key) {
  for (auto prefix : kConf)
    if (key.starts_with(prefix)) {
      const size_t end = key.find('/', prefix.size());
      if (end != std::string::npos) return key.substr(prefix.size(), end - prefix.size());
    }
  return {};
}

std::string sysctl_renamed(const std::string& key, const std::string& to) {
  const std::string dev = sysctl_link(key);
  if (dev.empty()) return key;
  const size_t at = key.find('/' + dev + '/') + 1;
  return key.substr(0, at) + to + key.substr(at + dev.size());
}

template <class T, class Eq>
void add_unique(std::vector<T>& v, const T& x, Eq eq) {
  if (std::none_of(v.begin(), v.end(), [&](const T& y) { return eq(x, y); })) v.push_back(x);
}

}  // namespace

bool Touched::empty() const {
  return links.empty() && created_links.empty() && addrs.empty() && routes.empty() &&
         sysctls.empty() && files.empty() && !nft;
}

void Touched::merge(const Touched& more) {
  for (const auto& x : more.links) add_unique(links, x, std::equal_to<>());
  for (const auto& x : more.created_links) add_unique(created_links, x, std::equal_to<>());
  for (const auto& x : more.addrs) add_unique(addrs, x, same_addr_key);
  for (const auto& x : more.routes) add_unique(routes, x, same_route_key);
  for (const auto& x : more.sysctls) add_unique(sysctls, x, std::equal_to<>());
  for (const auto& x : more.files) add_unique(files, x, std::equal_to<>());
  nft = nft || more.nft;
}

Touched touched_by(const std::vector<Op>& ops, const Actual& before,
                   const std::function<std::string(const std::string&)>& symlink_of) {
  Touched t;
  std::map<std::string, std::string> was;  // a renamed link's name now -> its name before
  std::set<std::string> created;
  auto before_name = [&](const std::string& dev) {
    auto it = was.find(dev);
    return it == was.end() ? dev : it->second;
  };
  std::vector<std::string> links;  // by name before
  auto link = [&](const std::string& dev) {
    if (created.contains(dev) || !before.link(before_name(dev))) return;
    add_unique(links, before_name(dev), std::equal_to<>());
  };
  for (const Op& op : ops) {
    if (is_nft(op)) {
      t.nft = true;
      continue;
    }
    std::visit(
        Overload{
            [&](const BridgeCreate& o) { created.insert(o.name); },
            [&](const WgLinkCreate& o) { created.insert(o.name); },
            [&](const LinkRename& o) {
              link(o.from);
              const std::string b = before_name(o.from);
              was.erase(o.from);
              was[o.to] = b;
            },
            [&](const LinkSetMtu& o) { link(o.dev); }, [&](const LinkSetMac& o) { link(o.dev); },
            [&](const LinkSetMaster& o) { link(o.dev); }, [&](const LinkSetUp& o) { link(o.dev); },
            [&](const LinkSetDown& o) { link(o.dev); },
            [&](const AddrAdd& o) {
              if (created.contains(o.addr.dev)) return;  // goes with its link
              Address key{before_name(o.addr.dev), o.addr.local, {}, 0};
              add_unique(t.addrs, key, same_addr_key);
            },
            [&](const AddrDel& o) {
              Address key{before_name(o.addr.dev), o.addr.local, {}, 0};
              add_unique(t.addrs, key, same_addr_key);
            },
            [&](const RouteReplace& o) {
              Route key{o.route.dst, {}, {}, 0, 0, {}, o.route.priority};
              add_unique(t.routes, key, same_route_key);
            },
            [&](const RouteDel& o) {
              Route key{o.route.dst, {}, {}, 0, 0, {}, o.route.priority};
              add_unique(t.routes, key, same_route_key);
            },
            [&](const SysctlSet& o) {
              const std::string dev = sysctl_link(o.key);
              if (dev.empty())
                add_unique(t.sysctls, o.key, std::equal_to<>());
              else if (!created.contains(dev))  // goes with its link
                add_unique(t.sysctls, sysctl_renamed(o.key, before_name(dev)), std::equal_to<>());
            },
            [&](const FileWrite& o) {
              t.files.push_back(
                  {o.path, o.content, o.was == FileKind::symlink ? symlink_of(o.path) : ""});
            },
            [](const auto&) {},  // WireGuard and FEC are not restored
        },
        op);
  }
  t.created_links.assign(created.begin(), created.end());
  for (const auto& b : links) {
    std::string after = b;
    for (const auto& [now, then] : was)
      if (then == b) after = now;
    t.links.push_back({b, after});
  }
  return t;
}

namespace {

const Address* find_addr(const std::vector<Address>& v, const std::string& dev,
                         const Prefix& local) {
  auto it = std::find_if(v.begin(), v.end(),
                         [&](const Address& a) { return a.dev == dev && a.local == local; });
  return it == v.end() ? nullptr : &*it;
}

const Route* find_route(const std::vector<Route>& v, const Route& key) {
  auto it = std::find_if(v.begin(), v.end(), [&](const Route& r) {
    return same_route_key(r, key) && r.family() == key.family();
  });
  return it == v.end() ? nullptr : &*it;
}

// One undo: the state before the change, what the change touched, and the
// state now; each step appends its ops to the plan.
struct Undo {
  const Actual& before;
  const Touched& t;
  const Actual& now;

  // A touched link's name in `now`: the name the change gave it, or its
  // old one (the rename failed, or was undone).
  std::string now_name(const std::string& b) const {
    for (const auto& l : t.links)
      if (l.before == b && now.link(l.after)) return l.after;
    return b;
  }
  std::string before_name(const std::string& n) const {
    for (const auto& l : t.links)
      if (l.after == n && now.link(n)) return l.before;
    return n;
  }

  // 1. What the change added, under the names it has now.
  void drop_added(Plan& p) const {
    for (const auto& k : t.addrs) {
      const Address* was = find_addr(before.addrs, k.dev, k.local);
      const Address* is = find_addr(now.addrs, now_name(k.dev), k.local);
      if (!was && is) p.ops.push_back(AddrDel{*is, "not there before"});
    }
    for (const auto& k : t.routes)
      if (!find_route(before.routes, k))
        if (const Route* is = find_route(now.routes, k))
          p.ops.push_back(RouteDel{*is, "not there before"});
  }

  // 2. Links: names first, so the rest names them as before; 3. links the
  // change created.
  void links_back(Plan& p) const {
    std::vector<Op> attrs;
    for (const auto& l : t.links) {
      const Link* was = before.link(l.before);
      const Link* is = now.link(now_name(l.before));
      if (!was || !is) continue;
      if (is->name != was->name) p.ops.push_back(LinkRename{is->name, was->name, is->mac});
      if (is->mtu != was->mtu) attrs.push_back(LinkSetMtu{was->name, is->mtu, was->mtu});
      if (is->mac != was->mac) attrs.push_back(LinkSetMac{was->name, is->mac, was->mac});
      if (before_name(is->master) != was->master)
        attrs.push_back(LinkSetMaster{was->name, was->master});
      if (is->up != was->up) {
        if (was->up)
          attrs.push_back(LinkSetUp{was->name});
        else
          attrs.push_back(LinkSetDown{was->name});
      }
    }
    p.ops.insert(p.ops.end(), attrs.begin(), attrs.end());
    for (const auto& name : t.created_links)
      if (now.link(name) && !before.link(name)) p.ops.push_back(LinkDelete{name});
  }

  // 4. Addresses and routes as they were, under the names they had.
  void addrs_routes_back(Plan& p) const {
    for (const auto& k : t.addrs) {
      const Address* was = find_addr(before.addrs, k.dev, k.local);
      const Address* is = find_addr(now.addrs, now_name(k.dev), k.local);
      if (was && (!is || is->broadcast != was->broadcast || is->proto != was->proto))
        p.ops.push_back(AddrAdd{*was});
    }
    for (const auto& k : t.routes) {
      const Route* was = find_route(before.routes, k);
      if (!was) continue;
      const Route* is = find_route(now.routes, k);
      Route as_was;
      if (is) {
        as_was = *is;
        as_was.dev = before_name(is->dev);
      }
      if (!is || as_was != *was) p.ops.push_back(RouteReplace{*was});
    }
  }

  // 5. Sysctls.
  void sysctls_back(Plan& p) const {
    for (const auto& key : t.sysctls) {
      auto was = before.sysctls.find(key);
      if (was == before.sysctls.end()) continue;
      const std::string dev = sysctl_link(key);
      auto is = now.sysctls.find(dev.empty() ? key : sysctl_renamed(key, now_name(dev)));
      const std::string current = is == now.sysctls.end() ? "" : is->second;
      if (current != was->second) p.ops.push_back(SysctlSet{key, current, was->second});
    }
  }

  // 6. The owned nftables objects, in one transaction. Undoing a
  // forwarding change moves its flows back, as the change did.
  void nft_back(Plan& p) const {
    if (!t.nft) return;
    const size_t nft_from = p.ops.size();
    plan_nft_restore(before.nft, now.nft, p.ops);
    plan_flows(p.ops, nft_from, false);
  }

  // 7. Files, while they still hold what the change wrote (else they are
  // someone else's since).
  void files_back(Plan& p) const {
    for (const auto& f : t.files) {
      auto was = before.files.find(f.path);
      const FileKind kind = was == before.files.end() ? FileKind::missing : was->second.kind;
      auto is = now.files.find(f.path);
      if (is == now.files.end() || is->second.kind != FileKind::regular ||
          is->second.content != f.written)
        continue;
      if (kind == FileKind::missing) p.ops.push_back(FileRestore{f.path, ""});
      if (kind == FileKind::symlink && !f.symlink.empty())
        p.ops.push_back(FileRestore{f.path, f.symlink});
    }
  }
};

}  // namespace

Plan restore(const Actual& before, const Touched& t, const Actual& now) {
  const Undo u{before, t, now};
  Plan p;
  u.drop_added(p);
  u.links_back(p);
  u.addrs_routes_back(p);
  u.sysctls_back(p);
  u.nft_back(p);
  u.files_back(p);
  return p;
}

std::string to_json(const Touched& t) {
  using json::quote;
  std::string out = "{\"links\": [";
  for (size_t i = 0; i < t.links.size(); i++)
    out += fmt::format("{}{{\"before\": {}, \"after\": {}}}", i ? ", " : "",
                       quote(t.links[i].before), quote(t.links[i].after));
  out += "],\n \"created_links\": [" + json::quote_list(t.created_links) + "],\n \"addrs\": [";
  for (size_t i = 0; i < t.addrs.size(); i++)
    out += fmt::format("{}{{\"dev\": {}, \"local\": \"{}\"}}", i ? ", " : "", quote(t.addrs[i].dev),
                       t.addrs[i].local.str());
  out += "],\n \"routes\": [";
  for (size_t i = 0; i < t.routes.size(); i++)
    out += fmt::format("{}{{\"dst\": \"{}\", \"priority\": {}}}", i ? ", " : "",
                       t.routes[i].dst.str(), t.routes[i].priority);
  out += "],\n \"sysctls\": [" + json::quote_list(t.sysctls) + "],\n \"files\": [";
  for (size_t i = 0; i < t.files.size(); i++)
    out +=
        fmt::format("{}{{\"path\": {}, \"written\": {}, \"symlink\": {}}}", i ? ", " : "",
                    quote(t.files[i].path), quote(t.files[i].written), quote(t.files[i].symlink));
  out += fmt::format("],\n \"nft\": {}}}\n", t.nft);
  return out;
}

Result<Touched, std::string> touched_from_json(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::object root;
  if (auto err = parser.parse(padded).get_object().get(root))
    return unexpected(std::string(simdjson::error_message(err)));
  Touched t;
  auto str = [](simdjson::dom::element e, const char* key, std::string& out) {
    std::string_view s;
    if (e[key].get_string().get(s)) return false;
    out = s;
    return true;
  };
  auto strings = [&](const char* key, std::vector<std::string>& out) {
    simdjson::dom::array arr;
    if (root[key].get_array().get(arr)) return false;
    for (auto e : arr) {
      std::string_view s;
      if (e.get_string().get(s)) return false;
      out.emplace_back(s);
    }
    return true;
  };
  auto each = [&](const char* key, const std::function<bool(simdjson::dom::element)>& f) {
    simdjson::dom::array arr;
    if (root[key].get_array().get(arr)) return false;
    for (auto e : arr)
      if (!f(e)) return false;
    return true;
  };
  bool ok = each("links",
                 [&](simdjson::dom::element e) {
                   Touched::Link l;
                   if (!str(e, "before", l.before) || !str(e, "after", l.after)) return false;
                   t.links.push_back(l);
                   return true;
                 }) &&
            strings("created_links", t.created_links) &&
            each("addrs",
                 [&](simdjson::dom::element e) {
                   std::string dev, local;
                   if (!str(e, "dev", dev) || !str(e, "local", local)) return false;
                   auto p = Prefix::parse(local);
                   if (!p) return false;
                   t.addrs.push_back({dev, *p, {}, 0});
                   return true;
                 }) &&
            each("routes",
                 [&](simdjson::dom::element e) {
                   std::string dst;
                   uint64_t priority = 0;
                   if (!str(e, "dst", dst) || e["priority"].get_uint64().get(priority))
                     return false;
                   auto p = Prefix::parse(dst);
                   if (!p || priority > UINT32_MAX) return false;
                   t.routes.push_back({*p, {}, {}, 0, 0, {}, static_cast<uint32_t>(priority)});
                   return true;
                 }) &&
            strings("sysctls", t.sysctls) &&
            each("files",
                 [&](simdjson::dom::element e) {
                   Touched::File f;
                   if (!str(e, "path", f.path) || !str(e, "written", f.written) ||
                       !str(e, "symlink", f.symlink))
                     return false;
                   t.files.push_back(f);
                   return true;
                 }) &&
            !root["nft"].get_bool().get(t.nft);
  if (!ok) return unexpected(std::string("not a list of touched objects netkeep reads"));
  return t;
}

}  // namespace netkeep
