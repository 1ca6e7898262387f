#pragma once
// Test helpers shared by the unit tests: an in-memory Request/ResponseWriter
// to drive an api::Router without a socket, a TempDir, and a small tar
// builder on libarchive.
//
//   api::Router router;
//   registerImageRoutes(router, svc, emit);
//   auto res = fakehttp::call(router, "GET", "/v1.41/images/json?all=1");
//   EXPECT_EQ(res.status, 200);
//   auto j = res.json();

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "common/util.h"

namespace fakehttp {

using nlohmann::json;

// A body served from a string in chunks of at most `chunk` bytes; fails with
// `failWith` after `failAfter` bytes when set.
class StringBody : public berth::api::BodyReader {
 public:
  explicit StringBody(std::string data, size_t chunk = 1 << 16) : data_(std::move(data)), chunk_(chunk) {}
  berth::Result<size_t> read(char* buf, size_t n) override {
    if (failAfter_ >= 0 && off_ >= size_t(failAfter_))
      return berth::makeError(berth::Code::Cancelled, "client went away");
    size_t k = std::min({n, chunk_, data_.size() - off_});
    if (failAfter_ >= 0) k = std::min(k, size_t(failAfter_) - off_);
    std::copy_n(data_.data() + off_, k, buf);
    off_ += k;
    return k;
  }
  void failAfter(long bytes) { failAfter_ = bytes; }

 private:
  std::string data_;
  size_t chunk_;
  size_t off_ = 0;
  long failAfter_ = -1;
};

struct Response;

class FakeStream : public berth::api::StreamWriter {
 public:
  explicit FakeStream(std::vector<std::string>* chunks) : chunks_(chunks) {}
  bool write(std::string_view d) override {
    chunks_->emplace_back(d);
    return true;
  }

 private:
  std::vector<std::string>* chunks_;
};

// Records what a handler answered.
class FakeWriter : public berth::api::ResponseWriter {
 public:
  int status = 0;
  std::string body;
  std::string contentType;
  std::map<std::string, std::string> headers;
  std::vector<std::string> chunks;  // streamed writes
  bool streamed = false;
  bool hijacked = false;

  void json(int s, const nlohmann::json& b) override {
    start(s);
    body = b.dump();
    contentType = "application/json";
  }
  void empty(int s) override { start(s); }
  void text(int s, std::string_view b, std::string_view ct) override {
    start(s);
    body = std::string(b);
    contentType = std::string(ct);
  }
  void setHeader(std::string k, std::string v) override { headers[k] = v; }
  std::unique_ptr<berth::api::StreamWriter> stream(int s, std::string_view ct) override {
    start(s);
    streamed = true;
    contentType = std::string(ct);
    return std::make_unique<FakeStream>(&chunks);
  }
  std::unique_ptr<berth::api::RawStream> hijack(std::string_view ct) override {
    hijacked = true;
    contentType = std::string(ct);
    start(101);
    return nullptr;
  }
  bool started() const override { return status != 0; }

 private:
  void start(int s) {
    if (status != 0) throw std::logic_error("response started twice");
    status = s;
  }
};

struct Response {
  int status = 0;
  std::string body;
  std::string contentType;
  std::vector<std::string> chunks;
  bool streamed = false;
  bool matched = true;

  nlohmann::json json() const { return body.empty() ? nlohmann::json() : nlohmann::json::parse(body); }
  // Streamed JSON lines, one per line of all chunks.
  std::vector<nlohmann::json> lines() const {
    std::string all;
    for (auto& c : chunks) all += c;
    std::vector<nlohmann::json> out;
    for (auto& l : berth::split(all, '\n'))
      if (!berth::trim(l).empty()) out.push_back(nlohmann::json::parse(l));
    return out;
  }
  std::string message() const {
    auto j = json();
    return j.is_object() && j.contains("message") ? j["message"].get<std::string>() : "";
  }
};

inline std::string urlDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size()) {
      out += char(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

inline std::string urlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += char(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Dispatches "METHOD /v1.41/path?query" through router like the server does.
inline Response call(const berth::api::Router& router, const std::string& method, const std::string& target,
                     std::string body = "", std::map<std::string, std::string> headers = {}) {
  berth::api::Request req;
  req.method = method;
  std::string path = target, query;
  if (auto q = target.find('?'); q != std::string::npos) path = target.substr(0, q), query = target.substr(q + 1);
  if (path.rfind("/v1.", 0) == 0) {
    auto slash = path.find('/', 1);
    req.apiVersion = path.substr(2, slash - 2);
    path = path.substr(slash);
  }
  req.path = path;
  if (!query.empty()) {
    for (auto& kv : berth::split(query, '&')) {
      if (kv.empty()) continue;
      auto eq = kv.find('=');
      req.query.emplace(urlDecode(kv.substr(0, eq)), eq == std::string::npos ? "" : urlDecode(kv.substr(eq + 1)));
    }
  }
  req.headers = std::move(headers);
  StringBody b(std::move(body));
  req.body = &b;
  Response res;
  FakeWriter w;
  const berth::api::Handler* h = router.match(req);
  if (!h) {
    res.matched = false;
    res.status = 404;
    res.body = R"({"message":"page not found"})";
    return res;
  }
  (*h)(req, w);
  res.status = w.status;
  res.body = w.body;
  res.contentType = w.contentType;
  res.chunks = w.chunks;
  res.streamed = w.streamed;
  return res;
}

// mkdtemp under $TMPDIR (or /tmp); removed (rm -rf, same filesystem) on destruction.
class TempDir {
 public:
  TempDir() {
    const char* t = getenv("TMPDIR");
    std::string tmpl = std::string(t && *t ? t : "/tmp") + "/berth-test-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() { (void)berth::removeAll(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// Builds a tar (pax) in memory: TarBuilder().file("a", "x").dir("d").str().
class TarBuilder {
 public:
  TarBuilder& file(const std::string& name, const std::string& data, int mode = 0644, int uid = 0, int gid = 0) {
    return add(name, AE_IFREG, mode, data, "", "", uid, gid);
  }
  TarBuilder& dir(const std::string& name, int mode = 0755) { return add(name, AE_IFDIR, mode, "", "", ""); }
  TarBuilder& symlink(const std::string& name, const std::string& target) {
    return add(name, AE_IFLNK, 0777, "", target, "");
  }
  TarBuilder& hardlink(const std::string& name, const std::string& target) {
    return add(name, AE_IFREG, 0644, "", "", target);
  }
  // Returns the archive bytes; compression: "", "gzip", "xz", "zstd", "bzip2".
  std::string str(const std::string& compression = "") const {
    std::string out;
    struct archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (compression == "gzip") archive_write_add_filter_gzip(a);
    if (compression == "xz") archive_write_add_filter_xz(a);
    if (compression == "zstd") archive_write_add_filter_zstd(a);
    if (compression == "bzip2") archive_write_add_filter_bzip2(a);
    archive_write_set_bytes_in_last_block(a, 1);
    archive_write_open(a, &out, nullptr, &TarBuilder::writeCb, nullptr);
    for (auto& e : entries_) {
      struct archive_entry* ae = archive_entry_new();
      archive_entry_set_pathname(ae, e.name.c_str());
      archive_entry_set_filetype(ae, e.type);
      archive_entry_set_perm(ae, e.mode);
      archive_entry_set_uid(ae, e.uid);
      archive_entry_set_gid(ae, e.gid);
      archive_entry_set_mtime(ae, 1700000000, 0);
      if (!e.symlink.empty()) archive_entry_set_symlink(ae, e.symlink.c_str());
      if (!e.hardlink.empty()) {
        archive_entry_set_hardlink(ae, e.hardlink.c_str());
        archive_entry_set_size(ae, 0);
      } else {
        archive_entry_set_size(ae, la_int64_t(e.data.size()));
      }
      archive_write_header(a, ae);
      if (!e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
      archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
    return out;
  }

 private:
  struct Entry {
    std::string name;
    unsigned type;
    int mode;
    std::string data, symlink, hardlink;
    int uid = 0, gid = 0;
  };
  TarBuilder& add(const std::string& name, unsigned type, int mode, const std::string& data, const std::string& sym,
                  const std::string& hard, int uid = 0, int gid = 0) {
    entries_.push_back(Entry{name, type, mode, data, sym, hard, uid, gid});
    return *this;
  }
  static la_ssize_t writeCb(struct archive*, void* ud, const void* buf, size_t n) {
    static_cast<std::string*>(ud)->append(static_cast<const char*>(buf), n);
    return la_ssize_t(n);
  }
  std::vector<Entry> entries_;
};

}  // namespace fakehttp
