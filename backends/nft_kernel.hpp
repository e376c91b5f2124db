// The nftables backend: a consistent snapshot of the owned objects and one
// batch per reconcile, over a NETLINK_NETFILTER socket.
#pragma once

#include <memory>

#include "backends/netlink.hpp"
#include "backends/netlink_watch.hpp"
#include "backends/nft_view.hpp"
#include "model/nft.hpp"
#include "reconciler/doctor.hpp"
#include "reconciler/kernel.hpp"

namespace netkeep {

class NftKernel {
 public:
  static KernelResult<std::unique_ptr<NftKernel>> open();

  // The owned chains (with their rules), counters and maps, and which of
  // the tables they live in exist, copied into `out` (20,000 map elements
  // at 10,000 forwardings: a memcpy's worth). When the ruleset generation
  // equals the view's, that is the view (one request). Otherwise
  // everything is dumped, with the generation read before and after, and
  // becomes the view. If it moved meanwhile: EAGAIN. When the events are
  // followed (follow_events), that error carries the race (NftRace), and
  // a view that the generation has passed is not dumped either: the
  // caller reads the events and, if they show that no commit in the race
  // touched an owned object, accept_race() makes what was read the view;
  // the next snapshot then needs no dump.
  std::optional<KernelError> snapshot(NftState& out);
  void accept_race();
  // One transaction: batch begin, one message per op, batch end, one send.
  // With `commit` false the batch has no end: the kernel validates every
  // message and aborts (a dry run the kernel itself checks).
  //
  // A committed transaction of up to kViewOps ops keeps the view current:
  // new rules are sent with NLM_F_ECHO, so the kernel answers with their
  // handles, and when the generation afterwards is exactly one more than
  // the view's, no other program committed in between and the view is the
  // old one with these ops applied. Anything else drops the view. (100
  // echoes of under 1 KiB fit the default socket receive buffer, 208 KiB,
  // where SO_RCVBUFFORCE is not permitted, e.g. in a user namespace.)
  std::vector<NftError> send(const std::vector<const Op*>& ops, bool commit = true);
  static constexpr size_t kViewOps = 100;
  // The daemon follows the nftables event group on `events`: races are
  // reported for it to judge, and before a commit the socket gets room for
  // the events the commit announces (a cold start of 10,000 forwardings
  // adds 40,000 set elements, announced one by one). nullptr: nobody does.
  void follow_events(Watch* events) { events_ = events; }

  const std::optional<NftView>& view() const { return view_; }
  // A view read from a file (`from_file`) is believed only once its stamp
  // matches the kernel's (nft_stamp.hpp); one the daemon kept in memory is.
  void set_view(std::optional<NftView> v, bool from_file = false) {
    view_ = std::move(v);
    raced_.reset();
    verify_stamp_ = from_file && view_;
  }
  // Another program committed generation `gen`, which the caller knows
  // touched nothing netkeep owns (from the event stream): the view holds
  // for it too, if it was current just before (and so does a raced read
  // waiting for accept_race).
  void view_passed(uint32_t gen);
  uint64_t full_dumps() const { return full_dumps_; }
  int fd() const { return sock_->fd(); }
  uint32_t portid() const { return sock_->portid(); }
  // The owned counters with their current values (a read: nothing is reset).
  KernelResult<std::vector<NftCounter>> read_counters();
  // The forwarding maps and count sets with their elements' counters (a
  // read, as above).
  KernelResult<std::vector<NftMap>> read_forwarding_counters();
  // LAN protection's pinhole sets (ip and ip6 netkeep), with their
  // elements' counters; none while protection is off.
  KernelResult<std::vector<NftKeySet>> read_pinhole_counters();
  // The ip and inet chains netkeep does not own, with their rules, for
  // `netkeep doctor`. Read as two dumps; not retried if another program
  // changes the ruleset meanwhile (a diagnosis, not a plan).
  KernelResult<std::vector<ForeignChain>> read_foreign_chains();

  uint64_t messages_sent() const { return sent_; }
  uint64_t reads() const { return sock_->requests_sent() - batches_; }
  uint64_t requests() const { return sock_->requests_sent(); }

 private:
  explicit NftKernel(std::unique_ptr<nl::Socket> s) : sock_(std::move(s)) {}
  std::optional<KernelError> snapshot_once(NftState& out);
  // Keeps `read` for accept_race and says so.
  KernelError raced(NftView read, uint32_t before, uint32_t after);
  KernelResult<uint32_t> generation();
  // Its elements, as intervals; `interval`: the set has flags interval.
  std::optional<KernelError> read_elems(NftMap& map, bool interval);
  KernelResult<std::string> read_stamp();  // "" when there is none
  // After a committed batch: the view with `ops` applied, or none.
  // After a committed batch: the view follows it (`track`: updated by the
  // ops and the handles their echoes gave), or goes; a refused batch
  // planned from the view is marked stale in `errors`.
  void after_commit(const std::vector<const Op*>& ops, const std::vector<uint64_t>& handles,
                    const std::string& stamp, bool track, std::vector<NftError>& errors);
  void update_view(const std::vector<const Op*>& ops, const std::vector<uint64_t>& handles,
                   const std::string& stamp);

  std::unique_ptr<nl::Socket> sock_;
  uint32_t seq_ = 0x4e4b0000;  // batch sequence numbers, apart from dump requests'
  uint64_t sent_ = 0;
  uint64_t batches_ = 0;
  uint64_t full_dumps_ = 0;
  std::optional<NftView> view_;
  std::optional<NftView> raced_;  // read in a race, until accept_race()
  bool verify_stamp_ = false;  // the view came from a file: check its stamp first
  std::string dumped_stamp_;   // the stamp the last full dump found
  Watch* events_ = nullptr;
  std::optional<uint32_t> planned_gen_;  // the generation the last snapshot was of
  bool from_view_ = false;               // the last snapshot's ruleset came from the view
};

}  // namespace netkeep
