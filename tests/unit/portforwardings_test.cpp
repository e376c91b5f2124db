// portforwardings.json validation: every error names file, path and value.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "model/config_parse.hpp"
#include "model/first_match.hpp"
#include "model/json_layout.hpp"
#include "sanitized.hpp"

using namespace netkeep;

namespace {

std::string errors_of(const std::string& json) {
  Diagnostics d;
  json::Sink sink{kPortForwardingsFile, &d};
  auto pf = parse_portforwardings(json, sink);
  std::string out;
  for (const auto& x : d) out += x.str() + "\n";
  CHECK_MESSAGE(!pf, "accepted: ", json);
  return out;
}

void expect(const std::string& json, const std::string& line) {
  std::string got = errors_of(json);
  CHECK_MESSAGE(got.find(line) != std::string::npos, "want: ", line, "\ngot: ", got);
}

std::string one(const std::string& fields) {
  return R"({"forwardings": [)" + fields + "]}";
}

}  // namespace

TEST_CASE("the SPEC example expands to one rule per protocol, in file order") {
  Diagnostics d;
  json::Sink sink{kPortForwardingsFile, &d};
  auto pf = parse_portforwardings(R"({"forwardings": [
  {"proto": "tcp", "port": "8080", "dest_addr": "10.10.0.23", "dest_port": "80"},
  {"port": "6000-6010", "dest_addr": "10.10.0.99", "dest_port": "6000-6010"},
  {"proto": "tcp,udp", "port": "53", "dest_addr": "10.10.0.99", "dest_port": "53"}]})",
                                  sink);
  REQUIRE(pf);
  REQUIRE(pf->forwardings.size() == 4);
  CHECK(pf->forwardings[1].port == PortRange{6000, 6010});
  CHECK(pf->forwardings[2].proto == 6);
  CHECK(pf->forwardings[3].proto == 17);
  CHECK(d.empty());
}

TEST_CASE("bad ports, ranges, protocols and addresses") {
  expect(one(R"({"port": "0", "dest_addr": "10.0.0.1", "dest_port": "80"})"),
         R"(portforwardings.json: forwardings[0].port: "0" is not a port (1-65535))");
  expect(
      one(R"({"port": "8080", "dest_addr": "10.0.0.1", "dest_port": "80"}, {"port": "70000", "dest_addr": "10.0.0.1", "dest_port": "80"})"),
      R"(portforwardings.json: forwardings[1].port: "70000" is not a port (1-65535))");
  expect(one(R"({"port": "9000-8000", "dest_addr": "10.0.0.1", "dest_port": "80"})"),
         R"(forwardings[0].port: "9000-8000" is a reversed range (did you mean 8000-9000?))");
  expect(one(R"({"port": "http", "dest_addr": "10.0.0.1", "dest_port": "80"})"),
         R"(forwardings[0].port: "http" is not a port)");
  expect(one(R"({"port": "80-", "dest_addr": "10.0.0.1", "dest_port": "80"})"),
         R"(forwardings[0].port: "80-" is not a port)");
  expect(one(R"({"port": "8000-8010", "dest_addr": "10.0.0.1", "dest_port": "80-85"})"),
         R"(forwardings[0].dest_port: "80-85" spans 6 ports but port "8000-8010" spans 11)");
  expect(one(R"({"port": "6000-6002", "dest_addr": "10.0.0.1", "dest_port": "7000-7002"})"),
         R"(forwardings[0].dest_port: "7000-7002" must equal port "6000-6002")");
  expect(one(R"({"proto": "sctp", "port": "80", "dest_addr": "10.0.0.1", "dest_port": "80"})"),
         R"(forwardings[0].proto: "sctp" is not tcp, udp or a comma list of them)");
  expect(one(R"({"proto": "tcp,tcp", "port": "80", "dest_addr": "10.0.0.1", "dest_port": "80"})"),
         R"(forwardings[0].proto: "tcp,tcp" is not tcp, udp)");
  expect(one(R"({"port": "80", "dest_addr": "2001:db8::1", "dest_port": "80"})"),
         R"(forwardings[0].dest_addr: "2001:db8::1" is not an IPv4 address)");
  expect(one(R"({"port": "80", "dest_port": "80"})"), "forwardings[0].dest_addr: missing");
  expect(one(R"({"port": 80, "dest_addr": "10.0.0.1", "dest_port": "80"})"),
         "forwardings[0].port: 80 is a number, expected a string");
  expect(R"({"forwardings": {"port": "80"}})",
         R"(portforwardings.json: forwardings: {"port":"80"} is an object, expected an array)");
  expect(R"({"forwardings": [)", "portforwardings.json: invalid JSON");
  expect("", "portforwardings.json: file is empty");
}

TEST_CASE("port syntax: decimal N or N-M, each 1-65535") {
  for (const char* bad : {"-5", "5-", "5-6-7", "+5", " 5", "5 ", "", "-", "0-5", "65536", "1-65536",
                          "99999999999", "5--6", "0x50", "5.0"})
    expect(one(fmt::format(R"({{"port": "{}", "dest_addr": "10.0.0.1", "dest_port": "80"}})", bad)),
           fmt::format(R"(forwardings[0].port: "{}" is not a port)", bad));
  Diagnostics d;
  json::Sink sink{kPortForwardingsFile, &d};
  auto pf =
      parse_portforwardings(one(R"({"port": "00080", "dest_addr": "10.0.0.1", "dest_port": "65535"},
             {"port": "1-65535", "proto": "udp", "dest_addr": "10.0.0.1", "dest_port": "1-65535"})"),
                            sink);
  REQUIRE(pf);  // leading zeros, as router7 (Go's strconv) takes them
  CHECK(pf->forwardings[0].port == PortRange{80, 80});
  CHECK(pf->forwardings[0].dest_port == PortRange{65535, 65535});
  CHECK(pf->forwardings[1].port == PortRange{1, 65535});
}

namespace {

// Parses a file that must be accepted; its diagnostics, a line each.
std::string warnings_of(const std::string& json, std::vector<Forwarding>* out = nullptr) {
  Diagnostics d;
  json::Sink sink{kPortForwardingsFile, &d};
  auto pf = parse_portforwardings(json, sink);
  std::string text;
  for (const auto& x : d) text += x.str() + "\n";
  REQUIRE_MESSAGE(pf, "refused: ", text);
  if (out) *out = pf->forwardings;
  return text;
}

// router7's own integration test config (VerifyAdditionalNftables).
const char* kRouter7 = R"({"forwardings":[
  {"port": "8080", "dest_addr": "192.168.42.23", "dest_port": "9999"},
  {"port": "8045", "dest_addr": "192.168.42.22", "dest_port": "8045"},
  {"port": "8040-8060", "dest_addr": "192.168.42.99", "dest_port": "8040-8060"},
  {"proto": "udp", "port": "53", "dest_addr": "192.168.42.99", "dest_port": "53"}]})";

}  // namespace

TEST_CASE("overlaps are accepted, first match wins: router7's own config") {
  std::vector<Forwarding> fw;
  const std::string w = warnings_of(kRouter7, &fw);
  CHECK(fw.size() == 4);
  CHECK(w ==
        "warning: portforwardings.json: forwardings[2].port: \"8040-8060\" (tcp) is partly "
        "shadowed: 1 of its 21 ports go to earlier entries (forwardings[1] \"8045\" first)\n");
  const std::vector<PortRun> want = {{6, {8040, 8044}, 2},
                                     {6, {8045, 8045}, 1},
                                     {6, {8046, 8060}, 2},
                                     {6, {8080, 8080}, 0},
                                     {17, {53, 53}, 3}};
  CHECK(first_match_runs(fw) == want);
}

TEST_CASE("an entry that can never match is a louder warning naming the earlier one") {
  const std::string w = warnings_of(
      one(R"({"port": "50-60", "proto": "udp", "dest_addr": "10.0.0.1", "dest_port": "50-60"},
          {"port": "80", "dest_addr": "10.0.0.1", "dest_port": "80"},
          {"port": "55", "proto": "tcp,udp", "dest_addr": "10.0.0.2", "dest_port": "55"})"));
  CHECK(w ==
        "warning: portforwardings.json: forwardings[2].port: \"55\" (udp) NEVER MATCHES: earlier "
        "entries (forwardings[0] first) take all of its ports; remove it or move it up\n");
  // Covered by two earlier entries together: still never matches.
  CHECK(warnings_of(one(R"({"port": "10-19", "dest_addr": "10.0.0.1", "dest_port": "10-19"},
                           {"port": "20-29", "dest_addr": "10.0.0.2", "dest_port": "20-29"},
                           {"port": "15-25", "dest_addr": "10.0.0.3", "dest_port": "15-25"})"))
            .find("forwardings[2].port: \"15-25\" (tcp) NEVER MATCHES: earlier entries "
                  "(forwardings[0] first)") != std::string::npos);
  // The same entry twice: harmless, but the second never matches.
  CHECK(warnings_of(one(R"({"port": "80", "dest_addr": "10.0.0.1", "dest_port": "80"},
                           {"port": "80", "dest_addr": "10.0.0.1", "dest_port": "80"})"))
            .find("forwardings[1].port: \"80\" (tcp) NEVER MATCHES") != std::string::npos);
  // The same port on different protocols does not overlap.
  CHECK(
      warnings_of(one(R"({"port": "53", "proto": "tcp", "dest_addr": "10.0.0.1", "dest_port": "53"},
                           {"port": "53", "proto": "udp", "dest_addr": "10.0.0.1", "dest_port": "53"})"))
          .empty());
}

TEST_CASE("the same protocol and ports twice with another destination is an error") {
  expect(
      one(R"({"port": "8040-8060", "dest_addr": "10.0.0.1", "dest_port": "8040-8060"},
                {"port": "8040-8060", "dest_addr": "10.0.0.2", "dest_port": "8040-8060"})"),
      R"(portforwardings.json: forwardings[1].port: "8040-8060" (tcp) is also forwardings[0].port, with another destination (10.0.0.1:8040-8060, not 10.0.0.2:8040-8060): only the first could ever match)");
  expect(
      one(R"({"proto": "tcp,udp", "port": "53", "dest_addr": "10.0.0.1", "dest_port": "53"},
                {"proto": "udp", "port": "53", "dest_addr": "10.0.0.1", "dest_port": "5353"})"),
      R"(forwardings[1].port: "53" (udp) is also forwardings[0].port, with another destination)");
}

TEST_CASE("first-match runs equal a port-by-port walk of the rules, over random lists") {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; round++) {
    std::vector<Forwarding> fw;
    const int n = 1 + int(rng() % 12);
    for (int i = 0; i < n; i++) {
      Forwarding f;
      f.proto = rng() % 3 == 0 ? 17 : 6;
      const uint16_t a = uint16_t(1 + rng() % 60), len = uint16_t(rng() % 4 == 0 ? rng() % 30 : 0);
      f.port = {a, uint16_t(std::min(65535, a + len))};
      f.dest_port = f.port;
      fw.push_back(f);
    }
    std::vector<PortRun> want;
    for (uint8_t proto : {6, 17})
      for (uint32_t p = 1; p <= 100; p++)
        for (size_t i = 0; i < fw.size(); i++) {
          if (fw[i].proto != proto || p < fw[i].port.first || p > fw[i].port.last) continue;
          if (!want.empty() && want.back().proto == proto && want.back().forwarding == i &&
              want.back().ports.last == p - 1)
            want.back().ports.last = uint16_t(p);
          else
            want.push_back({proto, {uint16_t(p), uint16_t(p)}, i});
          break;
        }
    REQUIRE(first_match_runs(fw) == want);
  }
}

TEST_CASE("10,000 wide overlapping ranges: each port is claimed once") {
  std::string entries;
  for (int i = 0; i < 10000; i++)
    entries +=
        fmt::format(R"({}{{"port": "{}-65535", "dest_addr": "10.0.0.1", "dest_port": "{}-65535"}})",
                    i ? "," : "", 1 + i % 5000, 1 + i % 5000);
  Diagnostics d;
  json::Sink sink{kPortForwardingsFile, &d};
  auto pf = parse_portforwardings(one(entries), sink);
  // The first takes every port: each later one never matches (the repeats
  // have the same destination, so they are warnings, not errors).
  REQUIRE(pf);
  CHECK(d.size() == 9999);
  CHECK(first_match_runs(pf->forwardings).size() == 1);
}

TEST_CASE("every spelling of an entry reads the same, plain or not") {
  // The common spelling is read in one pass; anything else by the full
  // reader. Both must agree on what an entry means.
  auto read = [](const std::string& entries) {
    Diagnostics d;
    json::Sink sink{kPortForwardingsFile, &d};
    auto pf = parse_portforwardings(R"({"forwardings": [)" + entries + "]}", sink);
    REQUIRE(pf);
    return std::make_pair(pf->forwardings, d.size());
  };
  const auto plain =
      read(R"({"proto": "udp,tcp", "port": "53", "dest_addr": "10.0.0.9", "dest_port": "5353"})");
  REQUIRE(plain.first.size() == 2);
  CHECK(plain.first[0].proto == 17);
  CHECK(plain.first[1].proto == 6);
  CHECK(plain.first[1].dest_port == PortRange{5353, 5353});
  CHECK(plain.second == 0);
  // Spaces in the list, null values and unknown keys take the full reader.
  CHECK(
      read(R"({"proto": " udp , tcp", "port": "53", "dest_addr": "10.0.0.9", "dest_port": "5353"})")
          .first == plain.first);
  CHECK(read(R"({"proto": null, "port": "53", "dest_addr": "10.0.0.9", "dest_port": "5353"})")
            .first[0]
            .proto == 6);
  auto unknown = read(
      R"({"proto": "udp,tcp", "port": "53", "dest_addr": "10.0.0.9", "dest_port": "5353", "colour": "red"})");
  CHECK(unknown.first == plain.first);
  CHECK(unknown.second == 1);  // warned
  // A key given twice: the first counts, as everywhere in netkeep's configs.
  auto twice = read(R"({"port": "53", "port": "54", "dest_addr": "10.0.0.9", "dest_port": "53"})");
  CHECK(twice.first[0].port == PortRange{53, 53});
}

namespace {

// A random plain entry, with the keys in random order and random spacing.
std::string random_entry(std::mt19937& rng) {
  auto pick = [&](std::initializer_list<const char*> l) { return *(l.begin() + rng() % l.size()); };
  const unsigned port = 1 + rng() % 20000;
  std::string p = std::to_string(port);
  if (rng() % 5 == 0) p += "-" + std::to_string(port + rng() % 5);
  std::vector<std::string> fields = {R"("port": ")" + p + '"',
                                     R"("dest_addr": "10.10.)" + std::to_string(rng() % 256) + "." +
                                         std::to_string(rng() % 256) + '"',
                                     R"("dest_port": ")" + p + '"'};
  switch (rng() % 5) {
    case 0:
      fields.push_back(R"("proto": "udp")");
      break;
    case 1:
      fields.push_back(R"("proto": "tcp,udp")");
      break;
    case 2:  // an escape the scan must step over
      fields.push_back(R"("proto": "t\u0063p")");
      break;
    default:
      break;
  }
  std::shuffle(fields.begin(), fields.end(), rng);
  std::string out = "{";
  for (size_t i = 0; i < fields.size(); i++)
    out += (i ? pick({", ", ",", ",\n    "}) : "") + fields[i];
  return out + "}";
}

std::string random_doc(std::mt19937& rng, int n) {
  std::string out = "{\"forwardings\": [";
  for (int i = 0; i < n; i++) out += (i ? ",\n  " : "\n  ") + random_entry(rng);
  return out + "\n]}\n";
}

// One edit: mostly to whole entries, sometimes to any byte, now and then
// outside the array.
void random_edit(std::mt19937& rng, std::string& t) {
  auto layout = json::forwardings_layout(t);
  const unsigned kind = rng() % 11;
  if (!layout || kind == 0) {  // a byte inserted, removed or replaced anywhere
    const size_t at = rng() % (t.size() + 1);
    const std::string chars = " \n,:{}[]\"\\-0123456789tcpudx";
    const char c = chars[rng() % chars.size()];
    switch (rng() % 3) {
      case 0:
        t.insert(at, 1, c);
        break;
      case 1:
        if (at < t.size()) t.erase(at, 1);
        break;
      default:
        if (at < t.size()) t[at] = c;
        break;
    }
    return;
  }
  const auto& e = layout->entries;
  const size_t n = e.size(), k = n ? rng() % n : 0;
  switch (kind) {
    case 1:
    case 2:
    case 3:  // a new entry before entry k, or at the end
      if (n == 0)
        t.insert(layout->open + 1, random_entry(rng));
      else if (rng() % 4 == 0)
        t.insert(e[n - 1].second, ", " + random_entry(rng));
      else
        t.insert(e[k].first, random_entry(rng) + ",\n  ");
      return;
    case 4:
    case 5:  // entry k removed, with one of its commas
      if (n == 0) return;
      if (k + 1 < n)
        t.erase(e[k].first, e[k + 1].first - e[k].first);
      else if (k > 0)
        t.erase(e[k - 1].second, e[k].second - e[k - 1].second);
      else
        t.erase(e[k].first, e[k].second - e[k].first);
      return;
    case 6:
    case 7:  // entry k replaced
      if (n) t.replace(e[k].first, e[k].second - e[k].first, random_entry(rng));
      return;
    case 8:
    case 9:  // spacing after entry k
      if (n) t.insert(e[k].second, rng() % 2 ? " " : "\n");
      return;
    default:  // at the array's ends or outside it: spacing, or another key
      switch (rng() % 5) {
        case 0:
          t.insert(0, " ");
          break;
        case 1:
          t.insert(layout->open + 1, " ");
          break;
        case 2:
          t.insert(layout->close, "\n");
          break;
        case 3:
          t.insert(layout->close + 1, " ");
          break;
        default:
          t.insert(1, R"("note": "x", )");
          break;
      }
      return;
  }
}

}  // namespace

TEST_CASE("the memo's incremental parse gives what a full parse gives, over random edits") {
  std::mt19937 rng(11);
  PortForwardingsMemo memo;
  std::string text = random_doc(rng, 40), last_clean = text;
  int ok = 0;
  // 4,000 steps; 500 under ASan (the plain suite runs them all),
  // from as many fresh documents.
  const int steps = netkeep::test::kSanitized ? 500 : 4000;
  for (int step = 0; step < steps; step++) {
    if (step % (steps / 8) == 0) text = random_doc(rng, 20 + int(rng() % 60));
    random_edit(rng, text);
    Diagnostics with, without;
    json::Sink a{kPortForwardingsFile, &with}, b{kPortForwardingsFile, &without};
    // Every other step as load_config calls it: the memo may take the
    // buffer the text was read into, and hand back its last text.
    std::string buffer = text;
    auto got = step % 2 ? parse_portforwardings(buffer, a, &memo, &buffer)
                        : parse_portforwardings(text, a, &memo);
    auto want = parse_portforwardings(text, b);
    if (got && memo.valid && memo.text != text) {
      FAIL_CHECK("step " << step << ": the memo keeps another text than it parsed");
      break;
    }
    std::string got_diags, want_diags;
    for (const auto& d : with) got_diags += d.str() + "\n";
    for (const auto& d : without) want_diags += d.str() + "\n";
    if (got != want || got_diags != want_diags) {
      FAIL_CHECK("step " << step << ": the memo's parse differs on\n"
                         << text << "\ngot: " << got_diags << "\nwant: " << want_diags);
      break;
    }
    ok += want.has_value();
    // The next edit starts from the last text without errors or warnings,
    // as an operator's next save would.
    if (want && without.empty())
      last_clean = text;
    else
      text = last_clean;
  }
  INFO("parses without error: " << ok << ", taken from the memo: " << memo.spliced
       << ", with their first-match runs: " << memo.runs_spliced);
  CHECK(ok > steps / 4);                 // the edits mostly keep the file valid
  CHECK(memo.spliced > steps / 4);       // and most of those were spliced, not parsed in full
  CHECK(memo.runs_spliced > steps / 8);  // most of them sharing no port: the runs too
}

TEST_CASE("the memo splices only inside the forwardings array") {
  PortForwardingsMemo memo;
  Diagnostics d;
  json::Sink sink{kPortForwardingsFile, &d};
  const std::string a =
      R"({"forwardings": [{"port": "80", "dest_addr": "10.0.0.1", "dest_port": "80"}]})";
  REQUIRE(parse_portforwardings(a, sink, &memo));
  CHECK(memo.valid);
  const std::string b =
      R"({"forwardings": [{"port": "80", "dest_addr": "10.0.0.1", "dest_port": "80"},
    {"port": "81", "proto": "udp", "dest_addr": "10.0.0.2", "dest_port": "81"}]})";
  auto pf = parse_portforwardings(b, sink, &memo);
  REQUIRE(pf);
  CHECK(memo.spliced == 1);
  REQUIRE(pf->forwardings.size() == 2);
  CHECK(pf->forwardings[1].proto == 17);
  // A warning (an unknown key) makes the text one the memo does not keep.
  const std::string c =
      R"({"forwardings": [{"port": "80", "dest_addr": "10.0.0.1", "dest_port": "80", "x": "y"}]})";
  REQUIRE(parse_portforwardings(c, sink, &memo));
  CHECK(!memo.valid);
  CHECK(d.size() == 1);
}

TEST_CASE("a splice that makes ports overlap is analysed in full; one that ends it, too") {
  PortForwardingsMemo memo;
  auto doc = [](const char* entries) {
    return std::string(R"({"forwardings": [)") + entries + "]}";
  };
  const char* range = R"({"port": "8040-8060", "dest_addr": "10.0.0.9", "dest_port": "8040-8060"})";
  const char* other = R"({"port": "9000", "dest_addr": "10.0.0.1", "dest_port": "9000"})";
  const char* inside = R"({"port": "8045", "dest_addr": "10.0.0.2", "dest_port": "8045"})";
  const std::string texts[] = {
      doc((std::string(range) + ", " + other).c_str()),                  // disjoint
      doc((std::string(inside) + ", " + range + ", " + other).c_str()),  // 8045 splits the range
      doc((std::string(range) + ", " + other).c_str()),                  // and is gone again
      doc((std::string(range) + ", " + other + ", " + inside).c_str()),  // shadowed entirely
  };
  uint64_t runs_spliced = 0;
  for (const auto& t : texts) {
    INFO(t);
    Diagnostics with, without;
    json::Sink a{kPortForwardingsFile, &with}, b{kPortForwardingsFile, &without};
    auto got = parse_portforwardings(t, a, &memo);
    auto want = parse_portforwardings(t, b);
    REQUIRE(want);
    CHECK(got == want);
    CHECK(with.size() == without.size());
    runs_spliced = memo.runs_spliced;
  }
  CHECK(memo.spliced == 3);
  CHECK(runs_spliced == 0);  // each splice had an overlap before or after it
}

TEST_CASE(
    "keep_tcp: a boolean beside the forwardings, off unless said; the memo sees it come and go") {
  const std::string plain = one(R"({"port": "8080", "dest_addr": "10.0.0.1", "dest_port": "80"})");
  const std::string kept =
      R"({"keep_tcp": true, "forwardings": [{"port": "8080", "dest_addr": "10.0.0.1", "dest_port": "80"}]})";
  PortForwardingsMemo memo;
  Diagnostics d;
  json::Sink sink{kPortForwardingsFile, &d};
  for (const auto& [text, want] : {std::pair{plain, false}, {kept, true}, {plain, false}}) {
    auto pf = parse_portforwardings(text, sink, &memo);
    REQUIRE(pf);
    CHECK(pf->keep_tcp == want);
    CHECK(pf->forwardings.size() == 1);
  }
  CHECK(d.empty());
  expect(R"({"keep_tcp": "yes", "forwardings": []})",
         R"(portforwardings.json: keep_tcp: "yes" is a string, expected true or false)");
}
