#include "common/trace.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <fmt/core.h>
#include <mutex>
#include <tuple>

#include "common/number.h"

namespace berth::trace {

namespace detail {
bool gOn = false;
}

namespace {

struct Store {
  std::mutex mu;
  std::string process;
  int fileFd = -1;  // appendTo's file, or -1
  // Keys in first-recorded order (oldest first) with their spans.
  std::deque<std::pair<std::string, std::vector<Span>>> keys;

  std::vector<Span>* findLocked(std::string_view key) {
    for (auto& [k, v] : keys)
      if (k == key) return &v;
    return nullptr;
  }
  std::vector<Span>& getLocked(std::string_view key) {
    if (auto* v = findLocked(key)) return *v;
    if (keys.size() >= kMaxKeys) keys.pop_front();
    keys.emplace_back(std::string(key), std::vector<Span>{});
    return keys.back().second;
  }
};

// Constructed on first use only: a process that never traces never builds it.
Store& store() {
  static Store s;
  return s;
}

bool validProcess(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

bool validName(std::string_view s) {
  if (s.empty() || s.size() > 96) return false;
  for (char c : s)
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  return true;
}

int64_t gEnabledAt = 0;

bool validKey(std::string_view s) {
  if (s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'f') || (c >= '0' && c <= '9'))) return false;
  return true;
}

// Reads `"field":"value"` (string) at pos; advances pos past it.
bool readString(std::string_view line, size_t& pos, std::string_view field, std::string& out) {
  std::string head = fmt::format("\"{}\":\"", field);
  if (line.substr(pos, head.size()) != head) return false;
  pos += head.size();
  size_t q = line.find('"', pos);
  if (q == std::string_view::npos) return false;
  out.assign(line.substr(pos, q - pos));
  pos = q + 1;
  return true;
}

bool readInt(std::string_view line, size_t& pos, std::string_view field, int64_t& out) {
  std::string head = fmt::format("\"{}\":", field);
  if (line.substr(pos, head.size()) != head) return false;
  pos += head.size();
  size_t e = pos;
  while (e < line.size() && line[e] >= '0' && line[e] <= '9') e++;
  auto v = parseNumber<int64_t>(line.substr(pos, e - pos));
  if (!v) return false;
  out = *v;
  pos = e;
  return true;
}

bool expect(std::string_view line, size_t& pos, char c) {
  if (pos >= line.size() || line[pos] != c) return false;
  pos++;
  return true;
}

}  // namespace

int64_t enabledAt() { return on() ? gEnabledAt : 0; }

void enable(std::string_view process) {
  gEnabledAt = now();
  store().process = std::string(process);
  detail::gOn = true;
}

void disable() {
  detail::gOn = false;
  Store& s = store();
  std::lock_guard lk(s.mu);
  s.keys.clear();
  if (s.fileFd >= 0) ::close(s.fileFd);
  s.fileFd = -1;
}

Result<> appendTo(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return sysError(errno, "open trace file {}", path);
  Store& s = store();
  std::lock_guard lk(s.mu);
  if (s.fileFd >= 0) ::close(s.fileFd);
  s.fileFd = fd;
  return {};
}

int64_t now() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void record(std::string_view key, std::string_view name, int64_t start, int64_t end) {
  if (!on()) return;
  Store& s = store();
  std::lock_guard lk(s.mu);
  auto& v = s.getLocked(key);
  if (v.size() >= kMaxSpans) return;
  v.push_back(Span{std::string(key), s.process, std::string(name), start, std::max(start, end)});
  if (s.fileFd >= 0) {
    std::string line = toLines({v.back()});
    (void)!::write(s.fileFd, line.data(), line.size());
  }
}

void add(std::string_view key, std::vector<Span> spans) {
  if (!on() || spans.empty()) return;
  Store& s = store();
  std::lock_guard lk(s.mu);
  auto& v = s.getLocked(key);
  for (auto& sp : spans) {
    if (v.size() >= kMaxSpans) break;
    sp.key = std::string(key);
    v.push_back(std::move(sp));
    if (s.fileFd >= 0) {
      std::string line = toLines({v.back()});
      (void)!::write(s.fileFd, line.data(), line.size());
    }
  }
}

std::vector<Span> take(std::string_view key) {
  if (!on()) return {};
  Store& s = store();
  std::lock_guard lk(s.mu);
  for (auto it = s.keys.begin(); it != s.keys.end(); ++it)
    if (it->first == key) {
      auto v = std::move(it->second);
      s.keys.erase(it);
      return v;
    }
  return {};
}

std::vector<Span> peek(std::string_view key) {
  if (!on()) return {};
  Store& s = store();
  std::lock_guard lk(s.mu);
  auto* v = s.findLocked(key);
  return v ? *v : std::vector<Span>{};
}

std::string toLines(const std::vector<Span>& spans) {
  std::string out;
  for (const auto& s : spans)
    out += fmt::format(R"({{"k":"{}","p":"{}","n":"{}","s":{},"e":{}}})"
                       "\n",
                       s.key, s.process, s.name, s.start, s.end);
  return out;
}

Result<std::vector<Span>> parseLines(std::string_view text) {
  std::vector<Span> out;
  size_t lineNo = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    lineNo++;
    if (line.empty()) continue;
    Span s;
    size_t pos = 0;
    bool ok = expect(line, pos, '{') && readString(line, pos, "k", s.key) && expect(line, pos, ',') &&
              readString(line, pos, "p", s.process) && expect(line, pos, ',') &&
              readString(line, pos, "n", s.name) && expect(line, pos, ',') && readInt(line, pos, "s", s.start) &&
              expect(line, pos, ',') && readInt(line, pos, "e", s.end) && expect(line, pos, '}') &&
              pos == line.size();
    if (!ok || !validKey(s.key) || !validProcess(s.process) || !validName(s.name) || s.end < s.start)
      return errorf(Code::InvalidArgument, "trace line {}: not a span: {}", lineNo, line.substr(0, 200));
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<Span> merge(std::vector<Span> spans) {
  std::stable_sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return std::tie(a.start, b.end, a.process, a.name) < std::tie(b.start, a.end, b.process, b.name);
  });
  return spans;
}

std::string format(const std::vector<Span>& merged) {
  if (merged.empty()) return "";
  int64_t t0 = merged.front().start;
  for (const auto& s : merged) t0 = std::min(t0, s.start);
  std::string out = fmt::format("{:<8} {:<28} {:>9} {:>9}\n", "PROCESS", "PHASE", "START ms", "DUR ms");
  for (const auto& s : merged)
    out += fmt::format("{:<8} {:<28} {:>9.3f} {:>9.3f}\n", s.process, s.name, double(s.start - t0) / 1e6,
                       double(s.end - s.start) / 1e6);
  return out;
}

}  // namespace berth::trace
