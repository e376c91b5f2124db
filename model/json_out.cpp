#include "model/json_out.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace netkeep::json {

std::string quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  // Most strings need no escaping: copy them whole.
  auto plain = [](unsigned char c) { return c >= 0x20 && c != '"' && c != '\\'; };
  if (std::all_of(s.begin(), s.end(), plain)) return out.append(s) += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20)
          out += fmt::format("\\u{:04x}", c);
        else
          out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string quote_list(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); i++) out += (i ? ", " : "") + quote(v[i]);
  return out;
}

}  // namespace netkeep::json
