#include "model/actual.hpp"

#include <algorithm>

namespace netkeep {

const Link* Actual::link(std::string_view name) const {
  for (const auto& l : links)
    if (l.name == name) return &l;
  return nullptr;
}

Origin Address::origin() const {
  switch (proto) {
    case kAddrProtoInterfaces:
      return Origin::interfaces;
    case kAddrProtoDhcp4:
      return Origin::dhcp4;
    case kAddrProtoDhcp6:
      return Origin::dhcp6;
  }
  return local.addr.is_v4() && dev == "uplink0" ? Origin::dhcp4 : Origin::foreign;
}

Origin Route::origin() const {
  switch (proto) {
    case kRouteProtoNetkeep:
      return Origin::interfaces;
    case kRouteProtoDhcp:
      return Origin::dhcp4;
  }
  return Origin::foreign;
}

void Actual::normalize() {
  std::sort(links.begin(), links.end());
  std::sort(addrs.begin(), addrs.end());
  std::sort(routes.begin(), routes.end());
}

}  // namespace netkeep
