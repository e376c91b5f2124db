// Writing JSON text. Output is small and written by hand: a string quoter is
// all the machinery needed.
#pragma once

#include <string>
#include <string_view>

namespace netkeep::json {

std::string quote(std::string_view s);  // a JSON string literal, escaped

}  // namespace netkeep::json
