// The engine's framing as the native client speaks it (the other side is
// lib/ops/engine/protocol.ts): every frame is a 4-byte big-endian length,
// then one kind byte, then length-1 bytes; and the clock a request's
// deadline is on.
#pragma once

#include <cstdint>
#include <string>

namespace pwfast {

constexpr uint32_t kMaxFrame = 64u << 20;

// CLOCK_MONOTONIC in microseconds: the engine reads the same clock (protocol.ts).
int64_t monotonicMicros();

bool writeAll(int fd, const char* p, size_t n);
// A frame's bytes. Frames sent together go in one write: each write wakes
// the engine, which would otherwise read a request in pieces.
std::string encodeFrame(char kind, const std::string& payload);
bool sendFrame(int fd, char kind, const std::string& payload);
// Reads exactly n bytes; waits at most timeoutMs for each chunk (-1: no limit).
bool readExactly(int fd, char* p, size_t n, int timeoutMs);
// One whole frame; false on a closed connection, a timeout or a frame no engine sends.
bool readFrame(int fd, char& kind, std::string& payload, int timeoutMs);
// Waits until fd has something to read or the deadline (CLOCK_MONOTONIC, µs)
// has passed; the last look is taken after the deadline.
bool readableBefore(int fd, int64_t deadline);

}  // namespace pwfast
