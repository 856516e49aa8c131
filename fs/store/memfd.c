/*
 * fs/store/memfd.c — data objects held in RAM: the host "file" of a memory
 * object (an emptyDir with medium: Memory) is a memfd the store owns
 * instead of STATE/data/XX/ID, so its contents never reach a disk. The
 * rest of the data path (block maps, io_uring reads and writes, hole
 * punching, capacity accounting) is the same as for any object: open_host
 * hands out a duplicate of the memfd, and reaping the object closes it,
 * which gives the memory back once no loaded object holds a duplicate.
 *
 * The table lives only in memory: after a restart there are no memfds,
 * and the trees that used them are emptied (vfs_open_state), as a node
 * reboot empties a tmpfs.
 */
#include "fs/store/store.h"
#include "fs/store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* The index of id in the table, or -1. mem_lock held. */
static ssize_t mem_find(struct store *st, uint64_t id)
{
	for (size_t i = 0; i < st->nmem; i++)
		if (st->mem[i].id == id)
			return (ssize_t)i;
	return -1;
}

int mem_register(struct store *st, uint64_t id)
{
	char name[64];
	snprintf(name, sizeof name, "volfs-obj-%" PRIu64, id);
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return errno == EMFILE || errno == ENFILE ? -ENOSPC : -errno;
	pthread_mutex_lock(&st->mem_lock);
	if (st->nmem >= st->max_memory) {
		/* Each holds a descriptor for good: like a tmpfs out of inodes. */
		pthread_mutex_unlock(&st->mem_lock);
		close(fd);
		return -ENOSPC;
	}
	if (st->nmem == st->capmem) {
		size_t cap = st->capmem ? st->capmem * 2 : 16;
		struct memobj *bigger = realloc(st->mem, cap * sizeof *bigger);
		if (!bigger) {
			pthread_mutex_unlock(&st->mem_lock);
			close(fd);
			return -ENOMEM;
		}
		st->mem = bigger;
		st->capmem = cap;
	}
	st->mem[st->nmem].id = id;
	st->mem[st->nmem].fd = fd;
	st->nmem++;
	pthread_mutex_unlock(&st->mem_lock);
	return 0;
}

void mem_forget(struct store *st, uint64_t id)
{
	int fd = -1;
	pthread_mutex_lock(&st->mem_lock);
	ssize_t i = mem_find(st, id);
	if (i >= 0) {
		fd = st->mem[i].fd;
		st->mem[i] = st->mem[--st->nmem];
	}
	pthread_mutex_unlock(&st->mem_lock);
	if (fd >= 0)
		close(fd);
}

int mem_open(struct store *st, uint64_t id)
{
	pthread_mutex_lock(&st->mem_lock);
	ssize_t i = mem_find(st, id);
	int fd = i < 0 ? -ENOENT : fcntl(st->mem[i].fd, F_DUPFD_CLOEXEC, 0);
	if (fd == -1)
		fd = -errno;
	pthread_mutex_unlock(&st->mem_lock);
	return fd;
}

int store_is_memory(struct store *st, uint64_t id)
{
	pthread_mutex_lock(&st->mem_lock);
	int r = mem_find(st, id) >= 0;
	pthread_mutex_unlock(&st->mem_lock);
	return r;
}

size_t store_memory_objects(struct store *st)
{
	pthread_mutex_lock(&st->mem_lock);
	size_t n = st->nmem;
	pthread_mutex_unlock(&st->mem_lock);
	return n;
}

void mem_close_all(struct store *st)
{
	for (size_t i = 0; i < st->nmem; i++)
		close(st->mem[i].fd);
	free(st->mem);
	st->mem = NULL;
	st->nmem = st->capmem = 0;
	pthread_mutex_destroy(&st->mem_lock);
}
