#include "store/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <stdexcept>

namespace dispatcher {

FileLock::FileLock(const std::filesystem::path& p)
    : fd_(::open(p.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600)) {
  if (fd_ < 0) throw std::runtime_error("cannot open " + p.string());
  ::flock(fd_, LOCK_EX);
}

FileLock::~FileLock() {
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

}  // namespace dispatcher
