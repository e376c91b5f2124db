#include "backends/netlink.hpp"

#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <climits>

namespace netkeep::nl {

Message::Message(uint16_t type, uint16_t flags, size_t size) : buf_(size) {
  hdr_ = mnl_nlmsg_put_header(buf_.data());
  hdr_->nlmsg_type = type;
  hdr_->nlmsg_flags = NLM_F_REQUEST | flags;
}

Attrs Attrs::of(const nlmsghdr* nlh, size_t header) {
  const char* start = static_cast<const char*>(mnl_nlmsg_get_payload_offset(nlh, header));
  const char* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  return Attrs(start, start < end ? static_cast<size_t>(end - start) : 0);
}

Attrs Attrs::nested(const nlattr* a) {
  return Attrs(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
}

KernelError decode_error(const nlmsghdr* nlh) {
  KernelError e;
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(int))) return {EBADMSG, "truncated netlink error"};
  const auto* payload = static_cast<const char*>(mnl_nlmsg_get_payload(nlh));
  int code;
  std::memcpy(&code, payload, sizeof code);
  e.code = -code;
  // An ACK or the end of a dump: no message (strerror looks up the locale's
  // translation; a snapshot reads a few of these, a batch hundreds).
  if (e.code == 0) return e;
  if (nlh->nlmsg_type == NLMSG_ERROR && (nlh->nlmsg_flags & NLM_F_ACK_TLVS) &&
      nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(nlmsgerr))) {
    const auto* err = reinterpret_cast<const nlmsgerr*>(payload);
    // With NETLINK_CAP_ACK the request is not echoed, only its header.
    size_t offset = sizeof(nlmsgerr);
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
    size_t total = mnl_nlmsg_get_payload_len(nlh);
    if (offset < total) {
      for (const nlattr* attr : Attrs(payload + offset, total - offset)) {
        if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
            mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
          e.message = mnl_attr_get_str(attr);
        if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_OFFS &&
            mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
          e.bad_attr = mnl_attr_get_u32(attr);
      }
    }
  }
  if (e.message.empty())
    e.message = std::strerror(e.code);
  else
    e.message = fmt::format("{} ({})", std::strerror(e.code), e.message);
  return e;
}

KernelResult<std::unique_ptr<Socket>> Socket::open(int bus) {
  mnl_socket* s = mnl_socket_open2(bus, SOCK_CLOEXEC);
  if (!s) return unexpected(KernelError{errno, std::strerror(errno), "opening a netlink socket"});
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
    KernelError e{errno, std::strerror(errno), "binding a netlink socket"};
    mnl_socket_close(s);
    return unexpected(std::move(e));
  }
  int on = 1;
  // Extended ACKs name what the kernel disliked; capped ACKs keep an error
  // reply from echoing the whole request back. Both need Linux >= 4.12 and
  // are only an improvement, so a failure is ignored.
  mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &on, sizeof on);
  mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &on, sizeof on);
  return std::unique_ptr<Socket>(new Socket(s));
}

std::optional<KernelError> Socket::join(unsigned group) {
  if (mnl_socket_setsockopt(sock_, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0)
    return KernelError{errno, std::strerror(errno), fmt::format("joining netlink group {}", group)};
  return std::nullopt;
}

Socket::~Socket() {
  mnl_socket_close(sock_);
}

std::optional<KernelError> Socket::send(nlmsghdr* nlh) {
  nlh->nlmsg_seq = ++seq_;
  for (;;) {
    if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) >= 0) break;
    if (errno == EINTR) continue;
    return KernelError{errno, fmt::format("netlink send: {}", std::strerror(errno))};
  }
  requests_++;
  return std::nullopt;
}

std::optional<KernelError> Socket::receive(uint32_t seq,
                                           const std::function<void(const nlmsghdr*)>* each) {
  const uint32_t portid = mnl_socket_get_portid(sock_);
  bool interrupted = false;
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock_, rx_.data(), rx_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      // ENOBUFS: the kernel dropped replies; the caller must start over.
      return KernelError{errno, fmt::format("netlink receive: {}", std::strerror(errno))};
    }
    int len = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(rx_.data()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      // Replies to an earlier request that timed out, or not for us: skip.
      if (nlh->nlmsg_seq != seq || (nlh->nlmsg_pid && nlh->nlmsg_pid != portid)) continue;
      if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
      switch (nlh->nlmsg_type) {
        case NLMSG_NOOP:
        case NLMSG_OVERRUN:
          continue;
        case NLMSG_DONE: {
          KernelError e = decode_error(nlh);
          if (e.code) return e;  // a dump can end in an error
          if (interrupted) return KernelError{EAGAIN, "dump interrupted by a concurrent change"};
          return std::nullopt;
        }
        case NLMSG_ERROR: {
          KernelError e = decode_error(nlh);
          if (e.code) return e;
          if (interrupted) return KernelError{EAGAIN, "dump interrupted by a concurrent change"};
          return std::nullopt;  // the ACK
        }
        default:
          if (each) (*each)(nlh);
      }
    }
  }
}

std::optional<KernelError> Socket::size_buffers(size_t batch_len) {
  // netlink refuses a message larger than the socket's send buffer, and the
  // default (net.core.wmem_default) is far below a batch of thousands of
  // rules. The FORCE variants pass net.core.wmem_max as root.
  const int fd = mnl_socket_get_fd(sock_);
  size_t want = batch_len + 65536;
  if (want <= sndbuf_) return std::nullopt;
  int v = static_cast<int>(std::min<size_t>(want, INT32_MAX / 2));
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) < 0 &&
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v) < 0)
    return KernelError{errno,
                       fmt::format("sizing the netlink send buffer: {}", std::strerror(errno))};
  int rcv = 4 << 20;  // room for an error per message of a large failing batch
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  int got = 0;
  socklen_t len = sizeof got;
  getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &got, &len);
  sndbuf_ = static_cast<size_t>(got);
  return std::nullopt;
}

int Socket::fd() const {
  return mnl_socket_get_fd(sock_);
}

uint32_t Socket::portid() const {
  return mnl_socket_get_portid(sock_);
}

std::optional<KernelError> Socket::send_batch(
    const std::vector<iovec>& pages,
    const std::function<void(uint32_t, const KernelError&)>& on_error,
    const std::function<void(const nlmsghdr*)>& on_other) {
  size_t len = 0;
  for (const iovec& v : pages) len += v.iov_len;
  if (pages.size() > IOV_MAX)
    return KernelError{EMSGSIZE, fmt::format("a {}-byte batch in {} pages is more than one "
                                             "sendmsg takes ({})",
                                             len, pages.size(), IOV_MAX)};
  if (auto e = size_buffers(len)) return e;
  // The kernel reads the pages as one message stream, in order.
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &kernel;
  msg.msg_namelen = sizeof kernel;
  msg.msg_iov = const_cast<iovec*>(pages.data());
  msg.msg_iovlen = pages.size();
  for (;;) {
    if (sendmsg(mnl_socket_get_fd(sock_), &msg, 0) >= 0) break;
    if (errno == EINTR) continue;
    return KernelError{
        errno, fmt::format("netlink send of a {}-byte batch: {}", len, std::strerror(errno))};
  }
  requests_++;
  const int fd = mnl_socket_get_fd(sock_);
  const uint32_t portid = mnl_socket_get_portid(sock_);
  for (;;) {
    ssize_t n = recv(fd, rx_.data(), rx_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;  // every answer read
      // ENOBUFS: answers were dropped; the batch's outcome is unknown.
      return KernelError{errno,
                         fmt::format("reading the kernel's answers: {}", std::strerror(errno))};
    }
    int left = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(rx_.data()); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
      if (nlh->nlmsg_pid && nlh->nlmsg_pid != portid) continue;
      if (nlh->nlmsg_type != NLMSG_ERROR) {
        if (on_other) on_other(nlh);
        continue;
      }
      KernelError e = decode_error(nlh);
      if (e.code) on_error(nlh->nlmsg_seq, e);
    }
  }
}

std::optional<KernelError> Socket::request(nlmsghdr* nlh) {
  nlh->nlmsg_flags |= NLM_F_ACK;
  if (auto e = send(nlh)) return e;
  return receive(nlh->nlmsg_seq, nullptr);
}

std::optional<KernelError> Socket::get(nlmsghdr* nlh,
                                       const std::function<void(const nlmsghdr*)>& each) {
  nlh->nlmsg_flags |= NLM_F_ACK;
  if (auto e = send(nlh)) return e;
  return receive(nlh->nlmsg_seq, &each);
}

std::optional<KernelError> Socket::dump(nlmsghdr* nlh,
                                        const std::function<void(const nlmsghdr*)>& each) {
  nlh->nlmsg_flags |= NLM_F_DUMP;
  if (auto e = send(nlh)) return e;
  return receive(nlh->nlmsg_seq, &each);
}

}  // namespace netkeep::nl
