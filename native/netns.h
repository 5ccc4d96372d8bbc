// Network namespaces: create (anonymous or named, iproute2-compatible), open
// by path or PID with validation, identify, delete, list named. Plain C++ run
// on worker threads; anything that must change namespace does it on the
// namespace thread (ns_thread.h).
#pragma once

#include <memory>
#include <string>

#include "socket.h"
#include "value.h"

namespace pw {

// Every function returns {fd, dev, ino} for an opened namespace (the fd is
// owned by the caller) or throws NlException.
// With socketOut, also a netlink socket inside the new namespace (opened
// while a namespace thread is in there), for the first handle on it.
Value CreateNetns(const std::string& name, const std::string& runDir, std::shared_ptr<NlSocket>* socketOut);
Value OpenNetnsPath(const std::string& path);
Value OpenNetnsPid(int pid);
Value OpenNetnsSelf();
// (Named namespaces' directory, delete and list: netns_dir.h.)
// Throws unless fd is an nsfs file of a network namespace; `what` names it.
void ValidateNetnsFd(int fd, const std::string& what);
Value CloseFd(int fd);
// {fd, dev, ino} for an open namespace fd (taken over by the result).
Value DescribeNetnsFd(int fd);
// "tmpfs", "ext2/3/4", ... for a statfs magic; "mount", "uts", ... for a CLONE_NEW* type.
std::string FsName(long magic);
const char* NsTypeName(int type);

}  // namespace pw
