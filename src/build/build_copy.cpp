// COPY and ADD (moby builder/dockerfile/copy.go, dispatchers.go): sources
// from the context, a stage or an image, URLs and heredocs; the layer is
// written directly as a tar (no container), with the destination looked
// up in the stage's image mounted read-only.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/builder_impl.h"
#include "build/dockerignore.h"
#include "build/shell_lex.h"
#include "common/fd.h"
#include "common/number.h"
#include "common/sha256.h"
#include "common/util.h"
#include "container/archive.h"
#include "container/spec.h"
#include "image/url_source.h"

namespace berth::build {

namespace {

struct Source {
  enum class Kind { Path, Url, Inline } kind = Kind::Path;
  std::string abs;       // Path, Url (the downloaded file)
  std::string baseName;  // the name a file gets in a destination directory
  bool dir = false;
  bool extract = false;  // ADD of a local archive
  std::string data;      // Inline
};

bool isUrl(std::string_view s) { return s.starts_with("http://") || s.starts_with("https://"); }

std::string baseOf(const std::string& rel) {
  auto slash = rel.rfind('/');
  return slash == std::string::npos ? rel : rel.substr(slash + 1);
}

Result<std::string> download(const std::string& url, const std::string& dir, std::string& name) {
  std::string path = url;
  if (auto q = path.find_first_of("?#"); q != std::string::npos) path = path.substr(0, q);
  auto scheme = path.find("://");
  std::string rest = scheme == std::string::npos ? path : path.substr(scheme + 3);
  auto slash = rest.find('/');
  std::string urlPath = slash == std::string::npos ? "" : rest.substr(slash);
  name = baseOf(cleanPath(urlPath.empty() ? "/" : urlPath));
  if (name.empty() || name == "/" || name == ".")
    return errorf(Code::InvalidArgument, "cannot determine filename from url: {}", url);
  TRY_ASSIGN(auto body, image::openUrl(url));
  std::string file = dir + "/dl-" + randomHexId().substr(0, 16);
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return sysError(errno, "create {}", file);
  std::vector<char> buf(1 << 16);
  for (;;) {
    TRY_ASSIGN(size_t n, body->read(buf.data(), buf.size()));
    if (n == 0) break;
    size_t off = 0;
    while (off < n) {
      ssize_t w = ::write(fd.get(), buf.data() + off, n - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        return sysError(errno, "write {}", file);
      }
      off += size_t(w);
    }
  }
  // No Last-Modified: dockerd sets the time to the Unix epoch.
  struct timespec ts[2] = {{0, 0}, {0, 0}};
  ::futimens(fd.get(), ts);
  return file;
}

}  // namespace

Result<> BuildRun::dispatchCopy(StageState& st, const Instruction& ins) {
  const bool isAdd = ins.kind == InstructionKind::Add;
  const std::string cmdName = isAdd ? "ADD" : "COPY";
  auto wrap = [&](const Error& e) { return std::unexpected(e.wrap(cmdName + " failed")); };

  std::vector<std::string> srcs;
  for (auto& s : ins.sources) {
    TRY_ASSIGN(std::string e, expand(st, s));
    srcs.push_back(e);
  }
  TRY_ASSIGN(std::string dest, expand(st, ins.dest));
  std::string chown, chmod, from;
  if (!ins.chown.empty()) {
    TRY_ASSIGN(chown, expand(st, ins.chown));
  }
  if (!ins.chmod.empty()) {
    TRY_ASSIGN(chmod, expand(st, ins.chmod));
  }
  if (!ins.from.empty()) {
    TRY_ASSIGN(from, expand(st, ins.from));
  }
  std::optional<uint32_t> mode;
  if (!chmod.empty()) {
    uint32_t m = 0;
    bool ok = chmod.size() <= 4;
    for (char c : chmod) {
      if (c < '0' || c > '7') ok = false;
      m = m * 8 + uint32_t(c - '0');
    }
    if (!ok) return errorf(Code::InvalidArgument, "invalid chmod parameter: {}", chmod);
    mode = m;
  }

  // Where the sources come from.
  std::string root = opts_.contextDir;
  std::unique_ptr<MountedRoot> fromRoot;
  if (!from.empty()) {
    TRY_ASSIGN(std::string img, stageOrImage(st, from));
    TRY_ASSIGN(fromRoot, mountImage(img));
    root = fromRoot->path();
  }

  std::vector<Source> sources;
  std::vector<CopyInfo> infos;
  std::vector<std::string> cleanup;
  ScopeExit dropDownloads([&] {
    for (auto& f : cleanup) ::unlink(f.c_str());
  });
  for (auto& s : srcs) {
    if (isAdd && isUrl(s) && from.empty()) {
      std::string name;
      auto file = download(s, b_.tmpDir(), name);
      if (!file) return wrap(file.error());
      cleanup.push_back(*file);
      TRY_ASSIGN(std::string h, hashPath(*file, false));
      infos.push_back({"", false, h});
      sources.push_back({Source::Kind::Url, *file, name, false, false, ""});
      continue;
    }
    auto found = collectCopySources(root, s, true, from.empty());
    if (!found) return wrap(found.error());
    for (auto& info : *found) {
      Source src;
      src.abs = root + (info.rel.empty() ? "" : "/" + info.rel);
      src.baseName = baseOf(info.rel);
      src.dir = info.dir;
      src.extract = isAdd && !info.dir && isArchive(src.abs);
      sources.push_back(src);
      infos.push_back(info);
    }
  }
  for (auto& in : ins.inlineSources) {
    std::string data = in.data;
    if (in.expand) {
      TRY_ASSIGN(data, processWord(data, envFromList(envFor(st)),
                                   LexOptions{.escape = df_.escape, .rawQuotes = true, .rawEscapes = true,
                                              .skipProcessQuotes = true}));
    }
    infos.push_back({"", false, "file:" + sha256Hex(data)});
    sources.push_back({Source::Kind::Inline, "", in.path, false, false, data});
  }
  if (sources.empty()) return makeError(Code::InvalidArgument, cmdName + " failed: no source files were specified");

  const bool endsInSlash = endsWith(dest, "/");
  if (sources.size() > 1 && !endsInSlash)
    return errorf(Code::InvalidArgument,
                  "When using {} with more than one source file, the destination must be a directory and end with a /",
                  cmdName);

  // The cache form: "#(nop) COPY file:<hash> in /dest " (berth adds --chown/--chmod when given).
  std::string flags;
  if (!chown.empty()) flags += "--chown=" + chown + " ";
  if (!chmod.empty()) flags += "--chmod=" + chmod + " ";
  std::string comment = cmdName + " " + flags + sourcesHash(infos) + " in " + dest + " ";
  json probe = withCmdCommentString(st.runConfig, comment);
  TRY_ASSIGN(bool hit, probeCache(st, probe));
  if (hit) return {};

  // The destination, looked up in the stage's image.
  std::string destAbs = dest;
  if (destAbs.empty() || destAbs[0] != '/') {
    destAbs = cleanPath("/" + st.runConfig.value("WorkingDir", "") + "/" + dest);
  } else {
    destAbs = cleanPath(destAbs);
  }
  TRY_ASSIGN(auto image, mountImage(st.imageId));
  TRY_ASSIGN(std::string resolved, container::resolveInRoot(image->fd(), destAbs, true));
  struct stat sb;
  bool destIsDir = ::stat((image->path() + resolved).c_str(), &sb) == 0 && S_ISDIR(sb.st_mode);
  std::string destRel = resolved == "/" ? "" : resolved.substr(1);

  LayerTar::Owner owner;
  if (!chown.empty()) {
    TRY_ASSIGN(auto lowers, st.imageId.empty() ? Result<std::vector<std::string>>(std::vector<std::string>{})
                                               : b_.images_.layerDirs(st.imageId));
    auto u = container::resolveUser(chown, lowers);
    if (!u) return wrap(u.error());
    owner.uid = u->uid;
    owner.gid = chown.find(':') == std::string::npos ? u->uid : u->gid;
  }

  int64_t now = nowNanos() / 1000000000;
  auto layer = [&](const image::ImageLayers::LayerSink& sink) -> Result<> {
    LayerTar tar(sink);
    auto ensureDir = [&](const std::string& rel) -> Result<> {
      if (rel.empty()) return {};
      return addParents(tar, *image, rel, owner, true);
    };
    auto fileTarget = [&](const std::string& base) {
      if (endsInSlash || destIsDir) return destRel.empty() ? base : destRel + "/" + base;
      return destRel;
    };
    for (auto& src : sources) {
      if (src.kind == Source::Kind::Inline) {
        std::string target = fileTarget(src.baseName);
        TRY(addParents(tar, *image, target, owner, false));
        TRY(tar.data(target, src.data, mode.value_or(0644), owner, now));
        continue;
      }
      if (src.dir) {
        TRY(ensureDir(destRel));
        // The directory's contents go into the destination.
        DIR* d = ::opendir(src.abs.c_str());
        if (!d) return sysError(errno, "open {}", src.abs);
        std::vector<std::string> names;
        while (auto* e = ::readdir(d)) {
          std::string n = e->d_name;
          if (n != "." && n != "..") names.push_back(n);
        }
        ::closedir(d);
        std::sort(names.begin(), names.end());
        for (auto& n : names)
          TRY(tar.tree(destRel.empty() ? n : destRel + "/" + n, src.abs + "/" + n, owner, mode));
        continue;
      }
      if (src.extract) {
        TRY(ensureDir(destRel));
        std::optional<LayerTar::Owner> force;
        if (!chown.empty()) force = owner;
        TRY(tar.extract(destRel, src.abs, force, b_.paths_.limits));
        continue;
      }
      std::string target = fileTarget(src.baseName);
      TRY(addParents(tar, *image, target, owner, false));
      std::optional<uint32_t> m = mode;
      if (src.kind == Source::Kind::Url && !m) m = 0600;
      TRY(tar.tree(target, src.abs, owner, m));
    }
    return tar.finish();
  };
  auto r = commit(st, probe, "", layer);
  if (!r) return wrap(r.error());
  return {};
}

}  // namespace berth::build
