#include "backends/nft_set_codec.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <cstring>

#include "backends/nft_message.hpp"
#include "reconciler/nft_desired.hpp"

namespace netkeep::nft {

namespace {

// The forwarding maps' types, as nft 1.0 declares `type inet_service :
// ipv4_addr . inet_service; counter` (data of one port: address, port,
// each in a 32-bit register) or `type inet_service : interval ipv4_addr .
// inet_service; counter` (data a range: both ends), with `flags interval`
// for the ranges maps; the count sets' `type inet_service; counter`, the
// same (reconciler/nft_desired.hpp).
constexpr uint32_t kInetService = 13, kIpv4Addr = 7;  // nft's datatype numbers
constexpr uint32_t kMapKeyLen = 2, kPortDataLen = 8, kRangeDataLen = 16;

uint32_t data_len(const std::string& map) {
  return port_data(map) ? kPortDataLen : kRangeDataLen;
}

// A hash set created in a burst is declared with room for every port,
// which has the kernel make it a fixed-size hash table (nft_hash) from the
// start. Undeclared, it is a resizable one (rhashtable) of a few buckets,
// which a cold apply of 10,000 elements makes grow a dozen times, every
// insert meanwhile taking the slow path: a sixth of the kernel's work in a
// cold apply at 10,000 forwardings. The fixed table costs 1 MiB of kernel
// memory (131,072 buckets), and zeroing it a small apply's time, so a set
// made with fewer elements stays resizable; it grows with its +1s, one at
// a time, which is cheap. Either is netkeep's type.
constexpr uint32_t kHashSize = 65535;

uint32_t set_flags(NftMapKind kind, const std::string& name) {
  return (kind == NftMapKind::dnat ? NFT_SET_MAP : 0) | (ranges_set(name) ? NFT_SET_INTERVAL : 0);
}
// nft's own description of that type (key and data byte order, the data's
// parts, and that the data is an interval), so `nft list` prints the map
// as it was declared. The kernel keeps it and never reads it.
constexpr unsigned char kCountUserdata[] = {0x00, 0x04, 0x02, 0x00, 0x00, 0x00};  // key order only
// The last attribute says whether the data is an interval.
constexpr unsigned char kRangeMapUserdata[] = {
    0x00, 0x04, 0x02, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x04, 0x08,
    0x00, 0x04, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x04, 0x01, 0x00, 0x00, 0x00};
constexpr unsigned char kPortMapUserdata[] = {
    0x00, 0x04, 0x02, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x04, 0x08,
    0x00, 0x04, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00};

// An interval's start element (with its data, when adding) and, in an
// interval set, its end element. A hash set's element is its one port.
// `counts`: an added element with counts (one moved from another map) is
// given them; otherwise the set's counter starts at zero.
// `data_len`: the map's (kPortDataLen: `e.to_first` alone); 0: no data.
void put_interval(nftnl_set* s, const NftMapElem& e, uint32_t data_len, bool interval,
                  bool counts) {
  const uint16_t key = htons(e.first);
  nftnl_set_elem* start = nftnl_set_elem_alloc();
  nftnl_set_elem_set(start, NFTNL_SET_ELEM_KEY, &key, sizeof key);
  if (data_len) {
    char data[kRangeDataLen] = {};
    const uint16_t lo = htons(e.to_first), hi = htons(e.to_last);
    std::memcpy(data, e.addr.data(), 4);
    std::memcpy(data + 4, &lo, 2);
    if (data_len == kRangeDataLen) {
      std::memcpy(data + 8, e.addr.data(), 4);
      std::memcpy(data + 12, &hi, 2);
    }
    nftnl_set_elem_set(start, NFTNL_SET_ELEM_DATA, data, data_len);
  }
  if (counts && (e.packets || e.bytes)) {
    nftnl_expr* c = nftnl_expr_alloc("counter");
    nftnl_expr_set_u64(c, NFTNL_EXPR_CTR_PACKETS, e.packets);
    nftnl_expr_set_u64(c, NFTNL_EXPR_CTR_BYTES, e.bytes);
    nftnl_set_elem_add_expr(start, c);
  }
  nftnl_set_elem_add(s, start);
  if (!interval || e.last == 0xffff) return;  // open to the end: no end element
  const uint16_t after = htons(static_cast<uint16_t>(e.last + 1));
  nftnl_set_elem* end = nftnl_set_elem_alloc();
  nftnl_set_elem_set(end, NFTNL_SET_ELEM_KEY, &after, sizeof after);
  nftnl_set_elem_set_u32(end, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
  nftnl_set_elem_add(s, end);
}

// One message adding (with their data, to a map) or deleting elements.
void encode_elems(uint16_t type, NftFamily family, const std::string& table, const std::string& map,
                  const std::vector<const NftMapElem*>& elems, bool with_data, uint32_t seq,
                  Batch& buf) {
  SetPtr s = set_of(family, table, map);
  const bool interval = ranges_set(map), add = type == NFT_MSG_NEWSETELEM;
  const uint32_t len = with_data ? data_len(map) : 0;
  for (const NftMapElem* e : elems) put_interval(s.get(), *e, len, interval, add);
  // NLM_F_EXCL: an element already there is an error, never overwritten.
  const uint16_t flags = add ? NLM_F_CREATE | NLM_F_EXCL : 0;
  // An element is two nested elements: the start under 128 bytes with its
  // data and counts, the end under 64.
  const size_t room = kMaxMessage + elems.size() * kElemRoom;
  nlmsghdr* nlh = header(buf.reserve(room), type, family, flags, seq);
  nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
  buf.commit(room);
}

void encode_elem(uint16_t type, NftFamily family, const std::string& table, const std::string& map,
                 const NftMapElem& e, uint32_t seq, Batch& buf) {
  encode_elems(type, family, table, map, {&e}, type == NFT_MSG_NEWSETELEM, seq, buf);
}

// A forwarding's element of its map and, with `count`, of its count set.
size_t encode_forward(uint16_t type, NftFamily family, const std::string& table,
                      const std::string& map, const std::string& count, const NftMapElem& e,
                      uint32_t seq, Batch& buf) {
  encode_elem(type, family, table, map, e, seq, buf);
  if (count.empty()) return 1;
  encode_elems(type, family, kCountTable, count, {&e}, false, seq, buf);
  return 2;
}

}  // namespace

size_t encode_set_op(const Op& op, uint32_t seq, Batch& buf) {
  if (auto* o = std::get_if<NftForwardAdd>(&op)) return encode_forward_adds({o}, seq, buf);
  if (auto* o = std::get_if<NftForwardDel>(&op))
    return encode_forward(NFT_MSG_DELSETELEM, o->family, o->table, o->map, o->count, o->elem, seq,
                          buf);
  if (auto* o = std::get_if<NftForwardChange>(&op)) {
    // Two messages under one sequence number: an error in either names the op.
    encode_elem(NFT_MSG_DELSETELEM, o->family, o->table, o->map, o->from, seq, buf);
    encode_elem(NFT_MSG_NEWSETELEM, o->family, o->table, o->map, o->to, seq, buf);
    return 2;
  }
  if (auto* o = std::get_if<NftElemAdd>(&op)) {
    encode_elems(NFT_MSG_NEWSETELEM, o->family, o->table, o->set, {&o->elem}, false, seq, buf);
    return 1;
  }
  if (auto* o = std::get_if<NftElemDel>(&op)) {
    encode_elems(NFT_MSG_DELSETELEM, o->family, o->table, o->set, {&o->elem}, false, seq, buf);
    return 1;
  }
  if (auto* o = std::get_if<NftMapAdd>(&op)) {
    encode_map_add(*o, 0, seq, buf);
    return 1;
  }
  if (auto* o = std::get_if<NftMapDel>(&op)) {
    SetPtr set = set_of(o->family, o->table, o->name);
    nlmsghdr* nlh = header(buf.reserve(), NFT_MSG_DELSET, o->family, 0, seq);
    nftnl_set_nlmsg_build_payload(nlh, set.get());
    buf.commit();
    return 1;
  }
  return 0;
}

void encode_map_add(const NftMapAdd& o, size_t elems, uint32_t seq, Batch& buf) {
  SetPtr s = set_of(o.family, o.table, o.name);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, kInetService);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, kMapKeyLen);
  if (o.kind == NftMapKind::dnat) {
    nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_TYPE, kIpv4Addr << 6 | kInetService);
    nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_LEN, data_len(o.name));
    if (port_data(o.name))
      nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, kPortMapUserdata, sizeof kPortMapUserdata);
    else
      nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, kRangeMapUserdata, sizeof kRangeMapUserdata);
  } else {
    nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, kCountUserdata, sizeof kCountUserdata);
  }
  nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, set_flags(o.kind, o.name));
  if (!ranges_set(o.name) && elems >= kFixedHashFrom)
    nftnl_set_set_u32(s.get(), NFTNL_SET_DESC_SIZE, kHashSize);
  nftnl_set_add_expr(s.get(), nftnl_expr_alloc("counter"));  // each element gets one
  nftnl_set_set_u32(s.get(), NFTNL_SET_ID, seq);             // required, unique within the batch
  nlmsghdr* nlh = header(buf.reserve(), NFT_MSG_NEWSET, o.family, NLM_F_CREATE, seq);
  nftnl_set_nlmsg_build_payload(nlh, s.get());
  buf.commit();
}

size_t encode_forward_adds(const std::vector<const NftForwardAdd*>& adds, uint32_t seq, Batch& buf,
                           uint32_t count_seq) {
  std::vector<const NftMapElem*> elems, counted;
  std::vector<NftMapElem> keys;  // the count set's elements: ports and counts
  keys.reserve(adds.size());     // never moves: `counted` points into it
  const std::string* count = nullptr;
  elems.reserve(adds.size());
  for (const NftForwardAdd* a : adds) {
    elems.push_back(&a->elem);
    if (a->count.empty()) continue;
    keys.push_back(
        NftMapElem{a->elem.first, a->elem.last, {}, 0, 0, a->count_packets, a->count_bytes});
    counted.push_back(&keys.back());
    count = &a->count;
  }
  const NftForwardAdd& first = *adds.front();
  encode_elems(NFT_MSG_NEWSETELEM, first.family, first.table, first.map, elems, true, seq, buf);
  if (counted.empty()) return 1;
  // The count set is the map's: every op of a group has the same one.
  encode_elems(NFT_MSG_NEWSETELEM, first.family, kCountTable, *count, counted, false,
               count_seq ? count_seq : seq, buf);
  return 2;
}

std::optional<size_t> elem_at(const nlmsghdr* nlh, uint32_t offset) {
  const auto* base = reinterpret_cast<const char*>(nlh);
  for (const nlattr* list : nl::Attrs::of(nlh, sizeof(nfgenmsg))) {
    if (mnl_attr_get_type(list) != NFTA_SET_ELEM_LIST_ELEMENTS) continue;
    size_t starts = 0;
    for (const nlattr* elem : nl::Attrs::nested(list)) {
      bool end = false;
      for (const nlattr* field : nl::Attrs::nested(elem))
        if (mnl_attr_get_type(field) == NFTA_SET_ELEM_FLAGS && mnl_attr_get_payload_len(field) == 4)
          end = ntohl(mnl_attr_get_u32(field)) & NFT_SET_ELEM_INTERVAL_END;
      if (!end) starts++;
      if (reinterpret_cast<const char*>(elem) - base == static_cast<ptrdiff_t>(offset))
        return starts ? std::optional<size_t>(starts - 1) : std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<SetMsg> decode_set(const nlmsghdr* nlh) {
  SetPtr s = set_msg(nlh);
  if (!s) return std::nullopt;
  SetMsg m;
  m.family = static_cast<NftFamily>(nftnl_set_get_u32(s.get(), NFTNL_SET_FAMILY));
  m.table = nftnl_set_get_str(s.get(), NFTNL_SET_TABLE);
  m.name = nftnl_set_get_str(s.get(), NFTNL_SET_NAME);
  const bool counter = set_counts(s.get());
  m.kind = count_set_proto(m.name) ? NftMapKind::count : NftMapKind::dnat;
  const bool count = m.kind == NftMapKind::count;
  const uint32_t len = nftnl_set_is_set(s.get(), NFTNL_SET_DATA_LEN)
                           ? nftnl_set_get_u32(s.get(), NFTNL_SET_DATA_LEN)
                           : 0;
  const uint32_t flags = nftnl_set_get_u32(s.get(), NFTNL_SET_FLAGS);
  m.interval = flags & NFT_SET_INTERVAL;
  const uint32_t size = nftnl_set_is_set(s.get(), NFTNL_SET_DESC_SIZE)
                            ? nftnl_set_get_u32(s.get(), NFTNL_SET_DESC_SIZE)
                            : 0;
  m.typed = counter && flags == set_flags(m.kind, m.name) &&
            (size == 0 || (size == kHashSize && !ranges_set(m.name))) &&
            nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_LEN) == kMapKeyLen &&
            len == (count ? 0 : data_len(m.name));
  return m;
}

bool decode_elems(const nlmsghdr* nlh, NftFamily family, std::string_view table,
                  std::string_view set, std::vector<RawElem>& out) {
  SetPtr s = elems_of(nlh, family, table, set);
  if (!s) return false;
  nftnl_set_elem_foreach(
      s.get(),
      [](nftnl_set_elem* e, void* data) {
        RawElem r;
        uint32_t len = 0;
        const void* key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
        if (!key || len != 2) return 0;  // not a port: not netkeep's element
        uint16_t k;
        std::memcpy(&k, key, 2);
        r.key = ntohs(k);
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
          r.end = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END;
        if (const void* d = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len))
          r.data.assign(static_cast<const char*>(d), len);
        elem_counts(e, r.packets, r.bytes);
        static_cast<std::vector<RawElem>*>(data)->push_back(std::move(r));
        return 0;
      },
      &out);
  return true;
}

std::vector<NftMapElem> intervals_of(std::vector<RawElem> raw, bool interval) {
  // At one key, the end of the interval before comes first.
  std::sort(raw.begin(), raw.end(), [](const RawElem& a, const RawElem& b) {
    return a.key != b.key ? a.key < b.key : a.end > b.end;
  });
  std::vector<NftMapElem> out;
  bool open = false;
  for (const RawElem& r : raw) {
    if (r.end) {
      if (open && r.key > out.back().first) out.back().last = static_cast<uint16_t>(r.key - 1);
      open = false;
      continue;
    }
    if (open) out.back().last = static_cast<uint16_t>(r.key - 1);  // no end between: adjacent
    NftMapElem e;
    e.first = r.key;
    e.last = interval ? 0xffff : r.key;
    if (r.data.size() == kRangeDataLen || r.data.size() == kPortDataLen) {
      uint16_t lo, hi;
      std::memcpy(e.addr.data(), r.data.data(), 4);
      std::memcpy(&lo, r.data.data() + 4, 2);
      std::memcpy(&hi, r.data.data() + (r.data.size() == kRangeDataLen ? 12 : 4), 2);
      e.to_first = ntohs(lo);
      e.to_last = ntohs(hi);
    }
    e.packets = r.packets;
    e.bytes = r.bytes;
    out.push_back(e);
    open = interval;
  }
  return out;
}

nl::Message dump_sets() {
  return nft_request(NFT_MSG_GETSET, static_cast<NftFamily>(0));
}

nl::Message dump_elems(NftFamily family, const std::string& table, const std::string& set) {
  nl::Message m = nft_request(NFT_MSG_GETSETELEM, family);
  SetPtr s = set_of(family, table, set);
  nftnl_set_elems_nlmsg_build_payload(m.hdr(), s.get());
  return m;
}

}  // namespace netkeep::nft
