// The fresh-system case's kernel state (testdata/fresh-system/actual.json),
// for the tests that reconcile its config against a fake kernel.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "model/actual_json.hpp"

namespace netkeep::test {

inline Actual fresh_system() {
  std::ifstream in(std::filesystem::path(NETKEEP_TESTDATA) / "fresh-system/actual.json");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  auto a = actual_from_json(text);
  REQUIRE_MESSAGE(a.has_value(), (a ? "" : a.error()));
  return *a;
}

}  // namespace netkeep::test
