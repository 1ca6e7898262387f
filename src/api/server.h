#pragma once
// The Engine API's HTTP/1.1 server (Boost.Beast parser, one thread per
// connection) on unix sockets and TCP (plain or TLS). Implements
// Request/ResponseWriter over a connection: keep-alive, chunked request
// bodies, chunked streamed responses, connection hijack (101 UPGRADED).
// Version prefix handling: /v1.NN/... is stripped; NN above kMaxApiVersion
// gets Docker's 400.
//
// Limits against hostile or broken clients (ServerLimits, docs/security.md):
// a header over maxHeaderBytes is answered 431, a path over kMaxPathBytes
// 414, a connection past maxConnections 503; a request header that is not
// complete within headerTimeoutMs of its first byte (TLS handshake included)
// and a connection idle between requests for idleTimeoutMs are closed. Only
// the reading of a request's head is timed: a hijacked or streamed
// response (attach, exec, events, logs -f) runs as long as it needs.

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "api/http.h"
#include "api/tls.h"
#include "common/result.h"

namespace berth::api {

inline constexpr const char* kServerVersion = "0.1.0";

// A path (the request target before '?') longer than this is answered 414.
inline constexpr size_t kMaxPathBytes = 8192;

struct ServerLimits {
  size_t maxHeaderBytes = 1 << 20;  // request line + headers (Go's http.DefaultMaxHeaderBytes)
  size_t maxJsonBodyBytes = Request::kDefaultMaxJsonBody;
  int headerTimeoutMs = 30'000;   // first byte of a request (or the TCP accept) to the end of its head
  int idleTimeoutMs = 120'000;    // between requests on a keep-alive connection
  int maxConnections = 1000;      // open connections, streams and hijacked ones included
};

class Server {
 public:
  explicit Server(const Router& router, ServerLimits limits = {});
  ~Server();
  // Binds and listens on a unix socket path (replacing a stale socket file),
  // mode 0660, owned by root:gid when gid is given.
  Result<> listenUnix(const std::string& path, std::optional<gid_t> gid = std::nullopt);
  // Binds and listens on "HOST:PORT" ("[::1]:2376"; port 0 picks one).
  // With tls, every connection is TLS. Returns the bound port.
  Result<int> listenTcp(const std::string& hostPort, std::shared_ptr<TlsContext> tls);
  // Accepts on every listener until stop(); each connection runs on its own thread.
  void run();
  // Stops accepting and shuts down idle connections (thread safe).
  void stop();
  // Requests in flight and the time (unix nanos) the last one ended; for
  // idle-time housekeeping.
  int activeRequests() const;
  int64_t lastActivity() const;
  // Open connections (for tests and the connection cap).
  int openConnections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::api
