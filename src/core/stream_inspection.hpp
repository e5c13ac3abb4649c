// The spellings of a rule's "inspect" setting, shared by the JSON schema,
// mcrctl and the stats document: "none", "rtp", "mpegts".
#pragma once

#include "rule.hpp"

#include <optional>
#include <string_view>

namespace mcr {

inline constexpr std::string_view kInspectionChoices = "\"none\", \"rtp\" or \"mpegts\"";

[[nodiscard]] constexpr std::string_view inspection_name(StreamInspection inspection) noexcept
{
    switch (inspection) {
    case StreamInspection::rtp: return "rtp";
    case StreamInspection::mpegts: return "mpegts";
    case StreamInspection::none: break;
    }
    return "none";
}

[[nodiscard]] constexpr std::optional<StreamInspection> inspection_from_name(std::string_view name) noexcept
{
    for (const StreamInspection inspection : {StreamInspection::none, StreamInspection::rtp, StreamInspection::mpegts})
        if (inspection_name(inspection) == name)
            return inspection;
    return std::nullopt;
}

} // namespace mcr
