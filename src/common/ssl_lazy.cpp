// libssl's client API, loaded on first use (for the CLI only).
//
// The berth CLI speaks TLS only to tcp:// hosts with --tls/--tlsverify
// (cli/client.cpp). Like crypto_lazy.cpp for libcrypto, the berth binary
// links this file instead of libssl: it defines the functions the client
// calls and forwards them to libssl.so.3 (which brings libcrypto.so.3),
// opened with dlopen the first time one runs. A unix-socket command never
// maps either library. berthd and the unit tests link the real libssl.
//
// When the library cannot be loaded, SSL_CTX_new returns null (and
// ERR_get_error reports nothing): the client reports that TLS is not
// available.

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace {

void* lib() {
  // RTLD_LAZY: binding libssl's and libcrypto's thousand PLT entries up
  // front costs the one TLS command start-up time it does not need.
  static void* handle = ::dlopen("libssl.so.3", RTLD_LAZY | RTLD_LOCAL);
  return handle;
}

template <class F>
F sym(const char* name) {
  void* l = lib();
  return l ? reinterpret_cast<F>(::dlsym(l, name)) : nullptr;
}

}  // namespace

// FORWARD(ret, name, fail, (params), (args)): defines name() calling
// libssl's name, or returning fail when it is missing.
#define FORWARD(ret, name, fail, params, args)                        \
  ret name params {                                                   \
    using Fn = ret(*) params;                                         \
    static Fn fn = sym<Fn>(#name);                                    \
    if (!fn) return fail;                                             \
    return fn args;                                                   \
  }
#define FORWARD_VOID(name, params, args)                              \
  void name params {                                                  \
    using Fn = void(*) params;                                        \
    static Fn fn = sym<Fn>(#name);                                    \
    if (fn) fn args;                                                  \
  }

extern "C" {

FORWARD(int, OPENSSL_init_ssl, 0, (uint64_t opts, const OPENSSL_INIT_SETTINGS* settings), (opts, settings))
FORWARD(const SSL_METHOD*, TLS_client_method, nullptr, (), ())
FORWARD(SSL_CTX*, SSL_CTX_new, nullptr, (const SSL_METHOD* m), (m))
FORWARD_VOID(SSL_CTX_free, (SSL_CTX * c), (c))
FORWARD(long, SSL_CTX_ctrl, 0, (SSL_CTX * c, int cmd, long larg, void* parg), (c, cmd, larg, parg))
FORWARD_VOID(SSL_CTX_set_verify, (SSL_CTX * c, int mode, SSL_verify_cb cb), (c, mode, cb))
FORWARD(int, SSL_CTX_load_verify_locations, 0, (SSL_CTX * c, const char* f, const char* d), (c, f, d))
FORWARD(int, SSL_CTX_set_default_verify_paths, 0, (SSL_CTX * c), (c))
FORWARD(int, SSL_CTX_use_certificate_chain_file, 0, (SSL_CTX * c, const char* f), (c, f))
FORWARD(int, SSL_CTX_use_PrivateKey_file, 0, (SSL_CTX * c, const char* f, int t), (c, f, t))
FORWARD(SSL*, SSL_new, nullptr, (SSL_CTX * c), (c))
FORWARD_VOID(SSL_free, (SSL * s), (s))
FORWARD(int, SSL_set_fd, 0, (SSL * s, int fd), (s, fd))
FORWARD(long, SSL_ctrl, 0, (SSL * s, int cmd, long larg, void* parg), (s, cmd, larg, parg))
FORWARD(int, SSL_set1_host, 0, (SSL * s, const char* h), (s, h))
FORWARD(X509_VERIFY_PARAM*, SSL_get0_param, nullptr, (SSL * s), (s))
FORWARD(int, X509_VERIFY_PARAM_set1_ip_asc, 0, (X509_VERIFY_PARAM * p, const char* ip), (p, ip))
FORWARD(int, SSL_connect, -1, (SSL * s), (s))
FORWARD(int, SSL_read, -1, (SSL * s, void* b, int n), (s, b, n))
FORWARD(int, SSL_write, -1, (SSL * s, const void* b, int n), (s, b, n))
FORWARD(int, SSL_get_error, SSL_ERROR_SSL, (const SSL* s, int r), (s, r))
FORWARD(int, SSL_pending, 0, (const SSL* s), (s))
FORWARD(int, SSL_shutdown, -1, (SSL * s), (s))
FORWARD(long, SSL_get_verify_result, X509_V_ERR_UNSPECIFIED, (const SSL* s), (s))
FORWARD(const char*, X509_verify_cert_error_string, "unknown", (long n), (n))
FORWARD(unsigned long, ERR_get_error, 0, (), ())
FORWARD_VOID(ERR_error_string_n, (unsigned long e, char* buf, size_t len), (e, buf, len))

}  // extern "C"
