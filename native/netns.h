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
// Unmounts (lazily) and unlinks runDir/name. Unlinking also detaches copies
// of the mount that other mount namespaces hold.
Value DeleteNamedNetns(const std::string& name, const std::string& runDir);
// [{name, path, valid, reason?, dev?, ino?}] for every entry of runDir.
Value ListNamedNetns(const std::string& runDir);
// {dev, ino} of an open namespace fd, after validating it again.
Value IdentifyNetnsFd(int fd);
// Throws unless fd is an nsfs file of a network namespace; `what` names it.
void ValidateNetnsFd(int fd, const std::string& what);
Value CloseFd(int fd);

}  // namespace pw
