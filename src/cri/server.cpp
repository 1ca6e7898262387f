// berth-cri.so's entry point: the gRPC server of the CRI front end.
//
// The server has no listening port of its own: berthd owns the CRI socket
// and hands each accepted connection over (plugin.h), and gRPC serves it as
// an already-connected channel (AddInsecureChannelFromFd).

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <atomic>
#include <memory>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/server_posix.h>
#include <grpcpp/support/server_interceptor.h>

#include "common/log.h"
#include "common/util.h"
#include "cri/plugin.h"
#include "cri/services.h"
#include "cri/state.h"

namespace berth::cri {
namespace {

// CreateContainer requests carry whole pod configs and ExecSync answers up
// to 16 MiB of each stream: gRPC's 4 MiB default is too small for both.
constexpr int kMaxMessageBytes = 64 << 20;

// Every call's start and end, for Frontend::lastActivity/activeCalls.
struct Activity {
  std::atomic<int64_t> last{0};
  std::atomic<int> active{0};
};

class ActivityInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit ActivityInterceptor(Activity& a) : a_(a) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    using H = grpc::experimental::InterceptionHookPoints;
    if (m->QueryInterceptionHookPoint(H::POST_RECV_INITIAL_METADATA)) {
      a_.active++;
      started_ = true;
      a_.last = nowNanos();
    }
    if (m->QueryInterceptionHookPoint(H::PRE_SEND_STATUS) && started_) {
      started_ = false;
      a_.active--;
      a_.last = nowNanos();
    }
    m->Proceed();
  }

 private:
  Activity& a_;
  bool started_ = false;
};

class ActivityFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ActivityFactory(Activity& a) : a_(a) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo*) override {
    return new ActivityInterceptor(a_);
  }

 private:
  Activity& a_;
};

class GrpcFrontend final : public Frontend {
 public:
  explicit GrpcFrontend(const Host& host) : state_(host), runtime_(state_), images_(state_) {}

  Result<> start() {
    if (!state_.initError.empty()) return makeError(Code::Internal, state_.initError);
    grpc::ServerBuilder b;
    b.RegisterService(&runtime_);
    b.RegisterService(&images_);
    b.SetMaxReceiveMessageSize(kMaxMessageBytes);
    b.SetMaxSendMessageSize(kMaxMessageBytes);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
    interceptors.push_back(std::make_unique<ActivityFactory>(activity_));
    b.experimental().SetInterceptorCreators(std::move(interceptors));
    server_ = b.BuildAndStart();
    if (!server_) return makeError(Code::Internal, "the gRPC server did not start");
    return {};
  }

  void serveFd(int fd) override {
    // gRPC's event engine drives the connection with non-blocking I/O.
    int fl = ::fcntl(fd, F_GETFL);
    if (fl >= 0) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    grpc::AddInsecureChannelFromFd(server_.get(), fd);
  }

  void shutdown() override {
    if (!server_) return;
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
    server_.reset();
  }

  ~GrpcFrontend() override { shutdown(); }

  int64_t lastActivity() const override { return activity_.last.load(); }
  int activeCalls() const override { return activity_.active.load(); }

 private:
  Activity activity_;
  State state_;
  RuntimeServiceImpl runtime_;
  ImageServiceImpl images_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace
}  // namespace berth::cri

extern "C" __attribute__((visibility("default"))) berth::cri::Frontend* berth_cri_create(
    const berth::cri::Host* host, std::string* error) {
  try {
    auto f = std::make_unique<berth::cri::GrpcFrontend>(*host);
    if (auto r = f->start(); !r) {
      if (error) *error = r.error().message;
      return nullptr;
    }
    return f.release();
  } catch (const std::exception& e) {
    if (error) *error = e.what();
    return nullptr;
  }
}

// The signature berthd expects (plugin.h CreateFn), checked at compile time.
static_assert(std::is_same_v<decltype(&berth_cri_create), berth::cri::CreateFn>);
