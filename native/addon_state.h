// The addon's exports for pipewright's state directory and the stores it
// shares with other programs: locks, state files, locked directories.
#pragma once

#include <napi.h>

namespace pw {

// Adds lockAcquire, lockAndWrite, lockAndRead, stateFileWrite/Remove/List/Read and lockedDirOpen/Apply to exports.
void RegisterStateExports(Napi::Env env, Napi::Object exports);

}  // namespace pw
