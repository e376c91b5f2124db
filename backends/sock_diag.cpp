#include "backends/sock_diag.hpp"

#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <system_error>

namespace netkeep::sock_diag {

nl::Message encode_dump(uint8_t family, uint8_t proto) {
  nl::Message m(SOCK_DIAG_BY_FAMILY, 0);
  auto* r = m.put_header<inet_diag_req_v2>();
  r->sdiag_family = family;
  r->sdiag_protocol = proto;
  // TCP: listening sockets; UDP: every socket (a bound one is "closed").
  r->idiag_states = proto == IPPROTO_TCP ? 1u << TCP_LISTEN : 1u << TCP_CLOSE;
  return m;
}

std::optional<Listener> decode(const nlmsghdr* nlh, uint8_t proto) {
  if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
      nlh->nlmsg_len < mnl_nlmsg_size(sizeof(inet_diag_msg)))
    return std::nullopt;
  const auto* d = static_cast<const inet_diag_msg*>(mnl_nlmsg_get_payload(nlh));
  if (d->idiag_family != AF_INET && d->idiag_family != AF_INET6) return std::nullopt;
  auto addr = IpAddr::from_bytes(d->id.idiag_src, d->idiag_family == AF_INET ? 4 : 16);
  if (!addr) return std::nullopt;
  return Listener{proto, *addr, ntohs(d->id.idiag_sport), d->idiag_inode, {}};
}

namespace {

// Which program holds each socket: /proc/PID/fd/N links to "socket:[INODE]".
// Processes come and go while this reads: every step takes an error code
// (a process gone, or fds not ours to read, is skipped), none throws.
std::map<uint64_t, std::string> programs_by_inode() {
  namespace fs = std::filesystem;
  std::map<uint64_t, std::string> out;
  std::error_code ec;
  for (fs::directory_iterator pid("/proc", ec), end; !ec && pid != end; pid.increment(ec)) {
    const std::string name = pid->path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string comm;
    std::error_code fd_ec;
    for (fs::directory_iterator fd(pid->path() / "fd", fd_ec); !fd_ec && fd != end;
         fd.increment(fd_ec)) {
      std::error_code link_ec;
      const std::string target = fs::read_symlink(fd->path(), link_ec);
      if (link_ec || !target.starts_with("socket:[")) continue;
      if (comm.empty()) {
        std::getline(std::ifstream(pid->path() / "comm"), comm);
        if (comm.empty()) comm = "?";
      }
      out.emplace(std::strtoull(target.c_str() + 8, nullptr, 10), comm);
    }
  }
  return out;
}

}  // namespace

KernelResult<std::vector<Listener>> listeners() {
  auto s = nl::Socket::open(NETLINK_SOCK_DIAG);
  if (!s) return unexpected(s.error());
  std::vector<Listener> out;
  for (uint8_t family : {AF_INET, AF_INET6})
    for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP}) {
      nl::Message m = encode_dump(family, proto);
      if (auto err = (*s)->dump(m.hdr(), [&](const nlmsghdr* nlh) {
            if (auto l = decode(nlh, proto)) out.push_back(std::move(*l));
          })) {
        err->what = "reading the listening sockets";
        return unexpected(*err);
      }
    }
  if (out.empty()) return out;
  const auto programs = programs_by_inode();
  for (auto& l : out)
    if (auto it = programs.find(l.inode); it != programs.end()) l.program = it->second;
  return out;
}

}  // namespace netkeep::sock_diag
