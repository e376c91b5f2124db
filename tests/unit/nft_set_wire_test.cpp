// The forwarding maps and count sets on the wire: how netkeep declares
// them, and their elements (ports, port intervals, counts) as libnftnl, the
// independent reader, parses them back.
#include <doctest/doctest.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>

#include <cstdio>  // libnftnl's headers need FILE

#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <optional>
#include <string>
#include <vector>

#include "backends/nft_codec.hpp"
#include "backends/nft_keyset_codec.hpp"
#include "backends/nft_ops_batch.hpp"
#include "backends/nft_set_codec.hpp"
#include "batch_bytes.hpp"
#include "reconciler/nft_desired.hpp"
#include "reconciler/nft_protect.hpp"

using namespace netkeep;
using netkeep::test::encoded;

namespace {

// libnftnl numbers the elements of a list it builds 1, 2, 3...; the kernel
// takes any number, and dumps each as NFTA_LIST_ELEM, which is all
// libnftnl's parser accepts. The message as the kernel would dump it:
std::vector<char> as_dumped(std::vector<char> buf) {
  auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data());
  char* end = buf.data() + nlh->nlmsg_len;
  for (char* at = buf.data() + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)); at < end;) {
    auto* a = reinterpret_cast<nlattr*>(at);
    if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS) {
      char* list_end = at + a->nla_len;
      for (char* e = at + NLA_HDRLEN; e < list_end;) {
        auto* x = reinterpret_cast<nlattr*>(e);
        x->nla_type = NFTA_LIST_ELEM | (x->nla_type & NLA_F_NESTED);
        e += NLA_ALIGN(x->nla_len);
      }
    }
    at += NLA_ALIGN(a->nla_len);
  }
  return buf;
}

bool decode(const std::vector<char>& buf, std::vector<nft::RawElem>& raw,
            const char* set = kForwardingRangesTcp) {
  const auto dumped = as_dumped(buf);
  return nft::decode_elems(reinterpret_cast<const nlmsghdr*>(dumped.data()), NftFamily::ip, "nat",
                           set, raw);
}

// A set as libnftnl describes it, edited by a test, back through netkeep's
// decoder (as another program's NEWSET would arrive); `set` is freed.
std::optional<nft::SetMsg> decoded_and_freed(nftnl_set* set) {
  std::vector<char> buf(4096);
  auto* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_NEWSET, NFPROTO_IPV4, 0, 1);
  nftnl_set_nlmsg_build_payload(nlh, set);
  nftnl_set_free(set);
  return nft::decode_set(nlh);
}

}  // namespace

TEST_CASE("a forwarding ranges map is declared as nft declares it, and its elements as intervals") {
  std::vector<char> buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftMapAdd{NftFamily::ip, "nat", kForwardingRangesTcp}, 5, b);
  });
  auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
  CHECK((nlh->nlmsg_type & 0xff) == NFT_MSG_NEWSET);
  nftnl_set* set = nftnl_set_alloc();
  REQUIRE(nftnl_set_nlmsg_parse(nlh, set) == 0);
  CHECK(std::string(nftnl_set_get_str(set, NFTNL_SET_NAME)) == kForwardingRangesTcp);
  CHECK(nftnl_set_get_u32(set, NFTNL_SET_FLAGS) == (NFT_SET_MAP | NFT_SET_INTERVAL));
  CHECK(nftnl_set_get_u32(set, NFTNL_SET_KEY_LEN) == 2);
  CHECK(nftnl_set_get_u32(set, NFTNL_SET_DATA_LEN) == 16);
  CHECK(nftnl_set_is_set(set, NFTNL_SET_ID));  // the kernel refuses a new set without one
  CHECK_FALSE(nftnl_set_is_set(set, NFTNL_SET_DESC_SIZE));  // an rbtree: no size to declare
  nftnl_set_free(set);
  // As the kernel dumps it, the map is netkeep's type.
  auto m = nft::decode_set(nlh);
  REQUIRE(m);
  CHECK(m->typed);
  CHECK(m->interval);

  // 8040-8044 -> 10.10.0.99:8040-8060: a start element with the data, an end at 8045.
  NftMapElem e;
  e.first = 8040;
  e.last = 8044;
  e.addr = {10, 10, 0, 99};
  e.to_first = 8040;
  e.to_last = 8060;
  buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftForwardAdd{NftFamily::ip, "nat", kForwardingRangesTcp, 6, e, {}}, 6, b);
  });
  std::vector<nft::RawElem> raw;
  REQUIRE(decode(buf, raw));
  REQUIRE(raw.size() == 2);
  // nft writes an end element at key 0 before the first interval: not an interval.
  raw.push_back({0, true, "", 0, 0});
  auto intervals = nft::intervals_of(raw, true);
  REQUIRE(intervals.size() == 1);
  CHECK(intervals[0] == e);
  // An interval up to 65535 has no end element; adjacent intervals share a key.
  NftMapElem top = e;
  top.first = 8045;
  top.last = 65535;
  buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftForwardAdd{NftFamily::ip, "nat", kForwardingRangesTcp, 6, top, {}}, 7, b);
  });
  REQUIRE(decode(buf, raw));
  CHECK(raw.size() == 4);
  intervals = nft::intervals_of(raw, true);
  REQUIRE(intervals.size() == 2);
  CHECK(intervals[0] == e);
  CHECK(intervals[1] == top);
  // A change is a delete and an add of the same key under one sequence number.
  NftMapElem moved = e;
  moved.addr = {10, 10, 0, 98};
  buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftForwardChange{NftFamily::ip, "nat", kForwardingRangesTcp, 6, e, moved}, 8, b);
  });
  nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
  CHECK((nlh->nlmsg_type & 0xff) == NFT_MSG_DELSETELEM);
  const auto* next = reinterpret_cast<const nlmsghdr*>(buf.data() + NLMSG_ALIGN(nlh->nlmsg_len));
  CHECK((next->nlmsg_type & 0xff) == NFT_MSG_NEWSETELEM);
  CHECK(next->nlmsg_seq == 8);
}

TEST_CASE("the single-port forwarding map is a hash map: an element is its port, no end element") {
  std::vector<char> buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftMapAdd{NftFamily::ip, "nat", kForwardingMapTcp}, 5, b);
  });
  auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
  nftnl_set* set = nftnl_set_alloc();
  REQUIRE(nftnl_set_nlmsg_parse(nlh, set) == 0);
  CHECK(nftnl_set_get_u32(set, NFTNL_SET_FLAGS) == NFT_SET_MAP);
  // Its data is one address and port, each in a 32-bit register (nft's
  // `type inet_service : ipv4_addr . inet_service`), not an interval.
  CHECK(nftnl_set_get_u32(set, NFTNL_SET_DATA_LEN) == 8);
  // Made alone, or with few elements: a resizable kernel hash table.
  CHECK_FALSE(nftnl_set_is_set(set, NFTNL_SET_DESC_SIZE));
  nftnl_set_free(set);
  auto m = nft::decode_set(nlh);
  REQUIRE(m);
  CHECK(m->typed);
  CHECK_FALSE(m->interval);
  // Made with the batch adding kFixedHashFrom elements or more: room for
  // every port, a fixed-size table. Netkeep's type too.
  for (size_t elems : {nft::kFixedHashFrom - 1, nft::kFixedHashFrom}) {
    buf = encoded([&](nft::Batch& b) {
      nft::encode_map_add(NftMapAdd{NftFamily::ip, "nat", kForwardingMapTcp}, elems, 5, b);
    });
    set = nftnl_set_alloc();
    REQUIRE(nftnl_set_nlmsg_parse(reinterpret_cast<const nlmsghdr*>(buf.data()), set) == 0);
    CHECK(nftnl_set_is_set(set, NFTNL_SET_DESC_SIZE) == (elems >= nft::kFixedHashFrom));
    CHECK(nftnl_set_get_u32(set, NFTNL_SET_DESC_SIZE) ==
          (elems >= nft::kFixedHashFrom ? 65535 : 0));
    m = nft::decode_set(reinterpret_cast<const nlmsghdr*>(buf.data()));
    REQUIRE(m);
    CHECK(m->typed);
    // Any other size (another program's) is not netkeep's type.
    nftnl_set_set_u32(set, NFTNL_SET_DESC_SIZE, 1000);
    m = decoded_and_freed(set);
    REQUIRE(m);
    CHECK_FALSE(m->typed);
  }
  // A ranges map is never given a size: the kernel's rbtree has none.
  buf = encoded([&](nft::Batch& b) {
    nft::encode_map_add(NftMapAdd{NftFamily::ip, "nat", kForwardingRangesTcp}, 5000, 5, b);
  });
  set = nftnl_set_alloc();
  REQUIRE(nftnl_set_nlmsg_parse(reinterpret_cast<const nlmsghdr*>(buf.data()), set) == 0);
  CHECK_FALSE(nftnl_set_is_set(set, NFTNL_SET_DESC_SIZE));
  nftnl_set_free(set);
  // The count set of single ports: no data, no flags.
  buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftMapAdd{NftFamily::ip, kCountTable, kCountSetTcp, NftMapKind::count}, 5, b);
  });
  set = nftnl_set_alloc();
  REQUIRE(nftnl_set_nlmsg_parse(reinterpret_cast<const nlmsghdr*>(buf.data()), set) == 0);
  CHECK(nftnl_set_get_u32(set, NFTNL_SET_FLAGS) == 0);
  nftnl_set_free(set);
  // A map of the ranges map's type under the single-port map's name (an
  // earlier netkeep's) is not netkeep's type.
  buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftMapAdd{NftFamily::ip, "nat", kForwardingRangesTcp}, 5, b);
  });
  set = nftnl_set_alloc();
  REQUIRE(nftnl_set_nlmsg_parse(reinterpret_cast<const nlmsghdr*>(buf.data()), set) == 0);
  nftnl_set_set_str(set, NFTNL_SET_NAME, kForwardingMapTcp);
  m = decoded_and_freed(set);
  REQUIRE(m);
  CHECK_FALSE(m->typed);
  CHECK(m->interval);

  NftMapElem e;
  e.first = e.last = 8080;
  e.addr = {10, 10, 0, 23};
  e.to_first = e.to_last = 80;
  buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftForwardAdd{NftFamily::ip, "nat", kForwardingMapTcp, 6, e, {}}, 6, b);
  });
  std::vector<nft::RawElem> raw;
  REQUIRE(decode(buf, raw, kForwardingMapTcp));
  REQUIRE(raw.size() == 1);
  CHECK_FALSE(raw[0].end);
  CHECK(raw[0].key == 8080);
  NftMapElem next = e;
  next.first = next.last = 8081;  // adjacent ports stay two elements
  buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftForwardAdd{NftFamily::ip, "nat", kForwardingMapTcp, 6, next, {}}, 7, b);
  });
  REQUIRE(decode(buf, raw, kForwardingMapTcp));
  const auto elems = nft::intervals_of(raw, false);
  REQUIRE(elems.size() == 2);
  CHECK(elems[0] == e);
  CHECK(elems[1] == next);
  CHECK(raw[0].packets == 0);  // a new element: the set's counter, from zero

  // An element moved from another map is added with its counts, in the
  // map and in the count set; a deleted one is named by its key alone.
  NftForwardAdd moved{NftFamily::ip, "nat", kForwardingMapTcp, 6, e, kCountSetTcp, 40, 4000};
  moved.elem.packets = 7;
  buf = encoded([&](nft::Batch& b) { nft::encode_op(moved, 8, b); });
  raw.clear();
  REQUIRE(decode(buf, raw, kForwardingMapTcp));
  REQUIRE(raw.size() == 1);
  CHECK(raw[0].packets == 7);
  const auto* first = reinterpret_cast<const nlmsghdr*>(buf.data());
  const std::vector<char> count(buf.begin() + NLMSG_ALIGN(first->nlmsg_len), buf.end());
  const auto dumped = as_dumped(count);
  raw.clear();
  REQUIRE(nft::decode_elems(reinterpret_cast<const nlmsghdr*>(dumped.data()), NftFamily::ip,
                            kCountTable, kCountSetTcp, raw));
  REQUIRE(raw.size() == 1);
  CHECK(raw[0].packets == 40);
  CHECK(raw[0].bytes == 4000);
  NftMapElem counted = e;
  counted.packets = 9;
  buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftForwardDel{NftFamily::ip, "nat", kForwardingMapTcp, 6, counted, {}}, 9, b);
  });
  CHECK((reinterpret_cast<const nlmsghdr*>(buf.data())->nlmsg_type & 0xff) == NFT_MSG_DELSETELEM);
  CHECK(std::string_view(buf.data(), buf.size()).find("counter") == std::string_view::npos);
}

TEST_CASE("consecutive forwardings added to one map travel in one message") {
  std::vector<NftForwardAdd> adds;
  for (uint16_t p : {80, 443, 8080}) {
    NftMapElem e;
    e.first = e.last = e.to_first = e.to_last = p;
    e.addr = {10, 10, 0, 23};
    adds.push_back({NftFamily::ip, "nat", kForwardingMapTcp, 6, e, {}});
  }
  std::vector<char> buf = encoded([&](nft::Batch& b) {
    nft::encode_forward_adds({&adds[0], &adds[1], &adds[2]}, 9, b);
  });
  auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
  CHECK(NLMSG_ALIGN(nlh->nlmsg_len) == buf.size());  // one message
  CHECK(nlh->nlmsg_seq == 9);
  std::vector<nft::RawElem> raw;
  REQUIRE(decode(buf, raw, kForwardingMapTcp));
  const auto intervals = nft::intervals_of(raw, false);
  REQUIRE(intervals.size() == 3);
  for (size_t i = 0; i < 3; i++) CHECK(intervals[i] == adds[i].elem);
}

namespace {

// The offsets from the header of each element of an element-list message.
std::vector<uint32_t> elem_offsets(const nlmsghdr* nlh) {
  std::vector<uint32_t> out;
  for (const nlattr* list : nl::Attrs::of(nlh, sizeof(nfgenmsg)))
    if (mnl_attr_get_type(list) == NFTA_SET_ELEM_LIST_ELEMENTS)
      for (const nlattr* elem : nl::Attrs::nested(list))
        out.push_back(static_cast<uint32_t>(reinterpret_cast<const char*>(elem) -
                                            reinterpret_cast<const char*>(nlh)));
  return out;
}

}  // namespace

TEST_CASE("a kernel error's offset names the element of a grouped message it refused") {
  // Ranges, so that each interval is two elements (its start and an end).
  std::vector<NftForwardAdd> adds;
  for (uint16_t p : {6000, 7000, 8000}) {
    NftMapElem e;
    e.first = e.to_first = p;
    e.last = e.to_last = static_cast<uint16_t>(p + 10);
    e.addr = {10, 10, 0, 23};
    adds.push_back({NftFamily::ip, "nat", kForwardingRangesTcp, 6, e, kCountRangesTcp});
  }
  std::vector<char> buf = encoded([&](nft::Batch& b) {
    nft::encode_forward_adds({&adds[0], &adds[1], &adds[2]}, 9, b, 10);
  });
  const auto* map_msg = reinterpret_cast<const nlmsghdr*>(buf.data());
  const auto* count_msg =
      reinterpret_cast<const nlmsghdr*>(buf.data() + NLMSG_ALIGN(map_msg->nlmsg_len));
  CHECK(map_msg->nlmsg_seq == 9);
  CHECK(count_msg->nlmsg_seq == 10);  // its own number: an error names its message
  for (const nlmsghdr* m : {map_msg, count_msg}) {
    const auto offsets = elem_offsets(m);
    REQUIRE(offsets.size() == 6);
    for (size_t i = 0; i < 6; i++) {
      INFO(i);
      CHECK(nft::elem_at(m, offsets[i]) == i / 2);  // an end counts with its start
    }
    CHECK_FALSE(nft::elem_at(m, 4));  // the header, not an element
    CHECK_FALSE(nft::elem_at(m, offsets[0] + 4));
  }
}

TEST_CASE("protection's sets: declared with the type their name says, elements by key") {
  std::vector<char> buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftKeySetAdd{NftFamily::ip6, kProtectTable, kPinholeSet}, 5, b);
  });
  auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
  nftnl_set* set = nftnl_set_alloc();
  REQUIRE(nftnl_set_nlmsg_parse(nlh, set) == 0);
  CHECK(nftnl_set_get_u32(set, NFTNL_SET_KEY_LEN) == 24);  // 16 + 4 + 4
  CHECK(nftnl_set_get_u32(set, NFTNL_SET_KEY_TYPE) == ((8u << 6 | 12) << 6 | 13));
  CHECK(nftnl_set_get_u32(set, NFTNL_SET_FLAGS) == 0);  // a hash: exact keys only
  CHECK(nftnl_set_is_set(set, NFTNL_SET_ID));
  nftnl_set_free(set);
  auto k = nft::decode_keyset(nlh);
  REQUIRE(k);
  CHECK(k->typed);
  CHECK(k->name == kPinholeSet);
  // ip's is keyed by a 4-byte address; the same name in ip6 is not its type.
  buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftKeySetAdd{NftFamily::ip, kProtectTable, kPinholeSet}, 5, b);
  });
  nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
  k = nft::decode_keyset(nlh);
  REQUIRE(k);
  CHECK(k->typed);
  auto relabelled = buf;
  reinterpret_cast<nfgenmsg*>(NLMSG_DATA(reinterpret_cast<nlmsghdr*>(relabelled.data())))
      ->nfgen_family = NFPROTO_IPV6;
  k = nft::decode_keyset(reinterpret_cast<const nlmsghdr*>(relabelled.data()));
  REQUIRE(k);
  CHECK_FALSE(k->typed);
  // Another program's set of another name is not protection's.
  nftnl_set* other = nftnl_set_alloc();
  nftnl_set_set_str(other, NFTNL_SET_TABLE, kProtectTable);
  nftnl_set_set_str(other, NFTNL_SET_NAME, "blocklist");
  std::vector<char> obuf(4096);
  auto* onlh = nftnl_nlmsg_build_hdr(obuf.data(), NFT_MSG_NEWSET, NFPROTO_IPV6, 0, 1);
  nftnl_set_nlmsg_build_payload(onlh, other);
  nftnl_set_free(other);
  CHECK_FALSE(nft::decode_keyset(onlh));

  // An element: its key's bytes; a verdict map's element: its verdict too.
  const NftKeyElem pin{pinhole_key(*IpAddr::parse("2001:db8::23"), 6, 443), 0, 0, 0, {}};
  buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftKeyElemAdd{NftFamily::ip6, kProtectTable, kPinholeSet, pin}, 6, b);
  });
  std::vector<NftKeyElem> elems;
  auto dumped = as_dumped(buf);
  REQUIRE(nft::decode_key_elems(reinterpret_cast<const nlmsghdr*>(dumped.data()), NftFamily::ip6,
                                kProtectTable, kPinholeSet, elems));
  REQUIRE(elems.size() == 1);
  CHECK(elems[0] == pin);
  CHECK(elems[0].key.size() == 24);
  const NftKeyElem state{NftKey(std::string_view("\x02\x00\x00\x00", 4)), NF_ACCEPT, 0, 0, {}};
  buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftKeyElemAdd{NftFamily::ip, kProtectTable, kCtStateMap, state}, 7, b);
  });
  elems.clear();
  dumped = as_dumped(buf);
  REQUIRE(nft::decode_key_elems(reinterpret_cast<const nlmsghdr*>(dumped.data()), NftFamily::ip,
                                kProtectTable, kCtStateMap, elems));
  REQUIRE(elems.size() == 1);
  CHECK(elems[0] == state);
  // Of another set: not decoded.
  elems.clear();
  CHECK_FALSE(nft::decode_key_elems(reinterpret_cast<const nlmsghdr*>(dumped.data()), NftFamily::ip,
                                    kProtectTable, kOpenSet, elems));
}

TEST_CASE(
    "a map of one-port data holds address and port; one of interval data there is not netkeep's") {
  // The ranges-to-port map: an interval map whose data is one port.
  std::vector<char> buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftMapAdd{NftFamily::ip, "nat", kForwardingToPortUdp}, 5, b);
  });
  auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
  nftnl_set* set = nftnl_set_alloc();
  REQUIRE(nftnl_set_nlmsg_parse(nlh, set) == 0);
  CHECK(nftnl_set_get_u32(set, NFTNL_SET_FLAGS) == (NFT_SET_MAP | NFT_SET_INTERVAL));
  CHECK(nftnl_set_get_u32(set, NFTNL_SET_DATA_LEN) == 8);
  nftnl_set_free(set);
  auto m = nft::decode_set(nlh);
  REQUIRE(m);
  CHECK(m->typed);
  // 7000-7005 -> 10.10.0.5:22: the start element's data is 8 bytes, and it
  // reads back as the one port.
  NftMapElem e;
  e.first = 7000;
  e.last = 7005;
  e.addr = {10, 10, 0, 5};
  e.to_first = e.to_last = 22;
  buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftForwardAdd{NftFamily::ip, "nat", kForwardingToPortUdp, 17, e, {}}, 6, b);
  });
  std::vector<nft::RawElem> raw;
  REQUIRE(decode(buf, raw, kForwardingToPortUdp));
  REQUIRE(raw.size() == 2);
  CHECK(raw[0].data.size() == 8);
  CHECK(raw[0].data == std::string("\x0a\x0a\x00\x05\x00\x16\x00\x00", 8));
  const auto intervals = nft::intervals_of(raw, true);
  REQUIRE(intervals.size() == 1);
  CHECK(intervals[0] == e);
  // The single-port map as netkeep made it before (data an interval of 16
  // bytes) is not netkeep's type: it is made again.
  buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftMapAdd{NftFamily::ip, "nat", kForwardingRangesTcp}, 5, b);
  });
  set = nftnl_set_alloc();
  REQUIRE(nftnl_set_nlmsg_parse(reinterpret_cast<const nlmsghdr*>(buf.data()), set) == 0);
  nftnl_set_set_str(set, NFTNL_SET_NAME, kForwardingMapTcp);
  nftnl_set_set_u32(set, NFTNL_SET_FLAGS, NFT_SET_MAP);
  m = decoded_and_freed(set);
  REQUIRE(m);
  CHECK_FALSE(m->typed);
}

TEST_CASE("a batch's units: each its own sequence number, an error back to its op") {
  auto fwd = [](const char* map, uint8_t proto, uint16_t port, const char* count) {
    NftMapElem e;
    e.first = e.last = e.to_first = e.to_last = port;
    e.addr = {10, 10, 0, 23};
    return Op{NftForwardAdd{NftFamily::ip, "nat", map, proto, e, count}};
  };
  const std::vector<Op> ops = {
      NftMapAdd{NftFamily::ip, "nat", kForwardingMapTcp},
      fwd(kForwardingMapTcp, 6, 80, kCountSetTcp),
      fwd(kForwardingMapTcp, 6, 443, kCountSetTcp),
      fwd(kForwardingMapTcp, 6, 8080, ""),  // its count element is there already
      NftRuleAdd{NftFamily::ip, "nat", "prerouting", {}, 1, RulePlace::append, 0},
      fwd(kForwardingMapUdp, 17, 53, kCountSetUdp),
  };
  std::vector<const Op*> ptrs;
  for (const Op& op : ops) ptrs.push_back(&op);
  nft::Batch batch;
  const uint32_t first = 100;
  const nft::Units units = nft::encode_ops(ptrs, first, false, batch);
  CHECK(units == nft::Units{{0}, {1, 2, 3}, {1, 2}, {4}, {5}, {5}});
  // Every message carries its unit's number, in order.
  std::vector<uint32_t> seqs;
  const std::vector<char> bytes = batch.bytes();
  for (size_t off = 0; off < bytes.size();) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(bytes.data() + off);
    seqs.push_back(nlh->nlmsg_seq);
    off += NLMSG_ALIGN(nlh->nlmsg_len);
  }
  CHECK(seqs == std::vector<uint32_t>{101, 102, 103, 104, 105, 106});
  // An error of the tcp map's message names the element's op; of the count
  // set's, the counted op; without an offset, the unit's first op.
  auto message = [&](uint32_t seq) {
    for (size_t off = 0; off < bytes.size();) {
      const auto* nlh = reinterpret_cast<const nlmsghdr*>(bytes.data() + off);
      if (nlh->nlmsg_seq == seq) return nlh;
      off += NLMSG_ALIGN(nlh->nlmsg_len);
    }
    return static_cast<const nlmsghdr*>(nullptr);
  };
  const auto map_elems = elem_offsets(message(102));
  const auto count_elems = elem_offsets(message(103));
  REQUIRE(map_elems.size() == 3);
  REQUIRE(count_elems.size() == 2);
  CHECK(nft::op_of_error(units, first, batch, 102, map_elems[2]) == 3);
  CHECK(nft::op_of_error(units, first, batch, 103, count_elems[1]) == 2);
  CHECK(nft::op_of_error(units, first, batch, 102, 0) == 1);
  CHECK(nft::op_of_error(units, first, batch, 104, 0) == 4);
  CHECK(nft::op_of_error(units, first, batch, 106, 0) == 5);  // udp 53 in its count set
  CHECK(nft::op_of_error(units, first, batch, first, 0) == NftError::npos);  // the frame's
  CHECK(nft::op_of_error(units, first, batch, 107, 0) == NftError::npos);    // the stamp's
}
