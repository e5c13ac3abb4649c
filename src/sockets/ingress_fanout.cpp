// See ingress_fanout.hpp.
#include "ingress_fanout.hpp"

#include "core/worker_protocol.hpp"

#include <linux/filter.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace mcr::sockets {

namespace {

Error fanout_error(const char* what, int error_number)
{
    return Error{"ingress fanout", std::string(what) + ": " + std::strerror(error_number)};
}

// PACKET_FANOUT's argument: the group id in the low 16 bits, the type and
// its flags above.
int fanout_argument(std::uint16_t id, unsigned type_and_flags)
{
    return static_cast<int>(id | (type_and_flags << 16));
}

} // namespace

Status join_ingress_fanout(int quiet_fd, int ring_fd)
{
    // UNIQUEID: the kernel picks an id no other group in this network
    // namespace uses, so two workers (or another program's group) never
    // share one by accident. Only the first member asks for it.
    int argument = fanout_argument(0, PACKET_FANOUT_CBPF | PACKET_FANOUT_FLAG_UNIQUEID);
    if (setsockopt(quiet_fd, SOL_PACKET, PACKET_FANOUT, &argument, sizeof(argument)) != 0)
        return fanout_error("cannot create the fanout group", errno);
    // Before the second member joins: while it is alone, the group's program
    // is irrelevant (the result is taken modulo the member count).
    if (Status s = select_fanout_member(quiet_fd, worker_protocol::kQuietFanoutMember); !s)
        return s;
    auto id = cbpf_fanout_group(quiet_fd);
    if (!id)
        return id.error();
    argument = fanout_argument(*id, PACKET_FANOUT_CBPF);
    if (setsockopt(ring_fd, SOL_PACKET, PACKET_FANOUT, &argument, sizeof(argument)) != 0)
        return fanout_error("cannot join the ring socket to the fanout group", errno);
    return Ok{};
}

Status select_fanout_member(int fd, unsigned member)
{
    sock_filter program[] = {BPF_STMT(BPF_RET | BPF_K, member)};
    const sock_fprog fprog{1, program};
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &fprog, sizeof(fprog)) != 0)
        return fanout_error("cannot set the fanout selector", errno);
    return Ok{};
}

Result<std::uint16_t> cbpf_fanout_group(int fd)
{
    int value = 0;
    socklen_t length = sizeof(value);
    if (getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &value, &length) != 0)
        return fanout_error("cannot read the fanout group", errno);
    const auto type = static_cast<unsigned>(value >> 16) & 0xffU;
    if (value == 0 || type != PACKET_FANOUT_CBPF)
        return Error{"ingress fanout", "the socket is in no classic-BPF fanout group"};
    return static_cast<std::uint16_t>(value & 0xffff);
}

} // namespace mcr::sockets
