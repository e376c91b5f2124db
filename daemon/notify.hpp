// Telling others: SIGUSR1 to the daemons named by pidfiles after a reconcile
// that changed something (router7's dnsd, dyndns, ...), and systemd's
// READY=1 / WATCHDOG=1 over $NOTIFY_SOCKET (the datagram protocol, no libsystemd).
#pragma once

#include <string>
#include <vector>

namespace netkeep {

// Returns one warning per pidfile that is missing, unreadable or stale.
std::vector<std::string> notify_pidfiles(const std::vector<std::string>& paths);

// Sends `state` to $NOTIFY_SOCKET; false (and nothing sent) when unset.
bool sd_notify(const std::string& state);

// $WATCHDOG_USEC if it is set and meant for this process, else 0.
uint64_t watchdog_usec();

}  // namespace netkeep
