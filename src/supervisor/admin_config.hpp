// The admin's rules: CONFIG_DIR/*.json (in name order) plus the --config
// file, read-only to the daemon, merged at start and on every reload.
#pragma once

#include "core/result.hpp"
#include "core/rule.hpp"

#include <string>

namespace mcr::supervisor {

// A missing directory or an empty `config_file` contributes nothing.
// Errors name the file ("/etc/mcrd/10-video.json: rules[0].name: ...").
[[nodiscard]] Result<RuleSet> read_admin_rules(const std::string& config_dir, const std::string& config_file,
                                               std::size_t max_rules);

} // namespace mcr::supervisor
