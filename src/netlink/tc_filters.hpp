// The tc filters on an interface's clsact hook, as `tc filter show dev IF
// ingress` lists them: the fast path's legacy attach mode (cls_bpf) must
// find its own filter and anyone else's before it touches anything.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mcr {

enum class TcHook { ingress, egress };

struct TcFilter {
    std::string kind;             // "bpf", "u32", "flower"...
    std::uint32_t handle = 0;
    std::uint16_t priority = 0;
    std::uint16_t protocol = 0;   // network order, as tc keeps it (ETH_P_ALL: 0x0300)
    std::uint32_t bpf_program_id = 0; // kind "bpf": the kernel's id of its program
    std::string bpf_name;             // kind "bpf": the name its attacher gave ("mcr_relay:[42]" from libbpf)
};

// Every filter on `hook` of interface `ifindex` (one entry per filter, not
// tc's per-priority classifier lines). An interface without a clsact
// qdisc has none, and so, to the kernel's dump, has a missing interface.
// A negative errno when the dump fails.
struct TcFilterList {
    std::vector<TcFilter> filters;
    int error = 0;
};
[[nodiscard]] TcFilterList list_tc_filters(int ifindex, TcHook hook);

} // namespace mcr
