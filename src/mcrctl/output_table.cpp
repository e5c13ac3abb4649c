// Renders OutputTable with per-column widths.
#include "output_table.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <stdexcept>

namespace mcr::ctl {

OutputTable::OutputTable(std::vector<TableColumn> columns) : columns_(std::move(columns)) {}

void OutputTable::add_row(std::vector<std::string> cells)
{
    if (cells.size() > columns_.size())
        throw std::logic_error("table row has more cells than columns");
    cells.resize(columns_.size());
    rows_.push_back(std::move(cells));
}

std::string OutputTable::render() const
{
    std::vector<std::size_t> widths;
    for (const auto& column : columns_)
        widths.push_back(column.header.size());
    for (const auto& row : rows_)
        for (std::size_t i = 0; i < row.size(); ++i)
            widths[i] = std::max(widths[i], row[i].size());

    auto render_line = [&](const std::vector<std::string>& cells) {
        std::string line;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            const bool last = i + 1 == cells.size();
            const std::string padding(widths[i] - cells[i].size(), ' ');
            if (columns_[i].align_right)
                line += padding + cells[i];
            else
                line += last ? cells[i] : cells[i] + padding;
            if (!last)
                line += "  ";
        }
        line.erase(line.find_last_not_of(' ') + 1);
        return line + "\n";
    };

    std::vector<std::string> headers;
    for (const auto& column : columns_)
        headers.push_back(column.header);
    std::string text = render_line(headers);
    for (const auto& row : rows_)
        text += render_line(row);
    return text;
}

std::string human_count(double value)
{
    constexpr std::array kSuffixes = {"", "K", "M", "G", "T"};
    constexpr double kStep = 1000.0;
    std::size_t suffix = 0;
    while (value >= kStep && suffix + 1 < kSuffixes.size()) {
        value /= kStep;
        ++suffix;
    }
    std::array<char, 32> text{};
    if (suffix == 0)
        std::snprintf(text.data(), text.size(), "%.0f", value);
    else
        std::snprintf(text.data(), text.size(), "%.1f%s", value, kSuffixes[suffix]);
    return text.data();
}

} // namespace mcr::ctl
