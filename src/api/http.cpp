#include "api/http.h"

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "common/json_limits.h"
#include "common/number.h"
#include "common/log.h"
#include "common/util.h"

namespace berth::api {

std::string Request::q(const std::string& key, const std::string& def) const {
  auto it = query.find(key);
  return it == query.end() ? def : it->second;
}

bool Request::qBool(const std::string& key, bool def) const {
  auto it = query.find(key);
  if (it == query.end()) return def;
  return parseBool(it->second);
}

std::vector<std::string> Request::qAll(const std::string& key) const {
  std::vector<std::string> out;
  auto [b, e] = query.equal_range(key);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

std::string Request::header(const std::string& lowerKey) const {
  auto it = headers.find(lowerKey);
  return it == headers.end() ? "" : it->second;
}

Result<std::string> Request::readAll(size_t limit) const {
  std::string out;
  char buf[65536];
  for (;;) {
    TRY_ASSIGN(size_t n, body->read(buf, sizeof buf));
    if (n == 0) break;
    out.append(buf, n);
    if (out.size() > limit) return makeError(Code::InvalidArgument, "request body too large");
  }
  return out;
}

int apiVersionNumber(std::string_view v) {
  auto dot = v.find('.');
  if (dot == std::string_view::npos) return -1;
  auto major = parseNumber<int>(v.substr(0, dot));
  auto minor = parseNumber<int>(v.substr(dot + 1));
  if (!major || !minor || *major < 0 || *minor < 0 || *minor > 99) return -1;
  // Saturates: "99999999.1" is a (far too new) version, not an int overflow.
  int64_t n = int64_t(*major) * 100 + *minor;
  return n > INT_MAX ? INT_MAX : int(n);
}

int Request::version() const {
  if (apiVersion.empty()) return apiVersionNumber(kApiVersion);
  return apiVersionNumber(apiVersion);
}

Result<json> Request::jsonBody() const {
  auto raw = readAll(maxJsonBody);
  if (!raw) {
    if (raw.error().message == "request body too large")
      return errorf(Code::InvalidArgument,
                    "request body too large: a JSON body may hold at most {} bytes (api-max-json-body-bytes)",
                    maxJsonBody);
    return std::unexpected(raw.error());
  }
  if (trim(*raw).empty()) return json(nullptr);
  auto j = parseJsonBounded(*raw);
  if (!j) return errorf(Code::InvalidArgument, "invalid JSON: {}", j.error().message);
  return j;
}

void ResponseWriter::error(const Error& err) {
  int status = httpStatus(err.code);
  if (status == 304) {
    empty(304);
    return;
  }
  nlohmann::json body{{"message", err.message}};
  if (err.stage != 0) {
    body["stage"] = err.stage;
    body["errno"] = err.err;
  }
  json(status, body);
}

Result<PathTemplate> PathTemplate::parse(std::string_view pattern) {
  if (pattern.empty() || pattern[0] != '/') return errorf(Code::InvalidArgument, "route {:?}: must start with /", pattern);
  PathTemplate t;
  // The regex spellings of the same two segment kinds, and "/?" at the end
  // for an optional trailing slash ("/networks/?").
  std::string spelled(pattern);
  if (spelled.size() > 2 && spelled.ends_with("/?")) {
    spelled.resize(spelled.size() - 2);
    t.optionalSlash_ = true;
  }
  for (size_t at; (at = spelled.find("([^/]+)")) != std::string::npos;) spelled.replace(at, 7, "{_}");
  for (size_t at; (at = spelled.find("(.+)")) != std::string::npos;) spelled.replace(at, 4, "{_...}");
  auto parts = split(std::string_view(spelled).substr(1), '/');
  for (auto& part : parts) {
    Segment seg{Segment::Literal, ""};
    if ((part.size() > 2 && part.front() == '{' && part.back() == '}' &&
                              part.find("...") == std::string::npos)) {
      seg.kind = Segment::One;
    } else if ((part.size() > 5 && part.front() == '{' && part.ends_with("...}"))) {
      seg.kind = Segment::Rest;
      if (t.rest_ >= 0) return errorf(Code::InvalidArgument, "route {:?}: more than one {{name...}}", pattern);
      t.rest_ = int(t.segments_.size());
    } else if (part.find_first_of("{}()[]*+?|\\^$") != std::string::npos) {
      return errorf(Code::InvalidArgument, "route {:?}: segment {:?} is neither a literal nor {{name}}", pattern, part);
    } else {
      seg.text = part;
    }
    t.segments_.push_back(std::move(seg));
  }
  return t;
}

bool PathTemplate::match(std::string_view path, std::vector<std::string>& params) const {
  if (optionalSlash_ && path.size() > 1 && path.back() == '/' && matchExact(path.substr(0, path.size() - 1), params))
    return true;
  return matchExact(path, params);
}

bool PathTemplate::matchExact(std::string_view path, std::vector<std::string>& params) const {
  if (path.empty() || path[0] != '/') return false;
  path.remove_prefix(1);
  // One segment of a template against the next path segment, which ends at
  // the next '/' (or the end).
  auto one = [&params](const Segment& seg, std::string_view s) {
    if (seg.kind == Segment::Literal) return s == seg.text;
    if (s.empty()) return false;
    params.emplace_back(s);
    return true;
  };
  params.clear();
  size_t nseg = segments_.size();
  size_t head = rest_ < 0 ? nseg : size_t(rest_);
  size_t pos = 0;  // start of the next unmatched path segment
  for (size_t i = 0; i < head; i++) {
    if (pos > path.size()) return false;
    size_t slash = path.find('/', pos);
    size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (!one(segments_[i], path.substr(pos, end - pos))) return false;
    pos = end + 1;  // past the '/', or past the end when this was the last segment
  }
  if (rest_ < 0) return pos == path.size() + 1;
  // The segments after {name...} from the right; what is left between is the rest.
  if (pos > path.size()) return false;
  std::string_view middle = path.substr(pos);
  std::vector<std::string> tail;
  for (size_t i = nseg; i-- > head + 1;) {
    size_t slash = middle.rfind('/');
    if (slash == std::string_view::npos) return false;  // the rest must keep one segment
    std::string_view s = middle.substr(slash + 1);
    const Segment& seg = segments_[i];
    if (seg.kind == Segment::Literal ? s != seg.text : s.empty()) return false;
    if (seg.kind == Segment::One) tail.emplace_back(s);
    middle = middle.substr(0, slash);
  }
  if (middle.empty()) return false;
  params.emplace_back(middle);
  params.insert(params.end(), tail.rbegin(), tail.rend());
  return true;
}

void Router::add(std::string method, const std::string& pattern, Handler h) {
  auto t = PathTemplate::parse(pattern);
  if (!t) {
    // Route tables are fixed at start-up: a bad template is a bug in berthd.
    fmt::print(stderr, "berthd: {}\n", t.error().message);
    std::abort();
  }
  std::string display = pattern;
  for (size_t at; (at = display.find("([^/]+)")) != std::string::npos;) display.replace(at, 7, "{id}");
  for (size_t at; (at = display.find("(.+)")) != std::string::npos;) display.replace(at, 4, "{name...}");
  routes_.push_back(Route{std::move(method), std::move(*t), std::move(h), std::move(display)});
}

const Handler* Router::match(Request& req) const {
  std::vector<std::string> params;
  for (const auto& r : routes_) {
    if (r.method != req.method && !(req.method == "HEAD" && r.method == "GET")) continue;
    if (r.path.match(req.path, params)) {
      req.params = std::move(params);
      req.route = r.display;
      return &r.handler;
    }
  }
  return nullptr;
}

}  // namespace berth::api
