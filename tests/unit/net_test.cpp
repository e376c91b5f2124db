#include <doctest/doctest.h>

#include "model/config.hpp"
#include "model/net.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <random>
#include <vector>

using namespace netkeep;

TEST_CASE("MAC addresses parse and print in ip's form") {
  auto m = Mac::parse("02:00:00:00:00:AA");
  REQUIRE(m);
  CHECK(m->str() == "02:00:00:00:00:aa");
  for (const char* bad : {"", "02:00:00:00:00", "02:00:00:00:00:0g", "02-00-00-00-00-01",
                          "02:00:00:00:00:001", "0200.0000.0001"})
    CHECK_MESSAGE(!Mac::parse(bad), bad);
}

TEST_CASE("IP addresses and prefixes") {
  auto p = Prefix::parse("10.10.0.1/24");
  REQUIRE(p);
  CHECK(p->str() == "10.10.0.1/24");
  CHECK(p->network().str() == "10.10.0.0/24");
  CHECK(p->broadcast().str() == "10.10.0.255");
  CHECK(Prefix::parse("203.0.113.62/25")->broadcast().str() == "203.0.113.127");
  CHECK(Prefix::parse("2001:db8:4a00::/56")->network().str() == "2001:db8:4a00::/56");
  CHECK(Prefix::parse("2001:db8::1/64")->network().str() == "2001:db8::/64");
  CHECK(Prefix::parse("0.0.0.0/0")->is_default());
  for (const char* bad : {"10.0.0.1", "10.0.0.1/33", "10.0.0.1/-1", "10.0.0.1/", "10.0.0/24",
                          "::1/129", "10.0.0.1/2x", "a/8", "/8"})
    CHECK_MESSAGE(!Prefix::parse(bad), bad);
  CHECK(!IpAddr::parse("256.0.0.1"));
  CHECK(!IpAddr::parse("1.2.3.4.5"));
  CHECK(IpAddr::parse("fe80::2")->family == Family::v6);
}

TEST_CASE("IPv4 addresses are read exactly as inet_pton reads them") {
  auto agrees = [](const std::string& s) {
    uint8_t want[4];
    bool ok = inet_pton(AF_INET, s.c_str(), want) == 1;
    auto got = IpAddr::parse(s);
    if (ok != got.has_value()) return false;
    return !ok || (got->is_v4() && std::memcmp(got->bytes.data(), want, 4) == 0);
  };
  for (const char* s : {"0.0.0.0", "255.255.255.255", "10.10.0.9", "01.2.3.4", "1.2.3.04",
                        "00.1.1.1", "1.2.3", "1.2.3.4.", ".1.2.3.4", "1..2.3", "256.1.1.1",
                        "1.2.3.1000", "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4", "1.2.3.4x", "", "."})
    CHECK_MESSAGE(agrees(s), '"' << s << '"');
  // And on random near-addresses: 3 to 5 parts of 0 to 4 digits.
  std::mt19937 rng(7);
  int valid = 0;
  for (int n = 0; n < 100000; n++) {
    std::string s;
    for (int part = 0, parts = 3 + int(rng() % 3); part < parts; part++) {
      if (part) s += '.';
      for (int d = int(rng() % 5); d > 0; d--) s += char('0' + rng() % (d > 2 ? 3 : 10));
    }
    valid += IpAddr::parse(s).has_value();
    if (!agrees(s)) FAIL_CHECK('"' << s << '"');
  }
  CHECK(valid > 1000);  // the inputs did reach valid addresses
}

TEST_CASE("netmask lengths") {
  CHECK(mask_length(*IpAddr::parse("255.255.255.128")) == 25);
  CHECK(mask_length(*IpAddr::parse("0.0.0.0")) == 0);
  CHECK(mask_length(*IpAddr::parse("255.255.255.255")) == 32);
  CHECK(!mask_length(*IpAddr::parse("255.0.255.0")));
  CHECK(!mask_length(*IpAddr::parse("255.255.255.129")));
}

TEST_CASE("base64 as Go encodes []byte") {
  CHECK(base64_decode("////////AAAAAAAAAAAAAA==")->size() == 16);
  CHECK(base64_decode("") == std::string());
  CHECK(base64_decode("YQ==") == std::string("a"));
  CHECK(base64_decode("YWI=") == std::string("ab"));
  CHECK(base64_decode("YWJj") == std::string("abc"));
  for (const char* bad : {"Y", "YQ=", "Y===", "YQ==YQ==", "Y*==", "=YQ="})
    CHECK_MESSAGE(!base64_decode(bad), bad);
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string(32, '\x07')})
    CHECK(base64_decode(base64_encode(s)) == s);
  CHECK(base64_encode(std::string(32, '\x07')) == "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=");
}
