#include "api/http.h"

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

Result<json> Request::jsonBody(size_t limit) const {
  TRY_ASSIGN(std::string raw, readAll(limit));
  if (trim(raw).empty()) return json(nullptr);
  try {
    return json::parse(raw);
  } catch (const std::exception& e) {
    return errorf(Code::InvalidArgument, "invalid JSON: {}", e.what());
  }
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

void Router::add(std::string method, const std::string& pattern, Handler h) {
  routes_.push_back(Route{std::move(method), std::regex(pattern, std::regex::ECMAScript | std::regex::optimize),
                          std::move(h)});
}

const Handler* Router::match(Request& req) const {
  for (const auto& r : routes_) {
    if (r.method != req.method && !(req.method == "HEAD" && r.method == "GET")) continue;
    std::smatch m;
    if (std::regex_match(req.path, m, r.re)) {
      req.params.clear();
      for (size_t i = 1; i < m.size(); i++) req.params.push_back(m[i].str());
      return &r.handler;
    }
  }
  return nullptr;
}

}  // namespace berth::api
