#include "backends/nft_view.hpp"

#include "backends/resolv_conf.hpp"
#include "model/file_read.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace netkeep {

namespace {

constexpr std::string_view kMagic = "netkeep nft view 5\n";  // 5: one-port map data

// A plain length-prefixed encoding in host byte order: the file never
// leaves the machine that wrote it.
struct Writer {
  std::string out;
  template <class T>
  void num(T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void str(std::string_view s) {
    num(static_cast<uint32_t>(s.size()));
    out.append(s);
  }
  template <class T>
  void key(const T& o) {
    num(static_cast<uint8_t>(o.family));
    str(o.table);
    str(o.name);
  }
};

struct Reader {
  std::string_view in;
  bool ok = true;
  template <class T>
  T num() {
    T v{};
    if (in.size() < sizeof v) {
      ok = false;
      return v;
    }
    std::memcpy(&v, in.data(), sizeof v);
    in.remove_prefix(sizeof v);
    return v;
  }
  std::string_view bytes() {
    auto n = num<uint32_t>();
    if (!ok || in.size() < n) {
      ok = false;
      return {};
    }
    std::string_view s = in.substr(0, n);
    in.remove_prefix(n);
    return s;
  }
  std::string str() { return std::string(bytes()); }
  // A chain's or counter's identity: family, table, name.
  template <class T>
  void key(T& o) {
    o.family = static_cast<NftFamily>(num<uint8_t>());
    o.table = str();
    o.name = str();
  }
  // A count that cannot exceed what is left, so a corrupt file cannot make
  // the reader reserve gigabytes.
  uint32_t count(size_t min_each) {
    auto n = num<uint32_t>();
    if (ok && static_cast<uint64_t>(n) * min_each > in.size()) ok = false;
    return ok ? n : 0;
  }
};

}  // namespace

std::string nft_view_identity(int netlink_fd) {
  std::ifstream f("/proc/sys/kernel/random/boot_id");
  std::string boot;
  if (!std::getline(f, boot) || boot.empty()) return {};
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (getsockopt(netlink_fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0) return {};
  return fmt::format("boot {} netns {}", boot, cookie);
}

std::optional<NftView> load_nft_view(const std::filesystem::path& file,
                                     const std::string& identity) {
  if (identity.empty()) return std::nullopt;
  // netkeep's own state file: never a symlink, never anything but a regular
  // file (a FIFO would hang the read), and of a bounded size.
  FileText f = read_regular_file(file, {64 << 20, false});
  if (f.result != ReadResult::ok) return std::nullopt;
  return parse_nft_view(f.text, identity);
}

std::optional<NftView> parse_nft_view(std::string_view data, const std::string& identity) {
  Reader r{data};
  if (r.in.substr(0, kMagic.size()) != kMagic) return std::nullopt;
  r.in.remove_prefix(kMagic.size());
  if (r.str() != identity) return std::nullopt;
  NftView v;
  v.gen = r.num<uint32_t>();
  v.stamp = r.str();
  for (uint32_t n = r.count(5); n--;) {
    NftTable t;
    t.family = static_cast<NftFamily>(r.num<uint8_t>());
    t.name = r.str();
    v.state.tables.push_back(std::move(t));
  }
  for (uint32_t n = r.count(14); n--;) {
    NftChain c;
    r.key(c);
    if (r.num<uint8_t>()) {
      BaseChain b;
      b.type = r.str();
      b.hook = r.num<uint32_t>();
      b.priority = r.num<int32_t>();
      b.policy = r.num<uint32_t>();
      c.base = std::move(b);
    }
    uint32_t rules = r.count(12);
    c.rules.reserve(rules);
    while (rules--) {
      NftRule rule;
      rule.handle = r.num<uint64_t>();
      rule.body = RuleBody(r.bytes());
      c.rules.push_back(std::move(rule));
    }
    v.state.chains.push_back(std::move(c));
  }
  for (uint32_t n = r.count(9); n--;) {
    NftCounter c;
    r.key(c);
    v.state.counters.push_back(std::move(c));
  }
  for (uint32_t n = r.count(15); n--;) {
    NftMap m;
    r.key(m);
    m.typed = r.num<uint8_t>() != 0;
    m.kind = static_cast<NftMapKind>(r.num<uint8_t>());
    uint32_t elems = r.count(12);
    m.elems.reserve(elems);
    while (elems--) {
      NftMapElem e;
      e.first = r.num<uint16_t>();
      e.last = r.num<uint16_t>();
      e.addr = r.num<std::array<uint8_t, 4>>();
      e.to_first = r.num<uint16_t>();
      e.to_last = r.num<uint16_t>();
      m.elems.push_back(e);
    }
    v.state.maps.push_back(std::move(m));
  }
  for (uint32_t n = r.count(15); n--;) {
    NftKeySet k;
    r.key(k);
    k.typed = r.num<uint8_t>() != 0;
    uint32_t elems = r.count(8);
    k.elems.reserve(elems);
    while (elems--) {
      NftKeyElem e;
      e.key = NftKey(r.bytes());
      e.verdict = r.num<int32_t>();
      k.elems.push_back(std::move(e));
    }
    v.state.keysets.push_back(std::move(k));
  }
  if (!r.ok || !r.in.empty()) return std::nullopt;
  return v;
}

std::optional<KernelError> save_nft_view(const std::filesystem::path& file,
                                         const std::string& identity, const NftView& view) {
  if (identity.empty()) return std::nullopt;
  Writer w;
  w.out.append(kMagic);
  w.str(identity);
  w.num(view.gen);
  w.str(view.stamp);
  w.num(static_cast<uint32_t>(view.state.tables.size()));
  for (const auto& t : view.state.tables) {
    w.num(static_cast<uint8_t>(t.family));
    w.str(t.name);
  }
  w.num(static_cast<uint32_t>(view.state.chains.size()));
  for (const auto& c : view.state.chains) {
    w.key(c);
    w.num(static_cast<uint8_t>(c.base.has_value()));
    if (c.base) {
      w.str(c.base->type);
      w.num(c.base->hook);
      w.num(c.base->priority);
      w.num(c.base->policy);
    }
    w.num(static_cast<uint32_t>(c.rules.size()));
    for (const auto& r : c.rules) {
      w.num(r.handle);
      w.str(r.body);
    }
  }
  w.num(static_cast<uint32_t>(view.state.counters.size()));
  for (const auto& c : view.state.counters) {
    w.key(c);
  }
  w.num(static_cast<uint32_t>(view.state.maps.size()));
  for (const auto& m : view.state.maps) {
    w.key(m);
    w.num(static_cast<uint8_t>(m.typed));
    w.num(static_cast<uint8_t>(m.kind));
    w.num(static_cast<uint32_t>(m.elems.size()));
    for (const auto& e : m.elems) {
      w.num(e.first);
      w.num(e.last);
      w.num(e.addr);
      w.num(e.to_first);
      w.num(e.to_last);
    }
  }
  w.num(static_cast<uint32_t>(view.state.keysets.size()));
  for (const auto& k : view.state.keysets) {
    w.key(k);
    w.num(static_cast<uint8_t>(k.typed));
    w.num(static_cast<uint32_t>(k.elems.size()));
    for (const auto& e : k.elems) {
      w.str(e.key.view());
      w.num(e.verdict);
    }
  }

  return files::write_own(file, w.out);
}

}  // namespace netkeep
