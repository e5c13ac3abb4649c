// SPDX-License-Identifier: MIT OR GPL-2.0
/* The fast path: a tc ingress program (a tcx link, or a direct-action
 * cls_bpf filter on clsact where the kernel has no tcx) that relays matched IPv4
 * and IPv6 UDP frames inside the kernel, translating between the two where a
 * rule asks for it, byte-identical to the worker's userspace copy
 * (src/dataplane/packet_rewrite.cpp), and hands every other frame to the
 * stack, and so to the worker, unchanged. README.md says why it is built
 * the way it is. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "relay_abi.h"

/* "Dual MIT/GPL" is GPL-compatible to the kernel, which some helpers need. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define IP_MIN_HEADER_BYTES 20U
#define IPV6_HEADER_BYTES 40U
#define UDP_HEADER_BYTES 8U
#define IP_OFFSET (ETH_HLEN)
#define UDP_OFFSET (ETH_HLEN + IP_MIN_HEADER_BYTES)
#define HEADERS_BYTES (UDP_OFFSET + UDP_HEADER_BYTES)
#define UDP_CHECK_OFFSET (UDP_OFFSET + 6)
#define IP_MF_AND_OFFSET 0x3fffU
#define IPV6_UDP_OFFSET (ETH_HLEN + IPV6_HEADER_BYTES)
#define IPV6_HEADERS_BYTES (IPV6_UDP_OFFSET + UDP_HEADER_BYTES)
#define IPV6_UDP_CHECK_OFFSET (IPV6_UDP_OFFSET + 6)
/* A translated IPv4 header: no fragments expected, and none made on the
 * way (an output over its MTU is the worker's too_big). */
#define IP_DONT_FRAGMENT 0x4000U

/* Frames we do not relay continue down the tcx chain (TCX_NEXT) rather than
 * ending it (TCX_PASS): a program attached after ours still sees them, and
 * at the end of the chain the stack gets them either way. */
#define PASS_TO_STACK TC_ACT_UNSPEC

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCR_FP_MAX_RULES);
	__type(key, struct mcr_fp_rule_key);
	__type(value, struct mcr_fp_rule_ref);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MCR_FP_VERSION_SLOTS);
	__type(key, __u32);
	__type(value, struct mcr_fp_rule_version);
} rule_versions SEC(".maps");

/* Outputs live in their own array, each looked up by key: indexing an
 * array inside one map value with the loop counter is pointer arithmetic
 * the verifier refuses without CAP_PERFMON (Spectre v1 sanitising sees a
 * different offset on every iteration), and the supervisor loads with
 * CAP_BPF and CAP_NET_ADMIN only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MCR_FP_VERSION_SLOTS * MCR_FP_MAX_OUTPUTS);
	__type(key, __u32);
	__type(value, struct mcr_fp_output);
} version_outputs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MCR_FP_PASS_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} pass_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MCR_FP_MAX_RULES);
	__type(key, __u32);
	__type(value, struct mcr_fp_rule_traffic);
} rule_traffic SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MCR_FP_MAX_RULES * MCR_FP_MAX_OUTPUTS);
	__type(key, __u32);
	__type(value, struct mcr_fp_output_traffic);
} output_traffic SEC(".maps");

/* Never read by the program. Updating an array-of-maps makes the bpf()
 * syscall wait (synchronize_rcu) until every program run that started
 * before it has finished: the loader's way to know no frame still reads a
 * rule set it is about to overwrite. Map fds suffice, no privilege. */
struct quiesce_inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} quiesce_inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct quiesce_inner_map);
} quiesce SEC(".maps") = {
	.values = { [0] = &quiesce_inner },
};

/* Written by the supervisor and frozen (relay_abi.h); never read here. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, __u32);
	__type(value, struct mcr_fp_attachment);
} attachment SEC(".maps");

/* What parsing found: the rule key and the arriving values every output's
 * copy is computed from (host order unless said otherwise), so that each
 * copy equals the worker's, not a rewrite of the previous output's copy. */
struct frame {
	struct mcr_fp_rule_key key; /* with the frame's source address */
	__u32 ip_bytes;             /* the IP packet, header included */
	__u32 udp_bytes;            /* UDP header and payload */
	__u32 destination_address;  /* IPv4 only */
	__u16 ip_checksum;          /* IPv4 only */
	__u16 udp_checksum;         /* as on the wire; 0: IPv4 "none" */
	__u8 ttl;                   /* TTL or hop limit */
	__u8 protocol;              /* IPv4 only */
	__u8 traffic_class;         /* TOS or traffic class: DSCP and ECN */
	__u8 family;                /* MCR_FP_FAMILY_* */
};

/* Headers a translated copy gets, laid out as on the wire (no bitfields). */
struct ipv4_header {
	__u8 version_ihl;
	__u8 tos;
	__u16 total_length;
	__u16 id;
	__u16 fragment;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__u32 source;
	__u32 destination;
};

struct ipv6_header {
	__u8 version_class_flow[4];
	__u16 payload_length;
	__u8 next_header;
	__u8 hop_limit;
	__u32 source[4];
	__u32 destination[4];
};

/* Returned by the parsers for a frame to look up. */
#define ACCEPTED MCR_FP_PASS_REASONS

static __always_inline int pass(__u32 reason)
{
	__u64 *count = bpf_map_lookup_elem(&pass_counts, &reason);

	if (count)
		*count += 1;
	return PASS_TO_STACK;
}

/* RFC 1624 eqn. 3 on host-order words, the same arithmetic as the
 * dataplane's checksum_replace16(), so results match to the bit (0x0000
 * and 0xffff are both "zero" in one's complement; which one appears
 * depends on the order of operations). */
static __always_inline __u16 checksum_replace16(__u16 checksum, __u16 old_word, __u16 new_word)
{
	__u32 sum = (__u16)~checksum;

	sum += (__u16)~old_word;
	sum += new_word;
	sum = (sum & 0xffffU) + (sum >> 16);
	sum = (sum & 0xffffU) + (sum >> 16);
	return (__u16)~sum;
}

static __always_inline __u16 checksum_replace32(__u16 checksum, __u32 old_value, __u32 new_value)
{
	checksum = checksum_replace16(checksum, (__u16)(old_value >> 16), (__u16)(new_value >> 16));
	return checksum_replace16(checksum, (__u16)old_value, (__u16)new_value);
}

/* The one's-complement sum of a 20-byte IPv4 header, folded. */
static __always_inline __u32 ip_header_sum(const __u16 *word)
{
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(IP_MIN_HEADER_BYTES / 2); i++)
		sum += word[i];
	sum = (sum & 0xffffU) + (sum >> 16);
	sum = (sum & 0xffffU) + (sum >> 16);
	return sum;
}

static __always_inline int ip_checksum_verifies(const struct iphdr *ip)
{
	/* A one's-complement sum of 0xffff reads the same in either byte order. */
	return ip_header_sum((const __u16 *)ip) == 0xffffU;
}

/* Makes the first `bytes` of the frame readable through skb->data. */
static __always_inline int make_linear(struct __sk_buff *skb, __u32 bytes)
{
	if ((void *)(long)skb->data + bytes <= (void *)(long)skb->data_end)
		return 0;
	return (int)bpf_skb_pull_data(skb, bytes);
}

static __always_inline __u8 output_ttl(const struct mcr_fp_output *out, const struct frame *in)
{
	return out->has_ttl ? out->ttl : (in->ttl > 1 ? (__u8)(in->ttl - 1) : 1);
}

static __always_inline int keys_equal(const struct mcr_fp_rule_key *a, const struct mcr_fp_rule_key *b)
{
	const __u32 *x = (const __u32 *)a;
	const __u32 *y = (const __u32 *)b;
	__u32 differ = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*a) / 4); i++)
		differ |= x[i] ^ y[i];
	return differ == 0;
}

/* The checks run in parse_frame()'s order (src/dataplane/frame.cpp), so a
 * frame both paths refuse is refused for the same reason. */
static __always_inline __u32 parse_ipv4(struct __sk_buff *skb, __u32 frame_bytes, struct frame *f)
{
	if (frame_bytes < IP_OFFSET + IP_MIN_HEADER_BYTES)
		return MCR_FP_PASS_MALFORMED;
	if (make_linear(skb, IP_OFFSET + IP_MIN_HEADER_BYTES))
		return MCR_FP_PASS_KERNEL_REFUSED;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + IP_OFFSET;
	if ((void *)(ip + 1) > data_end)
		return MCR_FP_PASS_MALFORMED;
	__u32 ip_room = frame_bytes - IP_OFFSET;
	__u32 header_bytes = (__u32)ip->ihl * 4;
	if (ip->version != 4 || header_bytes < IP_MIN_HEADER_BYTES || header_bytes > ip_room)
		return MCR_FP_PASS_MALFORMED;
	__u32 total_length = bpf_ntohs(ip->tot_len);
	if (total_length > ip_room || total_length < header_bytes)
		return MCR_FP_PASS_MALFORMED;
	if (ip->frag_off & bpf_htons(IP_MF_AND_OFFSET))
		return MCR_FP_PASS_FRAGMENT;
	if (header_bytes != IP_MIN_HEADER_BYTES)
		return MCR_FP_PASS_IP_OPTIONS;
	if (ip->protocol != IPPROTO_UDP)
		return MCR_FP_PASS_NOT_UDP;
	if (total_length < IP_MIN_HEADER_BYTES + UDP_HEADER_BYTES)
		return MCR_FP_PASS_MALFORMED;

	/* total_length <= ip_room, so the frame holds all three headers. */
	if (make_linear(skb, HEADERS_BYTES))
		return MCR_FP_PASS_KERNEL_REFUSED;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	ip = data + IP_OFFSET;
	struct udphdr *udp = data + UDP_OFFSET;
	if ((void *)(udp + 1) > data_end)
		return MCR_FP_PASS_MALFORMED;
	if (bpf_ntohs(udp->len) != total_length - IP_MIN_HEADER_BYTES)
		return MCR_FP_PASS_MALFORMED;
	/* The userspace path forwards a bad header checksum as it came (the
	 * incremental update keeps it bad); here it is the worker's call. */
	if (!ip_checksum_verifies(ip))
		return MCR_FP_PASS_BAD_IP_CHECKSUM;

	f->key.group[0] = ip->daddr;
	f->key.source[0] = ip->saddr;
	f->key.port = udp->dest;
	f->key.family = MCR_FP_FAMILY_IPV4;
	f->ip_bytes = total_length;
	f->udp_bytes = total_length - IP_MIN_HEADER_BYTES;
	f->destination_address = bpf_ntohl(ip->daddr);
	f->ip_checksum = bpf_ntohs(ip->check);
	f->udp_checksum = udp->check;
	f->ttl = ip->ttl;
	f->protocol = ip->protocol;
	f->traffic_class = ip->tos;
	f->family = MCR_FP_FAMILY_IPV4;
	return ACCEPTED;
}

/* Next header values that are IPv6 extension headers (RFC 7045): frames
 * with any of them go to the worker, which walks the chain (or drops the
 * frame for its reason) and relays only base header + UDP. */
static __always_inline int is_extension_header(__u8 next_header)
{
	switch (next_header) {
	case 0:   /* hop-by-hop options */
	case 43:  /* routing */
	case 44:  /* fragment */
	case 50:  /* ESP */
	case 51:  /* AH */
	case 60:  /* destination options */
	case 135: /* mobility */
	case 139: /* HIP */
	case 140: /* shim6 */
	case 253: /* experiments (RFC 3692) */
	case 254:
		return 1;
	}
	return 0;
}

static __always_inline __u32 parse_ipv6(struct __sk_buff *skb, __u32 frame_bytes, struct frame *f)
{
	if (frame_bytes < IP_OFFSET + IPV6_HEADER_BYTES)
		return MCR_FP_PASS_MALFORMED;
	if (make_linear(skb, IP_OFFSET + IPV6_HEADER_BYTES))
		return MCR_FP_PASS_KERNEL_REFUSED;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip = data + IP_OFFSET;
	if ((void *)(ip + 1) > data_end)
		return MCR_FP_PASS_MALFORMED;
	const __u8 *first = (const __u8 *)ip;
	if ((first[0] >> 4) != 6)
		return MCR_FP_PASS_MALFORMED;
	__u32 payload_length = bpf_ntohs(ip->payload_len);
	if (payload_length > frame_bytes - IP_OFFSET - IPV6_HEADER_BYTES)
		return MCR_FP_PASS_MALFORMED;
	if (is_extension_header(ip->nexthdr))
		return MCR_FP_PASS_IPV6_EXTENSION_HEADERS;
	if (ip->nexthdr != IPPROTO_UDP)
		return MCR_FP_PASS_NOT_UDP;
	if (payload_length < UDP_HEADER_BYTES)
		return MCR_FP_PASS_MALFORMED;

	/* payload_length fits the frame, so it holds the UDP header. */
	if (make_linear(skb, IPV6_HEADERS_BYTES))
		return MCR_FP_PASS_KERNEL_REFUSED;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	ip = data + IP_OFFSET;
	struct udphdr *udp = data + IPV6_UDP_OFFSET;
	if ((void *)(udp + 1) > data_end)
		return MCR_FP_PASS_MALFORMED;
	if (bpf_ntohs(udp->len) != payload_length)
		return MCR_FP_PASS_MALFORMED;
	if (udp->check == 0)
		return MCR_FP_PASS_ZERO_UDP_CHECKSUM;

	first = (const __u8 *)ip;
#pragma unroll
	for (int i = 0; i < 4; i++) {
		f->key.group[i] = ip->daddr.in6_u.u6_addr32[i];
		f->key.source[i] = ip->saddr.in6_u.u6_addr32[i];
	}
	f->key.port = udp->dest;
	f->key.family = MCR_FP_FAMILY_IPV6;
	f->ip_bytes = IPV6_HEADER_BYTES + payload_length;
	f->udp_bytes = payload_length;
	f->udp_checksum = udp->check;
	f->ttl = ip->hop_limit;
	f->traffic_class = (__u8)((first[0] << 4) | (first[1] >> 4));
	f->family = MCR_FP_FAMILY_IPV6;
	return ACCEPTED;
}

/* Rewrites an IPv4 frame in place for an IPv4 output. The IP checksum is
 * computed here (from the arriving values, like the userspace rewriter);
 * the UDP checksum is left to bpf_l4_csum_replace(), which also keeps
 * skb->csum right for CHECKSUM_COMPLETE skbs and updates only the
 * pseudo-header part for CHECKSUM_PARTIAL ones (a local sender's, which the
 * egress device completes). Its results equal the userspace ones: both
 * produce the arithmetically right value and write a computed 0 as 0xffff,
 * and BPF_F_MARK_MANGLED_0 leaves a 0 ("no checksum", RFC 768) alone. */
static __always_inline int rewrite_ipv4(struct __sk_buff *skb, const struct mcr_fp_output *out,
					const struct frame *in)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + IP_OFFSET;
	struct udphdr *udp = data + UDP_OFFSET;

	if (data + HEADERS_BYTES > data_end)
		return -1;

	__u8 ttl = output_ttl(out, in);
	/* TTL shares its 16-bit word with the protocol byte. */
	__u16 checksum = checksum_replace16(in->ip_checksum, (__u16)((in->ttl << 8) | in->protocol),
					    (__u16)((ttl << 8) | in->protocol));
	checksum = checksum_replace32(checksum, in->destination_address,
				      bpf_ntohl(out->destination_address[0]));

	__u32 previous_address = ip->daddr;
	__u16 previous_port = udp->dest;
	__u16 udp_checksum = udp->check;

	__builtin_memcpy(eth->h_dest, out->destination_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, out->source_mac, ETH_ALEN);
	ip->ttl = ttl;
	ip->daddr = out->destination_address[0];
	ip->check = bpf_htons(checksum);
	udp->dest = out->destination_port;

	if (udp_checksum == 0) {
		/* No UDP checksum to carry the port change, so a CHECKSUM_COMPLETE
		 * skb->csum must take it (-ENOTSUPP for other skbs: nothing to do). */
		__u32 from = previous_port, to = out->destination_port;
		(void)bpf_csum_update(skb, bpf_csum_diff(&from, sizeof(from), &to, sizeof(to), 0));
		return 0;
	}
	if (bpf_l4_csum_replace(skb, UDP_CHECK_OFFSET, previous_address, out->destination_address[0],
				BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | sizeof(__u32)))
		return -1;
	if (bpf_l4_csum_replace(skb, UDP_CHECK_OFFSET, previous_port, out->destination_port,
				BPF_F_MARK_MANGLED_0 | sizeof(__u16)))
		return -1;
	return 0;
}

/* Rewrites an IPv6 frame in place for an IPv6 output: destination address,
 * hop limit, port, MACs. The UDP checksum as for IPv4 (its zero case never
 * gets here: zero_udp_checksum). IPv6 has no header checksum to absorb the
 * header change, so a CHECKSUM_COMPLETE skb->csum takes it explicitly. */
static __always_inline int rewrite_ipv6(struct __sk_buff *skb, const struct mcr_fp_output *out,
					const struct frame *in)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip = data + IP_OFFSET;
	struct udphdr *udp = data + IPV6_UDP_OFFSET;

	if (data + IPV6_HEADERS_BYTES > data_end)
		return -1;

	/* Word 1 of the header (payload length, next header, hop limit) and
	 * the destination address, before and after. */
	__u32 before[5];
	__u32 after[5];
	__u8 *hop_limit_after = (__u8 *)&after[0] + 3;
	__builtin_memcpy(&before[0], (__u8 *)ip + 4, 4);
	after[0] = before[0];
	*hop_limit_after = output_ttl(out, in);
#pragma unroll
	for (int i = 0; i < 4; i++) {
		before[1 + i] = ip->daddr.in6_u.u6_addr32[i];
		after[1 + i] = out->destination_address[i];
	}
	__s64 header_change = bpf_csum_diff(before, sizeof(before), after, sizeof(after), 0);
	__s64 address_change = bpf_csum_diff(&before[1], 16, &after[1], 16, 0);
	if (header_change < 0 || address_change < 0)
		return -1;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	eth = data;
	ip = data + IP_OFFSET;
	udp = data + IPV6_UDP_OFFSET;
	if (data + IPV6_HEADERS_BYTES > data_end)
		return -1;
	__u16 previous_port = udp->dest;

	__builtin_memcpy(eth->h_dest, out->destination_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, out->source_mac, ETH_ALEN);
	ip->hop_limit = *hop_limit_after;
#pragma unroll
	for (int i = 0; i < 4; i++)
		ip->daddr.in6_u.u6_addr32[i] = after[1 + i];
	udp->dest = out->destination_port;

	(void)bpf_csum_update(skb, (__u32)header_change);
	if (bpf_l4_csum_replace(skb, IPV6_UDP_CHECK_OFFSET, 0, (__u64)address_change,
				BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0))
		return -1;
	if (bpf_l4_csum_replace(skb, IPV6_UDP_CHECK_OFFSET, previous_port, out->destination_port,
				BPF_F_MARK_MANGLED_0 | sizeof(__u16)))
		return -1;
	return 0;
}

/* Gives the frame, whatever family it is in now (`*family`), a whole new
 * IP header of the output's family (v6design point 3): bpf_skb_change_proto
 * grows or shrinks the room after the Ethernet header by 20 bytes, as NAT64
 * programs do; traffic class <-> TOS carried, flow label 0, IPv4 id 0 with
 * DF, the source the output's (the egress interface's address). The UDP
 * checksum follows the pseudo-header change (the protocol and length terms
 * sum the same in both families), so it stays exact without reading the
 * payload; an IPv4 zero checksum never gets here. bpf_skb_store_bytes
 * with BPF_F_RECOMPUTE_CSUM keeps a CHECKSUM_COMPLETE skb->csum right. */
static __always_inline int rewrite_other_family(struct __sk_buff *skb, const struct mcr_fp_output *out,
						const struct frame *in, __u8 *family)
{
	__u32 old_addresses[8] = {};
	__u16 old_port = 0;
	__s64 change;
	int was_ipv4 = *family == MCR_FP_FAMILY_IPV4;

	if (was_ipv4) {
		if (bpf_skb_load_bytes(skb, IP_OFFSET + 12, old_addresses, 8) ||
		    bpf_skb_load_bytes(skb, UDP_OFFSET + 2, &old_port, 2))
			return -1;
	} else {
		if (bpf_skb_load_bytes(skb, IP_OFFSET + 8, old_addresses, 32) ||
		    bpf_skb_load_bytes(skb, IPV6_UDP_OFFSET + 2, &old_port, 2))
			return -1;
	}
	if (out->family != *family) {
		__u16 protocol = out->family == MCR_FP_FAMILY_IPV6 ? ETH_P_IPV6 : ETH_P_IP;
		if (bpf_skb_change_proto(skb, bpf_htons(protocol), 0))
			return -1;
		*family = out->family;
	}

	__u8 ttl = output_ttl(out, in);
	__u32 check_offset;
	if (out->family == MCR_FP_FAMILY_IPV6) {
		struct ipv6_header header = {
			.version_class_flow = {(__u8)(0x60 | (in->traffic_class >> 4)), (__u8)(in->traffic_class << 4), 0, 0},
			.payload_length = bpf_htons((__u16)in->udp_bytes),
			.next_header = IPPROTO_UDP,
			.hop_limit = ttl,
		};
#pragma unroll
		for (int i = 0; i < 4; i++) {
			header.source[i] = out->source_address[i];
			header.destination[i] = out->destination_address[i];
		}
		if (bpf_skb_store_bytes(skb, IP_OFFSET, &header, sizeof(header), BPF_F_RECOMPUTE_CSUM))
			return -1;
		change = was_ipv4 ? bpf_csum_diff(old_addresses, 8, header.source, 32, 0)
				  : bpf_csum_diff(old_addresses, 32, header.source, 32, 0);
		check_offset = IPV6_UDP_CHECK_OFFSET;
	} else {
		struct ipv4_header header = {
			.version_ihl = 0x45,
			.tos = in->traffic_class,
			.total_length = bpf_htons((__u16)(IP_MIN_HEADER_BYTES + in->udp_bytes)),
			.id = 0,
			.fragment = bpf_htons(IP_DONT_FRAGMENT),
			.ttl = ttl,
			.protocol = IPPROTO_UDP,
			.check = 0,
			.source = out->source_address[0],
			.destination = out->destination_address[0],
		};
		header.check = (__u16)~ip_header_sum((const __u16 *)&header);
		if (bpf_skb_store_bytes(skb, IP_OFFSET, &header, sizeof(header), BPF_F_RECOMPUTE_CSUM))
			return -1;
		change = was_ipv4 ? bpf_csum_diff(old_addresses, 8, &header.source, 8, 0)
				  : bpf_csum_diff(old_addresses, 32, &header.source, 8, 0);
		check_offset = UDP_CHECK_OFFSET;
	}
	if (change < 0)
		return -1;
	if (bpf_l4_csum_replace(skb, check_offset, 0, (__u64)change, BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0))
		return -1;
	if (bpf_l4_csum_replace(skb, check_offset, old_port, out->destination_port,
				BPF_F_MARK_MANGLED_0 | sizeof(__u16)))
		return -1;
	if (bpf_skb_store_bytes(skb, check_offset - 4, &out->destination_port, 2, 0))
		return -1;
	struct ethhdr eth;
	__builtin_memcpy(eth.h_dest, out->destination_mac, ETH_ALEN);
	__builtin_memcpy(eth.h_source, out->source_mac, ETH_ALEN);
	eth.h_proto = bpf_htons(out->family == MCR_FP_FAMILY_IPV6 ? ETH_P_IPV6 : ETH_P_IP);
	return (int)bpf_skb_store_bytes(skb, 0, &eth, sizeof(eth), 0);
}

static __always_inline struct mcr_fp_output_traffic *output_counters(__u32 rule_id, __u32 output)
{
	__u32 index = rule_id * MCR_FP_MAX_OUTPUTS + output % MCR_FP_MAX_OUTPUTS;

	return bpf_map_lookup_elem(&output_traffic, &index);
}

static __always_inline void count_output(__u32 rule_id, __u32 output, __u64 payload_bytes, int failed)
{
	struct mcr_fp_output_traffic *traffic = output_counters(rule_id, output);
	__u64 sent = failed ? 0 : 1;

	if (!traffic)
		return;
	/* Every field updated, none chosen: clang turns "which field" into a
	 * variable offset on the map value pointer, which the verifier refuses
	 * without CAP_PERFMON. */
	traffic->packets += sent;
	traffic->bytes += sent * payload_bytes;
	traffic->errors += 1 - sent;
}

/* Apart from count_output(), so that an output sent pays nothing for the
 * hold counter. */
static __always_inline void count_held(__u32 rule_id, __u32 output)
{
	struct mcr_fp_output_traffic *traffic = output_counters(rule_id, output);

	if (traffic)
		traffic->no_listener += 1;
}

/* cppcheck (tools/lint) reads this file without libbpf's SEC(). */
// cppcheck-suppress unknownMacro
SEC("tc")
int mcr_relay(struct __sk_buff *skb)
{
	/* The stack strips an 802.1Q tag before tc and leaves it in the skb:
	 * the frame data no longer shows it, so it must be asked for. */
	if (skb->vlan_present)
		return pass(MCR_FP_PASS_VLAN);
	if (skb->gso_size != 0)
		return pass(MCR_FP_PASS_AGGREGATED);

	__u32 frame_bytes = skb->len;
	if (frame_bytes < ETH_HLEN)
		return pass(MCR_FP_PASS_MALFORMED);
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return pass(MCR_FP_PASS_MALFORMED);

	/* Zeroed whole: the key's unused words are hashed, and the verifier
	 * refuses reads of uninitialised stack without CAP_PERFMON. */
	struct frame in = {};
	__u32 parsed = MCR_FP_PASS_NOT_IPV4;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		parsed = parse_ipv4(skb, frame_bytes, &in);
	else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		parsed = parse_ipv6(skb, frame_bytes, &in);
	if (parsed != ACCEPTED)
		return pass(parsed);

	/* Source-specific rules first, then any-source, as RuleTable does. */
	struct mcr_fp_rule_key *key = &in.key;
	__u32 *found = bpf_map_lookup_elem(&rules, key);
	if (!found) {
#pragma unroll
		for (int i = 0; i < 4; i++)
			key->source[i] = 0;
		found = bpf_map_lookup_elem(&rules, key);
	}
	if (!found)
		return pass(MCR_FP_PASS_NO_RULE);
	/* Slot and hold mask in one load (relay_abi.h): both come from the
	 * same update, never a slot of one and a mask of another. */
	__u64 raw_ref = *(volatile __u64 *)found;
	struct mcr_fp_rule_ref ref;
	__builtin_memcpy(&ref, &raw_ref, sizeof(ref));
	__u32 slot = ref.slot;
	const struct mcr_fp_rule_version *version = bpf_map_lookup_elem(&rule_versions, &slot);
	if (!version || !keys_equal(&version->key, key))
		return pass(MCR_FP_PASS_RULE_CHANGING);
	__u32 output_count = version->output_count;
	if (output_count == 0 || output_count > MCR_FP_MAX_OUTPUTS)
		return pass(MCR_FP_PASS_RULE_CHANGING);
	__u32 flags = version->flags;
	if (in.ttl <= 1 && !(flags & MCR_FP_FORWARD_EXPIRED_TTL))
		return pass(MCR_FP_PASS_TTL_EXPIRED);
	if (in.ip_bytes > version->max_ip_bytes)
		return pass(MCR_FP_PASS_TOO_BIG);
	/* An IPv4 datagram without a checksum must get one in IPv6 (RFC 8200),
	 * computed over the whole payload: the worker's job, not the program's. */
	if ((flags & MCR_FP_TRANSLATES) && in.udp_checksum == 0)
		return pass(MCR_FP_PASS_TRANSLATION_NEEDS_CHECKSUM);

	__u64 payload_bytes = in.udp_bytes - UDP_HEADER_BYTES;
	/* The userspace copy ends with the IP packet: drop Ethernet padding. */
	if (frame_bytes > IP_OFFSET + in.ip_bytes && bpf_skb_change_tail(skb, IP_OFFSET + in.ip_bytes, 0))
		return pass(MCR_FP_PASS_KERNEL_REFUSED);

	/* From here on the frame is ours: it is never handed on half-rewritten,
	 * and not handed on at all when every output is held (the worker would
	 * count it a second time). */
	__u32 rule_id = slot / MCR_FP_SLOTS_PER_RULE;
	struct mcr_fp_rule_traffic *traffic = bpf_map_lookup_elem(&rule_traffic, &rule_id);
	if (traffic) {
		traffic->packets += 1;
		traffic->bytes += payload_bytes;
	}

	/* Every output but the last one sent gets a clone of the frame as
	 * rewritten for it; the last one sent gets the frame itself
	 * (bpf_redirect), so one output costs no clone and nothing is left for
	 * the stack. `sending` holds the positions not held: position i is the
	 * last one sent when no bit above i is set. Outputs of the input's
	 * family come first (rule_maps.cpp), so the frame changes family at
	 * most once. */
	__u32 positions = (1U << output_count) - 1;
	__u32 held = ref.held_positions & positions;
	__u32 sending = ~held & positions;
	__u32 last_ifindex = 0;
	__u8 family = in.family;
	for (__u32 i = 0; i < MCR_FP_MAX_OUTPUTS; i++) {
		if (i >= output_count)
			break;
		__u32 output_index = slot * MCR_FP_MAX_OUTPUTS + i;
		const struct mcr_fp_output *out = bpf_map_lookup_elem(&version_outputs, &output_index);
		if (!out) {
			count_output(rule_id, i, payload_bytes, 1);
			return TC_ACT_SHOT;
		}
		if (held & (1U << i)) {
			count_held(rule_id, out->counter);
			continue;
		}
		int failed;
		if (out->family != in.family || family != in.family)
			failed = rewrite_other_family(skb, out, &in, &family);
		else if (in.family == MCR_FP_FAMILY_IPV4)
			failed = rewrite_ipv4(skb, out, &in);
		else
			failed = rewrite_ipv6(skb, out, &in);
		if (failed) {
			count_output(rule_id, out->counter, payload_bytes, 1);
			return TC_ACT_SHOT;
		}
		if ((sending >> (i + 1)) == 0) {
			count_output(rule_id, out->counter, payload_bytes, 0);
			/* Held outputs after it are still to be counted. */
			if ((held >> (i + 1)) == 0)
				return bpf_redirect(out->ifindex, 0);
			last_ifindex = out->ifindex;
			continue;
		}
		count_output(rule_id, out->counter, payload_bytes, bpf_clone_redirect(skb, out->ifindex, 0) != 0);
	}
	if (sending)
		return bpf_redirect(last_ifindex, 0);
	/* Every output held: each counted no_listener, nothing to send. */
	return TC_ACT_SHOT;
}
