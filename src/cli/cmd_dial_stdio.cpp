// system dial-stdio: the far end of an ssh:// host (cli/client.h). Proxies
// stdin to a raw connection to the daemon and the connection to stdout, as
// `docker system dial-stdio` does: stdin's EOF half-closes the connection
// (the daemon still answers), the daemon's EOF ends the command at once
// (stdin may never close). Hidden from help, like docker's.

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/command.h"
#include "common/util.h"

namespace berth::cli {

namespace {

int cmdDialStdio(Context& ctx, const FlagSet&, const std::vector<std::string>&) {
  auto conn = ctx.client.connect();
  if (!conn) {
    err(ctx, "failed to open the raw stream connection: " + conn.error().message + "\n");
    return kExitFailure;
  }
  Connection& c = **conn;
  bool stdinOpen = true;
  char buf[64 * 1024];
  for (;;) {
    if (!c.hasBuffered()) {
      pollfd fds[2] = {{c.fd(), POLLIN, 0}, {ctx.in, POLLIN, 0}};
      int n = ::poll(fds, stdinOpen ? 2 : 1, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        err(ctx, "poll: " + std::string(strerror(errno)) + "\n");
        return kExitFailure;
      }
      if (stdinOpen && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t got = ::read(ctx.in, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
          stdinOpen = false;
          c.closeWrite();
        } else if (auto w = c.writeAll(std::string_view(buf, size_t(got))); !w) {
          err(ctx, "error while Copy (stdin to stream): " + w.error().message + "\n");
          return kExitFailure;
        }
        continue;
      }
      if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    }
    auto got = c.readRaw(buf, sizeof buf);
    if (!got) {
      err(ctx, "error while Copy (stream to stdout): " + got.error().message + "\n");
      return kExitFailure;
    }
    if (*got == 0) {
      ::close(ctx.out);
      return 0;
    }
    for (size_t off = 0; off < *got;) {
      ssize_t w = ::write(ctx.out, buf + off, *got - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return kExitFailure;  // the far side went away
      off += size_t(w);
    }
  }
}

}  // namespace

std::vector<Command> dialStdioCommands() {
  std::vector<Command> v;
  Command c{"system", {"dial-stdio"}, {}, "", "Proxy the stdio stream to the daemon connection. Should not be invoked manually.",
            ArgRule::None, 0, 0, true, nullptr, cmdDialStdio};
  c.hidden = true;
  v.push_back(c);
  return v;
}

}  // namespace berth::cli
