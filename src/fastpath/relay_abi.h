/* The layout shared by the tc program (relay.bpf.c) and its loader
 * (rule_maps.cpp): map keys and values, limits and pass-through reasons.
 * Plain C with fixed-width types and no padding holes, since both clang
 * -target bpf and the host C++ compiler must lay it out the same way. */
#ifndef MCR_FASTPATH_RELAY_ABI_H
#define MCR_FASTPATH_RELAY_ABI_H

#include <linux/types.h>

/* One program instance (and one set of maps) per ingress interface, so the
 * ingress interface is not part of the key. */
#define MCR_FP_MAX_RULES 512U
#define MCR_FP_MAX_OUTPUTS 16U
/* Each rule owns two version slots: a new version is written into the
 * slot no frame can be reading, then the rule's key is switched to it.
 * Slot s belongs to rule id s / 2; its outputs are version_outputs entries
 * s * MCR_FP_MAX_OUTPUTS + i. */
#define MCR_FP_SLOTS_PER_RULE 2U
#define MCR_FP_VERSION_SLOTS (MCR_FP_MAX_RULES * MCR_FP_SLOTS_PER_RULE)

/* Address families of keys and outputs (the IP version numbers). */
#define MCR_FP_FAMILY_IPV4 4U
#define MCR_FP_FAMILY_IPV6 6U

/* Addresses and ports in network byte order, as they are in the frame. One
 * key for both families (16-byte addresses, an IPv4 one in the first word,
 * the rest 0): no second map to hand over, and the IPv4 rate did not move
 * (src/fastpath/README.md, "IPv6"). */
struct mcr_fp_rule_key {
	__u32 group[4];  /* destination address */
	__u32 source[4]; /* all 0: any source; else the SSM source */
	__u16 port;      /* UDP destination port */
	__u8 family;     /* MCR_FP_FAMILY_* of group and source */
	__u8 zero;       /* always 0: hash keys compare every byte */
};

/* Value of the rules hash: the rule's current version and which of that
 * version's outputs are held. An output whose "listeners" is "required" is
 * held while no listener is known on its interface: the program counts its
 * copy (no_listener) instead of sending it. Slot and mask share one value so
 * that the program reads both in one load and the worker changes either in
 * one update: a version switch carries the hold state along, and a listener
 * arriving or leaving is one update of this value (no new version, no
 * quiesce), which no frame sees half of. */
struct mcr_fp_rule_ref {
	__u32 slot; /* version slot; its rule id is slot / 2 */
	/* Bit i: the output at position i of that version (not the rule's
	 * output i: versions store outputs in their own order) is held.
	 * 0, the default of "always" outputs, costs the program nothing. */
	__u32 held_positions;
};

/* Rule flags. */
#define MCR_FP_FORWARD_EXPIRED_TTL 1U
/* Some output is of the other family: its copy gets a new IP header. */
#define MCR_FP_TRANSLATES 2U

/* The outputs of a version are stored those of the input's family first,
 * then the translated ones, so a frame changes family at most once; each
 * counts under its place in the rule (`counter`). */
struct mcr_fp_output {
	__u8 destination_mac[6];
	__u8 source_mac[6];
	__u32 ifindex;                /* egress interface */
	__u32 destination_address[4]; /* network order; IPv4: [0], the rest 0 */
	/* A translated copy's IP source (the egress interface's address of the
	 * output's family); unused when the family stays: the sender's stays. */
	__u32 source_address[4];
	__u16 destination_port; /* network order */
	__u8 ttl;               /* 1..255, used when has_ttl */
	__u8 has_ttl;           /* 0: arriving TTL/hop limit - 1, never below 1 */
	__u8 family;            /* MCR_FP_FAMILY_* of this copy */
	__u8 counter;           /* the output's index in the rule: its counters */
	__u16 zero;
};

/* Value of the rule_versions array: one immutable version of a rule. */
struct mcr_fp_rule_version {
	/* The key this version was written for: a frame that finds one with
	 * another key (a hash element reused under it) goes to the stack. */
	struct mcr_fp_rule_key key;
	__u32 flags;        /* MCR_FP_* rule flags */
	__u32 output_count; /* 1..MCR_FP_MAX_OUTPUTS */
	/* The largest arriving IP packet (header included) every output's copy
	 * fits its egress MTU with: a translated copy's header is 20 bytes
	 * longer (to IPv6) or shorter (to IPv4). */
	__u32 max_ip_bytes;
};

/* Per-CPU counters. Bytes are UDP payload bytes, as the worker counts them,
 * so both paths' numbers add up. */
struct mcr_fp_rule_traffic {
	__u64 packets;
	__u64 bytes;
};

struct mcr_fp_output_traffic {
	__u64 packets;
	__u64 bytes;
	__u64 errors; /* clone_redirect failures and rewrite failures */
	/* Copies not sent because the output was held (no listener): the
	 * worker's no_listener, the policy and not a drop. */
	__u64 no_listener;
};

/* Value of the one-entry `attachment` array: how and where the supervisor
 * attached this program instance. Written once by the supervisor after
 * attaching, then frozen (read-only to everyone, the worker included), so
 * a worker holding the maps can say which program they belong to without
 * any capability. The program never reads it. */
#define MCR_FP_ATTACHED_TCX 1U       /* a tcx link, held by whoever holds the link fd */
#define MCR_FP_ATTACHED_TC_LEGACY 2U /* a clsact cls_bpf filter: the kernel holds it */

struct mcr_fp_attachment {
	__u32 program_id; /* the kernel's id of the attached program */
	__u32 ifindex;    /* the ingress interface it was attached to */
	__u32 mode;       /* MCR_FP_ATTACHED_* */
	__u32 zero;       /* always 0 */
};

/* Why a frame went to the stack (and so to the worker) unchanged; index of
 * the pass_counts per-CPU array. Keep pass_reason_name() in step. */
enum mcr_fp_pass_reason {
	MCR_FP_PASS_NOT_IPV4 = 0,    /* EtherType is neither IPv4 nor IPv6 (name kept for scripts) */
	MCR_FP_PASS_MALFORMED,       /* truncated or inconsistent lengths */
	MCR_FP_PASS_FRAGMENT,        /* MF set or fragment offset != 0 */
	MCR_FP_PASS_IP_OPTIONS,      /* IHL > 5 */
	MCR_FP_PASS_NOT_UDP,         /* another IP protocol */
	MCR_FP_PASS_BAD_IP_CHECKSUM, /* header checksum does not verify */
	MCR_FP_PASS_VLAN,            /* the stack stripped an 802.1Q tag */
	MCR_FP_PASS_AGGREGATED,      /* GRO merged several datagrams */
	MCR_FP_PASS_NO_RULE,         /* no rule for (group, port[, source]) */
	MCR_FP_PASS_RULE_CHANGING,   /* the rule was being replaced */
	MCR_FP_PASS_TTL_EXPIRED,     /* TTL or hop limit <= 1 and the rule does not forward it */
	MCR_FP_PASS_TOO_BIG,         /* IP packet over an output's MTU */
	MCR_FP_PASS_KERNEL_REFUSED,  /* pulling or trimming the skb failed */
	/* Appended, so the older reasons keep their indices. */
	MCR_FP_PASS_IPV6_EXTENSION_HEADERS,     /* IPv6 next header is an extension header */
	MCR_FP_PASS_ZERO_UDP_CHECKSUM,          /* IPv6 UDP checksum 0 (invalid, RFC 8200) */
	MCR_FP_PASS_TRANSLATION_NEEDS_CHECKSUM, /* IPv4 UDP checksum 0 and an IPv6 output */
	MCR_FP_PASS_REASONS
};

#endif
