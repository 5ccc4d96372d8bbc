#include "frames.h"

#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace pwfast {

int64_t monotonicMicros() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

bool writeAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

std::string encodeFrame(char kind, const std::string& payload) {
  uint32_t len = static_cast<uint32_t>(payload.size() + 1);
  std::string frame;
  frame.reserve(payload.size() + 5);
  frame.push_back(static_cast<char>(len >> 24));
  frame.push_back(static_cast<char>(len >> 16));
  frame.push_back(static_cast<char>(len >> 8));
  frame.push_back(static_cast<char>(len));
  frame.push_back(kind);
  frame += payload;
  return frame;
}

bool sendFrame(int fd, char kind, const std::string& payload) {
  const std::string frame = encodeFrame(kind, payload);
  return writeAll(fd, frame.data(), frame.size());
}

bool readExactly(int fd, char* p, size_t n, int timeoutMs) {
  while (n > 0) {
    if (timeoutMs >= 0) {
      struct pollfd pfd = {fd, POLLIN, 0};
      int r = poll(&pfd, 1, timeoutMs);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
    }
    ssize_t got = read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

bool readFrame(int fd, char& kind, std::string& payload, int timeoutMs) {
  unsigned char head[5];
  if (!readExactly(fd, reinterpret_cast<char*>(head), 5, timeoutMs)) return false;
  uint32_t len = (uint32_t(head[0]) << 24) | (uint32_t(head[1]) << 16) | (uint32_t(head[2]) << 8) | head[3];
  if (len < 1 || len > kMaxFrame) return false;
  kind = static_cast<char>(head[4]);
  payload.resize(len - 1);
  return len == 1 || readExactly(fd, &payload[0], len - 1, timeoutMs);
}

// The last look is taken after the deadline, so whatever the
// engine wrote before it is seen (the engine's side of the bargain).
bool readableBefore(int fd, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - monotonicMicros();
    int ms = left <= 0 ? 0 : static_cast<int>((left + 999) / 1000);
    struct pollfd pfd = {fd, POLLIN, 0};
    int r = poll(&pfd, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    if (r > 0) return true;
    if (r < 0 || ms == 0) return false;
  }
}

}  // namespace pwfast
