#include "backends/resolver.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace netkeep {

std::optional<IpAddr> resolve_host(const std::string& host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return std::nullopt;
  std::optional<IpAddr> v4, v6;
  for (addrinfo* a = res; a; a = a->ai_next) {
    if (a->ai_family == AF_INET && !v4)
      v4 = IpAddr::from_bytes(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, 4);
    if (a->ai_family == AF_INET6 && !v6)
      v6 = IpAddr::from_bytes(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, 16);
  }
  freeaddrinfo(res);
  return v4 ? v4 : v6;
}

}  // namespace netkeep
