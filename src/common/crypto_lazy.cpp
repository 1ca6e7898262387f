// libcrypto's digest API, loaded on first use (for the CLI only).
//
// `berth manifest` hashes manifests (common/sha256.cpp, OpenSSL EVP). The
// CLI must start without mapping libcrypto.so.3 for every `berth ps`, so the
// berth binary links this file instead of libcrypto: it defines the EVP
// functions sha256.cpp calls and forwards them to libcrypto.so.3, opened
// with dlopen the first time one runs (libcurl, loaded lazily by
// curl_lazy.cpp, needs that library anyway). berthd and the unit tests link
// the real libcrypto and never this file.
//
// When the library cannot be loaded, EVP_MD_CTX_new returns null and the
// other functions fail (0), so a digest comes out empty and never matches.

#include <dlfcn.h>
#include <openssl/evp.h>

namespace {

struct CryptoApi {
  void* lib = nullptr;
  EVP_MD_CTX* (*ctxNew)() = nullptr;
  void (*ctxFree)(EVP_MD_CTX*) = nullptr;
  const EVP_MD* (*sha256)() = nullptr;
  int (*init)(EVP_MD_CTX*, const EVP_MD*, ENGINE*) = nullptr;
  int (*update)(EVP_MD_CTX*, const void*, size_t) = nullptr;
  int (*final)(EVP_MD_CTX*, unsigned char*, unsigned int*) = nullptr;
};

template <class F>
void bind(void* lib, F& f, const char* name) {
  f = reinterpret_cast<F>(::dlsym(lib, name));
}

const CryptoApi& api() {
  static const CryptoApi a = [] {
    CryptoApi c;
    c.lib = ::dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!c.lib) return c;
    bind(c.lib, c.ctxNew, "EVP_MD_CTX_new");
    bind(c.lib, c.ctxFree, "EVP_MD_CTX_free");
    bind(c.lib, c.sha256, "EVP_sha256");
    bind(c.lib, c.init, "EVP_DigestInit_ex");
    bind(c.lib, c.update, "EVP_DigestUpdate");
    bind(c.lib, c.final, "EVP_DigestFinal_ex");
    if (!c.ctxNew || !c.ctxFree || !c.sha256 || !c.init || !c.update || !c.final) c.lib = nullptr;
    return c;
  }();
  return a;
}

}  // namespace

extern "C" {

EVP_MD_CTX* EVP_MD_CTX_new() { return api().lib ? api().ctxNew() : nullptr; }
void EVP_MD_CTX_free(EVP_MD_CTX* ctx) {
  if (api().lib && ctx) api().ctxFree(ctx);
}
const EVP_MD* EVP_sha256() { return api().lib ? api().sha256() : nullptr; }
int EVP_DigestInit_ex(EVP_MD_CTX* ctx, const EVP_MD* type, ENGINE* impl) {
  return api().lib && ctx ? api().init(ctx, type, impl) : 0;
}
int EVP_DigestUpdate(EVP_MD_CTX* ctx, const void* d, size_t cnt) {
  return api().lib && ctx ? api().update(ctx, d, cnt) : 0;
}
int EVP_DigestFinal_ex(EVP_MD_CTX* ctx, unsigned char* md, unsigned int* s) {
  if (s) *s = 0;
  return api().lib && ctx ? api().final(ctx, md, s) : 0;
}

}  // extern "C"
