// Advisory locks (flock) on files in one of pipewright's own directories,
// taken on the addon's lock thread (executor.h, Lane::kLock): a wait for a
// lock never holds up the JS thread or any other work.
//
// Attaches take a namespace's lock shared, for their whole transaction; gc
// takes it exclusive for its final re-check-and-delete. A gate file in front
// gives the exclusive taker precedence: shared takers pass the gate (shared)
// before taking the lock and leave it at once, the exclusive taker holds the
// gate while it waits, so new shared takers queue behind it instead of
// keeping the lock busy forever. The kernel releases both when the fds are
// closed, also when the process dies.
//
// A holder may prune its lock file (unlink it, and the gate, while holding
// both): a taker granted a file that no longer has its name lets it go and
// takes the one that has the name now, so two takers never hold different
// files of one name.
#pragma once

#include <string>

#include "value.h"

namespace pw {

// {fd} (shared) or {fd, gateFd} (exclusive): close them to release. Blocks
// until granted, or with wait false fails at once with EWOULDBLOCK when
// someone else holds it (the engine's one-per-state-directory lock).
Value AcquireFileLock(const std::string& root, const std::string& sub, const std::string& name, bool exclusive, bool wait = true);

}  // namespace pw
