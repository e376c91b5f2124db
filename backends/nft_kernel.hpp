// The nftables backend: a consistent snapshot of the owned objects and one
// batch per reconcile, over a NETLINK_NETFILTER socket.
#pragma once

#include <memory>

#include "backends/netlink.hpp"
#include "model/nft.hpp"
#include "reconciler/kernel.hpp"

namespace netkeep {

// The objects netkeep owns (SPEC §3).
bool nft_owned_chain(NftFamily family, std::string_view table, std::string_view name);
bool nft_owned_counter(NftFamily family, std::string_view table, std::string_view name);

class NftKernel {
 public:
  static std::unique_ptr<NftKernel> open(std::string& error);

  // The owned chains (with their rules) and counters, and every ip/ip6
  // table. The ruleset generation is read before and after; if it moved,
  // the snapshot is taken again.
  std::optional<WriteError> snapshot(NftState& out);
  // One transaction: batch begin, one message per op, batch end, one send.
  // With `commit` false the batch has no end: the kernel validates every
  // message and aborts (a dry run the kernel itself checks).
  std::vector<NftError> send(const std::vector<const Op*>& ops, bool commit = true);
  // The owned counters with their current values (a read: nothing is reset).
  std::optional<WriteError> read_counters(std::vector<NftCounter>& out);

  uint64_t messages_sent() const { return sent_; }
  uint64_t reads() const { return sock_->requests_sent() - batches_; }
  uint64_t requests() const { return sock_->requests_sent(); }

 private:
  explicit NftKernel(std::unique_ptr<nl::Socket> s) : sock_(std::move(s)) {}
  std::optional<WriteError> snapshot_once(NftState& out);
  std::optional<WriteError> generation(uint32_t& gen);

  std::unique_ptr<nl::Socket> sock_;
  uint32_t seq_ = 0x4e4b0000;  // batch sequence numbers, apart from dump requests'
  uint64_t sent_ = 0;
  uint64_t batches_ = 0;
};

}  // namespace netkeep
