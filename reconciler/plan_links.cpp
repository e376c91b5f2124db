// The link phase: match config entries to kernel links, create bridges,
// rename, set MTU, MAC, master and up.
#include <algorithm>

#include "reconciler/plan.hpp"

namespace netkeep {

std::string LinkView::after(const std::string& current) const {
  auto it = final_name.find(current);
  return it == final_name.end() ? current : it->second;
}

std::string LinkView::before(const std::string& final) const {
  for (const auto& [cur, fin] : final_name)
    if (fin == final) return cur;
  return final;
}

std::string LinkView::uplink() const {
  // router7's uplink: the first of these that exists after renames.
  for (const char* n : {"uplink0", "eth0", "ens3"})
    if (exists(n)) return n;
  return "uplink0";
}

namespace {

// The working view of one link while the link phase is planned.
struct Slot {
  Link link;  // as it is now (bridges to create: as they will start)
  const InterfaceSpec* spec = nullptr;
  bool created = false;
};

// A MAC match wins over a name match. A bridge shares its first member's
// MAC, so a MAC names the member, not the bridge.
Slot* match(std::vector<Slot>& slots, const InterfaceSpec& s, bool by_mac) {
  Slot* best = nullptr;
  for (auto& slot : slots) {
    if (slot.spec) continue;
    if (by_mac) {
      bool hit = (s.hardware_addr && slot.link.mac == *s.hardware_addr) ||
                 (s.spoof_hardware_addr && slot.link.mac == *s.spoof_hardware_addr);
      if (hit && (!best || best->link.kind == "bridge")) best = &slot;
    } else if (slot.link.name == s.name) {
      return &slot;
    }
  }
  return best;
}

Slot* by_mac(std::vector<Slot>& slots, const Mac& mac) {
  for (auto& slot : slots)
    if (slot.link.mac == mac && slot.link.kind != "bridge") return &slot;
  return nullptr;
}

std::string final_of(const Slot& s) {
  return s.spec ? s.spec->name : s.link.name;
}

// Renames in an order where each target name is free when its turn comes
// (a link may first have to move out of the way). A cycle (two links
// swapping names) is left in config order; the kernel then reports EEXIST.
void order_renames(std::vector<LinkRename>& renames, const std::vector<Slot>& slots,
                   std::vector<Op>& ops) {
  std::set<std::string> taken;
  for (const auto& s : slots)
    if (!s.created) taken.insert(s.link.name);
  while (!renames.empty()) {
    auto it = std::find_if(renames.begin(), renames.end(),
                           [&](const LinkRename& r) { return !taken.contains(r.to); });
    if (it == renames.end()) it = renames.begin();
    taken.erase(it->from);
    taken.insert(it->to);
    ops.push_back(*it);
    renames.erase(it);
  }
}

}  // namespace

LinkView plan_links(const Desired& desired, const Actual& actual, std::vector<Op>& ops) {
  LinkView view;
  for (const auto& l : actual.links) view.names.insert(l.name);
  static const InterfacesConfig kNone;
  // Without a valid interfaces.json nothing is renamed, but WireGuard
  // devices of a valid wireguard.json are still made.
  if (!desired.interfaces.ok() && !desired.wireguard.ok()) return view;
  const InterfacesConfig& cfg = desired.interfaces.ok() ? desired.interfaces.value : kNone;

  std::vector<Slot> slots;
  slots.reserve(actual.links.size() + cfg.bridges.size());
  for (const auto& l : actual.links) slots.push_back({l});

  for (const auto& s : cfg.interfaces)
    if (Slot* slot = match(slots, s, true)) slot->spec = &s;

  auto final_names = [&] {
    std::set<std::string> n;
    for (const auto& s : slots) n.insert(final_of(s));
    return n;
  };

  // Bridges first: a config entry may name a bridge that does not exist yet.
  std::vector<Op> creates;
  for (const auto& b : cfg.bridges) {
    auto names = final_names();
    bool unmatched_named = std::any_of(slots.begin(), slots.end(), [&](const Slot& s) {
      return !s.spec && s.link.name == b.name;
    });
    if (names.contains(b.name) || unmatched_named || b.members.empty()) continue;
    Link l{b.name, "bridge", b.members.front(), 1500, false, ""};
    creates.push_back(BridgeCreate{b.name, l.mac});
    slots.push_back({l, nullptr, true});
  }
  // WireGuard devices of wireguard.json, so interfaces.json can name them.
  if (desired.wireguard.ok()) {
    for (const auto& w : desired.wireguard.value.interfaces) {
      if (final_names().contains(w.name)) continue;
      creates.push_back(WgLinkCreate{w.name});
      slots.push_back({Link{w.name, "wireguard", {}, 1420, false, ""}, nullptr, true});
    }
  }
  for (const auto& s : cfg.interfaces) {
    bool taken =
        std::any_of(slots.begin(), slots.end(), [&](const Slot& x) { return x.spec == &s; });
    if (!taken)
      if (Slot* slot = match(slots, s, false)) slot->spec = &s;
  }

  std::vector<LinkRename> renames;
  std::vector<Op> mtus, macs, masters, ups;
  std::set<std::string> want_up;
  for (auto& slot : slots) {
    if (!slot.spec) continue;
    const InterfaceSpec& s = *slot.spec;
    view.matched.push_back(&s);
    if (slot.link.name != s.name) renames.push_back({slot.link.name, s.name, slot.link.mac});
    if (s.mtu && s.mtu != slot.link.mtu) mtus.push_back(LinkSetMtu{s.name, slot.link.mtu, s.mtu});
    if (s.spoof_hardware_addr && *s.spoof_hardware_addr != slot.link.mac)
      macs.push_back(LinkSetMac{s.name, slot.link.mac, *s.spoof_hardware_addr});
    want_up.insert(s.name);
  }
  for (const auto& b : cfg.bridges) {
    bool bridge_exists = final_names().contains(b.name);
    if (!bridge_exists) continue;
    want_up.insert(b.name);
    for (const auto& m : b.members) {
      Slot* member = by_mac(slots, m);
      if (!member) continue;
      std::string name = final_of(*member);
      if (member->link.master != b.name) masters.push_back(LinkSetMaster{name, b.name});
      want_up.insert(name);
    }
  }
  for (const auto& slot : slots)
    if (want_up.contains(final_of(slot)) && !slot.link.up) ups.push_back(LinkSetUp{final_of(slot)});

  // Creates, then renames (later ops use the new names), then attributes,
  // then enslave, and up last so a link comes up fully configured.
  ops.insert(ops.end(), creates.begin(), creates.end());
  order_renames(renames, slots, ops);
  for (auto* group : {&mtus, &macs, &masters, &ups})
    ops.insert(ops.end(), group->begin(), group->end());

  view.names.clear();
  for (const auto& slot : slots) {
    view.names.insert(final_of(slot));
    if (!slot.created && slot.link.name != final_of(slot))
      view.final_name[slot.link.name] = final_of(slot);
  }
  return view;
}

}  // namespace netkeep
