// Small files in one of pipewright's own directories (the ownership
// journal): written atomically and durably, removed, listed with their
// contents. Every path is resolved relative to a directory fd opened without
// following symbolic links (state_dir.h); files are opened with O_NOFOLLOW.
#pragma once

#include <string>

#include "value.h"

namespace pw {

// Writes data to a temporary file in the directory, fsyncs it, renames it
// over name and fsyncs the directory: a reader sees the old file or the new
// one, never a part, and after a crash the file is whole or absent.
Value WriteStateFile(const std::string& root, const std::string& sub, const std::string& name, const std::string& data);
// {removed}: unlinks name (false when it was not there) and fsyncs the directory.
Value RemoveStateFile(const std::string& root, const std::string& sub, const std::string& name);
// [{name, data}] for every regular file whose name starts with prefix; []
// when the directory does not exist (nothing is created).
Value ListStateFiles(const std::string& root, const std::string& sub, const std::string& prefix);
// {name, data, mtimeMs} for the regular file name, opened by its name (no
// listing of the directory); null when it or the directory is absent.
Value ReadStateFile(const std::string& root, const std::string& sub, const std::string& name);

}  // namespace pw
