/*
 * fs/fuse/uring_abi.h — the kernel's FUSE-over-io_uring ABI, as
 * include/uapi/linux/fuse.h defines it at protocol 7.42 (Linux 6.14):
 * the INIT flag, the two ring commands, an entry's header buffer and the
 * command area of an SQE128. Debian 12's kernel headers predate it, so it
 * is written out here, once, under names of its own that cannot collide
 * with a newer <linux/fuse.h>. A leaf: the transport
 * (fs/fuse/uring_transport.c) and the measurement program
 * (scripts/bench/fuseuring.c) include it.
 */
#ifndef VOLFS_FUSE_URING_ABI_H
#define VOLFS_FUSE_URING_ABI_H

#include <stdint.h>

/* FUSE_OVER_IO_URING: bit 41 of INIT's 64 flags (bit 9 of flags2). */
#define URING_ABI_INIT_OVER_IO_URING (1ULL << 41)

/* enum fuse_uring_cmd: an SQE's cmd_op. */
#define URING_ABI_CMD_REGISTER 1
#define URING_ABI_CMD_COMMIT_AND_FETCH 2

/* struct fuse_uring_ent_in_out */
struct uring_abi_ent_in_out {
	uint64_t flags;
	uint64_t commit_id; /* the request's unique, echoed by the commit */
	uint32_t payload_sz;
	uint32_t padding;
	uint64_t reserved;
};

/* struct fuse_uring_req_header: an entry's first buffer (iov[0]); its
 * second (iov[1]) is the payload. */
struct uring_abi_req_header {
	char in_out[128]; /* fuse_in_header of a request, fuse_out_header of a reply */
	char op_in[128];  /* the request's fixed argument (fuse_write_in, ...) */
	struct uring_abi_ent_in_out ent;
};

/* struct fuse_uring_cmd_req: in the SQE128's command area. */
struct uring_abi_cmd_req {
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid;
	uint8_t padding[6];
};

_Static_assert(sizeof(struct uring_abi_ent_in_out) == 32, "kernel ABI");
_Static_assert(sizeof(struct uring_abi_req_header) == 288, "kernel ABI");
_Static_assert(sizeof(struct uring_abi_cmd_req) == 24, "kernel ABI");

#endif
