/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_io.h — the store's I/O layer. Every read, write, fsync and memory
 * allocation of the store goes through these functions, so that tests can
 * make any one of them fail (fault injection) or simulate a power loss
 * (the writes not yet fsynced are dropped, torn or partly applied).
 *
 * In production cow__io_test is NULL and each function is its system call
 * plus the usual loop on short transfers.
 */
#ifndef COW_STORE_IO_H
#define COW_STORE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* ---- the calls ----------------------------------------------------------- */

/*
 * Read len bytes at off. Returns the bytes read (less than len only at end
 * of file) or a negative errno. Retries EINTR and short reads.
 */
ssize_t cow__io_pread(int fd, void *buf, size_t len, off_t off);

/*
 * Write all of buf at off, looping over short writes. Returns 0, or a
 * negative errno (-ENOSPC when the kernel writes nothing). A failure leaves
 * part of the range written.
 */
int cow__io_pwrite(int fd, const void *buf, size_t len, off_t off);

/* Same for an iovec array of at most COW__IOV_MAX entries (else -EINVAL);
 * iov is not modified. */
#define COW__IOV_MAX 64
int cow__io_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off);

/* fsync(fd): 0 or a negative errno. Never call again after a failure as if
 * the data were safe: the kernel may have dropped the dirty pages. */
int cow__io_fsync(int fd);

/* Start writing back fd's dirty pages now (sync_file_range, no wait for
 * completion): not a durability point, only so that the final fsync finds
 * less to do while the caller keeps producing data. Errors are ignored:
 * the fsync reports them. */
void cow__io_writeback(int fd);

/* malloc/calloc/realloc that tests can make fail (NULL, errno ENOMEM). */
void *cow__io_malloc(size_t size);
void *cow__io_calloc(size_t n, size_t size);
void *cow__io_realloc(void *p, size_t size);
/* An anonymous mapping of size bytes holding the old bytes of p (a mapping
 * of old bytes from here, or NULL), the rest zero; NULL, errno ENOMEM.
 * Fails like the allocations above under injection. */
void *cow__io_map_grow(void *p, size_t old, size_t size);
/* Unmap what cow__io_map_grow returned (NULL is ignored). */
void cow__io_map_free(void *p, size_t size);

/* ---- test controls (tests only; not thread-safe) ------------------------- */

enum cow__io_kind {
	COW__IO_READ,
	COW__IO_WRITE,     /* each pwrite/pwritev system call */
	COW__IO_FSYNC,
	COW__IO_ALLOC,
	COW__IO_KINDS
};

struct cow__io_fault {
	long at;       /* fail the at-th call of this kind (1-based); 0 = never */
	int err;       /* errno to fail with; 0 = a short transfer (half, >= 1 byte) */
	int sticky;    /* also fail every later call of this kind */
};

struct cow__io_sim;

struct cow__io_test {
	struct cow__io_fault fault[COW__IO_KINDS];
	long calls[COW__IO_KINDS];   /* calls seen so far, by kind */
	long failed;                 /* calls failed by injection */
	size_t max_alloc;            /* largest allocation requested */
	struct cow__io_sim *sim;     /* power-loss simulation, or NULL */
};

/* Set by tests; NULL in production. */
extern struct cow__io_test *cow__io_test;

/*
 * Power-loss simulation of the file open as fd. The file's content now is
 * taken as durable. From then on every write to fd is recorded as pending
 * until the next fsync of fd makes it durable. The crash_at-th write or
 * fsync of fd (1-based; 0 = never) does not happen: the "machine" is dead,
 * it and every later write or fsync of fd fail with EIO.
 * Returns the simulation or NULL (ENOMEM, or the error reading fd).
 */
struct cow__io_sim *cow__io_sim_start(int fd, long crash_at);
void cow__io_sim_free(struct cow__io_sim *sim);
/* 1 once the crash point was reached. */
int cow__io_sim_dead(const struct cow__io_sim *sim);
/* Writes and fsyncs of fd seen so far. */
long cow__io_sim_ops(const struct cow__io_sim *sim);

enum cow__sim_mode {
	COW__SIM_DROP,      /* every pending write is lost */
	COW__SIM_ALL,       /* every pending write made it */
	COW__SIM_WRITES,    /* each pending write made it whole or not at all */
	COW__SIM_SECTORS,   /* each 512-byte sector of each write independently */
	COW__SIM_TORN,      /* same, and a sector may keep only its first bytes */
};

/*
 * What the disk may hold after the power loss: the durable content with
 * some pending writes applied in issue order, chosen by mode and seed.
 * Written to outfd (truncated to the image's size). Returns 0 or -errno.
 */
int cow__io_sim_image(const struct cow__io_sim *sim, enum cow__sim_mode mode,
		      uint64_t seed, int outfd);

#endif
