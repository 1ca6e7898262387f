#include "api/request_target.h"

#include <cctype>
#include <climits>
#include <cstdint>

#include "common/number.h"
#include "common/util.h"

namespace berth::api {

namespace {

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string urlDecode(std::string_view s, bool plusIsSpace) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out.push_back(char(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
      i += 2;
    } else if (plusIsSpace && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool parseTarget(std::string_view target, Request& req) {
  auto qpos = target.find('?');
  std::string path(urlDecode(target.substr(0, qpos), false));
  bool clean = path.find('\0') == std::string::npos;
  if (qpos != std::string_view::npos) {
    for (auto& kv : split(target.substr(qpos + 1), '&')) {
      if (kv.empty()) continue;
      auto eq = kv.find('=');
      std::string k = urlDecode(kv.substr(0, eq), true);
      std::string v = eq == std::string::npos ? "" : urlDecode(std::string_view(kv).substr(eq + 1), true);
      if (k.find('\0') != std::string::npos || v.find('\0') != std::string::npos) clean = false;
      req.query.emplace(std::move(k), std::move(v));
    }
  }
  // /v1.41/containers/json -> apiVersion 1.41, path /containers/json
  if (path.size() > 2 && path[0] == '/' && path[1] == 'v' && isdigit((unsigned char)path[2])) {
    auto slash = path.find('/', 1);
    std::string ver = path.substr(2, slash == std::string::npos ? std::string::npos : slash - 2);
    if (apiVersionNumber(ver) > 0) {
      req.apiVersion = ver;
      path = slash == std::string::npos ? "/" : path.substr(slash);
    }
  }
  req.path = std::move(path);
  return clean;
}

}  // namespace berth::api
