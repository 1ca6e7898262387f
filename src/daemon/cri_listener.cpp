#include "daemon/cri_listener.h"

#include <dlfcn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/util.h"

namespace berth::daemon {

CriListener::CriListener(cri::Host host) : host_(std::move(host)) {}

CriListener::~CriListener() { stop(); }

Result<> CriListener::start() {
  const std::string& path = host_.config.socketPath;
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) TRY(mkdirAll(path.substr(0, slash), 0755));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return errorf(Code::InvalidArgument, "invalid CRI socket path {:?}", path);
  memcpy(addr.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sysError(errno, "socket");
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return sysError(errno, "listen on {}", path);
  if (::listen(fd.get(), 128) != 0) return sysError(errno, "listen on {}", path);
  ::chmod(path.c_str(), 0660);
  listenFd_ = std::move(fd);
  thread_ = std::thread([this] { acceptLoop(); });
  return {};
}

void CriListener::stop() {
  if (stopping_.exchange(true)) return;
  if (listenFd_) ::shutdown(listenFd_.get(), SHUT_RDWR);  // wakes accept4
  if (thread_.joinable()) thread_.join();
  if (auto* f = frontend_.load()) {
    f->shutdown();
    delete f;
    frontend_ = nullptr;
  }
  // The module stays mapped: gRPC's own threads may still be unwinding.
  if (listenFd_) {
    listenFd_.reset();
    ::unlink(host_.config.socketPath.c_str());
  }
}

int64_t CriListener::lastActivity() const {
  auto* f = frontend_.load();
  return f ? f->lastActivity() : 0;
}

int CriListener::activeCalls() const {
  auto* f = frontend_.load();
  return f ? f->activeCalls() : 0;
}

cri::Frontend* CriListener::frontend() {
  if (auto* f = frontend_.load()) return f;
  std::lock_guard lk(mu_);
  if (auto* f = frontend_.load()) return f;
  const std::string& so = host_.config.pluginPath;
  if (!module_) {
    module_ = ::dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!module_) {
      log::error("CRI: cannot load {}: {}", so, ::dlerror());
      return nullptr;
    }
  }
  auto create = reinterpret_cast<cri::CreateFn>(::dlsym(module_, cri::kCreateSymbol));
  if (!create) {
    log::error("CRI: {} has no {}", so, cri::kCreateSymbol);
    return nullptr;
  }
  std::string err;
  cri::Frontend* f = create(&host_, &err);
  if (!f) {
    log::error("CRI: the front end did not start: {}", err);
    return nullptr;
  }
  log::info("CRI: front end loaded from {}", so);
  frontend_ = f;
  return f;
}

void CriListener::acceptLoop() {
  while (!stopping_) {
    int c = ::accept4(listenFd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (stopping_) break;
      if (errno == EMFILE || errno == ENFILE) {
        ::usleep(100'000);
        continue;
      }
      log::error("CRI: accept: {}", strerror(errno));
      break;
    }
    if (stopping_) {
      ::close(c);
      break;
    }
    if (auto* f = frontend()) f->serveFd(c);
    else ::close(c);
  }
}

}  // namespace berth::daemon
