#pragma once
// The server side of TLS for tcp:// listeners (OpenSSL): TLS 1.2 or later,
// ECDHE with AEAD ciphers only, and with verifyClients a client
// certificate signed by the given CA (dockerd's --tlsverify).

#include <memory>
#include <string>

#include "common/result.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace berth::api {

struct TlsOptions {
  std::string caFile;    // --tlscacert: the CA client certificates must chain to
  std::string certFile;  // --tlscert
  std::string keyFile;   // --tlskey
  bool verifyClients = true;  // --tlsverify: refuse clients without a certificate from caFile
};

// An SSL_CTX, shared by the connections of a listener. Thread safe once built.
class TlsContext {
 public:
  // InvalidArgument with OpenSSL's reason when a file is missing or invalid,
  // or the key does not match the certificate.
  static Result<std::shared_ptr<TlsContext>> create(const TlsOptions& opts);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// OpenSSL's last queued error as text ("" when none); clears the queue.
std::string tlsErrorText();

}  // namespace berth::api
