#pragma once
// The Engine API's HTTP/1.1 server on a unix socket (Boost.Beast parser,
// one thread per connection). Implements Request/ResponseWriter over the
// socket: keep-alive, chunked request bodies, chunked streamed responses,
// connection hijack (101 UPGRADED). Version prefix handling: /v1.NN/... is
// stripped; NN above kMaxApiVersion gets Docker's 400.

#include <atomic>
#include <memory>
#include <string>

#include "api/http.h"
#include "common/result.h"

namespace berth::api {

inline constexpr const char* kApiVersion = "1.41";
inline constexpr const char* kMinApiVersion = "1.24";
inline constexpr const char* kServerVersion = "0.1.0";

class Server {
 public:
  explicit Server(const Router& router);
  ~Server();
  // Binds and listens on a unix socket path (replacing a stale socket file).
  // mode 0660; group `berth` when it exists.
  Result<> listenUnix(const std::string& path);
  // Accepts until stop(); each connection runs on its own thread.
  void run();
  // Stops accepting (thread safe, async-signal unsafe).
  void stop();
  // Requests in flight and the time (unix nanos) the last one ended; for
  // idle-time housekeeping.
  int activeRequests() const;
  int64_t lastActivity() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::api
