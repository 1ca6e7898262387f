#include "common/log.h"

#include <unistd.h>

#include <atomic>

#include "common/util.h"

namespace berth::log {

namespace {
std::atomic<int> gLevel{int(Level::Info)};
}

void setLevel(Level l) { gLevel = int(l); }
Level level() { return Level(gLevel.load(std::memory_order_relaxed)); }

bool parseLevel(std::string_view s, Level& out) {
  if (s == "debug") out = Level::Debug;
  else if (s == "info") out = Level::Info;
  else if (s == "warn" || s == "warning") out = Level::Warn;
  else if (s == "error") out = Level::Error;
  else if (s == "fatal") out = Level::Fatal;
  else return false;
  return true;
}

void write(Level l, std::string_view msg) {
  static const char* kNames[] = {"debug", "info", "warn", "error", "fatal"};
  std::string line = fmt::format("time=\"{}\" level={} msg=\"{}\"\n", formatRfc3339Nano(nowNanos()),
                                 kNames[int(l)], msg);
  ssize_t ignored = ::write(2, line.data(), line.size());
  (void)ignored;
}

}  // namespace berth::log
