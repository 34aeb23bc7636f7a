/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_io.c — the store's I/O layer: system calls with fault injection and
 * a power-loss simulation for tests (see store_io.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store_io.h"

struct cow__io_test *cow__io_test;

#define SECTOR 512u

struct pending {
	off_t off;
	size_t len;
	unsigned char *data;
};

/* File content in memory (the durable content, or a crash image). */
struct image {
	unsigned char *b;
	size_t len, cap;
};

struct cow__io_sim {
	int fd;
	long crash_at;         /* 0 = never */
	long ops;              /* writes and fsyncs of fd so far */
	int dead;
	struct image dur;      /* durable content */
	struct pending *pend;  /* writes since the last fsync, in issue order */
	size_t npend, cap;
};

/*
 * inject — count a call of kind k and decide its fate: 0 to go ahead, a
 * positive errno to fail, or -1 for a short transfer. Production: 0.
 */
static int inject(enum cow__io_kind k)
{
	struct cow__io_test *t = cow__io_test;
	struct cow__io_fault *f;
	long n;

	if (!t)
		return 0;
	f = &t->fault[k];
	n = ++t->calls[k];
	if (!f->at || n < f->at || (n > f->at && !f->sticky))
		return 0;
	t->failed++;
	return f->err ? f->err : -1;
}

/* ---- power-loss simulation ----------------------------------------------- */

static struct cow__io_sim *sim_for(int fd)
{
	struct cow__io_test *t = cow__io_test;

	return t && t->sim && t->sim->fd == fd ? t->sim : NULL;
}

/* sim_op — count a write or fsync of the watched file; 0, or EIO once dead. */
static int sim_op(struct cow__io_sim *sim)
{
	if (sim->dead)
		return EIO;
	sim->ops++;
	if (sim->crash_at && sim->ops >= sim->crash_at) {
		sim->dead = 1;
		return EIO;
	}
	return 0;
}

/* sim_record — remember a write of len bytes at off as pending. */
static int sim_record(struct cow__io_sim *sim, const void *buf, size_t len, off_t off)
{
	struct pending *p;

	if (sim->npend == sim->cap) {
		size_t cap = sim->cap ? 2 * sim->cap : 64;

		p = realloc(sim->pend, cap * sizeof *p);
		if (!p)
			return ENOMEM;
		sim->pend = p;
		sim->cap = cap;
	}
	p = &sim->pend[sim->npend];
	p->data = malloc(len ? len : 1);
	if (!p->data)
		return ENOMEM;
	memcpy(p->data, buf, len);
	p->off = off;
	p->len = len;
	sim->npend++;
	return 0;
}

/* apply — copy [from, to) of pending write p into img (grown as needed,
 * geometrically: the file grows by many small writes). */
static int apply(struct image *img, const struct pending *p, size_t from, size_t to)
{
	size_t end = (size_t)p->off + to;

	if (end > img->cap) {
		size_t cap = img->cap ? img->cap : 4096;
		unsigned char *n;

		while (cap < end)
			cap *= 2;
		n = realloc(img->b, cap);
		if (!n)
			return ENOMEM;
		img->b = n;
		img->cap = cap;
	}
	if (end > img->len) {
		memset(img->b + img->len, 0, end - img->len);
		img->len = end;
	}
	memcpy(img->b + p->off + from, p->data + from, to - from);
	return 0;
}

/* sim_durable — an fsync: every pending write becomes durable. */
static int sim_durable(struct cow__io_sim *sim)
{
	for (size_t i = 0; i < sim->npend; i++) {
		int err = apply(&sim->dur, &sim->pend[i], 0, sim->pend[i].len);

		if (err)
			return err;
		free(sim->pend[i].data);
	}
	sim->npend = 0;
	return 0;
}

struct cow__io_sim *cow__io_sim_start(int fd, long crash_at)
{
	struct cow__io_sim *sim = calloc(1, sizeof *sim);
	off_t end = lseek(fd, 0, SEEK_END);

	if (!sim)
		return NULL;
	if (end < 0)
		goto err;
	sim->fd = fd;
	sim->crash_at = crash_at;
	sim->dur.len = sim->dur.cap = (size_t)end;
	sim->dur.b = malloc(sim->dur.cap ? sim->dur.cap : 1);
	if (!sim->dur.b)
		goto err;
	if (pread(fd, sim->dur.b, sim->dur.len, 0) != (ssize_t)sim->dur.len) {
		errno = EIO;
		goto err;
	}
	return sim;
err:
	free(sim->dur.b);
	free(sim);
	return NULL;
}

void cow__io_sim_free(struct cow__io_sim *sim)
{
	if (!sim)
		return;
	for (size_t i = 0; i < sim->npend; i++)
		free(sim->pend[i].data);
	free(sim->pend);
	free(sim->dur.b);
	free(sim);
}

int cow__io_sim_dead(const struct cow__io_sim *sim)
{
	return sim->dead;
}

long cow__io_sim_ops(const struct cow__io_sim *sim)
{
	return sim->ops;
}

static uint64_t sim_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* torn_cut — how many bytes of a sector of len bytes a torn write leaves:
 * early cuts more often than late ones (structure headers come first). */
static size_t torn_cut(uint64_t dice, size_t len)
{
	return (size_t)(dice >> 8) % (1 + (size_t)(dice >> 32) % len);
}

/* sim_apply_some — apply the pending writes that mode and the dice choose. */
static int sim_apply_some(const struct cow__io_sim *sim, enum cow__sim_mode mode,
			  uint64_t seed, struct image *img)
{
	uint64_t rs = seed | 1;

	for (size_t i = 0; i < sim->npend; i++) {
		const struct pending *p = &sim->pend[i];
		int err = 0;

		if (mode == COW__SIM_ALL || (mode == COW__SIM_WRITES && sim_rand(&rs) & 1)) {
			err = apply(img, p, 0, p->len);
		} else if (mode == COW__SIM_SECTORS || mode == COW__SIM_TORN) {
			/* Sectors are aligned on the file, not on the write. */
			for (size_t from = 0, to; from < p->len && !err; from = to) {
				uint64_t dice = sim_rand(&rs);

				to = ((size_t)p->off + from) / SECTOR * SECTOR + SECTOR - (size_t)p->off;
				if (to > p->len)
					to = p->len;
				if (mode == COW__SIM_TORN && dice % 3 == 0)
					err = apply(img, p, from, from + torn_cut(dice, to - from));
				else if (dice & 1)
					err = apply(img, p, from, to);
			}
		}
		if (err)
			return err;
	}
	return 0;
}

int cow__io_sim_image(const struct cow__io_sim *sim, enum cow__sim_mode mode,
		      uint64_t seed, int outfd)
{
	struct image img = { malloc(sim->dur.len ? sim->dur.len : 1), sim->dur.len, sim->dur.len };
	int err = img.b ? 0 : ENOMEM;

	if (!err) {
		memcpy(img.b, sim->dur.b, img.len);
		err = sim_apply_some(sim, mode, seed, &img);
	}
	if (!err && ftruncate(outfd, 0) < 0)
		err = errno;
	if (!err && pwrite(outfd, img.b, img.len, 0) != (ssize_t)img.len)
		err = EIO;
	free(img.b);
	return -err;
}

/* ---- the calls ----------------------------------------------------------- */

ssize_t cow__io_pread(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		int f = inject(COW__IO_READ);
		ssize_t n;

		if (f > 0)
			return -f;
		n = pread(fd, (char *)buf + done, f < 0 ? (len - done + 1) / 2 : len - done,
			  off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* write_once — one pwritev system call (or its simulation); bytes or -errno. */
static ssize_t write_once(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
	struct cow__io_sim *sim = sim_for(fd);
	struct iovec one;
	int f = inject(COW__IO_WRITE), err;
	ssize_t n;

	if (f > 0)
		return -f;
	if (f < 0) {
		/* Short write: half of the first buffer, at least one byte. */
		one.iov_base = iov[0].iov_base;
		one.iov_len = iov[0].iov_len > 1 ? iov[0].iov_len / 2 : iov[0].iov_len;
		iov = &one;
		iovcnt = 1;
	}
	if (sim && (err = sim_op(sim)))
		return -err;
	n = pwritev(fd, iov, iovcnt, off);
	if (n < 0)
		return -errno;
	for (size_t i = 0, done = 0; sim && (int)i < iovcnt && done < (size_t)n; i++) {
		size_t part = iov[i].iov_len;

		if (part > (size_t)n - done)
			part = (size_t)n - done;
		if ((err = sim_record(sim, iov[i].iov_base, part, off + (off_t)done)))
			return -err;
		done += part;
	}
	return n;
}

int cow__io_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
	struct iovec v[COW__IOV_MAX], *cur = v;

	if (iovcnt < 0 || iovcnt > COW__IOV_MAX)
		return -EINVAL;
	memcpy(v, iov, (size_t)iovcnt * sizeof *v);
	while (iovcnt > 0) {
		ssize_t n = write_once(fd, cur, iovcnt, off);

		if (n == -EINTR)
			continue;
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -ENOSPC;
		off += n;
		/* Skip what was written, and advance into a partly written buffer. */
		while (iovcnt > 0 && (size_t)n >= cur->iov_len) {
			n -= (ssize_t)cur->iov_len;
			cur++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			cur->iov_base = (char *)cur->iov_base + n;
			cur->iov_len -= (size_t)n;
		}
	}
	return 0;
}

int cow__io_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	struct iovec iov = { (void *)buf, len };

	return len ? cow__io_pwritev(fd, &iov, 1, off) : 0;
}

int cow__io_fsync(int fd)
{
	struct cow__io_sim *sim = sim_for(fd);
	int f = inject(COW__IO_FSYNC), err;

	if (f)
		return f > 0 ? -f : -EIO;
	if (sim && (err = sim_op(sim)))
		return -err;
	if (fsync(fd) < 0)
		return -errno;
	if (sim && (err = sim_durable(sim)))
		return -err;
	return 0;
}

void cow__io_writeback(int fd)
{
	if (!cow__io_test)	/* the simulation decides what reaches the disk */
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

/* alloc_ok — count an allocation of size bytes; 0 if it may go ahead. */
static int alloc_ok(size_t size)
{
	if (cow__io_test && size > cow__io_test->max_alloc)
		cow__io_test->max_alloc = size;
	if (inject(COW__IO_ALLOC)) {
		errno = ENOMEM;
		return 0;
	}
	return 1;
}

void *cow__io_malloc(size_t size)
{
	return alloc_ok(size) ? malloc(size) : NULL;
}

void *cow__io_calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return alloc_ok(n * size) ? calloc(n, size) : NULL;
}

void *cow__io_realloc(void *p, size_t size)
{
	return alloc_ok(size) ? realloc(p, size) : NULL;
}

void *cow__io_map_grow(void *p, size_t old, size_t size)
{
	void *q;

	if (!alloc_ok(size))
		return NULL;
	q = p ? mremap(p, old, size, MREMAP_MAYMOVE)
	      : mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q == MAP_FAILED) {
		errno = ENOMEM;
		return NULL;
	}
	return q;
}

void cow__io_map_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}
