// Proves the fast path's tc-legacy attach mode on lo of a throw-away netns:
// the clsact qdisc is made only when missing and the handle says so, the
// filter sits in our slot under our name, a second attach cannot take the
// slot, a replacement swaps the program under the same handle, the
// attachment map is frozen (a worker's map fd cannot rewrite it), and
// detaching leaves no filter and no qdisc we made, twice over.
#include "fastpath_fixture.hpp"
#include "netlink/tc_filters.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <doctest/doctest.h>
#include <net/if.h>

using namespace mcr;
using mcr::test::in_throwaway_netns;

namespace {

// Whether lo has a clsact qdisc: creating one (exclusively) says, and the
// one made to find out is deleted again.
bool has_clsact(int ifindex)
{
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = ifindex;
    hook.attach_point = BPF_TC_INGRESS;
    const int created = bpf_tc_hook_create(&hook);
    if (created == 0) {
        hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
        (void)bpf_tc_hook_destroy(&hook);
    }
    return created == -EEXIST;
}

} // namespace

TEST_CASE("tc-legacy: our slot and name, the handle records who made clsact, replace in one step, nothing left")
{
    const bool entered = in_throwaway_netns([] {
        const int lo = static_cast<int>(if_nametoindex("lo"));
        auto first = fastpath::Program::load();
        REQUIRE(first);
        auto first_id = first->id();
        REQUIRE(first_id);

        CHECK_FALSE(has_clsact(lo));
        auto handle = first->attach_tc_legacy(lo, std::nullopt);
        REQUIRE(handle);
        CHECK(*handle == fastpath::kLegacyHandleMadeClsact);
        CHECK(has_clsact(lo));
        TcFilterList filters = list_tc_filters(lo, TcHook::ingress);
        REQUIRE(filters.error == 0);
        REQUIRE(filters.filters.size() == 1);
        const TcFilter& ours = filters.filters.front();
        CHECK(ours.kind == "bpf");
        CHECK(ours.priority == fastpath::kLegacyFilterPriority);
        CHECK(ours.handle == fastpath::kLegacyHandleMadeClsact);
        CHECK(ours.bpf_program_id == *first_id);
        CHECK(ours.bpf_name == "mcr_relay:[" + std::to_string(*first_id) + "]");
        CHECK(list_tc_filters(lo, TcHook::egress).filters.empty());

        // The slot is taken: only a replacement may go there.
        auto second = fastpath::Program::load();
        REQUIRE(second);
        auto refused = second->attach_tc_legacy(lo, std::nullopt);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().refusal == fastpath::Refusal::attach_refused);
        CHECK(refused.error().error == EEXIST);
        CHECK(list_tc_filters(lo, TcHook::ingress).filters.size() == 1);

        // Frozen after it is written: a map fd (the worker's) reads, never writes.
        auto recorded = first->record_attachment(fastpath::AttachMode::tc_legacy, lo);
        REQUIRE(recorded);
        auto fds = first->map_fds();
        REQUIRE(fds);
        auto read = fastpath::read_attachment(fds->attachment.get());
        REQUIRE(read);
        CHECK(read->program_id == *first_id);
        CHECK(read->ifindex == lo);
        CHECK(read->mode == fastpath::AttachMode::tc_legacy);
        const std::uint32_t key = 0;
        const std::uint32_t forged[4] = {1, 1, 1, 0};
        CHECK(bpf_map_update_elem(fds->attachment.get(), &key, forged, BPF_ANY) != 0);
        CHECK(errno == EPERM);
        // Unwritten, it says so: no program claims those maps.
        auto second_fds = second->map_fds();
        REQUIRE(second_fds);
        CHECK_FALSE(fastpath::read_attachment(second_fds->attachment.get()));

        auto second_id = second->id();
        REQUIRE(second_id);
        auto replaced = second->attach_tc_legacy(lo, *handle);
        REQUIRE(replaced);
        CHECK(*replaced == *handle);
        filters = list_tc_filters(lo, TcHook::ingress);
        REQUIRE(filters.filters.size() == 1);
        CHECK(filters.filters.front().bpf_program_id == *second_id);
        CHECK(filters.filters.front().handle == fastpath::kLegacyHandleMadeClsact);

        CHECK(fastpath::detach_tc_legacy(lo, *handle, true));
        CHECK(list_tc_filters(lo, TcHook::ingress).filters.empty());
        CHECK_FALSE(has_clsact(lo));
        CHECK(fastpath::detach_tc_legacy(lo, *handle, true)); // nothing left: still fine

        // A clsact that was there first: the other handle, and it stays.
        bpf_tc_hook hook{};
        hook.sz = sizeof(hook);
        hook.ifindex = lo;
        hook.attach_point = BPF_TC_INGRESS;
        REQUIRE(bpf_tc_hook_create(&hook) == 0);
        auto found = first->attach_tc_legacy(lo, std::nullopt);
        REQUIRE(found);
        CHECK(*found == fastpath::kLegacyHandleFoundClsact);
        CHECK(fastpath::detach_tc_legacy(lo, *found, false));
        CHECK(list_tc_filters(lo, TcHook::ingress).filters.empty());
        CHECK(has_clsact(lo));

        // A missing interface: a refusal that says so.
        auto gone = first->attach_tc_legacy(0x7ffffff0, std::nullopt);
        REQUIRE_FALSE(gone);
        CHECK(gone.error().refusal == fastpath::Refusal::no_interface);
        // The dump does not tell a missing interface from a bare one.
        const TcFilterList none = list_tc_filters(0x7ffffff0, TcHook::ingress);
        CHECK(none.error == 0);
        CHECK(none.filters.empty());
    });
    CHECK(entered);
}
