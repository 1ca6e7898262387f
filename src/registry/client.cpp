#include "registry/client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/fd.h"
#include "common/number.h"
#include "common/sha256.h"
#include "common/util.h"
#include "registry/manifest.h"

namespace berth::registry {

using json = nlohmann::json;

namespace {

std::string hostOf(const std::string& domain) {
  if (!domain.empty() && domain[0] == '[') return domain.substr(1, domain.find(']') - 1);
  auto c = domain.rfind(':');
  return c == std::string::npos ? domain : domain.substr(0, c);
}

bool inCidr(const std::string& host, const std::string& cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string::npos) return false;
  in_addr a{}, net{};
  if (inet_pton(AF_INET, host.c_str(), &a) != 1) return false;
  if (inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &net) != 1) return false;
  auto bits = parseNumber<int>(std::string_view(cidr).substr(slash + 1));
  if (!bits || *bits < 0 || *bits > 32) return false;
  uint32_t mask = *bits == 0 ? 0 : htonl(~uint32_t(0) << (32 - *bits));
  return (a.s_addr & mask) == (net.s_addr & mask);
}

std::string escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += char(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

struct Transfer {
  HttpResponse* resp = nullptr;
  const Client::Sink* sink = nullptr;
  int64_t skip = 0;       // bytes of the body still to drop
  int64_t rangeFrom = 0;  // the Range start asked for: a 200 answer restarts at 0
  int64_t received = 0;
  int status = 0;  // of the last status line seen
  std::optional<Error> sinkError;
  const std::function<void(int64_t)>* progress = nullptr;
  int bodyFd = -1;
  const std::string* body = nullptr;
  size_t bodyOff = 0;
  int64_t sent = 0;
};

size_t onHeader(char* buf, size_t sz, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  std::string_view line(buf, sz * n);
  if (startsWith(line, "HTTP/")) {
    t->resp->headers.clear();  // a redirect's or 100's headers
    auto sp = line.find(' ');
    int code = sp == std::string_view::npos ? 0 : numberOr<int>(line.substr(sp + 1, 3), 0);
    t->skip = code == 200 ? t->rangeFrom : 0;
    t->status = code;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->resp->headers[toLower(line.substr(0, colon))] = trim(line.substr(colon + 1));
  }
  return sz * n;
}

size_t onWrite(char* buf, size_t sz, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t len = sz * n;
  if (!t->sink || (t->status != 200 && t->status != 206)) {
    t->resp->body.append(buf, len);
    return len;
  }
  const char* p = buf;
  size_t left = len;
  if (t->skip > 0) {
    size_t d = std::min<size_t>(left, size_t(t->skip));
    t->skip -= int64_t(d);
    p += d;
    left -= d;
  }
  if (left > 0) {
    auto r = (*t->sink)(p, left);
    if (!r) {
      t->sinkError = r.error();
      return 0;
    }
    t->received += int64_t(left);
    if (t->progress && *t->progress) (*t->progress)(t->received);
  }
  return len;
}

size_t onRead(char* buf, size_t sz, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t want = sz * n;
  if (t->body) {
    size_t d = std::min(want, t->body->size() - t->bodyOff);
    memcpy(buf, t->body->data() + t->bodyOff, d);
    t->bodyOff += d;
    return d;
  }
  ssize_t r = ::read(t->bodyFd, buf, want);
  if (r < 0) return CURL_READFUNC_ABORT;
  t->sent += r;
  if (t->progress && *t->progress) (*t->progress)(t->sent);
  return size_t(r);
}

// Go's net error wording for the cases users meet.
std::string transportError(CURLcode rc, const std::string& method, const std::string& url, const char* detail) {
  std::string u = url;
  std::string hostport = url.substr(url.find("://") + 3);
  hostport = hostport.substr(0, hostport.find('/'));
  std::string verb = method == "GET" ? "Get" : method == "HEAD" ? "Head" : method == "PUT" ? "Put" : method == "POST" ? "Post" : method;
  if (rc == CURLE_COULDNT_CONNECT)
    return fmt::format("{} \"{}\": dial tcp {}: connect: connection refused", verb, u, hostport);
  if (rc == CURLE_COULDNT_RESOLVE_HOST)
    return fmt::format("{} \"{}\": dial tcp: lookup {}: no such host", verb, u, hostOf(hostport));
  return fmt::format("{} \"{}\": {}", verb, u, detail && *detail ? detail : curl_easy_strerror(rc));
}

bool transient(CURLcode rc) {
  return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_RECV_ERROR ||
         rc == CURLE_SEND_ERROR || rc == CURLE_PARTIAL_FILE || rc == CURLE_GOT_NOTHING;
}

}  // namespace

std::string registryHost(const std::string& domain) {
  return domain == "docker.io" || domain == "index.docker.io" ? "registry-1.docker.io" : domain;
}

bool isInsecureRegistry(const RegistryConfig& cfg, const std::string& domain) {
  std::string host = hostOf(domain);
  if (host == "localhost" || host == "::1" || inCidr(host, "127.0.0.0/8")) return true;
  for (auto& e : cfg.insecure) {
    if (e == domain || e == host) return true;
    if (e.find('/') != std::string::npos && inCidr(host, e)) return true;
  }
  return false;
}

std::string distributionErrorCode(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty() &&
      j["errors"][0].is_object())
    return j["errors"][0].value("code", "");
  return "";
}

std::string distributionErrorText(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("errors") || !j["errors"].is_array() || j["errors"].empty()) return "";
  std::string out;
  for (auto& e : j["errors"]) {
    if (!e.is_object()) continue;
    std::string code = toLower(e.value("code", "unknown"));
    for (auto& c : code)
      if (c == '_') c = ' ';
    std::string msg = e.value("message", "");
    if (!out.empty()) out += ", ";
    out += msg.empty() ? code : code + ": " + msg;
  }
  return out;
}

Client::Client(std::string domain, Credentials creds, bool insecure, std::string baseUrl)
    : domain_(std::move(domain)), creds_(std::move(creds)), insecure_(insecure) {
  if (!baseUrl.empty()) {
    while (endsWith(baseUrl, "/")) baseUrl.pop_back();
    base_ = baseUrl;
    baseFixed_ = true;
  } else {
    base_ = "https://" + registryHost(domain_);
  }
}

Result<> Client::addCaFiles(const std::vector<std::string>& files) {
  if (files.empty()) return {};
  std::string pem;
  // CURLOPT_CAINFO_BLOB replaces the default bundle: keep the system's.
  for (const char* sys : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"})
    if (auto t = readFile(sys)) {
      pem = std::move(*t);
      break;
    }
  for (auto& f : files) {
    auto t = readFile(f);
    if (!t) return std::unexpected(t.error().wrap("registry CA file " + f));
    if (!pem.empty() && pem.back() != '\n') pem += '\n';
    pem += *t;
  }
  caPem_ = std::move(pem);
  return {};
}

Result<HttpResponse> Client::perform(const Request& req, const std::string& auth) {
  HttpResponse resp;
  CURL* h = curl_easy_init();
  if (!h) return makeError(Code::Internal, "curl_easy_init failed");
  ScopeExit free_([&] { curl_easy_cleanup(h); });
  Transfer t;
  t.resp = &resp;
  t.sink = req.sink;
  t.rangeFrom = req.skip;
  t.progress = req.progress;
  struct curl_slist* hdrs = nullptr;
  ScopeExit freeH([&] { curl_slist_free_all(hdrs); });
  for (auto& hd : req.headers) hdrs = curl_slist_append(hdrs, hd.c_str());
  if (!auth.empty()) hdrs = curl_slist_append(hdrs, ("Authorization: " + auth).c_str());
  hdrs = curl_slist_append(hdrs, "Expect:");
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "berth/0.1");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, onWrite);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
  if (req.follow) {
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  }
  if (insecure_) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  struct curl_blob caBlob{};
  if (!caPem_.empty()) {
    caBlob.data = caPem_.data();
    caBlob.len = caPem_.size();
    caBlob.flags = CURL_BLOB_NOCOPY;
    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &caBlob);
  }
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT" || (req.method == "POST" && (req.body || req.bodyFd >= 0))) {
    if (req.method == "PUT") curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    else curl_easy_setopt(h, CURLOPT_POST, 1L);
    t.body = req.body;
    t.bodyFd = req.bodyFd;
    curl_easy_setopt(h, CURLOPT_READFUNCTION, onRead);
    curl_easy_setopt(h, CURLOPT_READDATA, &t);
    int64_t size = req.body ? int64_t(req.body->size()) : req.bodySize;
    if (req.method == "PUT") curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(size));
    else curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(size));
  } else if (req.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.method == "POST") curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
  }
  CURLcode rc = curl_easy_perform(h);
  if (t.sinkError) return std::unexpected(*t.sinkError);
  if (rc != CURLE_OK) {
    Error e{transient(rc) ? Code::Unavailable : Code::Internal, 0, transportError(rc, req.method, req.url, errbuf)};
    return std::unexpected(e);
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

Result<> Client::ping() {
  {
    std::lock_guard lk(mu_);
    if (pinged_) return {};
  }
  Request req;
  req.url = url(v2_ + "/");
  auto r = perform(req, "");
  if (!r && insecure_ && !baseFixed_ && startsWith(base_, "https://")) {
    // Insecure registries may speak plain HTTP (Docker falls back the same
    // way); when neither answers, the HTTPS error is reported, as Docker does.
    std::string httpBase = "http://" + registryHost(domain_);
    Request r2;
    r2.url = httpBase + "/v2/";
    if (auto r2res = perform(r2, "")) {
      base_ = httpBase;
      r = std::move(r2res);
    }
  }
  if (!r) return std::unexpected(Error{Code::Internal, 0, r.error().message});
  std::lock_guard lk(mu_);
  if (r->status == 401) {
    auto chs = parseWwwAuthenticate(r->header("www-authenticate"));
    for (auto& c : chs) {
      if (c.scheme == "bearer" || c.scheme == "basic") {
        challengeScheme_ = c.scheme;
        challenge_ = c.params;
        break;
      }
    }
  } else if (r->status >= 500) {
    return errorf(Code::Unavailable, "received unexpected HTTP status: {} from {}", r->status, base_ + v2_ + "/");
  }
  pinged_ = true;
  return {};
}

Result<std::string> Client::fetchToken(const std::string& scope) {
  std::string realm = challenge_.count("realm") ? challenge_["realm"] : "";
  if (realm.empty()) return makeError(Code::Internal, "bearer challenge without realm");
  if (!creds_.identityToken.empty()) {
    // An identity token is an OAuth2 refresh token: POST the refresh-token
    // grant to the realm (distribution's token spec; Docker and
    // containerd's CRI use the identity token so).
    std::string form = "grant_type=refresh_token&client_id=berth&refresh_token=" + escape(creds_.identityToken);
    if (challenge_.count("service")) form += "&service=" + escape(challenge_["service"]);
    for (auto& one : split(scope, ' '))
      if (!one.empty()) form += "&scope=" + escape(one);
    Request req;
    req.method = "POST";
    req.url = realm;
    req.body = &form;
    req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    TRY_ASSIGN(HttpResponse r, perform(req, ""));
    if (r.status == 401 || r.status == 403) {
      std::string t = distributionErrorText(r.body);
      return errorf(Code::PermissionDenied, "unauthorized: {}", t.empty() ? std::string("invalid identity token") : t);
    }
    if (r.status != 200) return errorf(Code::Internal, "token server {} answered {} to the refresh token", realm, r.status);
    json j = json::parse(r.body, nullptr, false);
    std::string tok;
    if (j.is_object()) tok = j.value("access_token", j.value("token", ""));
    if (tok.empty()) return errorf(Code::Internal, "token server {} answered without an access token", realm);
    return tok;
  }
  std::string u = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  bool first = true;
  auto add = [&](const std::string& k, const std::string& v) {
    if (v.empty()) return;
    u += (first ? "" : "&") + k + "=" + escape(v);
    first = false;
  };
  add("service", challenge_.count("service") ? challenge_["service"] : "");
  for (auto& one : split(scope, ' '))
    if (!one.empty()) add("scope", one);
  add("account", creds_.username);
  Request req;
  req.url = u;
  std::string auth;
  if (!creds_.username.empty()) auth = "Basic " + base64Encode(creds_.username + ":" + creds_.password);
  TRY_ASSIGN(HttpResponse r, perform(req, auth));
  if (r.status == 401 || r.status == 403) {
    std::string t = distributionErrorText(r.body);
    return errorf(Code::PermissionDenied, "unauthorized: {}", t.empty() ? std::string("authentication required") : t);
  }
  if (r.status != 200) return errorf(Code::Internal, "token server {} answered {}", realm, r.status);
  json j = json::parse(r.body, nullptr, false);
  std::string tok;
  if (j.is_object()) tok = j.value("token", j.value("access_token", ""));
  if (tok.empty()) return errorf(Code::Internal, "token server {} answered without a token", realm);
  return tok;
}

Result<std::string> Client::authHeader(const std::string& scope, bool refresh) {
  TRY(ping());
  std::lock_guard lk(mu_);
  if (!creds_.registryToken.empty()) return "Bearer " + creds_.registryToken;
  if (!challengeScheme_) return std::string();
  if (*challengeScheme_ == "basic") {
    if (creds_.username.empty()) return std::string();
    return "Basic " + base64Encode(creds_.username + ":" + creds_.password);
  }
  auto it = tokens_.find(scope);
  if (it != tokens_.end() && !refresh) return "Bearer " + it->second;
  TRY_ASSIGN(std::string tok, fetchToken(scope));
  tokens_[scope] = tok;
  return "Bearer " + tok;
}

Result<HttpResponse> Client::send(Request req) {
  TRY_ASSIGN(std::string auth, authHeader(req.scope, false));
  if (req.url.empty()) req.url = base_ + req.path;  // after ping() chose the scheme
  TRY_ASSIGN(HttpResponse r, perform(req, auth));
  if (r.status == 401 && req.bodyFd < 0 && !req.sink) {
    bool canRetry = false;
    {
      std::lock_guard lk(mu_);
      auto chs = parseWwwAuthenticate(r.header("www-authenticate"));
      for (auto& c : chs)
        if (c.scheme == "bearer" || c.scheme == "basic") {
          canRetry = !challengeScheme_ || *challengeScheme_ != c.scheme || c.scheme == "bearer";
          challengeScheme_ = c.scheme;
          challenge_ = c.params;
          break;
        }
    }
    if (canRetry) {
      TRY_ASSIGN(auth, authHeader(req.scope, true));
      TRY_ASSIGN(r, perform(req, auth));
    }
  }
  return r;
}

Error Client::registryError(const HttpResponse& r, const std::string& what) const {
  std::string text = distributionErrorText(r.body);
  Code code = r.status == 404 ? Code::NotFound
              : r.status == 401 || r.status == 403 ? Code::PermissionDenied
              : r.status >= 500 ? Code::Unavailable
                                : Code::Internal;
  if (text.empty() && r.status == 401) text = "unauthorized: authentication required";
  if (text.empty() && r.status == 403) text = "denied: requested access to the resource is denied";
  if (text.empty()) text = fmt::format("received unexpected HTTP status: {}", r.status);
  return Error{code, 0, what.empty() ? text : what + ": " + text};
}

Result<> Client::login() {
  TRY(ping());
  bool basic;
  {
    std::lock_guard lk(mu_);
    if (!challengeScheme_) return {};
    basic = *challengeScheme_ == "basic";
  }
  Request req;
  req.url = url(v2_ + "/");
  TRY_ASSIGN(HttpResponse r, send(req));
  if (r.status == 401 || r.status == 403) {
    (void)basic;
    return makeError(Code::PermissionDenied, "login attempt to " + base_ + v2_ + "/ failed with status: " +
                                                 std::to_string(r.status) + " " +
                                                 (r.status == 401 ? "Unauthorized" : "Forbidden"));
  }
  return {};
}

Result<Client::FetchedManifest> Client::getManifest(const std::string& repo, const std::string& ref) {
  Request req;
  req.path = v2_ + "/" + repo + "/manifests/" + ref;
  req.headers.push_back("Accept: " + manifestAccept());
  req.scope = "repository:" + repo + ":pull";
  TRY_ASSIGN(HttpResponse r, send(req));
  if (r.status != 200) return std::unexpected(registryError(r, ""));
  FetchedManifest m;
  m.body = std::move(r.body);
  m.digest = sha256Digest(m.body);
  std::string ct = r.header("content-type");
  m.mediaType = ct.substr(0, ct.find(';'));
  if (startsWith(ref, "sha256:") && m.digest != ref)
    return errorf(Code::InvalidArgument, "manifest verification failed for digest {}", ref);
  return m;
}

Result<> Client::getBlob(const std::string& repo, const std::string& digest, const Sink& sink,
                         const std::function<void(int64_t)>& progress) {
  int64_t delivered = 0;
  auto counting = Sink([&](const char* d, size_t n) -> Result<> {
    TRY(sink(d, n));
    delivered += int64_t(n);
    if (progress) progress(delivered);
    return {};
  });
  std::function<void(int64_t)> noProgress;
  for (int attempt = 0;; attempt++) {
    Request req;
    req.path = v2_ + "/" + repo + "/blobs/" + digest;
    req.scope = "repository:" + repo + ":pull";
    req.follow = true;
    req.sink = &counting;
    if (delivered > 0) {
      req.headers.push_back(fmt::format("Range: bytes={}-", delivered));
      req.skip = delivered;
    }
    auto r = send(req);
    bool retry = false;
    if (!r) {
      if (r.error().code != Code::Unavailable) return std::unexpected(r.error());
      retry = true;
    } else if (r->status == 200 || r->status == 206) {
      return {};
    } else if (r->status >= 500 || r->status == 429) {
      retry = true;
    } else {
      return std::unexpected(registryError(*r, ""));
    }
    if (!retry || attempt >= 4) {
      if (!r) return std::unexpected(r.error());
      return std::unexpected(registryError(*r, ""));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250 << attempt));
  }
}

Result<bool> Client::hasBlob(const std::string& repo, const std::string& digest) {
  Request req;
  req.method = "HEAD";
  req.path = v2_ + "/" + repo + "/blobs/" + digest;
  req.scope = "repository:" + repo + ":pull,push";
  req.follow = true;
  TRY_ASSIGN(HttpResponse r, send(req));
  if (r.status == 200) return true;
  if (r.status == 404) return false;
  return std::unexpected(registryError(r, ""));
}

Result<bool> Client::mountBlob(const std::string& repo, const std::string& digest, const std::string& fromRepo) {
  Request req;
  req.method = "POST";
  req.path = v2_ + "/" + repo + "/blobs/uploads/?mount=" + escape(digest) + "&from=" + escape(fromRepo);
  // The mount needs pull on the source too (space-separated scopes).
  req.scope = "repository:" + repo + ":pull,push repository:" + fromRepo + ":pull";
  TRY_ASSIGN(HttpResponse r, send(req));
  if (r.status == 201) return true;
  if (r.status == 401 || r.status == 403) return false;  // no access to the source: upload instead
  if (r.status == 202) {
    // Not mounted: an upload session was started; cancel it.
    std::string loc = r.header("location");
    if (!loc.empty()) {
      Request del;
      del.method = "DELETE";
      del.url = startsWith(loc, "http") ? loc : base_ + loc;
      del.scope = "repository:" + repo + ":pull,push";
      (void)send(del);
    }
    return false;
  }
  return std::unexpected(registryError(r, ""));
}

namespace {

std::string withDigest(const std::string& base, const std::string& location, const std::string& digest) {
  std::string u = startsWith(location, "http") ? location : base + location;
  return u + (u.find('?') == std::string::npos ? "?" : "&") + "digest=" + escape(digest);
}

}  // namespace

Result<> Client::pushBlobFile(const std::string& repo, const std::string& digest, const std::string& path,
                              const std::function<void(int64_t)>& progress) {
  Request start;
  start.method = "POST";
  start.path = v2_ + "/" + repo + "/blobs/uploads/";
  start.scope = "repository:" + repo + ":pull,push";
  TRY_ASSIGN(HttpResponse s, send(start));
  if (s.status != 202) return std::unexpected(registryError(s, ""));
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return sysError(errno, "open {}", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sysError(errno, "stat {}", path);
  Request put;
  put.method = "PUT";
  put.url = withDigest(base_, s.header("location"), digest);
  put.scope = start.scope;
  put.bodyFd = fd.get();
  put.bodySize = st.st_size;
  put.headers.push_back("Content-Type: application/octet-stream");
  put.progress = &progress;
  TRY_ASSIGN(HttpResponse r, send(put));
  if (r.status != 201) return std::unexpected(registryError(r, ""));
  return {};
}

Result<> Client::pushBlobData(const std::string& repo, const std::string& digest, const std::string& data) {
  Request start;
  start.method = "POST";
  start.path = v2_ + "/" + repo + "/blobs/uploads/";
  start.scope = "repository:" + repo + ":pull,push";
  TRY_ASSIGN(HttpResponse s, send(start));
  if (s.status != 202) return std::unexpected(registryError(s, ""));
  Request put;
  put.method = "PUT";
  put.url = withDigest(base_, s.header("location"), digest);
  put.scope = start.scope;
  put.body = &data;
  put.headers.push_back("Content-Type: application/octet-stream");
  TRY_ASSIGN(HttpResponse r, send(put));
  if (r.status != 201) return std::unexpected(registryError(r, ""));
  return {};
}

Result<std::string> Client::putManifest(const std::string& repo, const std::string& ref, const std::string& mediaType,
                                        const std::string& body) {
  Request put;
  put.method = "PUT";
  put.path = v2_ + "/" + repo + "/manifests/" + ref;
  put.scope = "repository:" + repo + ":pull,push";
  put.body = &body;
  put.headers.push_back("Content-Type: " + mediaType);
  TRY_ASSIGN(HttpResponse r, send(put));
  if (r.status != 201 && r.status != 200) return std::unexpected(registryError(r, ""));
  std::string d = r.header("docker-content-digest");
  return d.empty() ? sha256Digest(body) : d;
}

Result<std::vector<std::string>> Client::listTags(const std::string& repo) {
  std::vector<std::string> out;
  TRY(ping());
  std::string next = url(v2_ + "/" + repo + "/tags/list");
  for (int page = 0; page < 100 && !next.empty(); page++) {
    Request req;
    req.url = next;
    req.scope = "repository:" + repo + ":pull";
    TRY_ASSIGN(HttpResponse r, send(req));
    if (r.status != 200) return std::unexpected(registryError(r, ""));
    json j = json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("tags") && j["tags"].is_array())
      for (auto& t : j["tags"])
        if (t.is_string()) out.push_back(t.get<std::string>());
    next.clear();
    std::string link = r.header("link");  // </v2/x/tags/list?last=a&n=b>; rel="next"
    if (auto lt = link.find('<'), gt = link.find('>'); lt != std::string::npos && gt != std::string::npos && gt > lt)
      next = base_ + link.substr(lt + 1, gt - lt - 1);
  }
  return out;
}

Result<std::string> Client::search(const std::string& term, int limit) {
  Request req;
 req.path = ("/v1/search?q=" + escape(term) + "&n=" + std::to_string(limit));
  TRY_ASSIGN(HttpResponse r, send(req));
  if (r.status != 200) return std::unexpected(registryError(r, "Unexpected status code " + std::to_string(r.status)));
  return r.body;
}

}  // namespace berth::registry
