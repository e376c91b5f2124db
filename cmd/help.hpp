// The command line's help: `netkeep --help` and `netkeep COMMAND --help`.
#pragma once

#include <map>
#include <string>

namespace netkeep {

extern const char* const kUsage;
extern const std::map<std::string, std::string> kCommandHelp;

}  // namespace netkeep
