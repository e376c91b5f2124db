// nftables rule messages: netkeep writes rules in the kernel's own encoding
// and sends those bytes as they are. libnftnl, which nft itself uses, is the
// independent reader here: what netkeep sends must parse as the rule meant.
#include <doctest/doctest.h>
#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>

#include <cstdio>  // libnftnl's headers need FILE
#include <sys/stat.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>

#include <filesystem>
#include <string>
#include <vector>

#include "backends/nft_codec.hpp"
#include "backends/nft_stamp.hpp"
#include "backends/nft_view.hpp"
#include "batch_bytes.hpp"
#include "model/nft_text.hpp"
#include "reconciler/nft_desired.hpp"

using namespace netkeep;
using netkeep::test::encoded;

namespace {

struct Parsed {
  std::string table, chain;
  uint64_t position = 0;
  uint16_t flags = 0;
  std::vector<std::string> exprs;
  bool exthdr_flags = false;
};

Parsed parse(const std::vector<char>& buf) {
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
  REQUIRE(buf.size() == NLMSG_ALIGN(nlh->nlmsg_len));
  nftnl_rule* r = nftnl_rule_alloc();
  REQUIRE(nftnl_rule_nlmsg_parse(nlh, r) == 0);
  Parsed p;
  p.table = nftnl_rule_get_str(r, NFTNL_RULE_TABLE);
  p.chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
  if (nftnl_rule_is_set(r, NFTNL_RULE_POSITION))
    p.position = nftnl_rule_get_u64(r, NFTNL_RULE_POSITION);
  p.flags = nlh->nlmsg_flags;
  nftnl_expr_iter* it = nftnl_expr_iter_create(r);
  for (nftnl_expr* x = nftnl_expr_iter_next(it); x; x = nftnl_expr_iter_next(it)) {
    p.exprs.push_back(nftnl_expr_get_str(x, NFTNL_EXPR_NAME));
    if (p.exprs.back() == "exthdr" && nftnl_expr_is_set(x, NFTNL_EXPR_EXTHDR_FLAGS))
      p.exthdr_flags = true;
  }
  nftnl_expr_iter_destroy(it);
  nftnl_rule_free(r);
  return p;
}

Forwarding forwarding() {
  return {6, {8080, 8080}, *IpAddr::parse("10.10.0.23"), {8080, 8080}};
}

// The tcp dispatch rule of the forwarding chain (single ports).
NftRule dispatch_rule(const std::optional<Prefix>& lan) {
  NftInputs in{"uplink0", lan, {forwarding()}};
  const NftState s = desired_ruleset(in);
  for (const NftRule& r : s.chains.at(0).rules)
    if (rule_text(r.body) == std::string("dnat ip to tcp dport map @") + kForwardingMapTcp)
      return r;
  FAIL("no tcp dispatch rule");
  return {};
}

}  // namespace

TEST_CASE("a new rule is sent as its expressions, placed before a handle or appended") {
  NftRule rule = dispatch_rule(*Prefix::parse("10.10.0.0/24"));
  std::vector<char> buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftRuleAdd{NftFamily::ip, "nat", kForwardingChain, rule.body, 7,
                              RulePlace::before_handle, 4242},
                   100, b);
  });
  Parsed p = parse(buf);
  CHECK(p.table == "nat");
  CHECK(p.chain == kForwardingChain);
  CHECK(p.position == 4242);
  CHECK(!(p.flags & NLM_F_APPEND));  // without APPEND the kernel inserts before the position
  const std::vector<std::string> want = {"meta", "cmp", "payload", "lookup", "nat"};
  CHECK(p.exprs == want);
  buf = encoded([&](nft::Batch& b) {
    nft::encode_op(
        NftRuleAdd{NftFamily::ip, "nat", kForwardingChain, rule.body, 8, RulePlace::append, 0}, 101,
        b);
  });
  p = parse(buf);
  CHECK(p.position == 0);
  CHECK((p.flags & NLM_F_APPEND));
}

TEST_CASE("the MSS rule is sent without the exthdr flags the kernel refuses on input") {
  NftInputs in{"uplink0", std::nullopt, {}};
  const NftState s = desired_ruleset(in);
  const NftChain* fwd = s.chain(NftFamily::ip, "filter", "forward");
  REQUIRE(fwd);
  const RuleBody& clamp = fwd->rules.at(0).body;
  REQUIRE(rule_text(clamp).find("maxseg size set rt mtu") != std::string::npos);
  std::vector<char> buf = encoded([&](nft::Batch& b) {
    nft::encode_op(NftRuleAdd{NftFamily::ip, "filter", "forward", clamp, 1, RulePlace::append, 0},
                   1, b);
  });
  Parsed p = parse(buf);
  CHECK(p.exprs.back() == "exthdr");
  CHECK(!p.exthdr_flags);
}

TEST_CASE("a dumped rule decodes to its handle and the bytes of its expressions") {
  // A dump message has the shape of a new-rule message, plus a handle.
  NftRule rule = dispatch_rule(std::nullopt);
  std::vector<char> buf = encoded([&](nft::Batch& b) {
    nft::encode_op(
        NftRuleAdd{NftFamily::ip, "nat", kForwardingChain, rule.body, 1, RulePlace::append, 0}, 1,
        b);
  });
  auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data());
  buf.resize(buf.size() + 12);
  nlh = reinterpret_cast<nlmsghdr*>(buf.data());
  mnl_attr_put_u64(nlh, NFTA_RULE_HANDLE, htobe64(99));
  auto m = nft::decode_rule(nlh);
  REQUIRE(m);
  CHECK(m->family == NftFamily::ip);
  CHECK(m->table == "nat");
  CHECK(m->chain == kForwardingChain);
  CHECK(m->rule.handle == 99);
  CHECK(m->rule.body == rule.body);
  // Cut short: the message is refused, not read past its end.
  nlh->nlmsg_len = 40;
  CHECK(!nft::decode_rule(nlh));
}

TEST_CASE("malformed messages the fuzzer found are refused, not crashed on") {
  // A chain message without its table or name (a null string from libnftnl).
  alignas(4) char raw[256] = {};
  auto* nlh = mnl_nlmsg_put_header(raw);
  nlh->nlmsg_type = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWCHAIN;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = NFPROTO_IPV4;
  CHECK(!nft::decode_chain(nlh));
  nlh->nlmsg_type = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE;
  CHECK(!nft::decode_table(nlh));
  nlh->nlmsg_type = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWOBJ;
  CHECK(!nft::decode_counter(nlh));
  // A message of another subsystem with an nftables message number.
  nlh->nlmsg_type = NFT_MSG_NEWCHAIN;
  CHECK(!nft::decode_chain(nlh));
  // An event naming its chain without a terminating NUL.
  nlh->nlmsg_type = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWRULE;
  mnl_attr_put(nlh, NFTA_RULE_CHAIN, 4, "abcd");
  CHECK(!nft::decode_subject(nlh));

  // An address compared over a length whose bit count overflows an int.
  nftnl_rule* r = nftnl_rule_alloc();
  nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "nat");
  nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "c");
  nftnl_expr* pl = nftnl_expr_alloc("payload");
  nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
  nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_OFFSET, 16);
  nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_LEN, 671088643);
  nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
  nftnl_rule_add_expr(r, pl);
  nftnl_expr* cmp = nftnl_expr_alloc("cmp");
  nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
  nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
  nftnl_expr_set(cmp, NFTNL_EXPR_CMP_DATA, "\x0a\0\0\x01", 4);
  nftnl_rule_add_expr(r, cmp);
  alignas(4) char rbuf[1024];
  auto* rh = nftnl_nlmsg_build_hdr(rbuf, NFT_MSG_NEWRULE, NFPROTO_IPV4, 0, 1);
  nftnl_rule_nlmsg_build_payload(rh, r);
  nftnl_rule_free(r);
  auto m = nft::decode_rule(rh);
  REQUIRE(m);
  CHECK(rule_text(m->rule.body) == "ip daddr 10.0.0.1/5368709144");
}

TEST_CASE("the nftables view file round-trips and is only believed for its own identity") {
  NftInputs in{"uplink0", *Prefix::parse("10.10.0.0/24"), {forwarding()}};
  NftView v{41, desired_ruleset(in), "netkeep view 00000000deadbeef"};
  uint64_t h = 100;
  for (auto& c : v.state.chains)
    for (auto& r : c.rules) r.handle = h++;
  char dir[] = "/tmp/netkeep-view-XXXXXX";
  REQUIRE(mkdtemp(dir));
  const std::filesystem::path file = std::filesystem::path(dir) / "run/netkeep/nft-view";
  CHECK(!save_nft_view(file, "boot b netns 7", v));
  auto back = load_nft_view(file, "boot b netns 7");
  REQUIRE(back);
  CHECK(back->gen == 41);
  CHECK(back->stamp == v.stamp);
  CHECK(back->state == v.state);
  CHECK(back->state.chains.at(0).rules.at(0).handle == v.state.chains.at(0).rules.at(0).handle);
  CHECK(!load_nft_view(file, "boot b netns 8"));  // another namespace
  CHECK(!load_nft_view(file, ""));                // identity unknown: never believed
  std::filesystem::resize_file(file, std::filesystem::file_size(file) - 1);
  CHECK(!load_nft_view(file, "boot b netns 7"));  // truncated
  // A FIFO or a symlink in its place is never read (a FIFO would block).
  std::filesystem::remove(file);
  REQUIRE(mkfifo(file.c_str(), 0600) == 0);
  CHECK(!load_nft_view(file, "boot b netns 7"));
  std::filesystem::remove(file);
  CHECK(!save_nft_view(std::filesystem::path(dir) / "elsewhere", "boot b netns 7", v));
  std::filesystem::create_symlink(std::filesystem::path(dir) / "elsewhere", file);
  CHECK(!load_nft_view(file, "boot b netns 7"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("the view's stamp is a chain comment nft shows, renewed by delete and create") {
  const std::string stamp = nft::new_stamp();
  CHECK(stamp.size() == std::string("netkeep view ").size() + 16);
  CHECK(stamp != nft::new_stamp());  // random
  for (bool exists : {false, true}) {
    nft::Batch batch;
    CHECK(nft::encode_stamp(stamp, exists, 7, batch) == 2);
    const std::vector<char> buf = batch.bytes();
    auto* first = reinterpret_cast<const nlmsghdr*>(buf.data());
    auto* second = reinterpret_cast<const nlmsghdr*>(buf.data() + NLMSG_ALIGN(first->nlmsg_len));
    CHECK((first->nlmsg_type & 0xff) == (exists ? NFT_MSG_DELCHAIN : NFT_MSG_NEWTABLE));
    CHECK((second->nlmsg_type & 0xff) == NFT_MSG_NEWCHAIN);
    CHECK(second->nlmsg_flags == (NLM_F_REQUEST | NLM_F_CREATE));  // never EXCL, never REPLACE
    // libnftnl (nft's own reader) finds the comment where nft looks for it.
    nftnl_chain* c = nftnl_chain_alloc();
    REQUIRE(nftnl_chain_nlmsg_parse(second, c) == 0);
    CHECK(std::string(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE)) == "netkeep");
    CHECK(std::string(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME)) == "view");
    CHECK(!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM));  // a regular chain: no packet sees it
    nftnl_chain_free(c);
    CHECK(nft::decode_stamp(second) == stamp);
  }
}

TEST_CASE("a batch is tied to the ruleset generation it was planned from") {
  std::vector<char> buf = encoded([&](nft::Batch& b) { nft::encode_batch_begin(1, b, 4242); });
  auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
  CHECK(nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN);
  const auto* attr =
      reinterpret_cast<const nlattr*>(buf.data() + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)));
  REQUIRE(NLMSG_ALIGN(nlh->nlmsg_len) == buf.size());
  CHECK(mnl_attr_get_type(attr) == NFNL_BATCH_GENID);
  CHECK(ntohl(mnl_attr_get_u32(attr)) == 4242);
  buf = encoded([&](nft::Batch& b) {
    nft::encode_batch_begin(1, b);
  });  // a dry run (plan --check): no generation
  CHECK(reinterpret_cast<const nlmsghdr*>(buf.data())->nlmsg_len ==
        NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)));
}

TEST_CASE("a batch larger than a page is sent as pages, every message whole and in order") {
  NftRule rule = dispatch_rule(*Prefix::parse("10.10.0.0/24"));
  nft::Batch batch;
  nft::encode_batch_begin(1, batch);
  constexpr uint32_t kRules = 2000;  // about 300 KiB: at least two pages
  for (uint32_t i = 0; i < kRules; i++) {
    nft::encode_op(
        NftRuleAdd{NftFamily::ip, "nat", kForwardingChain, rule.body, i, RulePlace::append, 0},
        2 + i, batch);
    // The message committed last is where it lies now, moved to a new page or not.
    CHECK(batch.last()->nlmsg_seq == 2 + i);
  }
  const auto pages = batch.iovecs();
  CHECK(pages.size() >= 2);
  size_t total = 0;
  for (const iovec& v : pages) {
    total += v.iov_len;
    // Each page holds whole messages only.
    int left = static_cast<int>(v.iov_len);
    for (auto* nlh = static_cast<const nlmsghdr*>(v.iov_base); left > 0;
         nlh = mnl_nlmsg_next(nlh, &left))
      REQUIRE(mnl_nlmsg_ok(nlh, left));
  }
  CHECK(total == batch.size());
  const std::vector<char> bytes = batch.bytes();
  REQUIRE(bytes.size() == batch.size());
  uint32_t want = 1;
  int left = static_cast<int>(bytes.size());
  for (auto* nlh = reinterpret_cast<const nlmsghdr*>(bytes.data()); mnl_nlmsg_ok(nlh, left);
       nlh = mnl_nlmsg_next(nlh, &left))
    CHECK(nlh->nlmsg_seq == want++);
  CHECK(left == 0);
  CHECK(want == kRules + 2);
  CHECK(batch.messages() == kRules + 1);
}
