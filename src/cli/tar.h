#pragma once
// A small tar reader and writer for `berth cp` (the CLI stays free of
// libarchive, DESIGN.md). Writes POSIX ustar with PAX headers for long
// names and large sizes; reads ustar, PAX and GNU long names.
// Thread safety: none; one object per stream.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::cli::tar {

struct Entry {
  std::string name;      // as stored ("dir/", "dir/file")
  char type = '0';       // '0' file, '5' dir, '2' symlink, '1' hard link, '3','4','6' devices/fifo
  uint32_t mode = 0644;  // permission bits (07777)
  uint32_t uid = 0, gid = 0;
  int64_t size = 0;
  int64_t mtime = 0;     // unix seconds
  std::string linkname;
  uint32_t devMajor = 0, devMinor = 0;
};

using Sink = std::function<Result<>(std::string_view)>;
using Source = std::function<Result<size_t>(char*, size_t)>;  // 0 at the end

class Writer {
 public:
  explicit Writer(Sink sink) : sink_(std::move(sink)) {}
  Result<> writeHeader(const Entry& e);
  Result<> writeData(std::string_view data);  // exactly e.size bytes in total, any pieces
  Result<> finish();                          // pads the last entry, two zero blocks

  // Adds hostPath under the name tarName, recursing into directories;
  // symlinks stored as links, unless followTop and hostPath itself is one.
  Result<> addPath(const std::string& hostPath, const std::string& tarName, bool followTop);

 private:
  Result<> padEntry();
  Result<> block(const char* b);
  Sink sink_;
  int64_t left_ = 0, written_ = 0;
};

class Reader {
 public:
  explicit Reader(Source src) : src_(std::move(src)) {}
  // The next entry; false at the end of the archive. Skips unread data.
  Result<bool> next(Entry& e);
  // Reads the current entry's data; 0 at its end.
  Result<size_t> read(char* buf, size_t n);

 private:
  Result<bool> readBlock(char* b);  // false on a clean EOF before the block
  Result<> skipRest();
  Source src_;
  int64_t left_ = 0, pad_ = 0;
};

// Renames entry names: `from` itself or `from/...` become `to`/`to/...`
// (docker's RebaseArchiveEntries). Empty from: unchanged.
std::string rebaseName(const std::string& name, const std::string& from, const std::string& to);

// Extracts into dstDir (an existing host directory); names are rebased
// first; an entry whose name climbs out with ".." or whose parent
// resolves out of dstDir through a symlink is an error. Ownership is not
// changed (the user's own files), modes and mtimes are kept.
Result<> extract(Reader& r, const std::string& dstDir, const std::string& from, const std::string& to);

}  // namespace berth::cli::tar
