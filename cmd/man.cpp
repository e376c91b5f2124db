// Writes netkeep(8) to stdout from the help texts (cmd/help.cpp), so the
// man page and --help cannot drift apart. Run at build time; not installed.
#include <fmt/format.h>
#include <netkeep_version.h>

#include <string>
#include <string_view>

#include "cmd/help.hpp"

namespace {

// Text as troff reads it literally: backslashes and hyphens escaped (so
// options copy as ASCII), and no line taken for a request.
std::string roff(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
    line_start = c == '\n';
  }
  return out;
}

// A block kept as written (the help texts are laid out for a terminal).
void block(std::string_view text) {
  fmt::print(".nf\n{}", roff(text));
  if (!text.ends_with('\n')) fmt::print("\n");
  fmt::print(".fi\n");
}

}  // namespace

int main() {
  using namespace netkeep;
  const std::string_view usage(kUsage);
  const size_t synopsis = usage.find("Usage:\n");
  const size_t options = usage.find("Options:\n");
  const size_t tail = usage.find("\n\n", options);
  fmt::print(".TH NETKEEP 8 \"\" \"netkeep {}\" \"System Administration\"\n", NETKEEP_VERSION);
  fmt::print(".SH NAME\nnetkeep \\- {}", roff(usage.substr(8, synopsis - 8)));
  fmt::print(".SH SYNOPSIS\n");
  block(usage.substr(synopsis + 7, options - synopsis - 8));
  fmt::print(".SH DESCRIPTION\n");
  block(usage.substr(tail + 2));
  fmt::print(".SH OPTIONS\n");
  block(usage.substr(options + 9, tail - options - 8));
  fmt::print(".SH COMMANDS\n");
  for (const char* c : {"plan", "apply", "show", "run", "doctor", "lease"}) {
    fmt::print(".SS {}\n", c);
    block(kCommandHelp.at(c));
  }
  fmt::print(".SH FILES\n");
  block(kFilesHelp);
  fmt::print(".SH EXIT STATUS\n");
  block(kExitHelp);
  fmt::print(
      ".SH SEE ALSO\n.BR netkeep-config (5),\n.BR ip (8),\n.BR nft (8),\n.BR systemd.service "
      "(5)\n");
  return 0;
}
