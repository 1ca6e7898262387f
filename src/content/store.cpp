#include "content/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "common/util.h"

namespace berth::content {

namespace {

Result<> fsyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return sysError(errno, "open {}", dir);
  if (::fsync(fd.get()) != 0) return sysError(errno, "fsync {}", dir);
  return {};
}

}  // namespace

// ---- Writer ----

Writer::~Writer() { abort(); }

void Writer::abort() {
  if (!tmp_.empty() && !done_) {
    fd_.reset();
    ::unlink(tmp_.c_str());
    done_ = true;
  }
}

Result<> Writer::write(const void* data, size_t n) {
  if (done_ || !digest_.empty()) return makeError(Code::FailedPrecondition, "write after commit");
  hash_->update(data, n);
  const char* p = static_cast<const char*>(data);
  size_t off = 0;
  while (off < n) {
    ssize_t w = ::write(fd_.get(), p + off, n - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return sysError(errno, "write {}", tmp_);
    }
    off += size_t(w);
  }
  size_ += int64_t(n);
  return {};
}

const std::string& Writer::digest() {
  if (digest_.empty()) digest_ = "sha256:" + hash_->hex();
  return digest_;
}

Result<std::string> Writer::commit(const std::string& expectedDigest, int64_t expectedSize) {
  if (done_) return makeError(Code::FailedPrecondition, "ingest already finished");
  std::string d = digest();
  if (expectedSize >= 0 && expectedSize != size_) {
    abort();
    return errorf(Code::InvalidArgument, "size mismatch: expected {} bytes, got {}", expectedSize, size_);
  }
  if (!expectedDigest.empty() && expectedDigest != d) {
    abort();
    return errorf(Code::InvalidArgument, "digest mismatch: expected {}, got {}", expectedDigest, d);
  }
  std::string dir = root_ + "/blobs/sha256";
  std::string target = dir + "/" + d.substr(7);
  struct stat st;
  if (::stat(target.c_str(), &st) == 0) {
    abort();  // same content already committed
    return d;
  }
  if (::fsync(fd_.get()) != 0) {
    int e = errno;
    abort();
    return sysError(e, "fsync {}", tmp_);
  }
  fd_.reset();
  if (::rename(tmp_.c_str(), target.c_str()) != 0) {
    int e = errno;
    abort();
    return sysError(e, "rename {} to {}", tmp_, target);
  }
  done_ = true;
  TRY(fsyncDir(dir));
  return d;
}

// ---- Store ----

Result<> Store::init() {
  TRY(mkdirAll(root_ + "/blobs/sha256", 0700));
  TRY(mkdirAll(root_ + "/ingest", 0700));
  // Nothing in ingest/ is referenced: leftovers of a crash.
  std::string dir = root_ + "/ingest";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      (void)removeAll(dir + "/" + e->d_name);
    }
    ::closedir(d);
  }
  return {};
}

Result<std::string> Store::path(std::string_view digest) const {
  if (!isValidDigest(digest)) return errorf(Code::InvalidArgument, "invalid digest {:?}", std::string(digest));
  return root_ + "/blobs/sha256/" + std::string(digest.substr(7));
}

bool Store::exists(std::string_view digest) const {
  auto p = path(digest);
  struct stat st;
  return p && ::stat(p->c_str(), &st) == 0;
}

Result<int64_t> Store::size(std::string_view digest) const {
  TRY_ASSIGN(std::string p, path(digest));
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) {
    if (errno == ENOENT) return errorf(Code::NotFound, "blob {} not found", digest);
    return sysError(errno, "stat {}", p);
  }
  return int64_t(st.st_size);
}

Result<> Store::remove(std::string_view digest) {
  TRY_ASSIGN(std::string p, path(digest));
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) return sysError(errno, "remove {}", p);
  return {};
}

Result<std::string> Store::read(std::string_view digest) const {
  TRY_ASSIGN(std::string p, path(digest));
  auto r = readFile(p);
  if (!r && r.error().code == Code::NotFound) return errorf(Code::NotFound, "blob {} not found", digest);
  return r;
}

Result<Writer> Store::ingest() {
  std::string tmp = root_ + "/ingest/" + randomHexId().substr(0, 24);
  UniqueFd fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return sysError(errno, "create {}", tmp);
  return Writer(root_, tmp, std::move(fd));
}

Result<std::string> Store::put(std::string_view data, const std::string& expectedDigest) {
  TRY_ASSIGN(Writer w, ingest());
  TRY(w.write(data));
  return w.commit(expectedDigest, -1);
}

}  // namespace berth::content
