// Writes a man page to stdout from a Markdown page of docs/ (netkeep-config(5)
// from docs/config.md), so the page and the docs have one source. Run at
// build time; not installed. Knows the Markdown the docs use and no more:
// `#`/`##`/`###` headings, paragraphs, fenced and indented code, "- "
// lists, two-column tables, `code`, **bold** and [links](target).
//
//   netkeep_man_md NAME SECTION "one-line description" "netkeep(8),nft(8)" < page.md
#include <fmt/format.h>
#include <netkeep_version.h>

#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Text as troff reads it literally: backslashes escaped, hyphens in code as
// ASCII minus, anything beyond ASCII as a groff Unicode escape.
std::string escape(std::string_view s, bool code) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-' && code) {
      out += "\\-";
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {  // UTF-8: two to four bytes
      const int n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
      uint32_t cp = c & (0x3f >> n);
      for (int k = 0; k < n && i + 1 < s.size(); k++) cp = cp << 6 | (s[++i] & 0x3f);
      out += fmt::format("\\[u{:04X}]", cp);
    }
  }
  return out;
}

// One line of running text: `code` and **bold** in bold, links as their text.
std::string inline_text(std::string_view s) {
  std::string out;
  bool bold = false;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '`') {
      size_t end = s.find('`', i + 1);
      if (end == std::string_view::npos) end = s.size();
      out += "\\fB" + escape(s.substr(i + 1, end - i - 1), true) + "\\fR";
      i = end + 1;
    } else if (s.substr(i, 2) == "**") {
      out += (bold = !bold) ? "\\fB" : "\\fR";
      i += 2;
    } else if (s[i] == '[' && s.find("](", i) != std::string_view::npos &&
               s.find(')', s.find("](", i)) != std::string_view::npos) {
      const size_t mid = s.find("](", i);
      out += inline_text(s.substr(i + 1, mid - i - 1));
      i = s.find(')', mid) + 1;
    } else {
      const size_t next = s.find_first_of("`*[", i + 1);
      out += escape(s.substr(i, next == std::string_view::npos ? s.size() - i : next - i), false);
      i = next == std::string_view::npos ? s.size() : next;
    }
  }
  return out;
}

// A line of output text: never taken for a request.
void text_line(const std::string& s) {
  if (!s.empty() && (s[0] == '.' || s[0] == '\'')) fmt::print("\\&");
  fmt::print("{}\n", s);
}

std::vector<std::string> cells(std::string_view row) {
  std::vector<std::string> out;
  row.remove_prefix(1);
  while (!row.empty()) {
    // A pipe inside `code` belongs to the cell.
    size_t end = 0;
    for (bool code = false; end < row.size() && (code || row[end] != '|'); end++)
      if (row[end] == '`') code = !code;
    std::string_view c = row.substr(0, end);
    while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
    while (!c.empty() && c.back() == ' ') c.remove_suffix(1);
    out.emplace_back(c);
    row.remove_prefix(std::min(end + 1, row.size()));
  }
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    fmt::print(stderr, "usage: netkeep_man_md NAME SECTION DESCRIPTION SEE-ALSO < page.md\n");
    return 2;
  }
  fmt::print(".TH {} {} \"\" \"netkeep {}\" \"File Formats\"\n", upper(argv[1]), argv[2],
             NETKEEP_VERSION);
  fmt::print(".SH NAME\n{} \\- {}\n.SH DESCRIPTION\n", argv[1], escape(argv[3], false));
  std::vector<std::string> lines;
  for (std::string l; std::getline(std::cin, l);) lines.push_back(l);
  bool table_header = false;
  for (size_t i = 0; i < lines.size(); i++) {
    const std::string_view l = lines[i];
    if (l.starts_with("# ")) {  // the page's title: NAME says it
      continue;
    } else if (l.starts_with("## ")) {
      fmt::print(".SH \"{}\"\n", escape(upper(l.substr(3)), false));
    } else if (l.starts_with("### ")) {
      fmt::print(".SS \"{}\"\n", escape(l.substr(4), false));
    } else if (l.starts_with("```")) {
      fmt::print(".PP\n.RS 4\n.nf\n");
      for (i++; i < lines.size() && !lines[i].starts_with("```"); i++)
        text_line(escape(lines[i], true));
      fmt::print(".fi\n.RE\n");
    } else if (l.starts_with("    ")) {
      fmt::print(".PP\n.RS 4\n.nf\n");
      for (; i < lines.size() && lines[i].starts_with("    "); i++)
        text_line(escape(std::string_view(lines[i]).substr(4), true));
      i--;
      fmt::print(".fi\n.RE\n");
    } else if (l.starts_with("|")) {
      // | key | meaning |: the first row names the columns, the second is
      // the rule; each later row is a tagged paragraph.
      const auto c = cells(l);
      if (!table_header) {
        table_header = true;
        i++;  // the |---| rule
        continue;
      }
      fmt::print(".TP\n");
      text_line(inline_text(c.empty() ? "" : c[0]));
      std::string rest;
      for (size_t k = 1; k < c.size(); k++) rest += (k > 1 ? "; " : "") + c[k];
      text_line(inline_text(rest));
    } else if (l.starts_with("- ")) {
      fmt::print(".IP \\(bu 2\n");
      text_line(inline_text(l.substr(2)));
      for (; i + 1 < lines.size() && lines[i + 1].starts_with("  ") &&
             !lines[i + 1].starts_with("    ");
           i++)
        text_line(inline_text(std::string_view(lines[i + 1]).substr(2)));
    } else if (l.empty()) {
      table_header = false;
    } else {
      // A paragraph: its lines until a blank line or another block.
      fmt::print(".PP\n");
      for (;; i++) {
        text_line(inline_text(lines[i]));
        if (i + 1 >= lines.size()) break;
        const std::string_view n = lines[i + 1];
        if (n.empty() || n.starts_with("#") || n.starts_with("```") || n.starts_with("|") ||
            n.starts_with("- ") || n.starts_with("    "))
          break;
      }
    }
  }
  // "netkeep(8),nft(8)": one reference a line, separated by commas.
  fmt::print(".SH \"SEE ALSO\"\n");
  std::string_view see(argv[4]);
  while (!see.empty()) {
    const size_t comma = std::min(see.find(','), see.size());
    const std::string_view ref = see.substr(0, comma);
    const size_t paren = std::min(ref.find('('), ref.size());
    fmt::print(".BR {} {}{}\n", ref.substr(0, paren), ref.substr(paren),
               comma < see.size() ? "," : "");
    see.remove_prefix(std::min(comma + 1, see.size()));
  }
  return 0;
}
