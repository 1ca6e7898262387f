#pragma once
// The berth CLI's Engine API client: HTTP/1.1 over a unix socket.
//
// Why hand-written and not Boost.Beast: the CLI's budget is a few ms per
// command (`berth run --rm busybox true` < 25 ms end to end). A ~600-line
// client over plain sockets keeps the binary small (fast exec, few page
// faults), compiles in a second, and makes the two unusual things the Engine
// API needs explicit: connection hijack after `101 UPGRADED` with half-close
// (shutdown(SHUT_WR)) and reading response headers of `wait` before the body
// exists. We only ever talk to our own daemon over a local socket, so the
// subset (status line, headers, Content-Length / chunked / close-delimited
// bodies, chunked uploads) is all that is needed.
//
// Thread safety: none; one Client per process, used from one thread.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "common/error_status.h"
#include "common/fd.h"
#include "common/result.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace berth::cli {

// TLS for tcp:// hosts, as the docker CLI reads it: --tlsverify (or
// DOCKER_TLS_VERIFY) checks the daemon's certificate against caFile and
// its address; --tls alone encrypts without checking. A client
// certificate is sent when certFile and keyFile exist.
struct TlsClientOptions {
  bool tls = false;
  bool verify = false;
  std::string caFile, certFile, keyFile;
};

struct HttpResponse {
  int status = 0;
  std::string reason;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string header(const std::string& lowerName) const {
    auto it = headers.find(lowerName);
    return it == headers.end() ? std::string() : it->second;
  }
};

// One HTTP/1.1 connection. Owns its socket (and its TLS session).
class Connection {
 public:
  ~Connection();
  static Result<std::unique_ptr<Connection>> dial(const std::string& socketPath);
  // tcp: "HOST:PORT"; with ctx, a TLS handshake checking the server's name
  // (verifyName) when the context verifies.
  static Result<std::unique_ptr<Connection>> dialTcp(const std::string& hostPort, SSL_CTX* ctx);
  // A connection over the stdin/stdout of a command (argv[0] looked up in
  // PATH): the ssh:// transport. The command's stderr is kept; when the
  // stream ends before a response, the error names the command, its exit
  // status and that stderr (the docker CLI's commandconn). The destructor
  // closes the stream, then SIGTERMs and reaps the command.
  static Result<std::unique_ptr<Connection>> dialCommand(const std::vector<std::string>& argv);

  // Sends a request with a Content-Length body (possibly empty).
  Result<> send(std::string_view method, std::string_view target,
                const std::vector<std::pair<std::string, std::string>>& headers,
                std::string_view body);
  // Sends a request whose body is streamed from fd with chunked encoding.
  Result<> sendChunkedFromFd(std::string_view method, std::string_view target,
                             const std::vector<std::pair<std::string, std::string>>& headers, int fd);
  // Reads the status line and headers; prepares body decoding.
  Result<HttpResponse> readHead(bool headRequest = false);
  // Reads decoded body bytes; 0 at the end of the body.
  Result<size_t> readBody(char* buf, size_t n);
  Result<std::string> readAllBody();
  // One '\n'-terminated line of the body (without '\n'); nullopt at the end.
  Result<std::optional<std::string>> readBodyLine();
  // After a 101: raw reads (buffered bytes first) and writes on the socket.
  Result<size_t> readRaw(char* buf, size_t n);
  bool hasBuffered() const;
  Result<> writeAll(std::string_view data);
  void closeWrite();  // shutdown(SHUT_WR); TLS: close_notify
  int fd() const { return fd_.get(); }
  bool reusable() const { return reusable_; }

 private:
  explicit Connection(UniqueFd fd) : fd_(std::move(fd)) {}
  // The command transport's failure text (waits for the command to exit).
  std::string commandFailure();
  Result<size_t> fill();  // appends to rbuf_; 0 at EOF
  Result<> writeFull(const char* p, size_t n);
  ssize_t readSome(char* buf, size_t n);  // -1 with errno set on failure
  Result<std::optional<std::string>> readLineRaw();

  enum class BodyMode { None, Length, Chunked, Close };
  UniqueFd fd_;
  SSL* ssl_ = nullptr;
  std::string rbuf_;
  size_t rpos_ = 0;
  BodyMode mode_ = BodyMode::None;
  uint64_t remaining_ = 0;  // Length: bytes left; Chunked: bytes left in chunk
  bool bodyDone_ = true;
  bool reusable_ = true;
  std::string lineBuf_;
  pid_t child_ = -1;       // dialCommand: the command's pid
  UniqueFd childErr_;      // its stderr (read end, non-blocking)
  std::string childArgv_;  // "ssh -o ... dial-stdio", for errors
};

// The error for a failed response: code from the status (common/error_status.h),
// "Error response from daemon: " + daemonMessage, and the errno and start
// stage when the body carries them ({"message", "errno", "stage"}, see
// api::ResponseWriter::error).
Error daemonError(const HttpResponse& r, std::string_view method, std::string_view path);
// The daemon's error message from an error response, like the Go client:
// JSON {"message"} when JSON, raw body otherwise, a generic text when empty.
std::string daemonMessage(const HttpResponse& r, std::string_view method, std::string_view path);

// Query-string builder: key=value pairs, URL-encoded, in insertion order.
class Query {
 public:
  Query& add(std::string_view key, std::string_view value);
  Query& addIf(bool cond, std::string_view key, std::string_view value) {
    return cond ? add(key, value) : *this;
  }
  std::string str() const { return s_.empty() ? std::string() : "?" + s_; }

 private:
  std::string s_;
};
std::string urlEncode(std::string_view s);

// ssh://[USER@]HOST[:PORT][/SOCKET] as the ssh command line the docker CLI
// runs (its connhelper: `ssh -o ConnectTimeout=30 -T [-l USER] [-p PORT] --
// HOST` + the remote command), the remote command being `berth
// [--host=unix://SOCKET] system dial-stdio`. InvalidArgument with the
// docker CLI's reasons (password, query, fragment, empty host, bad port).
Result<std::vector<std::string>> sshCommandFor(const std::string& url);

class Client {
 public:
  // host: "unix:///path" (or a bare path), "tcp://HOST:PORT" (plain, or
  // TLS per tls; libssl is loaded only then), or "ssh://[USER@]HOST[:PORT][/SOCKET]":
  // each connection runs `ssh [-l USER] [-p PORT] -- HOST berth
  // [--host=unix://SOCKET] system dial-stdio` (the docker CLI's ssh
  // helper, with berth as the remote command). InvalidArgument for a
  // malformed ssh URL ("ssh host connection is not valid: ...").
  static Result<Client> create(const std::string& host, const TlsClientOptions& tls = {});
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) = delete;

  const std::string& host() const { return host_; }

  // One request on the shared keep-alive connection; the whole body is read.
  // Non-2xx/3xx statuses are returned as responses, not errors; errors are
  // transport failures (Code::Unavailable for connect failures).
  Result<HttpResponse> call(std::string_view method, const std::string& path,
                            std::string_view body = {}, std::string_view contentType = {});
  // call() plus the status check: 2xx/304 -> response, else Error with the
  // mapped code and the message "Error response from daemon: <message>".
  Result<HttpResponse> callOk(std::string_view method, const std::string& path,
                              std::string_view body = {}, std::string_view contentType = {});

  // A request on its own connection; returns after the response head so the
  // caller streams the body (wait, logs -f, pull progress, events).
  Result<std::pair<std::unique_ptr<Connection>, HttpResponse>> stream(
      std::string_view method, const std::string& path, std::string_view body = {},
      std::string_view contentType = {},
      const std::vector<std::pair<std::string, std::string>>& extra = {});
  // Same, with a chunked request body read from fd (import).
  Result<std::pair<std::unique_ptr<Connection>, HttpResponse>> upload(
      std::string_view method, const std::string& path, int fd, std::string_view contentType);
  // Connection hijack: sends Connection: Upgrade / Upgrade: tcp, expects 101.
  // A non-101 status comes back as an Error with the daemon's message.
  Result<std::unique_ptr<Connection>> hijack(std::string_view method, const std::string& path,
                                             std::string_view body = {},
                                             std::string_view contentType = "text/plain");

  std::string target(const std::string& path) const { return prefix_ + path; }

  // A new raw connection to the daemon, no request sent (system dial-stdio).
  Result<std::unique_ptr<Connection>> connect() { return dial(); }

 private:
  Client(std::string host, std::string socketPath, std::string tcpAddr = {}, SSL_CTX* tls = nullptr)
      : host_(std::move(host)), socketPath_(std::move(socketPath)), tcpAddr_(std::move(tcpAddr)), tls_(tls) {}
  Result<std::unique_ptr<Connection>> dial();
  std::vector<std::pair<std::string, std::string>> baseHeaders(std::string_view contentType,
                                                               bool hasBody) const;

  std::string host_;
  std::string socketPath_;
  std::string tcpAddr_;     // "HOST:PORT" for tcp:// hosts
  std::vector<std::string> sshArgv_;  // ssh:// hosts: the ssh command line
  SSL_CTX* tls_ = nullptr;  // owned; tcp:// with TLS
  std::string prefix_ = "/v1.41";
  std::unique_ptr<Connection> conn_;
};

}  // namespace berth::cli
