// Where entries lie in portforwardings.json's text (model/json_layout.hpp).
#include <doctest/doctest.h>

#include <string>

#include "model/json_layout.hpp"

using namespace netkeep::json;

namespace {

std::string pieces(std::string_view text, const std::vector<Span>& spans) {
  std::string out;
  for (auto [first, last] : spans) out += std::string(text.substr(first, last - first)) + "|";
  return out;
}

}  // namespace

TEST_CASE("objects of a list, with brackets and quotes inside strings stepped over") {
  const std::string t = R"( {"a": "}"} ,{"b": "\"{", "c": [1, {"d": 2}]},
  {} )";
  auto spans = list_objects(t, 0, t.size());
  REQUIRE(spans);
  CHECK(pieces(t, *spans) == R"({"a": "}"}|{"b": "\"{", "c": [1, {"d": 2}]}|{}|)");
  CHECK(list_objects("", 0, 0)->empty());
  CHECK(list_objects("  \n", 0, 3)->empty());
  for (std::string bad : {"{}, ", "{} {}", ", {}", "{},,{}", "1", "{}, [1]", "{", R"({"a": "})"})
    CHECK_MESSAGE(!list_objects(bad, 0, bad.size()), bad);
  // Only [from, to) counts: an object running past `to` is not there.
  CHECK(!list_objects("{} {}", 0, 4));
  CHECK(pieces("x{}, {}y", *list_objects("x{}, {}y", 1, 7)) == "{}|{}|");
}

TEST_CASE("the plain shape of portforwardings.json, and nothing else") {
  const std::string t = "\n{ \"forwardings\" : [ {\"port\": \"1\"},\n {\"port\": \"2\"} ] }\n";
  auto l = forwardings_layout(t);
  REQUIRE(l);
  CHECK(t[l->open] == '[');
  CHECK(t[l->close] == ']');
  CHECK(pieces(t, l->entries) == R"({"port": "1"}|{"port": "2"}|)");
  CHECK(forwardings_layout(R"({"forwardings": []})")->entries.empty());
  for (std::string other : {R"({"forwardings": [], "x": 1})", R"({"x": 1, "forwardings": []})",
                            R"({"forw\u0061rdings": []})", R"({"forwardings": {}})",
                            R"({"forwardings": [1]})", R"({"forwardings": []} x)", R"([])", ""})
    CHECK_MESSAGE(!forwardings_layout(other), other);
}

TEST_CASE("an array of objects among other members of the root: firewall.json's pinholes") {
  const std::string t =
      R"({"protect_lan": true, "open": [{"port": "22"}], "note": "a \"pinholes\": [] b",
  "pinholes" : [ {"port": "1"}, {"port": "2"} ], "n": -1.5e3})";
  auto l = member_array_layout(t, "pinholes");
  REQUIRE(l);
  CHECK(t[l->open] == '[');
  CHECK(t[l->close] == ']');
  CHECK(pieces(t, l->entries) == R"({"port": "1"}|{"port": "2"}|)");
  CHECK(member_array_layout(R"({"pinholes": []})", "pinholes")->entries.empty());
  for (std::string other :
       {R"({"open": []})", R"({"pinholes": [], "pinholes": []})", R"({"pinh\u006fles": []})",
        R"({"pinholes": {}})", R"({"pinholes": [1]})", R"({"pinholes": []} x)", R"([])", ""})
    CHECK_MESSAGE(!member_array_layout(other, "pinholes"), other);
}
