// Aligned text tables for mcrctl's human output, in the style of systemctl
// and busctl: upper-case headers, columns separated by two spaces, numbers
// right-aligned, no trailing spaces.
#pragma once

#include <string>
#include <vector>

namespace mcr::ctl {

struct TableColumn {
    std::string header;
    bool align_right = false;
};

class OutputTable {
public:
    explicit OutputTable(std::vector<TableColumn> columns);
    // Cells beyond the column count are an error in the caller; missing
    // cells print empty.
    void add_row(std::vector<std::string> cells);
    [[nodiscard]] std::string render() const;
    [[nodiscard]] bool empty() const noexcept { return rows_.empty(); }

private:
    std::vector<TableColumn> columns_;
    std::vector<std::vector<std::string>> rows_;
};

// 1234567 -> "1.2M", 999 -> "999": for rates and byte counts in tables.
[[nodiscard]] std::string human_count(double value);

} // namespace mcr::ctl
