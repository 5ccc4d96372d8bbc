// pipewright-fast: the pipewright command without a Node start. It hands
// its command line to a running engine (`pipewright engine`, lib/ops/engine)
// over the engine's unix socket and prints the engine's answer; when no
// engine answers (no socket, a stale one, one not root's, no acceptance in
// time, a refusal) it execs the Node CLI with the same arguments, so the
// output and the exit code are the Node CLI's either way. The engine is
// never required.
//
// Framing (lib/ops/engine/protocol.ts is the other side): every frame is a
// 4-byte big-endian length, then one kind byte, then length-1 bytes.
//   client -> engine: 'q' request (JSON: v, argv, cwd, env, stdin), then
//                     'i' with stdin's bytes when the request said stdin;
//   engine -> client: 'a' accepted (JSON), 'r' refused / not run (JSON),
//                     'g' started, 'o' stdout bytes, 'e' stderr bytes,
//                     'x' exit (JSON {"exitCode": N}).
// Before 'g' nothing has run, so any failure falls back to the Node CLI;
// after it, a lost engine is reported (the outcome is unknown) with exit 1.
// The request carries a deadline on CLOCK_MONOTONIC: an engine runs it only
// if it wrote 'a' before then, and this client takes its last look for 'a'
// after it, so exactly one of them runs the command. An 'a' that does not
// say "committed" (an older engine) still wants 'y' first.
//
// It is also the CNI plugin: executed by a runtime (a CNI_* variable of the
// spec in the environment and no arguments, or `cni` as the only one, or under the name
// pipewright-cni) it sends the engine `cni` with the whole environment and
// the configuration on stdin, in a request of version 2 (the command reads
// that environment, not the engine's); without an engine it execs the Node
// plugin (dist/lib/cli/cni.js) as a runtime would have.
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "frames.h"

extern char** environ;

namespace {

using namespace pwfast;

constexpr int kProtocolVersion = 1;
// A request whose command reads `env` as its whole environment (the CNI plugin's calls).
constexpr int kProtocolVersionOwnEnv = 2;
constexpr int kDefaultAcceptMs = 2000;

bool debugging() {
  const char* d = getenv("PIPEWRIGHT_ENGINE_DEBUG");
  return d && *d;
}

void note(const std::string& why) {
  if (debugging()) fprintf(stderr, "pipewright-fast: %s\n", why.c_str());
}

// The package's root: this executable is <root>/build/Release/pipewright-fast.
std::string packageRoot() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string self(buf, static_cast<size_t>(n));
  for (int i = 0; i < 3; i++) {
    size_t slash = self.rfind('/');
    if (slash == std::string::npos) return ".";
    self.resize(slash);
  }
  return self.empty() ? "/" : self;
}

// How this process was asked to run: the pipewright command, or a CNI plugin call.
struct Mode {
  bool cni = false;
  // The Node program that does the same without an engine (under the package's dist/lib/cli/).
  const char* nodeEntry = "launch.js";
};

const char* baseName(const char* path) {
  const char* slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

// Whether a runtime set any of the spec's variables: a plugin call, even one missing CNI_COMMAND (answered with the spec's error, as the Node plugin does).
bool cniEnvironment() {
  static const char* const kNames[] = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"};
  for (const char* n : kNames)
    if (getenv(n)) return true;
  return false;
}

Mode modeOf(int argc, char** argv) {
  Mode m;
  const bool cniEnv = cniEnvironment();
  if (strcmp(baseName(argv[0]), "pipewright-cni") == 0 || (cniEnv && argc == 1)) {
    m.cni = true;
    m.nodeEntry = "cni.js";  // the pipewright-cni bin: it ignores its arguments, as the spec has runtimes pass none
  } else if (cniEnv && argc == 2 && strcmp(argv[1], "cni") == 0) {
    m.cni = true;  // `pipewright cni`: the Node CLI runs the same command
  }
  return m;
}

// Runs the Node CLI as `pipewright` would: node <root>/dist/lib/cli/launch.js ARGS
// (or the Node CNI plugin, cni.js, for a plugin call).
// stdin already read for the engine is handed over in a memfd.
[[noreturn]] void execNodeCli(const Mode& mode, int argc, char** argv, const std::string* consumedStdin) {
  if (consumedStdin) {
    int mfd = static_cast<int>(syscall(SYS_memfd_create, "pipewright-stdin", 0));
    if (mfd >= 0) {
      size_t off = 0;
      while (off < consumedStdin->size()) {
        ssize_t w = write(mfd, consumedStdin->data() + off, consumedStdin->size() - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += static_cast<size_t>(w);
      }
      lseek(mfd, 0, SEEK_SET);
      dup2(mfd, 0);
      close(mfd);
    }
  }
  signal(SIGPIPE, SIG_DFL);
  const char* node = getenv("PIPEWRIGHT_NODE");
  if (!node || !*node) node = "node";
  std::string script = packageRoot() + "/dist/lib/cli/" + mode.nodeEntry;
  std::vector<char*> args;
  args.push_back(const_cast<char*>(node));
  args.push_back(const_cast<char*>(script.c_str()));
  for (int i = 1; i < argc; i++) args.push_back(argv[i]);
  args.push_back(nullptr);
  execvp(node, args.data());
  fprintf(stderr, "pipewright: cannot run %s: %s\n", node, strerror(errno));
  _exit(1);
}

std::string socketPath() {
  const char* explicitPath = getenv("PIPEWRIGHT_ENGINE_SOCKET");
  if (explicitPath && *explicitPath) return explicitPath;
  const char* dir = getenv("PW_STATE_DIR");
  return std::string(dir && *dir ? dir : "/run/pipewright") + "/engine/socket";
}

void appendJsonString(std::string& out, const char* s) {
  out += '"';
  for (const unsigned char* p = reinterpret_cast<const unsigned char*>(s); *p; p++) {
    switch (*p) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (*p < 0x20) {
          char esc[8];
          snprintf(esc, sizeof esc, "\\u%04x", *p);
          out += esc;
        } else {
          out += static_cast<char>(*p);
        }
    }
  }
  out += '"';
}

// The variables a command may read; the engine keeps only those it allows.
bool forwarded(const char* entry) {
  static const char* const kPrefixes[] = {"PW_", "PIPEWRIGHT_", "DOCKER_", "CONTAINER_", "PATH=", "XDG_RUNTIME_DIR="};
  for (const char* p : kPrefixes)
    if (strncmp(entry, p, strlen(p)) == 0) return true;
  return false;
}

// A plugin call sends `cni` and the whole environment: a delegated plugin
// (IPAM) gets the environment the runtime gave, as the spec says.
std::string requestJson(const Mode& mode, int argc, char** argv, bool withStdin, int64_t deadline) {
  std::string j = "{\"v\":" + std::to_string(mode.cni ? kProtocolVersionOwnEnv : kProtocolVersion) + ",\"argv\":[";
  if (mode.cni) {
    j += "\"cni\"";
  } else {
    for (int i = 1; i < argc; i++) {
      if (i > 1) j += ',';
      appendJsonString(j, argv[i]);
    }
  }
  j += "],\"cwd\":";
  char cwd[PATH_MAX];
  appendJsonString(j, getcwd(cwd, sizeof cwd) ? cwd : "/");
  j += ",\"env\":{";
  bool first = true;
  for (char** e = environ; *e; e++) {
    const char* eq = strchr(*e, '=');
    if (!eq || (!mode.cni && !forwarded(*e))) continue;
    if (!first) j += ',';
    first = false;
    std::string name(*e, static_cast<size_t>(eq - *e));
    appendJsonString(j, name.c_str());
    j += ':';
    appendJsonString(j, eq + 1);
  }
  j += "},\"stdin\":";
  j += withStdin ? "true" : "false";
  j += ",\"deadline\":" + std::to_string(deadline) + "}";
  return j;
}

std::string readAllStdin() {
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

// Connects to the engine's socket, if it is one of root's and root answers on it; -1 otherwise.
int connectEngine() {
  std::string path = socketPath();
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return note("no engine socket at " + path), -1;
  if (!S_ISSOCK(st.st_mode)) return note(path + " is not a socket"), -1;
  if (st.st_uid != 0) return note(path + " is not root's"), -1;
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return note("socket path too long"), -1;
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    note(path + ": " + strerror(errno) + " (stale socket, or no engine)");
    close(fd);
    return -1;
  }
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != 0) {
    note("the process listening on " + path + " is not root's");
    close(fd);
    return -1;
  }
  return fd;
}

int acceptTimeoutMs() {
  const char* t = getenv("PIPEWRIGHT_ENGINE_TIMEOUT_MS");
  if (!t || !*t) return kDefaultAcceptMs;
  char* end = nullptr;
  long v = strtol(t, &end, 10);
  return (end && *end == '\0' && v >= 0 && v <= 600000) ? static_cast<int>(v) : kDefaultAcceptMs;
}

// The "exitCode" of an 'x' frame's JSON; -1 when it has none.
int exitCodeOf(const std::string& json) {
  size_t at = json.find("\"exitCode\"");
  if (at == std::string::npos) return -1;
  at = json.find(':', at);
  if (at == std::string::npos) return -1;
  char* end = nullptr;
  long v = strtol(json.c_str() + at + 1, &end, 10);
  return (v >= 0 && v <= 255) ? static_cast<int>(v) : -1;
}

}  // namespace

int main(int argc, char** argv) {
  const Mode mode = modeOf(argc, argv);
  const char* off = getenv("PIPEWRIGHT_NO_ENGINE");
  if (off && *off) execNodeCli(mode, argc, argv, nullptr);
  int fd = connectEngine();
  if (fd < 0) execNodeCli(mode, argc, argv, nullptr);
  // A reader that stops early (| head) is not our failure: output is dropped, the exit code stays the engine's.
  signal(SIGPIPE, SIG_IGN);

  bool withStdin = false;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "-") == 0) withStdin = true;
  std::string input;
  if (mode.cni) {
    // The configuration; a VERSION asked by hand at a terminal has none (the Node plugin does not wait for one either).
    const char* verb = getenv("CNI_COMMAND");
    withStdin = true;
    if (!(verb && strcmp(verb, "VERSION") == 0 && isatty(0))) input = readAllStdin();
  } else if (withStdin) {
    input = readAllStdin();
  }
  const std::string* consumed = withStdin ? &input : nullptr;

  const int timeoutMs = acceptTimeoutMs();
  const int64_t deadline = monotonicMicros() + static_cast<int64_t>(timeoutMs) * 1000;
  // The request and its stdin in one write (encodeFrame).
  std::string request = encodeFrame('q', requestJson(mode, argc, argv, withStdin, deadline));
  if (withStdin) request += encodeFrame('i', input);
  if (!writeAll(fd, request.data(), request.size())) {
    // The engine knows who asks as it accepts, and may refuse (and close)
    // before the request is all written: its reason is then already here.
    char kind = 0;
    std::string why;
    if (readableBefore(fd, monotonicMicros()) && readFrame(fd, kind, why, 0) && kind == 'r') note("the engine refused: " + why);
    else note("the engine closed the connection before taking the request");
    close(fd);
    execNodeCli(mode, argc, argv, consumed);
  }
  bool accepted = false, started = false, outOpen = true, errOpen = true;
  for (;;) {
    char kind = 0;
    std::string payload;
    if ((!accepted && !readableBefore(fd, deadline)) || !readFrame(fd, kind, payload, accepted ? -1 : timeoutMs)) {
      close(fd);
      if (!accepted) {
        // An engine that took the connection but says nothing is hung or stopped: worth saying even without debug.
        // It never runs this request now: it runs only what it accepted before the deadline, or what a client said 'y' to (lib/ops/engine/protocol.ts).
        fprintf(stderr, "pipewright: the engine on %s did not answer within %d ms; running the command without it\n", socketPath().c_str(), timeoutMs);
        execNodeCli(mode, argc, argv, consumed);
      }
      if (!started) {
        note("the engine went away before running the command");
        execNodeCli(mode, argc, argv, consumed);
      }
      fprintf(stderr, "pipewright: the engine stopped while running this command, so whether it did is unknown: an attach it left half-way is rolled back when an engine starts again (or by 'pipewright gc'); 'pipewright doctor' shows what is there\n");
      return 1;
    }
    switch (kind) {
      case 'a':
        // Committed: the engine runs the command from here, never this process (lib/ops/engine/protocol.ts).
        // An engine that says so decided by the deadline; an older one waits for 'y'.
        if (!accepted && payload.find("\"committed\":true") == std::string::npos && !sendFrame(fd, 'y', "")) {
          note("the engine went away before running the command");
          close(fd);
          execNodeCli(mode, argc, argv, consumed);
        }
        accepted = true;
        break;
      case 'g': accepted = started = true; break;
      case 'r':
        if (!started) {
          note("the engine refused: " + payload);
          close(fd);
          execNodeCli(mode, argc, argv, consumed);
        }
        break;
      case 'o':
        if (outOpen && !writeAll(1, payload.data(), payload.size())) outOpen = false;
        break;
      case 'e':
        if (errOpen && !writeAll(2, payload.data(), payload.size())) errOpen = false;
        break;
      case 'x': {
        int code = exitCodeOf(payload);
        close(fd);
        return code < 0 ? 1 : code;
      }
      default:
        break;  // a kind a newer engine added: not ours to act on
    }
  }
}
