// An exclusive lock on a file (flock), held for a scope: what keeps two verbs from starting two
// embedded servers on one data directory.
#pragma once

#include <filesystem>

namespace dispatcher {

class FileLock {
 public:
  // Creates the file (0600) if needed and waits for the lock. Throws std::runtime_error naming
  // the file when it cannot be opened.
  explicit FileLock(const std::filesystem::path& p);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

}  // namespace dispatcher
