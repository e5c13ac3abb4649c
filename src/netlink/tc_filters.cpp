// list_tc_filters(): an RTM_GETTFILTER dump of one clsact hook, parsed down
// to what the fast path needs to tell its own cls_bpf filter from anyone's.
#include "tc_filters.hpp"

#include "core/c_callback.hpp"
#include "link_monitor.hpp"
#include "netlink_request.hpp"

#include <libmnl/libmnl.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <ctime>

namespace mcr {

namespace {

struct FilterDumpState {
    std::vector<TcFilter> filters;
};

// Attribute walkers (libmnl's for-each macros assign void* and do not
// compile as C++). C callbacks: guarded, they only parse and store.
int on_bpf_option(const nlattr* attribute, void* data) noexcept
{
    return guard_callback("Reading a cls_bpf option", [attribute, data] {
        auto* filter = static_cast<TcFilter*>(data);
        const auto type = mnl_attr_get_type(attribute);
        if (type == TCA_BPF_ID && mnl_attr_validate(attribute, MNL_TYPE_U32) >= 0)
            filter->bpf_program_id = mnl_attr_get_u32(attribute);
        else if (type == TCA_BPF_NAME && mnl_attr_validate(attribute, MNL_TYPE_NUL_STRING) >= 0)
            filter->bpf_name = mnl_attr_get_str(attribute);
        return MNL_CB_OK;
    }, MNL_CB_ERROR);
}

int on_filter_attribute(const nlattr* attribute, void* data) noexcept
{
    return guard_callback("Reading a tc filter attribute", [attribute, data] {
        auto* filter = static_cast<TcFilter*>(data);
        const auto type = mnl_attr_get_type(attribute);
        if (type == TCA_KIND && mnl_attr_validate(attribute, MNL_TYPE_NUL_STRING) >= 0)
            filter->kind = mnl_attr_get_str(attribute);
        else if (type == TCA_OPTIONS && mnl_attr_validate(attribute, MNL_TYPE_NESTED) >= 0)
            return mnl_attr_parse_nested(attribute, on_bpf_option, filter) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
        return MNL_CB_OK;
    }, MNL_CB_ERROR);
}

int on_filter(const nlmsghdr* message, void* data) noexcept
{
    return guard_callback("Reading a tc filter", [message, data] {
        if (message->nlmsg_type != RTM_NEWTFILTER ||
            mnl_nlmsg_get_payload_len(message) < sizeof(tcmsg))
            return MNL_CB_OK;
        const auto* header = static_cast<const tcmsg*>(mnl_nlmsg_get_payload(message));
        // Handle 0: the line for a priority's classifier itself (tc's
        // "filter protocol all pref N bpf chain 0"), not a filter.
        if (header->tcm_handle == 0)
            return MNL_CB_OK;
        TcFilter filter;
        filter.handle = header->tcm_handle;
        filter.priority = static_cast<std::uint16_t>(TC_H_MAJ(header->tcm_info) >> 16);
        filter.protocol = static_cast<std::uint16_t>(TC_H_MIN(header->tcm_info));
        if (mnl_attr_parse(message, sizeof(tcmsg), on_filter_attribute, &filter) < 0)
            return MNL_CB_ERROR;
        if (filter.kind != "bpf") {
            filter.bpf_program_id = 0;
            filter.bpf_name.clear();
        }
        static_cast<FilterDumpState*>(data)->filters.push_back(std::move(filter));
        return MNL_CB_OK;
    }, MNL_CB_ERROR);
}

} // namespace

TcFilterList list_tc_filters(int ifindex, TcHook hook)
{
    MnlSocketPtr socket(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
    if (!socket || mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        return TcFilterList{{}, -errno};
    alignas(nlmsghdr) char request_buffer[kNetlinkRequestBytes] = {};
    nlmsghdr* request = mnl_nlmsg_put_header(request_buffer);
    request->nlmsg_type = RTM_GETTFILTER;
    request->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request->nlmsg_seq = static_cast<std::uint32_t>(std::time(nullptr));
    auto* header = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(request, sizeof(tcmsg)));
    header->tcm_family = AF_UNSPEC;
    header->tcm_ifindex = ifindex;
    header->tcm_parent = TC_H_MAKE(TC_H_CLSACT, hook == TcHook::ingress ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
    FilterDumpState state;
    if (const int r = run_netlink_request(socket.get(), request, on_filter, &state); r < 0)
        return TcFilterList{{}, r};
    return TcFilterList{std::move(state.filters), 0};
}

} // namespace mcr
