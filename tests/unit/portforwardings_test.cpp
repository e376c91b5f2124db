// portforwardings.json validation: every error names file, path and value.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "model/config.hpp"

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
  for (const char* bad : {"-5", "5-", "5-6-7", "+5", " 5", "5 ", "", "-", "0-5", "65536",
                          "1-65536", "99999999999", "5--6", "0x50", "5.0"})
    expect(one(fmt::format(R"({{"port": "{}", "dest_addr": "10.0.0.1", "dest_port": "80"}})", bad)),
           fmt::format(R"(forwardings[0].port: "{}" is not a port)", bad));
  Diagnostics d;
  json::Sink sink{kPortForwardingsFile, &d};
  auto pf = parse_portforwardings(
      one(R"({"port": "00080", "dest_addr": "10.0.0.1", "dest_port": "65535"},
             {"port": "1-65535", "proto": "udp", "dest_addr": "10.0.0.1", "dest_port": "1-65535"})"),
      sink);
  REQUIRE(pf);  // leading zeros, as router7 (Go's strconv) takes them
  CHECK(pf->forwardings[0].port == PortRange{80, 80});
  CHECK(pf->forwardings[0].dest_port == PortRange{65535, 65535});
  CHECK(pf->forwardings[1].port == PortRange{1, 65535});
}

TEST_CASE("overlapping forwardings of one protocol name both entries") {
  expect(
      one(R"({"port": "50-60", "proto": "udp", "dest_addr": "10.0.0.1", "dest_port": "50-60"},
                {"port": "80", "dest_addr": "10.0.0.1", "dest_port": "80"},
                {"port": "55", "proto": "tcp,udp", "dest_addr": "10.0.0.2", "dest_port": "55"})"),
      R"(portforwardings.json: forwardings[2].port: "55" overlaps forwardings[0].port "50-60" (udp))");
  // The same port on different protocols is fine.
  Diagnostics d;
  json::Sink sink{kPortForwardingsFile, &d};
  CHECK(parse_portforwardings(
      one(R"({"port": "53", "proto": "tcp", "dest_addr": "10.0.0.1", "dest_port": "53"},
                                     {"port": "53", "proto": "udp", "dest_addr": "10.0.0.1", "dest_port": "53"})"),
      sink));
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
