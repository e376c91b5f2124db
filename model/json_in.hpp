// Reading config JSON with simdjson while tracking the JSON path, so every
// error can name the file, the path and the offending value.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>
#include <string>
#include <string_view>

#include "model/diag.hpp"
#include "model/json_layout.hpp"

namespace netkeep::json {

using simdjson::dom::element;

// Where diagnostics for one file go.
struct Sink {
  std::string file;
  Diagnostics* out;
  int errors = 0;
  void error(std::string path, std::string message);
  void warn(std::string path, std::string message);
};

std::string show(element e);       // the value as JSON text, for messages
std::string type_name(element e);  // "a string", "an object", ...
std::string join(std::string_view path, std::string_view key);  // "a.b"
std::string index(std::string_view path, size_t i);             // "a[3]"

// Parses `text`; on failure reports a syntax or empty-file error and returns nullopt.
std::optional<element> parse(simdjson::dom::parser& parser, const simdjson::padded_string& text,
                             Sink& sink);

// An object being read key by key. Keys that were never asked for are
// warned about by the destructor-free finish(): unknown keys are tolerated
// (router7 configs carry keys netkeep does not use) but never silently.
//
// An Object refers to its path and to the keys asked for, which must
// outlive it: paths come from the enclosing array() call, keys are string
// literals. (Thousands of array entries are read per file; none of this
// allocates per entry.)
class Object {
 public:
  // Reports a type error and returns nullopt unless `e` is an object.
  static std::optional<Object> from(element e, std::string_view path, Sink& sink);

  // Each getter returns nullopt when the key is absent or JSON null (that is
  // not an error), and reports a type error when the key has the wrong type.
  std::optional<std::string_view> string(std::string_view key);
  std::optional<int64_t> integer(std::string_view key);
  std::optional<bool> boolean(std::string_view key);
  // Calls `each(element, path)` for every entry of an array.
  void array(std::string_view key, const std::function<void(element, const std::string&)>& each);
  std::optional<element> raw(std::string_view key);

  void finish();  // warn about keys never asked for
  std::string_view path() const { return path_; }
  std::string key_path(std::string_view key) const { return join(path_, key); }
  Sink& sink() { return *sink_; }

 private:
  Object(simdjson::dom::object o, std::string_view path, Sink& sink)
      : obj_(o), path_(path), sink_(&sink) {}
  simdjson::dom::object obj_;
  std::string_view path_;
  Sink* sink_;
  std::vector<std::string_view> seen_;  // the keys asked for (literals)
};

// A parsed config file whose top level must be an object. The parser and
// the padded text live as long as the elements read from them.
//
// The parser's buffers (several times the file's size) are kept per thread
// and reused by the next Document, so the daemon does not allocate and
// fault them in on every reconcile; a Document made while another is alive
// gets a parser of its own.
class Document {
 public:
  Document(std::string_view text, Sink& sink);
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;
  Object* root() { return root_ ? &*root_ : nullptr; }

 private:
  simdjson::dom::parser parser_;
  simdjson::padded_string text_;
  std::optional<Object> root_;
};

// A string array element; reports a type error otherwise.
std::optional<std::string_view> as_string(element e, const std::string& path, Sink& sink);

// The entries an edit brought (json_layout.hpp's ArrayEdit): its fragment
// parsed, each object's span in it (stand-ins included), and how many are
// new; nullopt if the fragment is not an array of objects.
struct EditedEntries {
  simdjson::dom::array array;
  std::vector<Span> spans;
  size_t added = 0;
};
std::optional<EditedEntries> parse_edit(simdjson::dom::parser& parser, const ArrayEdit& edit);

}  // namespace netkeep::json
