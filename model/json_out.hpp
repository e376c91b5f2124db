// Writing JSON text. Output is small and written by hand: a string quoter is
// all the machinery needed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace netkeep::json {

std::string quote(std::string_view s);  // a JSON string literal, escaped
// The members of a JSON array of strings, without brackets: "a", "b"
std::string quote_list(const std::vector<std::string>& v);

}  // namespace netkeep::json
