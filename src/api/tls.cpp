#include "api/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace berth::api {

namespace {

// TLS 1.2 suites (TLS 1.3 has only AEAD suites and keeps OpenSSL's defaults):
// forward secrecy and AEAD only, as Go's crypto/tls default server list.
const char* kCiphers12 =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

}  // namespace

std::string tlsErrorText() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out = buf;  // the last (most specific) one
  }
  return out;
}

Result<std::shared_ptr<TlsContext>> TlsContext::create(const TlsOptions& o) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return errorf(Code::Internal, "TLS: {}", tlsErrorText());
  std::shared_ptr<TlsContext> tc(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  // RELEASE_BUFFERS: an idle connection holds no 16 kB read and write
  // record buffers (bench/tls-bench.sh: idle connections' RSS).
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  // No session tickets: nothing to resume, and no post-handshake records a
  // client poll loop could mistake for data.
  SSL_CTX_set_num_tickets(ctx, 0);
  // Nor a server-side session cache (TLS 1.2 would keep every session,
  // with the client's certificate, for up to 20,480 handshakes).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_cipher_list(ctx, kCiphers12) != 1) return errorf(Code::Internal, "TLS ciphers: {}", tlsErrorText());
  if (SSL_CTX_use_certificate_chain_file(ctx, o.certFile.c_str()) != 1)
    return errorf(Code::InvalidArgument, "invalid TLS configuration: could not load X509 key pair (cert: {:?}): {}",
                  o.certFile, tlsErrorText());
  if (SSL_CTX_use_PrivateKey_file(ctx, o.keyFile.c_str(), SSL_FILETYPE_PEM) != 1)
    return errorf(Code::InvalidArgument, "invalid TLS configuration: could not load X509 key pair (key: {:?}): {}",
                  o.keyFile, tlsErrorText());
  if (SSL_CTX_check_private_key(ctx) != 1)
    return errorf(Code::InvalidArgument, "invalid TLS configuration: private key does not match public key");
  if (o.verifyClients) {
    if (SSL_CTX_load_verify_locations(ctx, o.caFile.c_str(), nullptr) != 1)
      return errorf(Code::InvalidArgument, "invalid TLS configuration: could not read CA certificate {:?}: {}",
                    o.caFile, tlsErrorText());
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.caFile.c_str())) SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return tc;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

}  // namespace berth::api
