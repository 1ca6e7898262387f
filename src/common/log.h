#pragma once
// Minimal leveled logging to stderr: "time level message". The level is
// process-wide, set once by main() before threads start (the one piece of
// global state, like every logger's).

#include <fmt/core.h>

#include <string>
#include <string_view>

namespace berth::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3, Fatal = 4 };

void setLevel(Level l);
Level level();
// "debug", "info", "warn", "error", "fatal"; false if unknown.
bool parseLevel(std::string_view s, Level& out);
void write(Level l, std::string_view msg);

template <class... A>
void debug(fmt::format_string<A...> f, A&&... a) {
  if (level() <= Level::Debug) write(Level::Debug, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void info(fmt::format_string<A...> f, A&&... a) {
  if (level() <= Level::Info) write(Level::Info, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void warn(fmt::format_string<A...> f, A&&... a) {
  if (level() <= Level::Warn) write(Level::Warn, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void error(fmt::format_string<A...> f, A&&... a) {
  write(Level::Error, fmt::format(f, std::forward<A>(a)...));
}

}  // namespace berth::log
