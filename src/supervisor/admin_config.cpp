// Reading and merging the admin configuration files.
#include "admin_config.hpp"

#include "core/atomic_file.hpp"
#include "core/log.hpp"
#include "core/rule_json.hpp"
#include "core/rule_validation.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

namespace mcr::supervisor {

namespace {

std::vector<std::string> config_files_in(const std::string& dir)
{
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (entry.path().extension() == ".json" && entry.is_regular_file(ec))
            files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    return files;
}

Status append_rules_from(const std::string& file, RuleSet& merged)
{
    Result<std::string> text = read_file_limited(file, kMaxConfigBytes);
    if (!text)
        return Error{file, text.error().message()};
    std::vector<std::string> warnings;
    Result<RuleSet> rules = parse_rules_text(*text, warnings);
    if (!rules)
        return Error{file, rules.error().message()};
    for (const std::string& warning : warnings)
        log_warning(file + ": " + warning + ", ignoring", {{"MCR_CONFIG_FILE", file}});
    for (Rule& rule : rules->rules)
        merged.rules.push_back(std::move(rule));
    return Ok{};
}

} // namespace

Result<RuleSet> read_admin_rules(const std::string& config_dir, const std::string& config_file,
                                 std::size_t max_rules)
{
    std::vector<std::string> files = config_dir.empty() ? std::vector<std::string>{} : config_files_in(config_dir);
    if (!config_file.empty())
        files.push_back(config_file);
    RuleSet merged;
    for (const std::string& file : files) {
        if (Status s = append_rules_from(file, merged); !s)
            return s.error();
    }
    if (Status valid = validate_rule_set(merged, max_rules); !valid)
        return Error{"admin configuration", valid.error().message()};
    return merged;
}

} // namespace mcr::supervisor
