#pragma once
// A distribution-spec client for one registry host (libcurl): ping and
// auth (anonymous or with credentials: bearer tokens per scope, basic),
// manifests, blobs (redirects followed, retried with backoff and resumed
// with Range), blob uploads (monolithic PUT after POST, cross-repository
// mount), manifest PUT.
//
// Thread safety: one Client may be used by several threads at once (the
// token cache is locked; every request uses its own curl handle).

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "registry/auth.h"

namespace berth::registry {

// Which registries are insecure and which mirror docker.io (daemon.json).
struct RegistryConfig {
  std::vector<std::string> mirrors;   // URLs, e.g. "http://127.0.0.1:5001"
  std::vector<std::string> insecure;  // "host[:port]" or CIDR "10.0.0.0/8"
  std::string hostsDir;               // <dir>/<registry>/hosts.toml (registry/hosts.h); "" = none
  int maxConcurrentDownloads = 3;
  int maxConcurrentUploads = 5;
};

// True for 127.0.0.0/8, ::1, localhost (always insecure, as in Docker) and
// for entries of cfg.insecure (exact host[:port], host alone, or CIDR).
bool isInsecureRegistry(const RegistryConfig& cfg, const std::string& domain);
// "docker.io" -> "registry-1.docker.io"; others unchanged.
std::string registryHost(const std::string& domain);

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names, last value wins
  std::string header(const std::string& k) const {
    auto it = headers.find(k);
    return it == headers.end() ? "" : it->second;
  }
};

class Client {
 public:
  // domain as in a reference ("127.0.0.1:5000", "docker.io"); baseUrl
  // overrides the scheme://host (a mirror); insecure allows plain HTTP and
  // unverified TLS.
  Client(std::string domain, Credentials creds, bool insecure, std::string baseUrl = "");

  // GET /v2/: picks the scheme, learns the auth challenge. Unavailable with
  // Docker's wording when nothing answers; PermissionDenied for bad
  // credentials (basic auth).
  Result<> ping();
  // Checks credentials as docker login does: ping + a token (or basic) round trip.
  Result<> login();

  struct FetchedManifest {
    std::string mediaType, digest, body;
  };
  // GET manifests/<ref> (tag or digest). Verifies the digest when ref is one.
  // NotFound for unknown manifests/repositories with Docker's message.
  Result<FetchedManifest> getManifest(const std::string& repo, const std::string& ref);

  // Streams the blob into sink; retries transient failures with backoff,
  // resuming at the bytes already delivered. progress(received) is called
  // from the transfer loop. Does not verify the digest (the caller hashes).
  using Sink = std::function<Result<>(const char* data, size_t n)>;
  Result<> getBlob(const std::string& repo, const std::string& digest, const Sink& sink,
                   const std::function<void(int64_t)>& progress = {});
  Result<bool> hasBlob(const std::string& repo, const std::string& digest);
  // POST uploads/?mount=&from=: true when the registry mounted it.
  Result<bool> mountBlob(const std::string& repo, const std::string& digest, const std::string& fromRepo);
  // Uploads a blob from a file (POST + PUT ?digest=).
  Result<> pushBlobFile(const std::string& repo, const std::string& digest, const std::string& path,
                        const std::function<void(int64_t)>& progress = {});
  Result<> pushBlobData(const std::string& repo, const std::string& digest, const std::string& data);
  // PUT manifests/<ref>; returns the digest the registry reports.
  Result<std::string> putManifest(const std::string& repo, const std::string& ref, const std::string& mediaType,
                                  const std::string& body);
  // GET tags/list (following Link pagination).
  Result<std::vector<std::string>> listTags(const std::string& repo);
  // GET /v1/search (docker search); the JSON body.
  Result<std::string> search(const std::string& term, int limit);

  // The API root on the base URL ("/v2" unless a hosts.toml entry says
  // otherwise, registry/hosts.h). Call before the first request.
  void setApiPath(std::string path) { v2_ = std::move(path); }
  // Trust these CA certificates (PEM files) in addition to the system's.
  // Call before the first request. An unreadable file is an error.
  Result<> addCaFiles(const std::vector<std::string>& files);

  const std::string& baseUrl() const { return base_; }
  const std::string& domain() const { return domain_; }

 private:
  struct Request {
    std::string method = "GET";
    std::string url;                 // absolute, or "" to use base_ + path
    std::string path;
    std::vector<std::string> headers;
    std::string scope;               // "repository:a/b:pull" for a bearer token
    const std::string* body = nullptr;
    int bodyFd = -1;                 // upload from a file
    int64_t bodySize = -1;
    const Sink* sink = nullptr;      // stream the body instead of buffering
    int64_t skip = 0;                // Range start asked for (a 200 answer drops that many bytes)
    bool follow = false;
    const std::function<void(int64_t)>* progress = nullptr;
  };
  // One HTTP exchange with auth applied; on 401 refreshes the token once.
  Result<HttpResponse> send(Request req);
  Result<HttpResponse> perform(const Request& req, const std::string& auth);
  Result<std::string> authHeader(const std::string& scope, bool refresh);
  Result<std::string> fetchToken(const std::string& scope);
  Error registryError(const HttpResponse& r, const std::string& what) const;
  std::string url(const std::string& path) const { return base_ + path; }

  std::string domain_;
  Credentials creds_;
  bool insecure_;
  std::string base_;
  std::string v2_ = "/v2";
  std::string caPem_;  // system bundle + addCaFiles, when set
  bool baseFixed_ = false;
  std::mutex mu_;
  bool pinged_ = false;
  std::optional<std::string> challengeScheme_;  // "bearer" / "basic"
  std::map<std::string, std::string> challenge_;
  std::map<std::string, std::string> tokens_;   // scope -> bearer token
};

// Docker-formatted registry error text, e.g. "manifest unknown: manifest
// unknown" from {"errors":[{"code":"MANIFEST_UNKNOWN","message":...}]}.
// Empty when body is not a distribution error document.
std::string distributionErrorText(const std::string& body);
// The first error code in such a document ("MANIFEST_UNKNOWN"), or "".
std::string distributionErrorCode(const std::string& body);

}  // namespace berth::registry
