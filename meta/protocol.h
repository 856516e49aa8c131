/*
 * meta/protocol.h — limits of the control protocol (docs/control-protocol.md)
 * that the daemon and its clients must agree on.
 */
#ifndef VOLFS_META_PROTOCOL_H
#define VOLFS_META_PROTOCOL_H

/* The largest request line, newline included. The daemon answers a longer
 * one with reason PROTOCOL_TOO_LARGE; volctl refuses to send one. */
#define PROTOCOL_REQUEST_MAX (4u << 20)
#define PROTOCOL_REQUEST_MAX_TEXT "4 MiB"
/* Kubernetes' status reason for an oversized request body. */
#define PROTOCOL_TOO_LARGE "RequestEntityTooLarge"

#endif
