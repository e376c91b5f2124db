// One netlink socket over libmnl: requests with ACKs, multi-part dumps,
// extended-ACK error text. Every message netkeep sends goes through here,
// and here it is counted.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reconciler/kernel.hpp"

namespace netkeep::nl {

// A message being built in an owned buffer.
class Message {
 public:
  explicit Message(uint16_t type, uint16_t flags, size_t size = 4096);
  nlmsghdr* hdr() { return hdr_; }
  template <class T>
  T* put_header() {
    return static_cast<T*>(mnl_nlmsg_put_extra_header(hdr_, sizeof(T)));
  }

 private:
  std::vector<char> buf_;
  nlmsghdr* hdr_;
};

// Attributes in a byte range, for range-for (libmnl's iteration macros are
// not const-correct C++).
class Attrs {
 public:
  Attrs(const void* data, size_t len) : data_(data), len_(static_cast<int>(len)) {}
  static Attrs of(const nlmsghdr* nlh, size_t header);  // after a family header
  static Attrs nested(const nlattr* a);

  struct iterator {
    const nlattr* a;
    int remaining;
    const nlattr* operator*() const { return a; }
    iterator& operator++() {
      remaining -= static_cast<int>(MNL_ALIGN(a->nla_len));
      a = mnl_attr_next(a);
      return *this;
    }
    bool operator!=(const iterator&) const { return mnl_attr_ok(a, remaining); }
  };
  iterator begin() const { return {static_cast<const nlattr*>(data_), len_}; }
  iterator end() const { return {nullptr, 0}; }

 private:
  const void* data_;
  int len_;
};

// A kernel error decoded from NLMSG_ERROR (or NLMSG_DONE) with its extended ACK.
KernelError decode_error(const nlmsghdr* nlh);

class Socket {
 public:
  // Opens and binds a socket of `bus` (NETLINK_ROUTE, NETLINK_NETFILTER, ...)
  // with extended ACKs enabled.
  static KernelResult<std::unique_ptr<Socket>> open(int bus);
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // Sends one request (NLM_F_ACK is added) and waits for its ACK.
  std::optional<KernelError> request(nlmsghdr* nlh);
  // Sends a get request expecting one reply message, then its ACK.
  std::optional<KernelError> get(nlmsghdr* nlh, const std::function<void(const nlmsghdr*)>& each);
  // Sends a dump request (NLM_F_DUMP is added) and calls `each` for every
  // message until NLMSG_DONE. If the kernel flags the dump as interrupted
  // (NLM_F_DUMP_INTR: the set changed while dumping), the result is EAGAIN.
  std::optional<KernelError> dump(nlmsghdr* nlh, const std::function<void(const nlmsghdr*)>& each);

  // Sends a batch of messages in ONE sendmsg and collects the kernel's
  // errors. nfnetlink processes a batch before sendmsg returns, and without
  // NLM_F_ACK it answers only failures, each carrying its message's sequence
  // number, so no success ACK per message is needed. Socket buffers are
  // sized for the batch (SO_SNDBUFFORCE where permitted). Other answers
  // addressed to this socket (echoes of messages sent with NLM_F_ECHO) go
  // to `on_other`.
  std::optional<KernelError> send_batch(
      const std::vector<iovec>& pages,
      const std::function<void(uint32_t, const KernelError&)>& on_error,
      const std::function<void(const nlmsghdr*)>& on_other = {});

  // Subscribes to a multicast group (RTNLGRP_*, NFNLGRP_*): the kernel's
  // events then arrive on fd(), to be read without blocking.
  std::optional<KernelError> join(unsigned group);

  uint64_t requests_sent() const { return requests_; }
  int fd() const;
  // The socket's netlink port id. The kernel stamps it on the events its
  // requests cause (nlmsg_pid), so a listener can tell them apart.
  uint32_t portid() const;

 private:
  explicit Socket(mnl_socket* s) : sock_(s) {}
  std::optional<KernelError> send(nlmsghdr* nlh);
  std::optional<KernelError> receive(uint32_t seq,
                                     const std::function<void(const nlmsghdr*)>* each);

  std::optional<KernelError> size_buffers(size_t batch_len);

  mnl_socket* sock_;
  uint32_t seq_ = 0;
  size_t sndbuf_ = 0;
  uint64_t requests_ = 0;
  std::vector<char> rx_ = std::vector<char>(64 * 1024);
};

}  // namespace netkeep::nl
