#include "model/actual.hpp"

#include <algorithm>

namespace netkeep {

const Link* Actual::link(std::string_view name) const {
  for (const auto& l : links)
    if (l.name == name) return &l;
  return nullptr;
}

Origin Address::origin() const {
  return addr_origin(proto, local.addr.is_v4(), dev);
}

Origin Route::origin() const {
  return route_origin(proto);
}

void Actual::normalize() {
  std::sort(links.begin(), links.end());
  std::sort(addrs.begin(), addrs.end());
  std::sort(routes.begin(), routes.end());
}

}  // namespace netkeep
