// The CRI ImageService's gRPC-free logic (cri/image_core.h).
#include "cri/image_core.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/fd.h"
#include "common/sha256.h"
#include "common/util.h"
#include "image/reference.h"

namespace berth::cri {

using json = nlohmann::json;

std::string fullName(const std::string& familiar) {
  auto r = image::parseReference(familiar);
  return r ? r->string() : familiar;
}

CriImage toCriImage(const image::ImageDetail& d) {
  CriImage out;
  out.id = d.record.id;
  for (auto& t : d.record.repoTags) out.repoTags.push_back(fullName(t));
  for (auto& t : d.repoDigests) out.repoDigests.push_back(fullName(t));
  out.size = d.record.size > 0 ? uint64_t(d.record.size) : 0;
  // containerd's getUserFromImage: the user part of "user[:group]"; a
  // number is the uid, anything else the user name.
  const json& cfg = d.record.config;
  std::string user;
  if (cfg.is_object() && cfg.contains("config") && cfg["config"].is_object()) {
    const json& c = cfg["config"];
    if (c.contains("User") && c["User"].is_string()) user = c["User"].get<std::string>();
  }
  if (!user.empty()) {
    user = user.substr(0, user.find(':'));
    bool numeric = !user.empty() && user.find_first_not_of("0123456789") == std::string::npos;
    int64_t uid = 0;
    if (numeric && user.size() < 19) {
      for (char ch : user) uid = uid * 10 + (ch - '0');
      out.uid = uid;
    } else {
      out.username = user;
    }
  }
  return out;
}

std::string verboseInfo(const image::ImageDetail& d) {
  json info = {
      {"chainID", d.chainIds.empty() ? std::string() : d.chainIds.back()},
      {"imageSpec", d.record.config},
  };
  return info.dump();
}

Result<std::string> registryAuthHeader(const Auth& a) {
  if (a.empty()) return std::string();
  json j = json::object();
  std::string user = a.username, pass = a.password;
  if (!a.auth.empty()) {
    // containerd's ParseAuth: auth overrides username/password.
    auto decoded = base64Decode(a.auth);
    if (!decoded) return makeError(Code::InvalidArgument, "invalid auth: not base64");
    auto colon = decoded->find(':');
    if (colon == std::string::npos) return makeError(Code::InvalidArgument, "invalid decoded auth: missing ':'");
    user = decoded->substr(0, colon);
    pass = decoded->substr(colon + 1);
  }
  if (!user.empty()) j["username"] = user;
  if (!pass.empty()) j["password"] = pass;
  if (!a.serverAddress.empty()) j["serveraddress"] = a.serverAddress;
  if (!a.identityToken.empty()) j["identitytoken"] = a.identityToken;
  if (!a.registryToken.empty()) j["registrytoken"] = a.registryToken;
  return base64Encode(j.dump());
}

Result<FsUsage> dirUsage(const std::string& dir) {
  FsUsage u;
  struct stat root;
  if (::lstat(dir.c_str(), &root) != 0) {
    if (errno == ENOENT) return u;
    return sysError(errno, "stat {}", dir);
  }
  // nftw has no user pointer: the walk's state lives in a thread_local.
  struct Walk {
    dev_t dev;
    FsUsage* u;
    std::set<std::pair<dev_t, ino_t>> seen;
  };
  static thread_local Walk* walk = nullptr;
  Walk w{root.st_dev, &u, {}};
  walk = &w;
  int rc = ::nftw(
      dir.c_str(),
      [](const char*, const struct stat* st, int type, struct FTW*) -> int {
        if (type == FTW_NS) return 0;
        if (st->st_dev != walk->dev) return 0;
        if (st->st_nlink > 1 && !S_ISDIR(st->st_mode) && !walk->seen.insert({st->st_dev, st->st_ino}).second)
          return 0;
        walk->u->bytes += uint64_t(st->st_blocks) * 512;
        walk->u->inodes++;
        return 0;
      },
      64, FTW_PHYS | FTW_MOUNT);
  walk = nullptr;
  if (rc != 0) return sysError(errno, "walk {}", dir);
  return u;
}

namespace {

// A request body over a string.
class StringReader : public BodyReader {
 public:
  explicit StringReader(const std::string& s) : s_(s) {}
  Result<size_t> read(char* buf, size_t n) override {
    size_t k = std::min(n, s_.size() - off_);
    std::copy_n(s_.data() + off_, k, buf);
    off_ += k;
    return k;
  }

 private:
  const std::string& s_;
  size_t off_ = 0;
};

// A tar holding one regular file `name` (0755, root, mtime 0).
Result<std::string> oneFileTar(const std::string& name, const std::string& data) {
  std::string out;
  struct archive* a = archive_write_new();
  ScopeExit free_([&] { archive_write_free(a); });
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  auto write = [](struct archive*, void* ud, const void* buf, size_t n) -> la_ssize_t {
    static_cast<std::string*>(ud)->append(static_cast<const char*>(buf), n);
    return la_ssize_t(n);
  };
  if (archive_write_open(a, &out, nullptr, write, nullptr) != ARCHIVE_OK)
    return errorf(Code::Internal, "tar: {}", archive_error_string(a));
  struct archive_entry* e = archive_entry_new();
  ScopeExit freeE([&] { archive_entry_free(e); });
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0755);
  archive_entry_set_size(e, la_int64_t(data.size()));
  archive_entry_set_mtime(e, 0, 0);
  if (archive_write_header(a, e) != ARCHIVE_OK || archive_write_data(a, data.data(), data.size()) < 0 ||
      archive_write_close(a) != ARCHIVE_OK)
    return errorf(Code::Internal, "tar: {}", archive_error_string(a));
  return out;
}

constexpr const char* kFileLabel = "io.berth.file.sha256";

}  // namespace

Result<std::string> ensureFileImage(image::ImageService& images, const std::string& hostPath,
                                    const std::string& name, const std::string& repoTag) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    return errorf(Code::InvalidArgument, "invalid file name {:?} for a one-file image", name);
  auto data = readFile(hostPath);
  if (!data) {
    if (data.error().err == ENOENT || data.error().code == Code::NotFound)
      return errorf(Code::NotFound, "{}: no such file", hostPath);
    return std::unexpected(data.error());
  }
  const std::string hex = sha256Digest(*data).substr(7);
  if (auto have = images.resolve(repoTag)) {
    const json& cfg = have->config;
    if (cfg.is_object() && cfg.contains("config") && cfg["config"].is_object() &&
        cfg["config"].contains("Labels") && cfg["config"]["Labels"].is_object() &&
        cfg["config"]["Labels"].value(kFileLabel, "") == hex)
      return have->id;
  }
  TRY_ASSIGN(std::string tar, oneFileTar(name, *data));
  StringReader body(tar);
  return images.importImage(body, repoTag,
                            {fmt::format("ENTRYPOINT [\"/{}\"]", name), fmt::format("LABEL {}={}", kFileLabel, hex)},
                            fmt::format("berth: /{} from {}", name, hostPath));
}

}  // namespace berth::cri
