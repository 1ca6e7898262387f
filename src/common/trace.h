#pragma once
// The start timeline (issue 17): spans of one container's life, recorded by
// the CLI, berthd, berth-monitor and the container's init child, on one
// clock (CLOCK_MONOTONIC: the same in every process of the host, so spans
// of different processes line up).
//
// Switched on per process by main() before any thread starts (BERTH_TRACE
// in the environment of the CLI and of berthd, `--trace` for the monitor):
// the one piece of global state besides the log level. When it is off,
// `on()` is a load of a plain bool and nothing else happens: no clock read,
// no allocation, no syscall (Scope checks it first).
//
// Spans are kept under a key (a container id; "" for the CLI's own), at
// most kMaxKeys keys (the oldest key is dropped first) and kMaxSpans spans
// per key. Thread safety: every function may be called from any thread.
//
// Wire form, one span a line (JSON, the fields in this order):
//   {"k":"<key>","p":"<process>","n":"<phase>","s":<start ns>,"e":<end ns>}
// Process names are [a-z0-9._-]; phase names printable ASCII without '"'
// and '\\' (an API call's "POST /containers/{id}/start"); keys are hex ids.
// parseLines refuses anything else.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::trace {

struct Span {
  std::string key;      // container id, or "" for the recording process's own
  std::string process;  // "cli", "berthd", "monitor", "init"
  std::string name;     // the phase
  int64_t start = 0;    // CLOCK_MONOTONIC, ns
  int64_t end = 0;      // >= start; == start for an instant (first output byte)
  bool operator==(const Span&) const = default;
};

inline constexpr size_t kMaxKeys = 256;
inline constexpr size_t kMaxSpans = 128;

namespace detail {
extern bool gOn;
}

// Switches recording on for this process, naming it in its spans. Call once,
// from main(), before threads start.
void enable(std::string_view process);
// Also appends every span recorded or added from now on to the file at
// path (created 0600 if missing; the wire form, one write per span), for a
// daemon whose clients do not fetch their spans (the docker CLI).
Result<> appendTo(const std::string& path);
// Off again, the recorded spans dropped, the file closed (tests).
void disable();
// CLOCK_MONOTONIC at enable(); 0 when off.
int64_t enabledAt();
// Whether recording is on. Cheap: read this before doing any work for a span.
inline bool on() { return detail::gOn; }
// CLOCK_MONOTONIC in ns.
int64_t now();

// Records a span of this process under key (no-op when off). An end before
// start is clamped to start.
void record(std::string_view key, std::string_view name, int64_t start, int64_t end);
// Adds spans recorded elsewhere (another process's lines), under key.
void add(std::string_view key, std::vector<Span> spans);
// Removes and returns the spans under key, in recording order.
std::vector<Span> take(std::string_view key);
// The spans under key, left in place.
std::vector<Span> peek(std::string_view key);

// Records [construction, destruction) under key when tracing is on.
class Scope {
 public:
  Scope(std::string_view key, const char* name) : key_(key), name_(name), start_(on() ? now() : 0) {}
  ~Scope() {
    if (start_) record(key_, name_, start_, now());
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  std::string_view key_;
  const char* name_;
  int64_t start_;
};

// Consecutive phases under key: each call records [the previous call (or
// the construction), now) as that phase, and nothing when tracing was off
// at construction. With a prefix, a name loses a leading `replaces` and
// gets the prefix instead ("start: spec" -> "warm: spec").
class Phases {
 public:
  explicit Phases(std::string key, std::string prefix = {}, std::string replaces = {})
      : key_(std::move(key)), prefix_(std::move(prefix)), replaces_(std::move(replaces)), last_(on() ? now() : 0) {}
  void operator()(std::string_view name) {
    if (!last_) return;
    int64_t t = now();
    if (prefix_.empty()) {
      record(key_, name, last_, t);
    } else {
      if (!replaces_.empty() && name.starts_with(replaces_)) name.remove_prefix(replaces_.size());
      record(key_, prefix_ + std::string(name), last_, t);
    }
    last_ = t;
  }
  // The end of the last phase (the construction before the first); 0 when off.
  int64_t last() const { return last_; }
  Phases(const Phases&) = delete;
  Phases& operator=(const Phases&) = delete;

 private:
  std::string key_, prefix_, replaces_;
  int64_t last_;
};

// One line per span (the wire form above), each ending in '\n'.
std::string toLines(const std::vector<Span>& spans);
// The wire form back; InvalidArgument names the first bad line.
Result<std::vector<Span>> parseLines(std::string_view text);
// Spans of several sources in one timeline: ordered by start, then by end
// descending (an enclosing span before what it encloses), then process and
// name, so equal inputs give equal output.
std::vector<Span> merge(std::vector<Span> spans);
// The human form: a header, then per span "process phase start+ms dur ms",
// offsets from the earliest start; empty input gives "".
std::string format(const std::vector<Span>& merged);

}  // namespace berth::trace
