#include "model/json_in.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace netkeep::json {

using simdjson::dom::element_type;

namespace {

// A message quotes the offending value: at most 80 bytes of each quoted
// part are kept (a 100 MB "port" must not become a 100 MB log line, on
// every reconcile), and the message as a whole stays under 512 bytes.
std::string clipped(std::string m) {
  constexpr size_t kQuote = 80, kMessage = 512;
  std::string out;
  for (size_t at = 0; at < m.size();) {
    const size_t open = m.find('"', at);
    const size_t close = open == std::string::npos ? open : m.find('"', open + 1);
    if (close == std::string::npos) {
      out.append(m, at);
      break;
    }
    out.append(m, at, open + 1 - at);
    const size_t len = close - open - 1;
    if (len > kQuote)
      out.append(m, open + 1, kQuote - 3).append(fmt::format("...({} bytes)", len));
    else
      out.append(m, open + 1, len);
    out += '"';
    at = close + 1;
  }
  if (out.size() > kMessage) out = out.substr(0, kMessage - 3) + "...";
  return out;
}

}  // namespace

void Sink::error(std::string path, std::string message) {
  errors++;
  out->push_back({Severity::error, file, std::move(path), clipped(std::move(message))});
}

void Sink::warn(std::string path, std::string message) {
  out->push_back({Severity::warning, file, std::move(path), clipped(std::move(message))});
}

std::string show(element e) {
  std::string s = simdjson::minify(e);
  // Keep messages one line and bounded even for a huge value.
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

std::string type_name(element e) {
  switch (e.type()) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

std::string join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return fmt::format("{}.{}", path, key);
}

std::string index(std::string_view path, size_t i) {
  std::string out;
  out.reserve(path.size() + 8);
  out.append(path).append("[").append(std::to_string(i)).append("]");
  return out;
}

std::optional<element> parse(simdjson::dom::parser& parser, const simdjson::padded_string& text,
                             Sink& sink) {
  bool blank = true;
  for (char c : std::string_view(text)) {
    if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
      blank = false;
      break;
    }
  }
  if (blank) {
    sink.error("", "file is empty, expected a JSON object");
    return std::nullopt;
  }
  element doc;
  if (auto err = parser.parse(text).get(doc)) {
    sink.error("", fmt::format("invalid JSON: {}", simdjson::error_message(err)));
    return std::nullopt;
  }
  return doc;
}

std::optional<Object> Object::from(element e, std::string_view path, Sink& sink) {
  simdjson::dom::object o;
  if (e.get_object().get(o)) {
    sink.error(std::string(path),
               fmt::format("{} is {}, expected an object", show(e), type_name(e)));
    return std::nullopt;
  }
  return Object(o, path, sink);
}

std::optional<element> Object::raw(std::string_view key) {
  if (std::find(seen_.begin(), seen_.end(), key) == seen_.end()) seen_.push_back(key);
  element e;
  if (obj_.at_key(key).get(e) || e.is_null()) return std::nullopt;
  return e;
}

std::optional<std::string_view> Object::string(std::string_view key) {
  auto e = raw(key);
  if (!e) return std::nullopt;
  std::string_view s;
  if (!e->get_string().get(s)) return s;
  return as_string(*e, key_path(key), *sink_);  // reports the type error
}

std::optional<int64_t> Object::integer(std::string_view key) {
  auto e = raw(key);
  if (!e) return std::nullopt;
  int64_t v;
  if (e->get_int64().get(v)) {
    sink_->error(key_path(key),
                 fmt::format("{} is {}, expected an integer", show(*e), type_name(*e)));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> Object::boolean(std::string_view key) {
  auto e = raw(key);
  if (!e) return std::nullopt;
  bool v;
  if (e->get_bool().get(v)) {
    sink_->error(key_path(key),
                 fmt::format("{} is {}, expected true or false", show(*e), type_name(*e)));
    return std::nullopt;
  }
  return v;
}

void Object::array(std::string_view key,
                   const std::function<void(element, const std::string&)>& each) {
  auto e = raw(key);
  if (!e) return;
  simdjson::dom::array arr;
  if (e->get_array().get(arr)) {
    sink_->error(key_path(key),
                 fmt::format("{} is {}, expected an array", show(*e), type_name(*e)));
    return;
  }
  // One path buffer for every entry: "forwardings[" then the index.
  std::string path = key_path(key) + "[";
  const size_t base = path.size();
  size_t i = 0;
  for (element item : arr) {
    path.resize(base);
    path += std::to_string(i++);
    path += ']';
    each(item, path);
  }
}

void Object::finish() {
  for (auto [key, value] : obj_) {
    if (std::find(seen_.begin(), seen_.end(), key) == seen_.end())
      sink_->warn(key_path(key), "unknown key, ignored");
  }
}

Document::Document(std::string_view text, Sink& sink) : text_(text) {
  if (auto doc = parse(parser_, text_, sink)) root_ = Object::from(*doc, "", sink);
}

std::optional<std::string_view> as_string(element e, const std::string& path, Sink& sink) {
  std::string_view s;
  if (e.get_string().get(s)) {
    sink.error(path, fmt::format("{} is {}, expected a string", show(e), type_name(e)));
    return std::nullopt;
  }
  return s;
}

std::optional<EditedEntries> parse_edit(simdjson::dom::parser& parser, const ArrayEdit& edit) {
  EditedEntries out;
  if (parser.parse(edit.fragment).get_array().get(out.array)) return std::nullopt;
  auto spans = list_objects(edit.fragment, 1, edit.fragment.size() - 1);
  if (!spans || spans->size() != out.array.size() || spans->size() < edit.stand_ins)
    return std::nullopt;
  out.spans = std::move(*spans);
  out.added = out.spans.size() - edit.stand_ins;
  return out;
}

}  // namespace netkeep::json
