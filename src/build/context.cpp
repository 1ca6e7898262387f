#include "build/context.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "build/dockerignore.h"
#include "common/log.h"
#include "common/util.h"
#include "container/archive.h"
#include "image/url_source.h"

extern char** environ;

namespace berth::build {

namespace {

constexpr size_t kMaxDockerfile = 16 << 20;  // a Dockerfile larger than this is not read

// A unique directory under tmpDir: "<tmpDir>/docker-builder<hex>".
Result<std::string> makeTempDir(const std::string& tmpDir) {
  TRY(mkdirAll(tmpDir, 0700));
  std::string dir = tmpDir + "/docker-builder" + randomHexId().substr(0, 16);
  if (::mkdir(dir.c_str(), 0755) != 0) return sysError(errno, "create build context directory {}", dir);
  return dir;
}

// Lexically joins p to root (Go's filepath.Join, then Clean); false when the
// result leaves root.
bool joinInside(const std::string& root, const std::string& p, std::string* full) {
  std::vector<std::string> out;
  for (auto& c : split(root + "/" + p, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(c);
  }
  std::string s;
  for (auto& c : out) s += "/" + c;
  *full = s.empty() ? "/" : s;
  return *full == root || startsWith(*full, root + "/");
}

Result<std::string> readInRoot(int rootFd, const std::string& rel, size_t limit) {
  TRY_ASSIGN(auto fd, container::openInRoot(rootFd, "/" + rel, O_RDONLY));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sysError(errno, "stat {}", rel);
  if (S_ISDIR(st.st_mode)) return sysError(EISDIR, "read {}", rel);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sysError(errno, "read {}", rel);
    }
    if (n == 0) break;
    out.append(buf, size_t(n));
    if (out.size() > limit) return errorf(Code::InvalidArgument, "{} is larger than {} bytes", rel, limit);
  }
  return out;
}

// dockerd's withDockerfileFromContext + removeDockerfile: finds and reads
// the Dockerfile (a default name falls back to "dockerfile"), then removes
// .dockerignore and the Dockerfile when .dockerignore lists them.
Result<> loadDockerfile(PreparedContext& ctx, const std::string& requested) {
  std::string name = requested.empty() ? "Dockerfile" : requested;
  UniqueFd root(::open(ctx.dir().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sysError(errno, "open {}", ctx.dir());
  auto tryRead = [&](const std::string& n) -> Result<std::string> {
    std::string full;
    if (!joinInside(ctx.dir(), n, &full))
      return errorf(Code::InvalidArgument, "forbidden path outside the build context: {} ({})", n, full);
    return readInRoot(root.get(), n, kMaxDockerfile);
  };
  auto text = tryRead(name);
  if (!text && text.error().err == ENOENT && name == "Dockerfile") {
    if (auto lower = tryRead("dockerfile")) {
      text = std::move(lower);
      name = "dockerfile";
    }
  }
  if (!text) {
    if (text.error().err == ENOENT || text.error().err == ENOTDIR)
      return errorf(Code::NotFound, "Cannot locate specified Dockerfile: {}", name);
    return std::unexpected(text.error());
  }
  ctx.dockerfile = name;
  ctx.dockerfileText = std::move(*text);

  auto ignore = readInRoot(root.get(), ".dockerignore", kMaxDockerfile);
  if (!ignore) return {};  // no .dockerignore: nothing to remove
  auto excludes = readDockerignore(*ignore);
  for (auto& f : buildFilesToRemove(excludes, name)) {
    std::string full;
    if (!joinInside(ctx.dir(), f, &full)) continue;
    if (::unlink(full.c_str()) != 0 && errno != ENOENT) log::warn("failed to remove {}: {}", f, std::strerror(errno));
  }
  return {};
}

// Extracts a tar stream into a fresh directory.
Result<std::unique_ptr<PreparedContext>> extract(const ContextConfig& cfg, BodyReader& body) {
  TRY_ASSIGN(std::string dir, makeTempDir(cfg.tmpDir));
  auto ctx = std::make_unique<PreparedContext>(dir);
  UniqueFd rootFd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootFd) return sysError(errno, "open {}", dir);
  container::ExtractOptions o;
  o.maxBytes = cfg.maxSize;
  o.skipDevices = true;
  o.refuseEscapingSymlinks = true;
  o.limits = cfg.limits;
  bool empty = true;
  container::TarSource src = [&](char* buf, size_t n) -> Result<size_t> {
    auto r = body.read(buf, n);
    if (r && *r > 0) empty = false;
    return r;
  };
  auto r = container::extractTarToRoot(rootFd.get(), "/", src, o);
  if (!r) {
    if (empty && r.error().code == Code::InvalidArgument) {
      // An empty body is an empty context (docker-py may send none): the
      // Dockerfile lookup reports what is missing.
      return ctx;
    }
    if (startsWith(r.error().message, "larger than the limit"))
      return errorf(Code::InvalidArgument, "build context is {} (berthd --build-context-max-size)", r.error().message);
    return std::unexpected(r.error());
  }
  return ctx;
}

// A BodyReader that serves a sniffed prefix again before the rest.
class PrefixedBody : public BodyReader {
 public:
  PrefixedBody(std::string prefix, BodyReader& rest) : prefix_(std::move(prefix)), rest_(rest) {}
  Result<size_t> read(char* buf, size_t n) override {
    if (off_ < prefix_.size()) {
      size_t k = std::min(n, prefix_.size() - off_);
      std::memcpy(buf, prefix_.data() + off_, k);
      off_ += k;
      return k;
    }
    return rest_.read(buf, n);
  }

 private:
  std::string prefix_;
  size_t off_ = 0;
  BodyReader& rest_;
};

// Counts bytes for the download progress lines.
class ProgressBody : public BodyReader {
 public:
  ProgressBody(BodyReader& in, const ProgressFn& fn) : in_(in), fn_(fn) {}
  Result<size_t> read(char* buf, size_t n) override {
    auto r = in_.read(buf, n);
    if (!r) return r;
    done_ += int64_t(*r);
    if (fn_ && (*r == 0 || done_ - reported_ >= (1 << 20))) {
      reported_ = done_;
      if (!fn_(done_))
        return makeError(Code::Cancelled, "client went away");
    }
    return r;
  }

 private:
  BodyReader& in_;
  const ProgressFn& fn_;
  int64_t done_ = 0, reported_ = 0;
};

bool looksLikeArchive(std::string_view head) {
  auto has = [&](std::string_view magic, size_t at = 0) {
    return head.size() >= at + magic.size() && head.substr(at, magic.size()) == magic;
  };
  return has("\x1f\x8b") || has("BZh") || has("\xfd" "7zXZ") || has("\x28\xb5\x2f\xfd") || has("ustar", 257);
}

// Runs git with args in dir; the output (stdout and stderr) comes back.
Result<std::string> runGit(const std::string& gitBin, const std::string& dir, std::vector<std::string> args) {
  std::vector<std::string> full = {gitBin, "-c", "protocol.file.allow=never"};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> envs;
  for (char** e = environ; *e; e++) {
    std::string_view v(*e);
    if (startsWith(v, "HOME=") || startsWith(v, "GIT_")) continue;
    envs.emplace_back(v);
  }
  for (const char* e : {"HOME=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_PROTOCOL_FROM_USER=0", "GIT_TERMINAL_PROMPT=0"})
    envs.emplace_back(e);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sysError(errno, "pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 2);
  posix_spawn_file_actions_addchdir_np(&fa, dir.c_str());
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, gitBin.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  wr.reset();
  if (rc != 0) return sysError(rc, "run {}", gitBin);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() < (1 << 16)) out.append(buf, size_t(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return makeError(Code::Internal, out);
  return out;
}

class RealContextSource : public ContextSource {
 public:
  explicit RealContextSource(ContextConfig cfg) : cfg_(std::move(cfg)) {}

  Result<std::unique_ptr<PreparedContext>> fromTar(BodyReader& body, const std::string& dockerfile) override {
    TRY_ASSIGN(auto ctx, extract(cfg_, body));
    TRY(loadDockerfile(*ctx, dockerfile));
    return ctx;
  }

  Result<std::unique_ptr<PreparedContext>> fromRemote(const std::string& remote, const std::string& dockerfile,
                                                      const ProgressFn& progress) override {
    if (isGitUrl(remote)) return fromGit(remote, dockerfile);
    if (!isUrl(remote)) return errorf(Code::Internal, "remoteURL ({}) could not be recognized as URL", remote);
    auto body = image::openUrl(remote);
    if (!body) {
      Error e = body.error();
      e.message = fmt::format("error downloading remote context {}: {}", remote, e.message);
      return std::unexpected(e);
    }
    // Sniff the first bytes: an archive by its magic, else a Dockerfile.
    std::string head;
    head.resize(512);
    size_t got = 0;
    while (got < head.size()) {
      TRY_ASSIGN(size_t n, (*body)->read(head.data() + got, head.size() - got));
      if (n == 0) break;
      got += n;
    }
    head.resize(got);
    if (got == 0) return errorf(Code::Internal, "error detecting content type for remote {}: empty response", remote);
    PrefixedBody all(head, **body);
    ProgressBody counted(all, progress);
    if (looksLikeArchive(head)) {
      TRY_ASSIGN(auto ctx, extract(cfg_, counted));
      TRY(loadDockerfile(*ctx, dockerfile));
      return ctx;
    }
    TRY_ASSIGN(std::string dir, makeTempDir(cfg_.tmpDir));
    auto ctx = std::make_unique<PreparedContext>(dir);
    ctx->dockerfile = "Dockerfile";
    char buf[65536];
    for (;;) {
      TRY_ASSIGN(size_t n, counted.read(buf, sizeof buf));
      if (n == 0) break;
      ctx->dockerfileText.append(buf, n);
      if (ctx->dockerfileText.size() > kMaxDockerfile)
        return errorf(Code::InvalidArgument, "the Dockerfile at {} is larger than {} bytes", remote, kMaxDockerfile);
    }
    return ctx;
  }

 private:
  Result<std::unique_ptr<PreparedContext>> fromGit(const std::string& remote, const std::string& dockerfile) {
    TRY_ASSIGN(GitSource src, parseGitUrl(remote));
    TRY_ASSIGN(std::string root, makeTempDir(cfg_.tmpDir));
    auto holder = std::make_unique<PreparedContext>(root);  // removes the clone on any error
    if (auto r = runGit(cfg_.gitBin, root, {"init", "-q"}); !r)
      return errorf(Code::Internal, "failed to init repo at {}: {}", root, r.error().message);
    if (auto r = runGit(cfg_.gitBin, root, {"remote", "add", "origin", src.url}); !r)
      return errorf(Code::Internal, "failed add origin repo at {}: {}", src.url, r.error().message);
    std::string ref = src.ref.empty() ? "master" : src.ref;
    if (!runGit(cfg_.gitBin, root, {"fetch", "--depth", "1", "origin", "--", ref})) {
      if (auto r = runGit(cfg_.gitBin, root, {"fetch", "origin", "--", ref}); !r)
        return errorf(Code::Internal, "error fetching: {}", r.error().message);
    }
    if (auto r = runGit(cfg_.gitBin, root, {"checkout", "-q", ref}); !r) {
      if (!runGit(cfg_.gitBin, root, {"checkout", "-q", "FETCH_HEAD"}))
        return errorf(Code::Internal, "error checking out {}: {}", ref, r.error().message);
    }
    if (auto r = runGit(cfg_.gitBin, root, {"submodule", "update", "--init", "--recursive", "--depth=1"}); !r)
      return errorf(Code::Internal, "error initializing submodules: {}", r.error().message);
    (void)removeAll(root + "/.git");
    std::string dir = root;
    if (!src.subdir.empty()) {
      UniqueFd rootFd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!rootFd) return sysError(errno, "open {}", root);
      auto resolved = container::resolveInRoot(rootFd.get(), src.subdir, true);
      std::string full;
      if (!resolved || !joinInside(root, src.subdir, &full))
        return errorf(Code::InvalidArgument, "error setting git context, \"{}\" not within git root", src.subdir);
      dir = root + (*resolved == "/" ? "" : *resolved);
      struct stat st {};
      if (::stat(dir.c_str(), &st) != 0) return sysError(errno, "stat {}", dir);
      if (!S_ISDIR(st.st_mode)) return errorf(Code::InvalidArgument, "error setting git context, not a directory: {}", dir);
    }
    holder->root.clear();  // ownership moves to ctx
    auto ctx = std::make_unique<PreparedContext>(dir);
    ctx->root = root;
    TRY(loadDockerfile(*ctx, dockerfile));
    return ctx;
  }

  ContextConfig cfg_;
};

}  // namespace

PreparedContext::~PreparedContext() {
  if (root.empty()) return;
  if (auto r = removeAll(root); !r) log::warn("remove build context {}: {}", root, r.error().message);
}

std::unique_ptr<ContextSource> makeContextSource(ContextConfig cfg) {
  return std::make_unique<RealContextSource>(std::move(cfg));
}

void removeContextLeftovers(const std::string& tmpDir) {
  DIR* d = ::opendir(tmpDir.c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (auto* ent = ::readdir(d)) {
    std::string n = ent->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  for (auto& n : names) {
    if (!startsWith(n, "docker-builder")) continue;  // the rest of build/tmp is the builder's
    if (auto r = removeAll(tmpDir + "/" + n); !r) log::warn("remove {}: {}", n, r.error().message);
  }
}

bool isUrl(std::string_view s) { return startsWith(s, "https://") || startsWith(s, "http://"); }

bool isGitUrl(std::string_view s) {
  if (isUrl(s)) {
    // `\.git(?:#.+)?$`
    auto hash = s.find('#');
    std::string_view path = hash == std::string_view::npos ? s : s.substr(0, hash);
    if (endsWith(path, ".git") && (hash == std::string_view::npos || hash + 1 < s.size())) return true;
  }
  return startsWith(s, "git://") || startsWith(s, "github.com/") || startsWith(s, "git@");
}

Result<GitSource> parseGitUrl(std::string_view remote) {
  std::string url(remote);
  bool transport = startsWith(url, "git@") || startsWith(url, "git://") || startsWith(url, "http://") ||
                   startsWith(url, "https://") || startsWith(url, "ssh://");
  if (!transport) url = "https://" + url;
  GitSource out;
  std::string fragment;
  if (auto hash = url.find('#'); hash != std::string::npos) {
    fragment = url.substr(hash + 1);
    url.resize(hash);
  }
  out.url = url;
  auto colon = fragment.find(':');
  out.ref = colon == std::string::npos ? fragment : fragment.substr(0, colon);
  out.subdir = colon == std::string::npos ? "" : fragment.substr(colon + 1);
  if (out.ref.empty()) out.ref = "master";
  if (startsWith(out.ref, "-")) return errorf(Code::InvalidArgument, "invalid refspec: {}", out.ref);
  return out;
}

}  // namespace berth::build
