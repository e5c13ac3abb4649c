// Quoting user-supplied text inside error messages so that the bad value is
// visible exactly, and the message stays printable ASCII (D-Bus strings must
// be valid UTF-8; the journal and terminals must not get control bytes).
#pragma once

#include <string>
#include <string_view>

namespace mcr {

// "eth0" -> "\"eth0\""; '"' and '\' are escaped, bytes outside printable
// ASCII become \xNN.
[[nodiscard]] std::string quoted_text(std::string_view text);

} // namespace mcr
