// SPDX-License-Identifier: MIT OR GPL-2.0
/* The fast path: a tc ingress program (a tcx link, or a direct-action
 * cls_bpf filter on clsact where the kernel has no tcx) that relays matched IPv4 UDP
 * frames inside the kernel, byte-identical to the worker's userspace copy
 * (src/dataplane/packet_rewrite.cpp), and hands every other frame to the
 * stack, and so to the worker, unchanged. README.md says why it is built
 * the way it is. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "relay_abi.h"

/* "Dual MIT/GPL" is GPL-compatible to the kernel, which some helpers need. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define IP_MIN_HEADER_BYTES 20U
#define UDP_HEADER_BYTES 8U
#define IP_OFFSET (ETH_HLEN)
#define UDP_OFFSET (ETH_HLEN + IP_MIN_HEADER_BYTES)
#define HEADERS_BYTES (UDP_OFFSET + UDP_HEADER_BYTES)
#define UDP_CHECK_OFFSET (UDP_OFFSET + 6)
#define IP_MF_AND_OFFSET 0x3fffU

/* Frames we do not relay continue down the tcx chain (TCX_NEXT) rather than
 * ending it (TCX_PASS): a program attached after ours still sees them, and
 * at the end of the chain the stack gets them either way. */
#define PASS_TO_STACK TC_ACT_UNSPEC

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCR_FP_MAX_RULES);
	__type(key, struct mcr_fp_rule_key);
	__type(value, __u32); /* version slot; its rule id is slot / 2 */
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

/* The arriving values the userspace rewriter starts from (host order), kept
 * so that every output's IP checksum is computed from them exactly as
 * rewrite_for_output() does, not from the previous output's copy. */
struct original {
	__u16 ip_checksum;
	__u8 ttl;
	__u8 protocol;
	__u32 destination_address;
};

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

static __always_inline int ip_checksum_verifies(const struct iphdr *ip)
{
	const __u16 *word = (const __u16 *)ip;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(IP_MIN_HEADER_BYTES / 2); i++)
		sum += word[i];
	sum = (sum & 0xffffU) + (sum >> 16);
	sum = (sum & 0xffffU) + (sum >> 16);
	/* A one's-complement sum of 0xffff reads the same in either byte order. */
	return sum == 0xffffU;
}

/* Makes the first `bytes` of the frame readable through skb->data. */
static __always_inline int make_linear(struct __sk_buff *skb, __u32 bytes)
{
	if ((void *)(long)skb->data + bytes <= (void *)(long)skb->data_end)
		return 0;
	return (int)bpf_skb_pull_data(skb, bytes);
}

/* Rewrites the frame in place for one output. The IP checksum is computed
 * here (from the arriving values, like the userspace rewriter); the UDP
 * checksum is left to bpf_l4_csum_replace(), which also keeps skb->csum
 * right for CHECKSUM_COMPLETE skbs and updates only the pseudo-header part
 * for CHECKSUM_PARTIAL ones (a local sender's, which the egress device
 * completes). Its results equal the userspace ones: both produce the
 * arithmetically right value and write a computed 0 as 0xffff, and
 * BPF_F_MARK_MANGLED_0 leaves a 0 ("no checksum", RFC 768) alone. */
static __always_inline int rewrite_for_output(struct __sk_buff *skb, const struct mcr_fp_output *out,
					      const struct original *in)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + IP_OFFSET;
	struct udphdr *udp = data + UDP_OFFSET;

	if (data + HEADERS_BYTES > data_end)
		return -1;

	__u8 ttl = out->has_ttl ? out->ttl : (in->ttl > 1 ? (__u8)(in->ttl - 1) : 1);
	/* TTL shares its 16-bit word with the protocol byte. */
	__u16 checksum = checksum_replace16(in->ip_checksum, (__u16)((in->ttl << 8) | in->protocol),
					    (__u16)((ttl << 8) | in->protocol));
	checksum = checksum_replace32(checksum, in->destination_address, bpf_ntohl(out->destination_address));

	__u32 previous_address = ip->daddr;
	__u16 previous_port = udp->dest;
	__u16 udp_checksum = udp->check;

	__builtin_memcpy(eth->h_dest, out->destination_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, out->source_mac, ETH_ALEN);
	ip->ttl = ttl;
	ip->daddr = out->destination_address;
	ip->check = bpf_htons(checksum);
	udp->dest = out->destination_port;

	if (udp_checksum == 0) {
		/* No UDP checksum to carry the port change, so a CHECKSUM_COMPLETE
		 * skb->csum must take it (-ENOTSUPP for other skbs: nothing to do). */
		__u32 from = previous_port, to = out->destination_port;
		(void)bpf_csum_update(skb, bpf_csum_diff(&from, sizeof(from), &to, sizeof(to), 0));
		return 0;
	}
	if (bpf_l4_csum_replace(skb, UDP_CHECK_OFFSET, previous_address, out->destination_address,
				BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | sizeof(__u32)))
		return -1;
	if (bpf_l4_csum_replace(skb, UDP_CHECK_OFFSET, previous_port, out->destination_port,
				BPF_F_MARK_MANGLED_0 | sizeof(__u16)))
		return -1;
	return 0;
}

static __always_inline void count_output(__u32 rule_id, __u32 output, __u64 payload_bytes, int failed)
{
	__u32 index = rule_id * MCR_FP_MAX_OUTPUTS + output;
	struct mcr_fp_output_traffic *traffic = bpf_map_lookup_elem(&output_traffic, &index);
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

	/* The checks run in parse_frame()'s order (src/dataplane/frame.cpp),
	 * so a frame both paths refuse is refused for the same reason. */
	__u32 frame_bytes = skb->len;
	if (frame_bytes < ETH_HLEN)
		return pass(MCR_FP_PASS_MALFORMED);
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return pass(MCR_FP_PASS_MALFORMED);
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return pass(MCR_FP_PASS_NOT_IPV4);

	if (frame_bytes < IP_OFFSET + IP_MIN_HEADER_BYTES)
		return pass(MCR_FP_PASS_MALFORMED);
	if (make_linear(skb, IP_OFFSET + IP_MIN_HEADER_BYTES))
		return pass(MCR_FP_PASS_KERNEL_REFUSED);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + IP_OFFSET;
	if ((void *)(ip + 1) > data_end)
		return pass(MCR_FP_PASS_MALFORMED);
	__u32 ip_room = frame_bytes - IP_OFFSET;
	__u32 header_bytes = (__u32)ip->ihl * 4;
	if (ip->version != 4 || header_bytes < IP_MIN_HEADER_BYTES || header_bytes > ip_room)
		return pass(MCR_FP_PASS_MALFORMED);
	__u32 total_length = bpf_ntohs(ip->tot_len);
	if (total_length > ip_room || total_length < header_bytes)
		return pass(MCR_FP_PASS_MALFORMED);
	if (ip->frag_off & bpf_htons(IP_MF_AND_OFFSET))
		return pass(MCR_FP_PASS_FRAGMENT);
	if (header_bytes != IP_MIN_HEADER_BYTES)
		return pass(MCR_FP_PASS_IP_OPTIONS);
	if (ip->protocol != IPPROTO_UDP)
		return pass(MCR_FP_PASS_NOT_UDP);
	if (total_length < IP_MIN_HEADER_BYTES + UDP_HEADER_BYTES)
		return pass(MCR_FP_PASS_MALFORMED);

	/* total_length <= ip_room, so the frame holds all three headers. */
	if (make_linear(skb, HEADERS_BYTES))
		return pass(MCR_FP_PASS_KERNEL_REFUSED);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	ip = data + IP_OFFSET;
	struct udphdr *udp = data + UDP_OFFSET;
	if ((void *)(udp + 1) > data_end)
		return pass(MCR_FP_PASS_MALFORMED);
	if (bpf_ntohs(udp->len) != total_length - IP_MIN_HEADER_BYTES)
		return pass(MCR_FP_PASS_MALFORMED);
	/* The userspace path forwards a bad header checksum as it came (the
	 * incremental update keeps it bad); here it is the worker's call. */
	if (!ip_checksum_verifies(ip))
		return pass(MCR_FP_PASS_BAD_IP_CHECKSUM);

	/* Source-specific rules first, then any-source, as RuleTable does. */
	struct mcr_fp_rule_key key = {
		.group = ip->daddr,
		.source = ip->saddr,
		.port = udp->dest,
		.zero = 0,
	};
	__u32 *found = bpf_map_lookup_elem(&rules, &key);
	if (!found) {
		key.source = 0;
		found = bpf_map_lookup_elem(&rules, &key);
	}
	if (!found)
		return pass(MCR_FP_PASS_NO_RULE);
	/* One load: a concurrent replace must not give half a slot number. */
	__u32 slot = *(volatile __u32 *)found;
	const struct mcr_fp_rule_version *version = bpf_map_lookup_elem(&rule_versions, &slot);
	if (!version || version->key.group != key.group || version->key.source != key.source ||
	    version->key.port != key.port)
		return pass(MCR_FP_PASS_RULE_CHANGING);
	__u32 output_count = version->output_count;
	if (output_count == 0 || output_count > MCR_FP_MAX_OUTPUTS)
		return pass(MCR_FP_PASS_RULE_CHANGING);
	if (ip->ttl <= 1 && !(version->flags & MCR_FP_FORWARD_EXPIRED_TTL))
		return pass(MCR_FP_PASS_TTL_EXPIRED);
	if (total_length > version->max_ip_bytes)
		return pass(MCR_FP_PASS_TOO_BIG);

	const struct original in = {
		.ip_checksum = bpf_ntohs(ip->check),
		.ttl = ip->ttl,
		.protocol = ip->protocol,
		.destination_address = bpf_ntohl(ip->daddr),
	};
	__u64 payload_bytes = total_length - IP_MIN_HEADER_BYTES - UDP_HEADER_BYTES;
	/* The userspace copy ends with the IP packet: drop Ethernet padding. */
	if (frame_bytes > IP_OFFSET + total_length && bpf_skb_change_tail(skb, IP_OFFSET + total_length, 0))
		return pass(MCR_FP_PASS_KERNEL_REFUSED);

	/* From here on the frame is ours: it is never handed on half-rewritten. */
	__u32 rule_id = slot / MCR_FP_SLOTS_PER_RULE;
	struct mcr_fp_rule_traffic *traffic = bpf_map_lookup_elem(&rule_traffic, &rule_id);
	if (traffic) {
		traffic->packets += 1;
		traffic->bytes += payload_bytes;
	}

	/* Every output but the last gets a clone of the frame as rewritten for
	 * it; the last output gets the frame itself (bpf_redirect), so one
	 * output costs no clone and nothing is left for the stack. */
	for (__u32 i = 0; i < MCR_FP_MAX_OUTPUTS; i++) {
		if (i >= output_count)
			break;
		__u32 output_index = slot * MCR_FP_MAX_OUTPUTS + i;
		const struct mcr_fp_output *out = bpf_map_lookup_elem(&version_outputs, &output_index);
		if (!out || rewrite_for_output(skb, out, &in)) {
			count_output(rule_id, i, payload_bytes, 1);
			return TC_ACT_SHOT;
		}
		if (i + 1 == output_count) {
			count_output(rule_id, i, payload_bytes, 0);
			return bpf_redirect(out->ifindex, 0);
		}
		count_output(rule_id, i, payload_bytes, bpf_clone_redirect(skb, out->ifindex, 0) != 0);
	}
	return TC_ACT_SHOT;
}
