#include "backends/nft_batch.hpp"

#include <libnftnl/batch.h>

#include <cstdio>
#include <cstdlib>
#include <new>

namespace netkeep::nft {

namespace {

// nft itself uses 32 pages of 4 KiB; a cold apply of 10,000 forwardings is
// a few MiB, so larger pages keep the iovec short (sendmsg takes at most
// UIO_MAXIOV of them).
constexpr uint32_t kPage = 256 * 1024;

}  // namespace

void message_overflow(const char* what) {
  std::fprintf(stderr, "netkeep: internal error: %s larger than its buffer\n", what);
  std::abort();
}

Batch::Batch() : b_(nftnl_batch_alloc(kPage, kMaxRoom)) {
  if (!b_) throw std::bad_alloc();
}

Batch::~Batch() {
  nftnl_batch_free(b_);
}

char* Batch::reserve(size_t room) {
  if (room > kMaxRoom) message_overflow("an nftables message");
  return static_cast<char*>(nftnl_batch_buffer(b_));
}

nlmsghdr* Batch::commit(size_t room) {
  auto* nlh = static_cast<nlmsghdr*>(nftnl_batch_buffer(b_));
  if (nlh->nlmsg_len > room) message_overflow("an nftables message");
  // libmnl keeps a message's length aligned (attributes are padded), and
  // the next message starts right after it.
  const uint32_t len = nlh->nlmsg_len;
  if (len != NLMSG_ALIGN(len)) message_overflow("an unaligned nftables message");
  if (nftnl_batch_update(b_) < 0) throw std::bad_alloc();
  bytes_ += len;
  messages_++;
  last_ = reinterpret_cast<nlmsghdr*>(static_cast<char*>(nftnl_batch_buffer(b_)) - len);
  return last_;
}

std::vector<iovec> Batch::iovecs() const {
  std::vector<iovec> iov(static_cast<size_t>(nftnl_batch_iovec_len(b_)));
  nftnl_batch_iovec(b_, iov.data(), static_cast<uint32_t>(iov.size()));
  return iov;
}

std::vector<char> Batch::bytes() const {
  std::vector<char> out;
  out.reserve(bytes_);
  for (const iovec& v : iovecs()) {
    const char* p = static_cast<const char*>(v.iov_base);
    out.insert(out.end(), p, p + v.iov_len);
  }
  return out;
}

}  // namespace netkeep::nft
