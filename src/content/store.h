#pragma once
// Content-addressed blobs (STYLE.md 13): <root>/blobs/sha256/<hex>, written
// through <root>/ingest/<random> (hash while writing, verify digest and
// size, fsync, rename, fsync dir). Digests are validated before they
// become paths. Blobs are immutable once committed.
//
// Thread safety: all methods may be called from any thread; a Writer is
// used by one thread at a time.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/fd.h"
#include "common/result.h"
#include "common/sha256.h"

namespace berth::content {

// An in-progress ingest. Destroying it without commit() removes the temp file.
class Writer {
 public:
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  Writer(Writer&& o) noexcept
      : root_(std::move(o.root_)), tmp_(std::move(o.tmp_)), fd_(std::move(o.fd_)), hash_(std::move(o.hash_)),
        digest_(std::move(o.digest_)), size_(o.size_), done_(std::exchange(o.done_, true)) {}
  Writer& operator=(Writer&&) = delete;
  ~Writer();

  Result<> write(const void* data, size_t n);
  Result<> write(std::string_view s) { return write(s.data(), s.size()); }
  int64_t size() const { return size_; }
  // Finalises the hash and returns "sha256:<hex>" of what was written.
  // Idempotent; write() after it is an error.
  const std::string& digest();
  // The temp file (readable before commit, e.g. to unpack it).
  const std::string& tempPath() const { return tmp_; }

  // Verifies expectedDigest / expectedSize when given (InvalidArgument
  // "digest mismatch"/"size mismatch" otherwise, and the temp file is
  // removed), fsyncs and renames into place. An existing blob with the same
  // digest is kept (the temp file is dropped). Returns the digest.
  Result<std::string> commit(const std::string& expectedDigest = "", int64_t expectedSize = -1);
  // Drops the temp file.
  void abort();

 private:
  friend class Store;
  Writer(std::string root, std::string tmp, UniqueFd fd)
      : root_(std::move(root)), tmp_(std::move(tmp)), fd_(std::move(fd)), hash_(std::make_unique<Sha256>()) {}
  std::string root_, tmp_;
  UniqueFd fd_;
  std::unique_ptr<Sha256> hash_;
  std::string digest_;
  int64_t size_ = 0;
  bool done_ = false;
};

class Store {
 public:
  // root is <data-root>/content. Call init() once before use.
  explicit Store(std::string root) : root_(std::move(root)) {}
  // Creates the directories and removes leftovers in ingest/.
  Result<> init();

  // <root>/blobs/sha256/<hex>; InvalidArgument for a malformed digest.
  Result<std::string> path(std::string_view digest) const;
  bool exists(std::string_view digest) const;
  // Size in bytes; NotFound when absent.
  Result<int64_t> size(std::string_view digest) const;
  // Missing blob is fine.
  Result<> remove(std::string_view digest);
  // Reads a whole (small) blob.
  Result<std::string> read(std::string_view digest) const;
  // Ingests data in one call; returns its digest.
  Result<std::string> put(std::string_view data, const std::string& expectedDigest = "");
  // Starts an ingest in <root>/ingest.
  Result<Writer> ingest();
  // Ingest directory, for other temp files that must live on this filesystem.
  std::string ingestDir() const { return root_ + "/ingest"; }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

}  // namespace berth::content
