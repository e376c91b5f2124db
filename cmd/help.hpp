// The command line's help: `netkeep --help` and `netkeep COMMAND --help`,
// and with two more sections, the one source of the man page netkeep(8)
// (cmd/man.cpp writes it at build time).
#pragma once

#include <map>
#include <string>

namespace netkeep {

extern const char* const kUsage;
extern const std::map<std::string, std::string> kCommandHelp;
// Sections of the man page beyond the help texts (cmd/man.cpp).
extern const char* const kFilesHelp;
extern const char* const kExitHelp;

}  // namespace netkeep
