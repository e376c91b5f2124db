// Undoing a change: which objects a plan touches (named as they were
// before it ran), and the plan that puts exactly those objects back as a
// snapshot taken before the change had them. Pure, like plan(): `apply
// --confirm` keeps both in its journal and plans the rollback when it is
// due, from what the kernel holds then.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "model/actual.hpp"
#include "model/result.hpp"
#include "reconciler/op.hpp"

namespace netkeep {

struct Touched {
  struct Link {
    std::string before, after;  // names before and after the change
    bool operator==(const Link&) const = default;
  };
  struct File {
    std::string path;
    std::string written;  // what the change writes there
    std::string symlink;  // the symlink it replaces, if it was one: its target
    bool operator==(const File&) const = default;
  };
  std::vector<Link> links;                 // links that existed before the change
  std::vector<std::string> created_links;  // links the change creates
  std::vector<Address> addrs;              // dev (name before) and local: the key
  std::vector<Route> routes;               // dst and priority: the key
  std::vector<std::string> sysctls;        // slash form
  std::vector<File> files;
  bool nft = false;  // the owned nftables objects, as one
  bool operator==(const Touched&) const = default;
  bool empty() const;
  void merge(const Touched& more);  // adds what `more` touches
};

// What `ops` would touch, run against `before`. `symlink_of(path)` reads a
// symlink's target (the snapshot keeps only that it is one).
Touched touched_by(const std::vector<Op>& ops, const Actual& before,
                   const std::function<std::string(const std::string&)>& symlink_of);

// The ops that make every object in `t` in `now` as it is in `before`, and
// change nothing else: empty when they already are. Ops whose object is
// gone (a link someone deleted since) are left out. WireGuard devices and
// FEC are not restored.
Plan restore(const Actual& before, const Touched& t, const Actual& now);

std::string to_json(const Touched& t);
Result<Touched, std::string> touched_from_json(std::string_view text);

}  // namespace netkeep
