#include "image/url_source.h"

#include <curl/curl.h>

#include "common/util.h"

namespace berth::image {

namespace {

class UrlReader final : public BodyReader {
 public:
  explicit UrlReader(std::string url) : url_(std::move(url)) {}
  ~UrlReader() override {
    if (multi_ && easy_) curl_multi_remove_handle(multi_, easy_);
    if (easy_) curl_easy_cleanup(easy_);
    if (multi_) curl_multi_cleanup(multi_);
  }
  UrlReader(const UrlReader&) = delete;
  UrlReader& operator=(const UrlReader&) = delete;

  Result<> start() {
    easy_ = curl_easy_init();
    multi_ = curl_multi_init();
    if (!easy_ || !multi_) return makeError(Code::Internal, "cannot initialise libcurl");
    curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy_, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy_, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(easy_, CURLOPT_USERAGENT, "berth");
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, errbuf_);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &UrlReader::onData);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
    curl_multi_add_handle(multi_, easy_);
    // Run until the first body bytes (or the end): then the status is known.
    while (buf_.empty() && !done_) TRY(step());
    long status = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    if (result_ != CURLE_OK) return std::unexpected(transportError());
    if (status >= 400) return errorf(Code::Internal, "failed to GET {} with status {}", url_, statusText(status));
    return {};
  }

  Result<size_t> read(char* out, size_t n) override {
    while (buf_.size() == off_ && !done_) {
      buf_.clear();
      off_ = 0;
      TRY(step());
    }
    if (buf_.size() == off_) {
      if (result_ != CURLE_OK) return std::unexpected(transportError());
      return size_t(0);
    }
    size_t k = std::min(n, buf_.size() - off_);
    memcpy(out, buf_.data() + off_, k);
    off_ += k;
    return k;
  }

 private:
  static size_t onData(char* p, size_t size, size_t nmemb, void* self) {
    auto* r = static_cast<UrlReader*>(self);
    r->buf_.append(p, size * nmemb);
    return size * nmemb;
  }

  Result<> step() {
    int running = 0;
    CURLMcode mc = curl_multi_perform(multi_, &running);
    if (mc != CURLM_OK) return errorf(Code::Internal, "Get \"{}\": {}", url_, curl_multi_strerror(mc));
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
      if (m->msg == CURLMSG_DONE) {
        done_ = true;
        result_ = m->data.result;
      }
    }
    if (!done_ && running && buf_.size() == off_) curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    return {};
  }

  Error transportError() const {
    std::string detail = errbuf_[0] ? errbuf_ : curl_easy_strerror(result_);
    return Error{Code::Internal, 0, fmt::format("Get \"{}\": {}", url_, detail)};
  }

  static std::string statusText(long status) {
    switch (status) {
      case 400: return "400 Bad Request";
      case 401: return "401 Unauthorized";
      case 403: return "403 Forbidden";
      case 404: return "404 Not Found";
      case 500: return "500 Internal Server Error";
      case 502: return "502 Bad Gateway";
      case 503: return "503 Service Unavailable";
      default: return std::to_string(status);
    }
  }

  std::string url_;
  CURL* easy_ = nullptr;
  CURLM* multi_ = nullptr;
  std::string buf_;
  size_t off_ = 0;
  bool done_ = false;
  CURLcode result_ = CURLE_OK;
  char errbuf_[CURL_ERROR_SIZE] = {};
};

}  // namespace

Result<std::unique_ptr<BodyReader>> openUrl(const std::string& url) {
  std::string u = url;
  if (u.find("://") == std::string::npos) u = "http://" + u;
  if (!startsWith(u, "http://") && !startsWith(u, "https://"))
    return errorf(Code::InvalidArgument, "unsupported URL scheme in {}: only http and https can be imported", url);
  auto r = std::make_unique<UrlReader>(u);
  TRY(r->start());
  return std::unique_ptr<BodyReader>(std::move(r));
}

}  // namespace berth::image
