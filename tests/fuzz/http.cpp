// libFuzzer target: an Engine API request from raw bytes, through the steps
// berthd's server takes (src/api/server.cpp): Boost.Beast's request parser
// with the server's header limit, the 414 path check, parseTarget
// (src/api/request_target.*: %-decoding, query, /vX.Y prefix,
// versionNumber), lower-cased headers, then Router::match over berthd's
// route templates (src/api/http.*: PathTemplate) and a handler that reads
// what real handlers read: q/qBool/qAll, filters= (parseFilters) and the
// JSON body (Request::jsonBody, bounded depth and size).
// Input: the bytes a client writes on the socket (request line, headers,
// body; chunked bodies too).
// Checks: no crash, no UB, no leak; a matched route's captures are
// non-empty.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/http.h"
#include "api/request_target.h"
#include "common/filters.h"
#include "common/util.h"

namespace {

namespace bhttp = boost::beast::http;
using namespace berth::api;

class StringBody : public BodyReader {
 public:
  explicit StringBody(std::string_view d) : d_(d) {}
  berth::Result<size_t> read(char* buf, size_t n) override {
    size_t k = std::min(n, d_.size());
    std::copy_n(d_.data(), k, buf);
    d_.remove_prefix(k);
    return k;
  }

 private:
  std::string_view d_;
};

class NullWriter : public ResponseWriter {
 public:
  void json(int, const nlohmann::json& b) override { (void)b.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); started_ = true; }
  void empty(int) override { started_ = true; }
  void text(int, std::string_view, std::string_view) override { started_ = true; }
  void setHeader(std::string, std::string) override {}
  std::unique_ptr<StreamWriter> stream(int, std::string_view) override { return nullptr; }
  std::unique_ptr<RawStream> hijack(std::string_view) override { return nullptr; }
  bool started() const override { return started_; }

 private:
  bool started_ = false;
};

// What berthd's routers register (src/api/*_router.cpp), as of this target.
const char* const kRoutes[][2] = {
    {"GET", "/_ping"}, {"HEAD", "/_ping"}, {"GET", "/version"}, {"GET", "/info"}, {"GET", "/events"},
    {"GET", "/system/df"}, {"POST", "/auth"}, {"POST", "/build"}, {"POST", "/build/prune"}, {"POST", "/commit"},
    {"GET", "/containers/json"}, {"POST", "/containers/create"}, {"POST", "/containers/prune"},
    {"GET", "/containers/([^/]+)/json"}, {"GET", "/containers/([^/]+)/logs"}, {"GET", "/containers/([^/]+)/top"},
    {"GET", "/containers/([^/]+)/archive"}, {"HEAD", "/containers/([^/]+)/archive"},
    {"PUT", "/containers/([^/]+)/archive"}, {"POST", "/containers/([^/]+)/attach"},
    {"POST", "/containers/([^/]+)/exec"}, {"POST", "/containers/([^/]+)/wait"}, {"DELETE", "/containers/([^/]+)"},
    {"DELETE", "/containers/(.+)"}, {"GET", "/exec/([^/]+)/json"}, {"POST", "/exec/([^/]+)/start"},
    {"GET", "/images/json"}, {"GET", "/images/search"}, {"GET", "/images/get"}, {"POST", "/images/create"},
    {"POST", "/images/load"}, {"POST", "/images/prune"}, {"GET", "/images/(.+)/json"},
    {"GET", "/images/(.+)/history"}, {"GET", "/images/(.+)/get"}, {"POST", "/images/(.+)/push"},
    {"POST", "/images/(.+)/tag"}, {"DELETE", "/images/(.+)"}, {"GET", "/networks/?"},
    {"GET", "/networks/([^/]+)"}, {"POST", "/networks/create"}, {"POST", "/networks/([^/]+)/connect"},
    {"DELETE", "/networks/([^/]+)"}, {"GET", "/volumes"}, {"GET", "/volumes/([^/]+)"},
    {"POST", "/volumes/create"}, {"DELETE", "/volumes/([^/]+)"}, {"GET", "/images/{name...}/x/{id}"},
};

void handle(Request& req, ResponseWriter& res) {
  (void)req.qBool("all");
  (void)req.q("since", "0");
  for (const auto& f : req.qAll("filters")) {
    auto parsed = berth::parseFilters(f);
    if (parsed) (void)berth::checkFilterKeys(*parsed, {"label", "name"});
  }
  (void)req.header("content-type");
  auto body = req.jsonBody();
  if (!body) {
    res.error(body.error());
    return;
  }
  res.json(200, *body);
}

const Router& router() {
  static const Router r = [] {
    Router r;
    for (const auto& [method, pattern] : kRoutes) r.add(method, pattern, handle);
    return r;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::beast::error_code ec;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty() && !parser.is_done()) {
    size_t used = 0;
    try {
      used = parser.put(boost::asio::buffer(in.data(), in.size()), ec);
    } catch (const std::length_error&) {
      return 0;  // a field over 64 KiB: the server answers 431 (server.cpp)
    }
    if (ec == bhttp::error::need_more) break;
    if (ec) return 0;  // malformed: the server answers 400
    if (used == 0) break;
    in.remove_prefix(used);
  }
  if (!parser.is_header_done()) return 0;
  if (!parser.is_done()) {
    parser.put_eof(ec);
    if (ec && !parser.is_done()) return 0;
  }
  auto& msg = parser.get();
  std::string_view target(msg.target().data(), msg.target().size());
  if (std::min(target.find('?'), target.size()) > 8192) return 0;  // 414 (server.h kMaxPathBytes)

  Request req;
  req.method = std::string(msg.method_string());
  parseTarget(target, req);
  (void)apiVersionNumber(req.apiVersion);
  for (auto& f : msg)
    req.headers[berth::toLower(std::string_view(f.name_string().data(), f.name_string().size()))] = std::string(f.value());
  StringBody body(msg.body());
  req.body = &body;
  NullWriter res;
  if (const Handler* h = router().match(req)) {
    for (const auto& p : req.params)
      if (p.empty()) std::abort();
    (*h)(req, res);
  }
  return 0;
}
