#pragma once
// berthd's end of the CRI seam (cri/plugin.h): the CRI socket, and the
// CRI front end (berth-cri.so) loaded on its first connection.
//
// berthd itself never maps gRPC: the socket is a plain unix listener with
// one accept thread; the module is opened (dlopen) when the first client
// connects, and every accepted connection is then handed to it. A module
// that fails to load is logged, its connections closed, and retried on the
// next connection (the failure is usually a missing file).

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/fd.h"
#include "common/result.h"
#include "cri/plugin.h"

namespace berth::daemon {

class CriListener {
 public:
  explicit CriListener(cri::Host host);
  ~CriListener();
  CriListener(const CriListener&) = delete;
  CriListener& operator=(const CriListener&) = delete;

  // Binds host.config.socketPath (mode 0660, its directory created) and
  // starts the accept thread.
  Result<> start();
  // Stops accepting, shuts the front end down if it was loaded, removes the
  // socket. Idempotent.
  void stop();
  // Whether the module has been loaded (for tests and /info).
  bool loaded() const { return frontend_ != nullptr; }
  // The front end's last call (unix nanos, 0 = never) and calls running now.
  int64_t lastActivity() const;
  int activeCalls() const;

 private:
  void acceptLoop();
  cri::Frontend* frontend();  // loads on first use; null when it cannot

  cri::Host host_;
  UniqueFd listenFd_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  void* module_ = nullptr;
  std::atomic<cri::Frontend*> frontend_{nullptr};
};

}  // namespace berth::daemon
