/*
 * fs/store/block.h — the storage engine's unit and bound: the block every
 * map bit stands for, and the largest offset a write may reach. A leaf, so
 * that the public interface (fs/store/store.h) and the engine's internals
 * (fs/store/store_int.h) both build on it without including each other.
 */
#ifndef VOLFS_FS_STORE_BLOCK_H
#define VOLFS_FS_STORE_BLOCK_H

#define STORE_BLOCK 4096u
/* Writes and allocations must end at or below this offset (16 TiB, the
 * ext4 limit for one host file); beyond it they fail with -EFBIG. Reads,
 * punches and truncates accept any offset. */
#define STORE_MAX_SIZE (1ull << 44)

#endif
