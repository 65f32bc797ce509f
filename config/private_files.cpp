#include "config/private_files.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <stdexcept>
#include <system_error>

namespace dispatcher::config {

namespace fs = std::filesystem;

void create_private_directories(const fs::path& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  create_private_directories(dir.parent_path() == dir ? fs::path() : dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error("cannot create " + dir.string() + ": " +
                             std::generic_category().message(errno));
}

namespace {

bool open_to_others(const fs::path& p, bool* is_dir) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return false;
  *is_dir = S_ISDIR(st.st_mode);
  if (S_ISLNK(st.st_mode)) return false;
  return (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) != 0;
}

}  // namespace

std::vector<fs::path> readable_by_others(const std::vector<fs::path>& roots, std::size_t limit) {
  std::vector<fs::path> out;
  std::size_t seen = 0;
  for (const auto& root : roots) {
    if (root.empty() || seen >= limit) continue;
    bool is_dir = false;
    ++seen;
    if (open_to_others(root, &is_dir)) out.push_back(root);
    if (!is_dir) continue;
    std::error_code ec;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec),
        end;
    for (; !ec && it != end && seen < limit; it.increment(ec)) {
      ++seen;
      bool dir = false;
      if (open_to_others(it->path(), &dir)) out.push_back(it->path());
    }
  }
  return out;
}

void warn_readable_by_others(const std::vector<fs::path>& roots) {
  try {
    const auto open = readable_by_others(roots);
    for (std::size_t i = 0; i < open.size() && i < 10; ++i)
      spdlog::warn("{} is readable by group or others (personal data: chmod go-rwx {})",
                   open[i].string(), open[i].string());
    if (open.size() > 10)
      spdlog::warn("and {} more files or folders readable by group or others", open.size() - 10);
  } catch (const std::exception& e) {
    spdlog::warn("cannot check the modes of the data files: {}", e.what());
  }
}

void warn_readable_by_others(const Config& c) {
  std::vector<fs::path> roots{c.data_dir};
  if (!c.secret_file.empty()) roots.push_back(c.secret_file);
  warn_readable_by_others(roots);
}

}  // namespace dispatcher::config
