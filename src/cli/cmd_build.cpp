// berth build / berth image build (the classic builder's client side, as
// docker's legacy `docker build`), and berth builder prune.
//
// The context directory is walked and tarred by a thread into a pipe that
// the upload streams chunked, so a large context is never whole in memory;
// .dockerignore is honoured with build/dockerignore.h (the patterns docker
// uses), keeping the Dockerfile and .dockerignore themselves as docker does.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include "build/dockerignore.h"
#include "cli/command.h"
#include "cli/format/human.h"
#include "cli/stdio.h"
#include "cli/tar.h"
#include "common/number.h"
#include "common/util.h"

namespace berth::cli {

namespace {

using json = nlohmann::json;

void flagsBuild(FlagSet& f) {
  f.addList("add-host", 0, "Add a custom host-to-IP mapping (\"host:ip\")");
  f.addList("build-arg", 0, "Set build-time variables");
  f.addList("cache-from", 0, "Images to consider as cache sources", "strings");
  f.addString("cgroup-parent", 0, "Set the parent cgroup for the \"RUN\" instructions during build");
  f.addBool("compress", 0, "Compress the build context using gzip");
  f.addInt("cpu-period", 0, "Limit the CPU CFS (Completely Fair Scheduler) period");
  f.addInt("cpu-quota", 0, "Limit the CPU CFS (Completely Fair Scheduler) quota");
  f.addInt("cpu-shares", 'c', "CPU shares (relative weight)");
  f.addString("cpuset-cpus", 0, "CPUs in which to allow execution (0-3, 0,1)");
  f.addString("cpuset-mems", 0, "MEMs in which to allow execution (0-3, 0,1)");
  f.addBool("disable-content-trust", 0, "Skip image verification", true);
  f.addString("file", 'f', "Name of the Dockerfile (Default is \"PATH/Dockerfile\")");
  f.addBool("force-rm", 0, "Always remove intermediate containers");
  f.addString("iidfile", 0, "Write the image ID to the file");
  f.addString("isolation", 0, "Container isolation technology");
  f.addList("label", 0, "Set metadata for an image");
  f.addString("memory", 'm', "Memory limit", "", "bytes");
  f.addString("memory-swap", 0, "Swap limit equal to memory plus swap: -1 to enable unlimited swap", "", "bytes");
  f.addString("network", 0, "Set the networking mode for the RUN instructions during build", "default");
  f.addBool("no-cache", 0, "Do not use cache when building the image");
  f.addString("platform", 0, "Set platform if server is multi-platform capable");
  f.addString("progress", 0, "Set type of progress output (accepted; the classic builder prints plain text)", "auto");
  f.addBool("pull", 0, "Always attempt to pull a newer version of the image");
  f.addBool("quiet", 'q', "Suppress the build output and print image ID on success");
  f.addBool("rm", 0, "Remove intermediate containers after a successful build", true);
  f.addList("security-opt", 0, "Security options", "strings");
  f.addString("shm-size", 0, "Size of \"/dev/shm\"", "", "bytes");
  f.addBool("squash", 0, "Squash newly built layers into a single new layer");
  f.addList("tag", 't', "Name and optionally a tag in the \"name:tag\" format");
  f.addString("target", 0, "Set the target build stage to build.");
  f.addList("ulimit", 0, "Ulimit options", "ulimit");
  f.setDefaultText("ulimit", "[]");
}

Result<int64_t> bytesFlag(const FlagSet& f, const std::string& name) {
  if (!f.changed(name)) return 0;
  std::string v = f.getString(name);
  if (v == "-1") return -1;
  auto r = format::ramInBytes(v);
  if (!r)
    return errorf(Code::InvalidArgument, "invalid argument \"{}\" for \"{}\" flag: {}", v,
                  name == "memory" ? "-m, --memory" : "--" + name, r.error().message);
  return *r;
}

bool isUrl(std::string_view s) { return startsWith(s, "http://") || startsWith(s, "https://"); }
bool isGitUrl(std::string_view s) {
  if (isUrl(s)) {
    auto hash = s.find('#');
    if (endsWith(s.substr(0, hash), ".git")) return true;
  }
  return startsWith(s, "git://") || startsWith(s, "github.com/") || startsWith(s, "git@");
}

bool looksLikeArchive(std::string_view head) {
  auto has = [&](std::string_view magic, size_t at = 0) {
    return head.size() >= at + magic.size() && head.substr(at, magic.size()) == magic;
  };
  return has("\x1f\x8b") || has("BZh") || has("\xfd" "7zXZ") || has("\x28\xb5\x2f\xfd") || has("ustar", 257);
}

std::string randomDockerfileName() { return ".dockerfile." + randomHexId().substr(0, 20); }

Result<std::string> readAllFd(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sysError(errno, "read");
    }
    if (n == 0) break;
    out.append(buf, size_t(n));
  }
  return out;
}

// What goes into the request body.
struct ContextPlan {
  std::string dir;               // a local directory to tar ("" = none)
  std::string relDockerfile;     // dockerfile= ("" = the daemon's default)
  std::string extraName;         // a Dockerfile added under this name (-f outside, -f -)
  std::string extraContent;
  std::string stdinPrefix;       // `build -` with an archive: bytes already read from stdin
  bool stdinArchive = false;
  std::vector<std::string> excludes;
};

// Writes the context tar of plan to fd (the pipe the upload reads).
class ContextTar {
 public:
  ContextTar(const ContextPlan& plan, int fd) : plan_(plan), fd_(fd) {}
  Result<> run() {
    tar::Writer w([this](std::string_view d) -> Result<> { return writeAll(d); });
    if (plan_.stdinArchive) {
      TRY(writeAll(plan_.stdinPrefix));
      char buf[65536];
      for (;;) {
        ssize_t n = ::read(0, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sysError(errno, "read stdin");
        if (n == 0) break;
        TRY(writeAll(std::string_view(buf, size_t(n))));
      }
      return {};
    }
    if (!plan_.dir.empty()) {
      TRY_ASSIGN(matcher_, build::PatternMatcher::create(plan_.excludes));
      TRY(walk(w, plan_.dir, ""));
    }
    if (!plan_.extraName.empty()) {
      tar::Entry e;
      e.name = plan_.extraName;
      e.mode = 0600;
      e.size = int64_t(plan_.extraContent.size());
      e.mtime = nowNanos() / 1000000000;
      TRY(w.writeHeader(e));
      TRY(w.writeData(plan_.extraContent));
      // docker's AddDockerfileToBuildContext: .dockerignore names the added
      // file, so the daemon drops both before the build.
      std::string ignore = dockerignore_ ? *dockerignore_ : ".dockerignore";
      ignore += "\n" + plan_.extraName + "\n";
      tar::Entry d;
      d.name = ".dockerignore";
      d.mode = 0600;
      d.size = int64_t(ignore.size());
      d.mtime = e.mtime;
      TRY(w.writeHeader(d));
      TRY(w.writeData(ignore));
    }
    return w.finish();
  }
  uint64_t sent() const { return sent_.load(); }

 private:
  Result<> writeAll(std::string_view d) {
    while (!d.empty()) {
      ssize_t n = ::write(fd_, d.data(), d.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return sysError(errno, "send build context");
      }
      d.remove_prefix(size_t(n));
      sent_ += uint64_t(n);
    }
    return {};
  }

  Result<> walk(tar::Writer& w, const std::string& host, const std::string& rel) {
    DIR* d = ::opendir(host.c_str());
    if (!d) return sysError(errno, "open {}", host);
    std::vector<std::string> names;
    while (auto* ent = ::readdir(d)) {
      std::string n = ent->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (auto& n : names) {
      std::string r = rel.empty() ? n : rel + "/" + n;
      std::string h = host + "/" + n;
      struct stat st {};
      if (::lstat(h.c_str(), &st) != 0) return sysError(errno, "lstat {}", h);
      if (r == ".dockerignore" && !plan_.extraName.empty()) {
        // Sent at the end with the added Dockerfile's name appended.
        TRY_ASSIGN(dockerignore_, readFile(h));
        continue;
      }
      bool excluded = matcher_->matchesOrParentMatches(r);
      if (excluded) {
        if (S_ISDIR(st.st_mode) && matcher_->mustWalkExcludedDir(r)) TRY(walk(w, h, r));
        continue;
      }
      tar::Entry e;
      e.name = S_ISDIR(st.st_mode) ? r + "/" : r;
      e.mode = st.st_mode & 07777;
      e.mtime = st.st_mtim.tv_sec;
      if (S_ISREG(st.st_mode)) {
        e.type = '0';
        e.size = st.st_size;
        UniqueFd fd(::open(h.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return sysError(errno, "open {}", h);
        TRY(w.writeHeader(e));
        char buf[65536];
        int64_t left = e.size;
        while (left > 0) {
          ssize_t k = ::read(fd.get(), buf, size_t(std::min<int64_t>(left, sizeof buf)));
          if (k < 0 && errno == EINTR) continue;
          if (k < 0) return sysError(errno, "read {}", h);
          if (k == 0) return errorf(Code::Internal, "{}: file shrank while sending", h);
          TRY(w.writeData(std::string_view(buf, size_t(k))));
          left -= k;
        }
      } else if (S_ISDIR(st.st_mode)) {
        e.type = '5';
        TRY(w.writeHeader(e));
        TRY(walk(w, h, r));
      } else if (S_ISLNK(st.st_mode)) {
        e.type = '2';
        char buf[4096];
        ssize_t k = ::readlink(h.c_str(), buf, sizeof buf);
        if (k < 0) return sysError(errno, "readlink {}", h);
        e.linkname.assign(buf, size_t(k));
        TRY(w.writeHeader(e));
      } else if (S_ISFIFO(st.st_mode)) {
        e.type = '6';
        TRY(w.writeHeader(e));
      }
      // sockets and devices are not sent (docker's tar skips sockets).
    }
    return {};
  }

  const ContextPlan& plan_;
  int fd_;
  std::atomic<uint64_t> sent_{0};
  std::optional<build::PatternMatcher> matcher_;
  std::optional<std::string> dockerignore_;
};

// The classic builder's stream as docker prints it. On a terminal the
// step's status lines (" ---> ...", "Removing intermediate container ...")
// replace each other in place under the step line; elsewhere every line is
// printed as sent.
class BuildRenderer {
 public:
  BuildRenderer(int fd, bool live) : fd_(fd), live_(live) {}
  void text(std::string_view s) {
    if (!live_) return writeFd(s);
    pending_ += s;
    size_t nl;
    while ((nl = pending_.find('\n')) != std::string::npos) {
      line(pending_.substr(0, nl));
      pending_.erase(0, nl + 1);
    }
  }
  void finish() {
    if (!pending_.empty()) line(pending_), pending_.clear();
    if (statusShown_) writeFd("\n"), statusShown_ = false;
  }

 private:
  static bool isStatus(std::string_view l) {
    return startsWith(l, " ---> ") || startsWith(l, "Removing intermediate container ");
  }
  void line(const std::string& l) {
    if (isStatus(l)) {
      writeFd(statusShown_ ? "\r\033[K" + l : l);
      statusShown_ = true;
      return;
    }
    if (statusShown_) writeFd("\n"), statusShown_ = false;
    writeFd(l + "\n");
  }
  void writeFd(std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::write(fd_, s.data(), s.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      s.remove_prefix(size_t(n));
    }
  }
  int fd_;
  bool live_;
  std::string pending_;
  bool statusShown_ = false;
};

int cmdBuild(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  const std::string& spec = args[0];
  std::string dockerfileFlag = f.getString("file");
  bool quiet = f.getBool("quiet");
  auto fail = [&](const std::string& msg) {
    err(ctx, msg + "\n");
    return kExitError;
  };
  if (dockerfileFlag == "-" && spec == "-") return fail("invalid argument: can't use stdin for both build context and dockerfile");
  std::string iid = f.getString("iidfile");
  if (!iid.empty() && ::unlink(iid.c_str()) != 0 && errno != ENOENT)
    return fail(fmt::format("removing image ID file: {}", std::strerror(errno)));

  Query q;
  for (auto& t : f.getList("tag")) q.add("t", t);
  for (auto& s : f.getList("security-opt")) q.add("securityopt", s);
  for (auto& h : f.getList("add-host")) q.add("extrahosts", h);
  q.addIf(quiet, "q", "1");
  q.addIf(f.getBool("no-cache"), "nocache", "1");
  q.addIf(!f.getBool("rm"), "rm", "0");
  q.addIf(f.getBool("force-rm"), "forcerm", "1");
  q.addIf(f.getBool("pull"), "pull", "1");
  q.addIf(f.getBool("squash"), "squash", "1");
  std::string iso = f.getString("isolation");
  q.addIf(!iso.empty() && iso != "default", "isolation", iso);
  q.addIf(!f.getString("cpuset-cpus").empty(), "cpusetcpus", f.getString("cpuset-cpus"));
  std::string net = f.getString("network");
  q.addIf(!net.empty() && net != "default", "networkmode", net);
  q.addIf(!f.getString("cpuset-mems").empty(), "cpusetmems", f.getString("cpuset-mems"));
  q.addIf(f.getInt("cpu-shares") != 0, "cpushares", std::to_string(f.getInt("cpu-shares")));
  q.addIf(f.getInt("cpu-quota") != 0, "cpuquota", std::to_string(f.getInt("cpu-quota")));
  q.addIf(f.getInt("cpu-period") != 0, "cpuperiod", std::to_string(f.getInt("cpu-period")));
  for (const char* name : {"memory", "memory-swap", "shm-size"}) {
    auto v = bytesFlag(f, name);
    if (!v) return fail(v.error().message);
    std::string key = std::string(name) == "memory" ? "memory" : std::string(name) == "memory-swap" ? "memswap" : "shmsize";
    q.addIf(*v != 0, key, std::to_string(*v));
  }
  q.addIf(!f.getString("cgroup-parent").empty(), "cgroupparent", f.getString("cgroup-parent"));
  json ulimits = json::array();
  for (auto& u : f.getList("ulimit")) {
    auto eq = u.find('=');
    if (eq == std::string::npos) return fail(fmt::format("invalid argument \"{}\" for \"--ulimit\" flag: invalid ulimit argument: {}", u, u));
    std::string lim = u.substr(eq + 1);
    auto colon = lim.find(':');
    auto soft = parseNumber<int64_t>(lim.substr(0, colon));
    auto hard = colon == std::string::npos ? soft : parseNumber<int64_t>(lim.substr(colon + 1));
    if (!soft || !hard) return fail(fmt::format("invalid argument \"{}\" for \"--ulimit\" flag: invalid ulimit argument: {}", u, u));
    ulimits.push_back({{"Name", u.substr(0, eq)}, {"Hard", *hard}, {"Soft", *soft}});
  }
  if (!ulimits.empty()) q.add("ulimits", ulimits.dump());
  json buildArgs = json::object();
  for (auto& a : f.getList("build-arg")) {
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      buildArgs[a.substr(0, eq)] = a.substr(eq + 1);
    } else if (const char* v = getenv(a.c_str())) {
      buildArgs[a] = v;
    } else {
      buildArgs[a] = nullptr;
    }
  }
  if (!buildArgs.empty()) q.add("buildargs", buildArgs.dump());
  json labels = json::object();
  for (auto& l : f.getList("label")) {
    auto eq = l.find('=');
    labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  if (!labels.empty()) q.add("labels", labels.dump());
  if (!f.getList("cache-from").empty()) {
    json cf = json::array();
    for (auto& c : f.getList("cache-from"))
      for (auto& part : split(c, ','))
        if (!part.empty()) cf.push_back(part);
    q.add("cachefrom", cf.dump());
  }

  // The context.
  ContextPlan plan;
  bool remote = false;
  if (spec == "-") {
    char head[512];
    size_t got = 0;
    while (got < sizeof head) {
      ssize_t n = ::read(ctx.in, head + got, sizeof head - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += size_t(n);
    }
    std::string_view h(head, got);
    if (looksLikeArchive(h)) {
      plan.stdinArchive = true;
      plan.stdinPrefix.assign(h);
      plan.relDockerfile = dockerfileFlag;
    } else {
      // A Dockerfile on stdin: the context is just that file.
      auto rest = readAllFd(ctx.in);
      if (!rest) return fail("unable to prepare context from STDIN: " + rest.error().message);
      plan.extraName = "Dockerfile";
      plan.extraContent = std::string(h) + *rest;
      plan.relDockerfile = "Dockerfile";
    }
  } else if (isGitUrl(spec) || isUrl(spec)) {
    remote = true;
    q.add("remote", spec);
    plan.relDockerfile = dockerfileFlag;
  } else {
    struct stat st {};
    if (::stat(spec.c_str(), &st) != 0) return fail(fmt::format("unable to prepare context: path \"{}\" not found", spec));
    if (!S_ISDIR(st.st_mode)) return fail(fmt::format("unable to prepare context: context must be a directory: {}", spec));
    char* real = ::realpath(spec.c_str(), nullptr);
    plan.dir = real ? real : spec;
    free(real);
    if (dockerfileFlag == "-") {
      auto text = readAllFd(ctx.in);
      if (!text) return fail(text.error().message);
      plan.extraName = randomDockerfileName();
      plan.extraContent = *text;
      plan.relDockerfile = plan.extraName;
    } else {
      std::string df = dockerfileFlag.empty() ? plan.dir + "/Dockerfile" : dockerfileFlag;
      if (!df.empty() && df[0] != '/') {
        char cwd[4096];
        if (::getcwd(cwd, sizeof cwd)) df = std::string(cwd) + "/" + df;
      }
      if (::access(df.c_str(), F_OK) != 0 && dockerfileFlag.empty()) {
        std::string lower = plan.dir + "/dockerfile";
        if (::access(lower.c_str(), F_OK) == 0) df = lower;
      }
      char* dreal = ::realpath(df.c_str(), nullptr);
      if (!dreal) return fail(fmt::format("unable to prepare context: cannot locate Dockerfile: \"{}\"", df));
      df = dreal;
      free(dreal);
      if (startsWith(df, plan.dir + "/")) {
        plan.relDockerfile = df.substr(plan.dir.size() + 1);
      } else {
        // Outside the context: sent under a random name, as docker does.
        auto text = readFile(df);
        if (!text) return fail("unable to open Dockerfile: " + text.error().message);
        plan.extraName = randomDockerfileName();
        plan.extraContent = *text;
        plan.relDockerfile = plan.extraName;
      }
    }
    auto ignore = readFile(plan.dir + "/.dockerignore");
    if (ignore) {
      plan.excludes = build::keepBuildFiles(build::readDockerignore(*ignore), plan.relDockerfile, dockerfileFlag == "-");
      if (auto m = build::PatternMatcher::create(plan.excludes); !m) return fail(m.error().message);
    }
  }
  q.addIf(!plan.relDockerfile.empty(), "dockerfile", plan.relDockerfile);
  q.addIf(!f.getString("target").empty(), "target", f.getString("target"));
  q.addIf(!f.getString("platform").empty(), "platform", f.getString("platform"));
  q.add("version", "1");

  std::string path = "/build" + q.str();
  Result<std::pair<std::unique_ptr<Connection>, HttpResponse>> s = makeError(Code::Internal, "");
  uint64_t sentBytes = 0;
  if (remote) {
    s = ctx.client.stream("POST", path, "", "application/x-tar");
  } else {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + std::strerror(errno));
    UniqueFd rd(p[0]), wr(p[1]);
    (void)::fcntl(wr.get(), F_SETPIPE_SZ, 1 << 20);  // fewer, larger hand-overs to the upload
    ContextTar tarWriter(plan, wr.get());
    Result<> tarResult;
    std::thread writer([&] {
      tarResult = tarWriter.run();
      wr.reset();  // the end of the body
    });
    s = ctx.client.upload("POST", path, rd.get(), "application/x-tar");
    rd.reset();  // a writer blocked on a dead upload gets EPIPE
    writer.join();
    sentBytes = tarWriter.sent();
    if (!tarResult) return fail(tarResult.error().message);
    if (!quiet)
      out(ctx, fmt::format("Sending build context to Docker daemon {:>8}\n", format::humanSize4(double(sentBytes))));
  }
  if (!s) return reportError(ctx, s.error());
  auto& [conn, head] = *s;
  if (head.status != 200) {
    auto b = conn->readAllBody();
    head.body = b ? *b : "";
    return fail("Error response from daemon: " + daemonMessage(head, "POST", "/build"));
  }
  std::string buffered;  // -q: kept for an error
  std::string imageId;
  BuildRenderer render(ctx.out, !quiet && isTerminal(ctx.out));
  for (;;) {
    auto line = conn->readBodyLine();
    if (!line) {
      render.finish();
      return reportError(ctx, line.error());
    }
    if (!*line) break;
    auto j = json::parse(**line, nullptr, false);
    if (!j.is_object()) continue;
    if (j.contains("errorDetail") || j.contains("error")) {
      render.finish();
      std::string msg = j.value("error", "");
      int code = 0;
      if (j.contains("errorDetail") && j["errorDetail"].is_object()) {
        msg = j["errorDetail"].value("message", msg);
        code = j["errorDetail"].value("code", 0);
      }
      if (quiet) err(ctx, buffered);
      err(ctx, msg + "\n");
      return code == 0 ? 1 : code;
    }
    if (j.contains("aux") && j["aux"].is_object() && j["aux"].contains("ID")) imageId = j["aux"].value("ID", "");
    std::string text;
    if (j.contains("stream") && j["stream"].is_string()) {
      text = j["stream"].get<std::string>();
    } else if (j.contains("status") && j["status"].is_string()) {
      std::string id = j.value("id", "");
      text = (id.empty() ? "" : id + ": ") + j["status"].get<std::string>() + "\n";
    }
    if (quiet) {
      buffered += text;
    } else {
      render.text(text);
    }
  }
  render.finish();
  if (quiet) {
    imageId = buffered;
    out(ctx, buffered);
  }
  if (!iid.empty()) {
    if (imageId.empty()) return fail(fmt::format("server did not provide an image ID. Cannot write {}", iid));
    if (auto r = writeFileReplace(iid, imageId, 0666); !r) return fail(r.error().message);
  }
  return 0;
}

void flagsBuilderPrune(FlagSet& f) {
  f.addBool("all", 'a', "Remove all unused build cache, not just dangling ones");
  f.addList("filter", 0, "Provide filter values (e.g. \"until=24h\")", "filter");
  f.addBool("force", 'f', "Do not prompt for confirmation");
  f.addString("keep-storage", 0, "Amount of disk space to keep for cache", "", "bytes");
}

int cmdBuilderPrune(Context& ctx, const FlagSet& f, const std::vector<std::string>&) {
  bool all = f.getBool("all");
  auto fj = filtersJson(f.getList("filter"));
  if (!fj) {
    err(ctx, fj.error().message + "\n");
    return kExitError;
  }
  int64_t keep = 0;
  if (f.changed("keep-storage")) {
    auto v = format::ramInBytes(f.getString("keep-storage"));
    if (!v) {
      err(ctx, fmt::format("invalid argument \"{}\" for \"--keep-storage\" flag: {}\n", f.getString("keep-storage"),
                           v.error().message));
      return kExitError;
    }
    keep = *v;
  }
  if (!f.getBool("force")) {
    out(ctx, std::string(all ? "WARNING! This will remove all build cache. Are you sure you want to continue?"
                              : "WARNING! This will remove all dangling build cache. Are you sure you want to continue?") +
                 " [y/N] ");
    std::string line;
    char c;
    while (line.size() < 64 && ::read(ctx.in, &c, 1) == 1 && c != '\n') line.push_back(c);
    auto answer = toLower(trim(line));
    if (answer != "y" && answer != "yes") return 0;
  }
  Query q;
  q.addIf(all, "all", "1");
  q.addIf(!f.getList("filter").empty(), "filters", *fj);
  q.addIf(keep != 0, "keep-storage", std::to_string(keep));
  auto r = ctx.client.callOk("POST", "/build/prune" + q.str());
  if (!r) return reportError(ctx, r.error());
  auto j = json::parse(r->body, nullptr, false);
  uint64_t reclaimed = 0;
  if (j.is_object()) {
    if (j.contains("CachesDeleted") && j["CachesDeleted"].is_array() && !j["CachesDeleted"].empty()) {
      std::string text = "Deleted build cache objects:\n";
      for (auto& id : j["CachesDeleted"])
        if (id.is_string()) text += id.get<std::string>() + "\n";
      out(ctx, text + "\n");
    }
    if (j.contains("SpaceReclaimed") && j["SpaceReclaimed"].is_number()) reclaimed = j["SpaceReclaimed"].get<uint64_t>();
  }
  out(ctx, "Total reclaimed space: " + format::humanSize(int64_t(reclaimed)) + "\n");
  return 0;
}

}  // namespace

std::vector<Command> buildCommands() {
  std::vector<Command> v;
  v.push_back({"image", {"build"}, {"build"}, "[OPTIONS] PATH | URL | -", "Build an image from a Dockerfile",
               ArgRule::Exact, 1, 0, true, flagsBuild, cmdBuild, true});
  v.push_back({"builder", {"prune"}, {}, "", "Remove build cache", ArgRule::None, 0, 0, true, flagsBuilderPrune,
               cmdBuilderPrune});
  return v;
}

}  // namespace berth::cli
