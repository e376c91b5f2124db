// A batch of nftables messages, built in libnftnl's pages (nftnl_batch)
// and sent as one sendmsg of an iovec per page: what every nftables encoder
// writes into. Internal to backends/.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <vector>

#include <linux/netlink.h>

struct nftnl_batch;

namespace netkeep::nft {

// Room for one message. netkeep's largest single-object message, a
// forwarding rule, is under 1 KiB; a message of map elements holds up to
// kElemsPerMessage elements of under 192 bytes each (nft_set_codec.hpp).
constexpr size_t kMaxMessage = 4096;
constexpr size_t kMaxRoom = kMaxMessage + 256 * 192;

// netkeep builds every message itself, of a size bounded by design: past
// the bound is a bug in netkeep, not an input error, and it stops there
// rather than send a corrupt batch.
[[noreturn]] void message_overflow(const char* what);

class Batch {
 public:
  Batch();
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  // Where the next message, of at most `room` bytes, is to be written.
  char* reserve(size_t room = kMaxMessage);
  // Ends the message written at reserve() and returns it where it now lies:
  // a message that crosses a page's end moves to a new page, whole. Once
  // committed a message stays where it is.
  nlmsghdr* commit(size_t room = kMaxMessage);

  // The message committed last.
  nlmsghdr* last() const { return last_; }
  size_t size() const { return bytes_; }
  size_t messages() const { return messages_; }
  // One iovec per page with messages, in order.
  std::vector<iovec> iovecs() const;
  // The messages in one buffer, as the kernel reads them (tests, fuzzers).
  std::vector<char> bytes() const;

 private:
  nftnl_batch* b_;
  nlmsghdr* last_ = nullptr;
  size_t bytes_ = 0;
  size_t messages_ = 0;
};

}  // namespace netkeep::nft
