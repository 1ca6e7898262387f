// libcurl, loaded on first use.
//
// Linking libcurl pulls some forty shared objects (TLS, SSH, LDAP, Kerberos,
// IDN, ...) into every berthd, which costs start-up time and about a
// megabyte of idle RSS even after the idle trim; most daemons never pull.
// So berthd is not linked against libcurl: this file defines the libcurl
// functions berth calls and forwards each to libcurl.so.4, opened with
// dlopen the first time any of them runs. Code keeps including
// <curl/curl.h> and calling the normal API.
//
// When the library cannot be loaded, the init functions return null /
// CURLE_FAILED_INIT and the strerror functions say why, so callers report
// a clear error instead of crashing.
//
// Variadic forwarding (curl_easy_setopt & co.): every option value libcurl
// accepts is a long, a curl_off_t, a data pointer or a function pointer,
// all passed in one general-purpose register slot on the Linux ABIs berth
// builds for (x86-64, aarch64), so one pointer-sized va_arg carries it.
//
// Thread safety: the library is loaded, and curl_global_init run, under a
// function-local static; callers need not call curl_global_init.

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>

#include <cstdarg>
#include <string>

static_assert(sizeof(curl_off_t) == sizeof(void*) && sizeof(long) == sizeof(void*),
              "curl_lazy forwards option values as one pointer-sized argument");

namespace {

struct CurlApi {
  void* lib = nullptr;
  std::string loadError;
#define BERTH_CURL_FN(ret, name, params) ret(*name) params = nullptr;
#define BERTH_CURL_FNS                                                                     \
  BERTH_CURL_FN(CURLcode, curl_global_init, (long))                                        \
  BERTH_CURL_FN(CURL*, curl_easy_init, ())                                                 \
  BERTH_CURL_FN(CURLcode, curl_easy_setopt, (CURL*, CURLoption, ...))                      \
  BERTH_CURL_FN(CURLcode, curl_easy_perform, (CURL*))                                      \
  BERTH_CURL_FN(CURLcode, curl_easy_getinfo, (CURL*, CURLINFO, ...))                       \
  BERTH_CURL_FN(void, curl_easy_cleanup, (CURL*))                                          \
  BERTH_CURL_FN(void, curl_easy_reset, (CURL*))                                            \
  BERTH_CURL_FN(const char*, curl_easy_strerror, (CURLcode))                               \
  BERTH_CURL_FN(struct curl_slist*, curl_slist_append, (struct curl_slist*, const char*))  \
  BERTH_CURL_FN(void, curl_slist_free_all, (struct curl_slist*))                           \
  BERTH_CURL_FN(CURLM*, curl_multi_init, ())                                               \
  BERTH_CURL_FN(CURLMcode, curl_multi_add_handle, (CURLM*, CURL*))                         \
  BERTH_CURL_FN(CURLMcode, curl_multi_remove_handle, (CURLM*, CURL*))                      \
  BERTH_CURL_FN(CURLMcode, curl_multi_cleanup, (CURLM*))                                   \
  BERTH_CURL_FN(CURLMcode, curl_multi_perform, (CURLM*, int*))                             \
  BERTH_CURL_FN(CURLMsg*, curl_multi_info_read, (CURLM*, int*))                            \
  BERTH_CURL_FN(CURLMcode, curl_multi_poll, (CURLM*, struct curl_waitfd*, unsigned, int, int*)) \
  BERTH_CURL_FN(const char*, curl_multi_strerror, (CURLMcode))
  BERTH_CURL_FNS
#undef BERTH_CURL_FN
};

CurlApi load() {
  CurlApi a;
  a.lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!a.lib) {
    const char* e = dlerror();
    a.loadError = std::string("libcurl could not be loaded (Debian package libcurl4): ") + (e ? e : "unknown error");
    return a;
  }
#define BERTH_CURL_FN(ret, name, params)                                  \
  a.name = reinterpret_cast<ret(*) params>(dlsym(a.lib, #name));         \
  if (!a.name) {                                                          \
    a.loadError = "libcurl.so.4 lacks " #name;                            \
    dlclose(a.lib);                                                       \
    a.lib = nullptr;                                                      \
    return a;                                                             \
  }
  BERTH_CURL_FNS
#undef BERTH_CURL_FN
  // Once, before any handle exists (this runs under a static's guard).
  a.curl_global_init(CURL_GLOBAL_DEFAULT);
  return a;
}

const CurlApi& api() {
  static const CurlApi a = load();
  return a;
}

}  // namespace

extern "C" {

CURLcode curl_global_init(long flags) { return api().lib ? api().curl_global_init(flags) : CURLE_FAILED_INIT; }
CURL* curl_easy_init() { return api().lib ? api().curl_easy_init() : nullptr; }
CURLcode curl_easy_setopt(CURL* c, CURLoption opt, ...) {
  va_list ap;
  va_start(ap, opt);
  void* v = va_arg(ap, void*);
  va_end(ap);
  return api().lib ? api().curl_easy_setopt(c, opt, v) : CURLE_FAILED_INIT;
}
CURLcode curl_easy_perform(CURL* c) { return api().lib ? api().curl_easy_perform(c) : CURLE_FAILED_INIT; }
CURLcode curl_easy_getinfo(CURL* c, CURLINFO info, ...) {
  va_list ap;
  va_start(ap, info);
  void* v = va_arg(ap, void*);
  va_end(ap);
  return api().lib ? api().curl_easy_getinfo(c, info, v) : CURLE_FAILED_INIT;
}
void curl_easy_cleanup(CURL* c) {
  if (api().lib) api().curl_easy_cleanup(c);
}
void curl_easy_reset(CURL* c) {
  if (api().lib) api().curl_easy_reset(c);
}
const char* curl_easy_strerror(CURLcode code) {
  return api().lib ? api().curl_easy_strerror(code) : api().loadError.c_str();
}
struct curl_slist* curl_slist_append(struct curl_slist* l, const char* s) {
  return api().lib ? api().curl_slist_append(l, s) : nullptr;
}
void curl_slist_free_all(struct curl_slist* l) {
  if (api().lib) api().curl_slist_free_all(l);
}
CURLM* curl_multi_init() { return api().lib ? api().curl_multi_init() : nullptr; }
CURLMcode curl_multi_add_handle(CURLM* m, CURL* c) {
  return api().lib ? api().curl_multi_add_handle(m, c) : CURLM_INTERNAL_ERROR;
}
CURLMcode curl_multi_remove_handle(CURLM* m, CURL* c) {
  return api().lib ? api().curl_multi_remove_handle(m, c) : CURLM_INTERNAL_ERROR;
}
CURLMcode curl_multi_cleanup(CURLM* m) { return api().lib ? api().curl_multi_cleanup(m) : CURLM_INTERNAL_ERROR; }
CURLMcode curl_multi_perform(CURLM* m, int* running) {
  return api().lib ? api().curl_multi_perform(m, running) : CURLM_INTERNAL_ERROR;
}
CURLMsg* curl_multi_info_read(CURLM* m, int* left) { return api().lib ? api().curl_multi_info_read(m, left) : nullptr; }
CURLMcode curl_multi_poll(CURLM* m, struct curl_waitfd* fds, unsigned n, int timeoutMs, int* numfds) {
  return api().lib ? api().curl_multi_poll(m, fds, n, timeoutMs, numfds) : CURLM_INTERNAL_ERROR;
}
const char* curl_multi_strerror(CURLMcode code) {
  return api().lib ? api().curl_multi_strerror(code) : api().loadError.c_str();
}

}  // extern "C"
