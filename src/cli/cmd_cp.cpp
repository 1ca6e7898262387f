// docker cp: both directions through the archive API (engine-api.md:
// HEAD/GET/PUT /containers/{id}/archive), with docker's rules for where a
// copy lands (cli/command/container/cp.go, pkg/archive CopyTo).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/stdio.h"
#include "cli/tar.h"
#include "common/util.h"

namespace berth::cli {

namespace {

using json = nlohmann::json;

struct CpArg {
  std::string container;  // empty: a local path
  std::string path;
};

CpArg splitCpArg(const std::string& a) {
  if (a.empty() || a[0] == '/' || a[0] == '.') return {"", a};
  auto colon = a.find(':');
  if (colon == std::string::npos) return {"", a};
  return {a.substr(0, colon), a.substr(colon + 1)};
}

struct RemoteStat {
  bool exists = false;
  bool isDir = false;
  std::string name, linkTarget;
};

std::string base64Decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = val(c);
    if (v < 0) continue;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  return out;
}

RemoteStat parseStatHeader(const std::string& h) {
  RemoteStat s;
  auto j = json::parse(base64Decode(h), nullptr, false);
  if (!j.is_object()) return s;
  s.exists = true;
  s.name = j.value("name", "");
  uint32_t mode = j.value("mode", uint32_t(0));
  s.isDir = mode & (1u << 31);
  s.linkTarget = j.value("linkTarget", "");
  return s;
}

std::string archivePath(const std::string& container, const std::string& path) {
  return "/containers/" + urlEncode(container) + "/archive" + Query().add("path", path).str();
}

// HEAD: the stat, exists=false on 404; other failures are errors.
Result<RemoteStat> statRemote(Context& ctx, const std::string& container, const std::string& path) {
  TRY_ASSIGN(auto r, ctx.client.call("HEAD", archivePath(container, path)));
  if (r.status == 404) {
    // a missing container is an error, a missing path is not
    auto c = ctx.client.call("GET", "/containers/" + urlEncode(container) + "/json");
    if (c && c->status == 404)
      return errorf(Code::NotFound, "Error response from daemon: No such container: {}", container);
    return RemoteStat{};
  }
  if (r.status != 200)
    return errorf(codeForStatus(r.status), "Error response from daemon: {}",
                  daemonMessage(r, "HEAD", "/containers/archive"));
  return parseStatHeader(r.header("x-docker-container-path-stat"));
}

std::string baseOf(const std::string& p) {
  if (p == "." || endsWith(p, "/.")) return ".";
  std::string s = p;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  auto slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

std::string dirOf(const std::string& p) {
  std::string s = p;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  auto slash = s.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : s.substr(0, slash);
}

bool hasTrailingSep(const std::string& p) { return endsWith(p, "/") || endsWith(p, "/."); }

std::string absContainerPath(const std::string& p) { return (!p.empty() && p[0] == '/') ? p : "/" + p; }

// Go spells errno texts in lower case ("no such file or directory").
std::string goErrno(int e) { return toLower(std::strerror(e)); }

int fail(Context& ctx, const std::string& msg) {
  err(ctx, msg + "\n");
  return kExitFailure;
}

int copyFromContainer(Context& ctx, const CpArg& src, const std::string& dst, bool follow) {
  std::string srcPath = absContainerPath(src.path);
  std::string rebaseTo;
  if (follow) {
    auto st = statRemote(ctx, src.container, srcPath);
    if (!st) return fail(ctx, st.error().message);
    if (st->exists && !st->linkTarget.empty()) {
      rebaseTo = baseOf(srcPath);
      srcPath = st->linkTarget;
    }
  }
  auto s = ctx.client.stream("GET", archivePath(src.container, srcPath));
  if (!s) return fail(ctx, s.error().message);
  auto& [conn, head] = *s;
  if (head.status != 200) {
    auto b = conn->readAllBody();
    head.body = b ? *b : "";
    return fail(ctx, "Error response from daemon: " + daemonMessage(head, "GET", "/containers/archive"));
  }
  RemoteStat st = parseStatHeader(head.header("x-docker-container-path-stat"));
  if (dst == "-") {
    std::vector<char> buf(1 << 16);
    for (;;) {
      auto n = conn->readBody(buf.data(), buf.size());
      if (!n) return fail(ctx, n.error().message);
      if (*n == 0) return 0;
      writeFd(ctx.out, std::string_view(buf.data(), *n));
    }
  }
  std::string from = baseOf(srcPath), to = rebaseTo.empty() ? from : rebaseTo;
  std::string dstDir;
  struct stat ds {};
  if (::stat(dst.c_str(), &ds) == 0) {
    if (S_ISDIR(ds.st_mode)) {
      dstDir = dst;
    } else {
      if (st.isDir) return fail(ctx, "cannot copy directory");
      dstDir = dirOf(dst);
      to = baseOf(dst);
    }
  } else {
    if (errno != ENOENT) return fail(ctx, fmt::format("stat {}: {}", dst, goErrno(errno)));
    if (hasTrailingSep(dst)) return fail(ctx, "no such directory");
    dstDir = dirOf(dst);
    struct stat ps {};
    if (::stat(dstDir.c_str(), &ps) != 0) return fail(ctx, fmt::format("stat {}: {}", dstDir, goErrno(errno)));
    to = baseOf(dst);
  }
  tar::Reader reader([&c = conn](char* b, size_t n) { return c->readBody(b, n); });
  if (auto r = tar::extract(reader, dstDir, from == to ? "" : from, to); !r) return fail(ctx, r.error().message);
  return 0;
}

int copyToContainer(Context& ctx, const std::string& src, const CpArg& dst, bool follow, bool archive) {
  std::string dstPath = absContainerPath(dst.path);
  auto dstStat = statRemote(ctx, dst.container, dstPath);
  if (!dstStat) return fail(ctx, dstStat.error().message);
  if (dstStat->exists && !dstStat->linkTarget.empty()) {
    // dockerd resolved the link inside the container: copy to its target
    dstPath = dstStat->linkTarget;
    dstStat = statRemote(ctx, dst.container, dstPath);
    if (!dstStat) return fail(ctx, dstStat.error().message);
  }
  std::string dstDir, tarName;
  UniqueFd bodyFd;
  std::thread producer;
  if (src == "-") {
    if (!dstStat->exists || !dstStat->isDir)
      return fail(ctx, fmt::format("destination \"{}:{}\" must be a directory", dst.container, dstPath));
    dstDir = dstPath;
  } else {
    struct stat ss {};
    if ((follow ? ::stat(src.c_str(), &ss) : ::lstat(src.c_str(), &ss)) != 0)
      return fail(ctx, fmt::format("{} {}: {}", follow ? "stat" : "lstat", src, goErrno(errno)));
    if (hasTrailingSep(src) && !S_ISDIR(ss.st_mode)) return fail(ctx, fmt::format("{}: not a directory", src));
    if (dstStat->exists && dstStat->isDir) {
      dstDir = dstPath;
      tarName = baseOf(src);
    } else {
      if (dstStat->exists && S_ISDIR(ss.st_mode)) return fail(ctx, "cannot copy directory");
      if (!dstStat->exists && hasTrailingSep(dstPath)) return fail(ctx, "no such directory");
      dstDir = dirOf(dstPath);
      tarName = baseOf(dstPath);
    }
  }
  if (src == "-") {
    bodyFd.reset(::dup(ctx.in));
  } else {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return fail(ctx, fmt::format("pipe: {}", std::strerror(errno)));
    bodyFd.reset(p[0]);
    producer = std::thread([src, tarName, follow, wfd = p[1], &ctx] {
      UniqueFd w(wfd);
      tar::Writer tw([&](std::string_view d) -> Result<> {
        while (!d.empty()) {
          ssize_t n = ::write(w.get(), d.data(), d.size());
          if (n < 0) {
            if (errno == EINTR) continue;
            return sysError(errno, "write");
          }
          d.remove_prefix(size_t(n));
        }
        return {};
      });
      auto r = tw.addPath(src, tarName, follow);
      if (r) r = tw.finish();
      if (!r && r.error().err != EPIPE) err(ctx, r.error().message + "\n");
    });
  }
  Query q;
  q.add("path", dstDir).add("noOverwriteDirNonDir", "true");
  q.addIf(archive, "copyUIDGID", "true");
  auto up = ctx.client.upload("PUT", "/containers/" + urlEncode(dst.container) + "/archive" + q.str(), bodyFd.get(),
                              "application/x-tar");
  bodyFd.reset();
  if (producer.joinable()) producer.join();
  if (!up) return fail(ctx, up.error().message);
  auto& [conn, head] = *up;
  if (head.status != 200) {
    auto b = conn->readAllBody();
    head.body = b ? *b : "";
    return fail(ctx, "Error response from daemon: " + daemonMessage(head, "PUT", "/containers/archive"));
  }
  return 0;
}

int cmdCp(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  CpArg src = splitCpArg(args[0]), dst = splitCpArg(args[1]);
  if (src.container.empty() && dst.container.empty()) return fail(ctx, "must specify at least one container source");
  if (!src.container.empty() && !dst.container.empty())
    return fail(ctx, "copying between containers is not supported");
  if (!src.container.empty()) return copyFromContainer(ctx, src, dst.path, f.getBool("follow-link"));
  return copyToContainer(ctx, src.path, dst, f.getBool("follow-link"), f.getBool("archive"));
}

void flagsCp(FlagSet& f) {
  f.addBool("archive", 'a', "Archive mode (copy all uid/gid information)");
  f.addBool("follow-link", 'L', "Always follow symbol link in SRC_PATH");
  f.addBool("quiet", 'q', "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached");
}

}  // namespace

std::vector<Command> cpCommands() {
  return {{"container",
           {"cp"},
           {"cp"},
           "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
           "Copy files/folders between a container and the local filesystem",
           ArgRule::Exact,
           2,
           0,
           true,
           flagsCp,
           cmdCp}};
}

}  // namespace berth::cli
