#pragma once
// The seam between the HTTP server and the API routers (STYLE.md 3).
// Routers see Request / ResponseWriter only; the Beast server implements
// them over a socket, tests implement them in memory.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error_status.h"
#include "common/filters.h"
#include "common/io.h"
#include "common/result.h"

namespace berth::api {

using json = nlohmann::json;

// The newest Engine API version berthd serves (the /_ping and /version
// ApiVersion; the docker CLI 28 negotiates down to it) and the oldest.
// What differs between versions is gated on Request::version()
// (docs/compat.md, "API versions").
inline constexpr const char* kApiVersion = "1.50";
inline constexpr const char* kMinApiVersion = "1.24";

// The Content-Type of a hijacked or streamed stdio stream: dockerd sends the
// multiplexed one from API 1.42 when the stream carries stdcopy frames.
inline constexpr const char* kRawStreamType = "application/vnd.docker.raw-stream";
inline constexpr const char* kMultiplexedStreamType = "application/vnd.docker.multiplexed-stream";

// "1.44" -> 144; -1 when malformed.
int apiVersionNumber(std::string_view v);

struct Request {
  std::string method;             // "GET", "POST", ...
  std::string path;               // without the /v1.NN prefix, not decoded beyond %XX
  std::string apiVersion;         // "1.41" when the path had a prefix, else ""
  // The request's API version as a number (apiVersionNumber); a path without
  // /vX.Y counts as the newest, as in dockerd.
  int version() const;
  bool versionBelow(int v) const { return version() < v; }
  std::multimap<std::string, std::string> query;  // decoded; repeated keys kept
  std::map<std::string, std::string> headers;     // keys lowercased
  std::vector<std::string> params;                // the route's {name} segments, in order
  BodyReader* body = nullptr;                     // never null in handlers
  // The matched route's template as the trace names it ("/containers/{id}/start";
  // Router::match sets it, empty when nothing matched). Points into the Router.
  std::string_view route;
  // The container id this request's trace spans go under (common/trace.h;
  // "" for none). Only while trace::on(): the server sets it from a route's
  // full-length hex {id}, handlers that resolve an id (create, attach,
  // wait) set it before they answer.
  std::string traceKey;

  // First value of a query key, or def.
  std::string q(const std::string& key, const std::string& def = "") const;
  bool qBool(const std::string& key, bool def = false) const;
  std::vector<std::string> qAll(const std::string& key) const;
  bool has(const std::string& key) const { return query.count(key) > 0; }
  std::string header(const std::string& lowerKey) const;
  // Limits the server applies to JSON bodies (daemon.json
  // api-max-json-body-bytes; docs/security.md). Tests keep the defaults.
  size_t maxJsonBody = kDefaultMaxJsonBody;
  static constexpr size_t kDefaultMaxJsonBody = 4 << 20;

  // Reads the whole body (at most maxJsonBody bytes) and parses JSON. Empty
  // body -> null json. Malformed JSON, a body over the limit or one nested
  // deeper than kMaxJsonDepth -> InvalidArgument (400).
  Result<json> jsonBody() const;
  // jsonBody() handed to a body decoder (api/container_decode.h,
  // api/request_decode.h), moved: a decoder taking its json by value gets
  // it without a copy of the tree. Returns the decoder's Result.
  template <class Decode>
  auto decodeBody(Decode&& decode) const -> decltype(decode(std::declval<json&&>())) {
    auto body = jsonBody();
    if (!body) return std::unexpected(body.error());
    return decode(std::move(*body));
  }
  Result<std::string> readAll(size_t limit = 16 << 20) const;
};

class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  virtual void json(int status, const nlohmann::json& body) = 0;
  // Empty body with Content-Length: 0 (201 tag, 200 resize) or no body (204/304).
  virtual void empty(int status) = 0;
  virtual void text(int status, std::string_view body, std::string_view contentType) = 0;
  // Extra header for the next json/empty/text/stream call.
  virtual void setHeader(std::string key, std::string value) = 0;
  // Sends headers now (chunked); the returned writer streams the body.
  virtual std::unique_ptr<StreamWriter> stream(int status, std::string_view contentType) = 0;
  // Answers 101 UPGRADED (or 200 when the client sent no Upgrade) with
  // contentType and hands over the socket.
  virtual std::unique_ptr<RawStream> hijack(std::string_view contentType = kRawStreamType) = 0;
  // True once any of the above has been called.
  virtual bool started() const = 0;

  // Docker's error body {"message": ...} with the status for err.code. A
  // process start failure (err.stage != 0) adds berth's fields "stage" (a
  // runtime::Stage value) and "errno"; the docker CLI ignores them, the
  // berth CLI picks exit code 126/127 from them (docs/compat.md).
  void error(const Error& err);
};

// The one map from error code to HTTP status (STYLE.md 7) lives in common/.
using berth::httpStatus;

using Handler = std::function<void(Request&, ResponseWriter&)>;

// A route's path template, matched segment by segment (no regex, no
// backtracking: linear in the path's length whatever the input).
//   /containers/{id}/json   {id} is one non-empty segment (no '/')
//   /images/{name...}/json  {name...} is one or more segments ('/' kept),
//                           greedy: /images/a/json/json gives "a/json"
// At most one {name...} per template. The regex spellings the routers used
// before, "([^/]+)" and "(.+)" as a whole segment, mean {x} and {x...}; a
// final "/?" makes a trailing slash optional ("/networks/?").
class PathTemplate {
 public:
  // InvalidArgument for anything else that looks like a pattern.
  static Result<PathTemplate> parse(std::string_view pattern);
  // True and the captures in order when path matches the whole template.
  bool match(std::string_view path, std::vector<std::string>& params) const;

 private:
  struct Segment {
    enum Kind { Literal, One, Rest } kind;
    std::string text;  // Literal
  };
  bool matchExact(std::string_view path, std::vector<std::string>& params) const;

  std::vector<Segment> segments_;
  int rest_ = -1;  // index of the Rest segment, or -1
  bool optionalSlash_ = false;
};

// Routes by method and a path template over the unversioned path.
class Router {
 public:
  // A malformed template is a programming error: berthd logs it and aborts
  // at start-up (the route tables are built before serving).
  void add(std::string method, const std::string& pattern, Handler h);
  // Finds the handler and fills req.params; nullptr when nothing matches.
  const Handler* match(Request& req) const;

 private:
  struct Route {
    std::string method;
    PathTemplate path;
    Handler handler;
    std::string display;  // the pattern with {id} / {name...} for its captures
  };
  std::vector<Route> routes_;
};

// The stream and filter types live in common/ (services use them without HTTP).
using berth::BodyReader;
using berth::RawStream;
using berth::StreamWriter;
using berth::Filters;
using berth::parseFilters;
using berth::checkFilterKeys;

}  // namespace berth::api
