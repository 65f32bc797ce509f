// Files with personal data are owner-only (DESIGN.md, issue 17): the data directory and what it
// holds — the secret, the embedded Redis's AOF, the outbox — are created 0700 (folders) and
// 0600 (files), and start-up names any of them that group or others can read.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace dispatcher::config {

// create_directories, with every folder it creates made 0700 (owner only); folders that exist
// already keep their mode (start-up warns about them instead). Throws std::runtime_error naming
// the folder.
void create_private_directories(const std::filesystem::path& dir);

// The folders and files under `roots` (each root too, and a root that is a file) that group or
// others may read or write. A folder that only lets others through (0711, for the embedded
// PostgreSQL's own user) is fine. Bounded: at most `limit` entries are looked at; unreadable
// entries are skipped.
std::vector<std::filesystem::path> readable_by_others(
    const std::vector<std::filesystem::path>& roots, std::size_t limit = 10'000);

// Logs one spdlog warning per path readable_by_others(roots) finds (at most 10, then a count).
// Never throws: a start-up check, not a gate.
void warn_readable_by_others(const std::vector<std::filesystem::path>& roots);
// The same for what a configuration keeps personal data in: the data directory (secret, Redis's
// AOF, outbox) and a secret file named elsewhere. `run` and `serve` call it at start-up.
void warn_readable_by_others(const Config& c);

}  // namespace dispatcher::config
