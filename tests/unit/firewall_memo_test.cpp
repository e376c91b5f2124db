// firewall.json's memo (FirewallMemo): the daemon's re-read after an edit
// inside "pinholes" reads only the edited entries, and gives exactly what a
// full parse gives, messages included, whatever the edit.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <random>

#include "model/config_parse.hpp"
#include "tests/unit/sanitized.hpp"

using namespace netkeep;

namespace {

// A valid pinhole, or now and then (one in 25) one with an error or a
// warning in it.
std::string random_pinhole(std::mt19937& rng) {
  static const char* protos[] = {"tcp", "udp", "tcp,udp"};
  static const char* ports[] = {"443", "22", "60000-60003", "5060"};
  static const char* v6[] = {R"("dest_addr": "2001:db8:5::7")", R"("dest_iid": "::23")",
                             R"("dest_iid": "::1:2:3:4")"};
  static const char* bad[] = {R"("proto": "icmp", "port": "1", "dest_iid": "::1")",
                              R"("proto": "tcp", "port": "70000", "dest_iid": "::1")",
                              R"("proto": "tcp", "port": "2-3000", "dest_iid": "::1")",
                              R"("proto": "tcp", "port": "1", "dest_iid": "2001:db8::1")",
                              R"("proto": "tcp", "port": "1", "dest_addr": "nowhere")",
                              R"("proto": "tcp", "port": "1", "dest_iid": "::1", "note": "x")"};
  if (rng() % 25 == 0) return fmt::format("{{{}}}", bad[rng() % 6]);
  const char* proto = protos[rng() % 3];
  const char* port = ports[rng() % 4];
  switch (rng() % 4) {
    case 0:
      return fmt::format(R"({{"proto": "{}", "port": "{}", "dest_addr": "203.0.113.{}"}})", proto,
                         port, rng() % 250 + 1);
    case 1:
      return fmt::format(R"({{"proto": "{}", "port": "{}", {}, "from": "2001:db8:99::/48"}})",
                         proto, port, v6[rng() % 3]);
    default:
      return fmt::format(R"({{"proto": "{}", "port": "{}", {}}})", proto, port, v6[rng() % 3]);
  }
}

std::string random_doc(std::mt19937& rng, int n) {
  std::string t = R"({"protect_router": true, "open": [{"proto": "tcp", "port": "22"}],)";
  t += "\n  \"pinholes\": [";
  for (int i = 0; i < n; i++) t += (i ? ",\n    " : "\n    ") + random_pinhole(rng);
  t += "\n  ]";
  if (rng() % 4 == 0) t += R"(, "protect_lan": true)";
  return t + "}\n";
}

// An edit as an operator's editor makes it: mostly inside the pinholes,
// now and then elsewhere or breaking the syntax.
void random_edit(std::mt19937& rng, std::string& t) {
  auto l = json::member_array_layout(t, "pinholes");
  if (!l || rng() % 10 == 0) {  // outside the array, or a broken file
    switch (rng() % 4) {
      case 0:
        t.insert(t.find('{') + 1, R"("protect_lan": false, )");
        break;
      case 1:
        t.insert(t.find('{') + 1, " ");
        break;
      case 2:
        if (auto at = t.rfind('}'); at != std::string::npos) t.erase(at, 1);
        break;
      default:
        t.insert(t.find('{') + 1, R"("protect_router": false, )");
        break;
    }
    return;
  }
  const auto& e = l->entries;
  const size_t n = e.size();
  switch (rng() % 6) {
    case 0:  // insert an entry
      if (n == 0) {
        t.insert(l->open + 1, random_pinhole(rng));
      } else {
        const size_t k = rng() % n;
        t.insert(e[k].first, random_pinhole(rng) + ",\n    ");
      }
      break;
    case 1:  // delete one (its comma too)
      if (n > 1) {
        const size_t k = rng() % (n - 1);
        t.erase(e[k].first, e[k + 1].first - e[k].first);
      } else if (n == 1) {
        t.erase(e[0].first, e[0].second - e[0].first);
      }
      break;
    case 2:  // replace one
      if (n > 0) {
        const size_t k = rng() % n;
        t.replace(e[k].first, e[k].second - e[k].first, random_pinhole(rng));
      }
      break;
    case 3:  // change one port inside an entry
      if (n > 0) {
        const size_t k = rng() % n;
        const size_t at = t.find("\"port\": \"", e[k].first);
        if (at < e[k].second) t.insert(at + 9, std::to_string(rng() % 3 + 1));
      }
      break;
    case 4:  // append one at the end
      t.insert(l->close, n ? ", " + random_pinhole(rng) : random_pinhole(rng));
      break;
    default:  // a comma lost or doubled
      if (n > 1) {
        const size_t k = rng() % (n - 1);
        const size_t comma = t.find(',', e[k].second);
        if (rng() % 2)
          t.erase(comma, 1);
        else
          t.insert(comma, ",");
      }
      break;
  }
}

}  // namespace

TEST_CASE("firewall.json's memo gives what a full parse gives, over random edits") {
  std::mt19937 rng(7);
  FirewallMemo memo;
  std::string text = random_doc(rng, 30), last_clean = text;
  int ok = 0;
  const int steps = netkeep::test::kSanitized ? 500 : 4000;
  for (int step = 0; step < steps; step++) {
    if (step % (steps / 8) == 0) text = random_doc(rng, 10 + int(rng() % 50));
    random_edit(rng, text);
    Diagnostics with, without;
    json::Sink a{kFirewallFile, &with}, b{kFirewallFile, &without};
    auto got = parse_firewall(text, a, &memo);
    auto want = parse_firewall(text, b);
    std::string got_diags, want_diags;
    for (const auto& d : with) got_diags += d.str() + "\n";
    for (const auto& d : without) want_diags += d.str() + "\n";
    if (got != want || got_diags != want_diags || (memo.valid && memo.text != text)) {
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
  INFO("parses without error: " << ok << ", taken from the memo: " << memo.spliced);
  CHECK(ok > steps / 4);            // the edits mostly keep the file valid
  CHECK(memo.spliced > steps / 4);  // and most of those were spliced, not parsed in full
}

TEST_CASE("firewall.json's memo splices inside pinholes only, and keeps entry numbers") {
  FirewallMemo memo;
  Diagnostics d;
  json::Sink sink{kFirewallFile, &d};
  const std::string a = R"({"open": [], "pinholes": [
    {"proto": "tcp", "port": "443", "dest_addr": "2001:db8:5::1"},
    {"proto": "tcp", "port": "443", "dest_addr": "2001:db8:5::2"}]})";
  REQUIRE(parse_firewall(a, sink, &memo));
  REQUIRE(memo.valid);
  // One pinhole in front: the second entry is read, the others keep theirs, shifted.
  std::string b = a;
  b.insert(b.find("{\"proto\""),
           R"({"proto": "udp", "port": "5060", "dest_addr": "203.0.113.77"}, )");
  auto c = parse_firewall(b, sink, &memo);
  REQUIRE(c);
  CHECK(memo.spliced == 1);
  REQUIRE(c->pinholes.size() == 3);
  CHECK(c->pinholes[0].proto == 17);
  for (size_t i = 0; i < 3; i++) CHECK(c->pinholes[i].entry == i);
  CHECK(c == parse_firewall(b, sink));
  // Outside the array: a full parse.
  std::string e = b;
  e.replace(e.find("\"open\": []"), 10, R"("open": [{"proto": "tcp", "port": "22"}])");
  auto f = parse_firewall(e, sink, &memo);
  REQUIRE(f);
  CHECK(memo.spliced == 1);
  CHECK(f->open.size() == 1);
  CHECK(d.empty());
}
