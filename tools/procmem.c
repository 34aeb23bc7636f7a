/* SPDX-License-Identifier: BSD-2-Clause */
#include "procmem.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst) */
#define PME_PFN_MASK	((UINT64_C(1) << 55) - 1)
#define PME_EXCLUSIVE	(UINT64_C(1) << 56)
#define PME_FILE	(UINT64_C(1) << 61)
#define PME_SWAP	(UINT64_C(1) << 62)
#define PME_PRESENT	(UINT64_C(1) << 63)

/*
 * PAGEMAP_SCAN (Linux 6.7, <linux/fs.h>), spelled out here because older
 * headers (Debian 12's) lack it; the layout is the kernel's ABI.
 */
struct pm_scan_region {
	uint64_t start, end, categories;
};
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask;
	uint64_t return_mask;
};
#define PM_SCAN_IOCTL		_IOWR('f', 16, struct pm_scan_arg)
#define PM_SCAN_PRESENT		(1u << 3)
#define PM_SCAN_PFNZERO		(1u << 5)

/* Mappings larger than this are not read page by page without PAGEMAP_SCAN
 * (sanitizer shadows reserve terabytes): their counts come from smaps. */
#define PM_WALK_MAX_PAGES	(UINT64_C(1) << 24)
#define PM_CHUNK		8192	/* pagemap entries per read */

/* The open files of one pm_proc_load(). */
struct pm_ctx {
	int pagemap;		/* -1 if unreadable */
	int kpagecount;		/* -1 if unreadable or frames hidden */
	int scan;		/* PAGEMAP_SCAN: 1 works, 0 untried, -1 no */
	uint64_t page_size;
	uint64_t ent[PM_CHUNK];
	uint64_t pfn[PM_CHUNK];
	uint64_t cnt[PM_CHUNK];
};

static int open_proc(pid_t pid, const char *what)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* pread all of len bytes or up to end of file; returns bytes read or -errno. */
static ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, off + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int pm_frames_visible(void)
{
	static volatile uint64_t probe = 1;	/* a page surely present */
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	long ps = sysconf(_SC_PAGESIZE);

	if (fd < 0)
		return 0;
	probe++;
	if (pread_full(fd, &e, sizeof e,
		       (off_t)((uintptr_t)&probe / (uintptr_t)ps * 8)) != sizeof e)
		e = 0;
	close(fd);
	return (e & PME_PRESENT) && (e & PME_PFN_MASK);
}

/* ---- smaps ------------------------------------------------------------- */

/* Parse a mapping's header line "start-end perms offset dev inode [path]"
 * into m. Returns 1 if line is one, 0 if not, -ENOMEM. */
static int parse_header(const char *line, struct pm_map *m)
{
	int pathpos = -1;
	size_t len;

	memset(m, 0, sizeof *m);
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %15s %" SCNu64 " %n",
		   &m->start, &m->end, m->perms, &m->offset, m->dev, &m->inode,
		   &pathpos) < 6 || pathpos < 0)
		return 0;
	len = strcspn(line + pathpos, "\n");
	m->path = strndup(line + pathpos, len);
	return m->path ? 1 : -ENOMEM;
}

/* Store one "Key: value kB" line of smaps into m, if it is a key we keep. */
static void parse_field(const char *line, struct pm_map *m)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "Rss:", offsetof(struct pm_smaps, rss) },
		{ "Pss:", offsetof(struct pm_smaps, pss) },
		{ "Shared_Clean:", offsetof(struct pm_smaps, shared_clean) },
		{ "Shared_Dirty:", offsetof(struct pm_smaps, shared_dirty) },
		{ "Private_Clean:", offsetof(struct pm_smaps, private_clean) },
		{ "Private_Dirty:", offsetof(struct pm_smaps, private_dirty) },
		{ "Anonymous:", offsetof(struct pm_smaps, anonymous) },
		{ "AnonHugePages:", offsetof(struct pm_smaps, anon_huge) },
		{ "Swap:", offsetof(struct pm_smaps, swap) },
	};

	if (!strncmp(line, "VmFlags:", 8)) {
		const char *v = line + 8 + strspn(line + 8, " ");
		int len = (int)strcspn(v, "\n");

		while (len > 0 && v[len - 1] == ' ')
			len--;
		snprintf(m->vmflags, sizeof m->vmflags, "%.*s", len, v);
		return;
	}
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		size_t kl = strlen(keys[i].key);

		if (!strncmp(line, keys[i].key, kl)) {
			uint64_t *field = (uint64_t *)((char *)&m->smaps + keys[i].off);

			*field = strtoull(line + kl, NULL, 10);
			return;
		}
	}
}

/* Read every mapping of smaps file f into a new array *maps of *n entries. */
static int parse_smaps(FILE *f, struct pm_map **maps, size_t *n)
{
	char *line = NULL;
	size_t cap = 0, linecap = 0;
	struct pm_map *cur = NULL;
	int err = 0;

	*maps = NULL;
	*n = 0;
	while (getline(&line, &linecap, f) > 0) {
		struct pm_map m;
		int r = parse_header(line, &m);

		if (r < 0) {
			err = r;
			break;
		}
		if (r == 0) {
			if (cur)
				parse_field(line, cur);
			continue;
		}
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct pm_map *grown = realloc(*maps, ncap * sizeof *grown);

			if (!grown) {
				free(m.path);
				err = -ENOMEM;
				break;
			}
			*maps = grown;
			cap = ncap;
		}
		(*maps)[*n] = m;
		cur = &(*maps)[(*n)++];
	}
	if (!err && ferror(f))
		err = errno == ESRCH ? -ESRCH : -EIO;
	free(line);
	return err;
}

/* Open /proc/PID/smaps and parse it; -ESRCH when the process is gone. */
static int load_smaps(pid_t pid, struct pm_map **maps, size_t *n)
{
	int fd = open_proc(pid, "smaps"), err;
	FILE *f;

	*maps = NULL;
	*n = 0;
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	err = parse_smaps(f, maps, n);
	fclose(f);
	return err;
}

/* ---- pagemap ----------------------------------------------------------- */

/* Fill c->cnt[0..n) with the kpagecount of frames c->pfn[0..n), reading runs
 * of consecutive frames (huge pages, fresh allocations) in one pread. */
static int read_counts(struct pm_ctx *c, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t run = 1;

		while (i + run < n && c->pfn[i + run] == c->pfn[i] + run)
			run++;
		ssize_t got = pread_full(c->kpagecount, &c->cnt[i], run * 8,
					 (off_t)(c->pfn[i] * 8));
		if (got < 0)
			return (int)got;
		for (size_t j = (size_t)got / 8; j < run; j++)
			c->cnt[i + j] = 0;
		i += run;
	}
	return 0;
}

/* Count one present page of mapping m: entry e, mapped count times
 * (count < 0: unknown, decided by pagemap's exclusive bit). */
static void count_page(struct pm_map *m, uint64_t e, int64_t count)
{
	int shared;

	if (count == 0) {	/* mapped but no page behind it: the zero page */
		m->pages.zero++;
		return;
	}
	shared = count > 0 ? count > 1 : !(e & PME_EXCLUSIVE);
	m->pages.resident++;
	if (shared)
		m->pages.shared++;
	else
		m->pages.exclusive++;
	if (shared && !(e & PME_FILE) && m->perms[3] == 'p')
		m->pages.cow++;
	if (count > 0 && (uint64_t)count > m->pages.max_mapcount)
		m->pages.max_mapcount = (uint64_t)count;
}

/* Count the present pages of [start, end) of mapping m from pagemap. */
static int walk_range(struct pm_ctx *c, struct pm_map *m, uint64_t start,
		      uint64_t end)
{
	for (uint64_t va = start; va < end;) {
		size_t want = (size_t)((end - va) / c->page_size), n, np = 0;
		ssize_t got;

		if (want > PM_CHUNK)
			want = PM_CHUNK;
		got = pread_full(c->pagemap, c->ent, want * 8,
				 (off_t)(va / c->page_size * 8));
		if (got < 0)
			return (int)got;
		n = (size_t)got / 8;
		if (n == 0)
			break;		/* past the end of the address space */
		for (size_t i = 0; i < n; i++)
			if (c->ent[i] & PME_PRESENT)
				c->pfn[np++] = c->ent[i] & PME_PFN_MASK;
		if (c->kpagecount >= 0) {
			int err = read_counts(c, np);

			if (err)
				return err;
		}
		np = 0;
		for (size_t i = 0; i < n; i++)
			if (c->ent[i] & PME_PRESENT)
				count_page(m, c->ent[i],
					   c->kpagecount >= 0 ? (int64_t)c->cnt[np++] : -1);
		va += n * c->page_size;
	}
	return 0;
}

/* Walk mapping m with PAGEMAP_SCAN: only present ranges are read, and the
 * zero page is recognised for any reader. Returns -ENOTTY (or another
 * -errno) when the kernel has no PAGEMAP_SCAN; counts may then be partial
 * and the caller starts over with walk_range(). */
static int walk_scan(struct pm_ctx *c, struct pm_map *m)
{
	struct pm_scan_region vec[256];
	uint64_t at = m->start;

	while (at < m->end) {
		struct pm_scan_arg a = {
			.size = sizeof a, .start = at, .end = m->end,
			.vec = (uint64_t)(uintptr_t)vec, .vec_len = 256,
			.category_anyof_mask = PM_SCAN_PRESENT,
			.return_mask = PM_SCAN_PRESENT | PM_SCAN_PFNZERO,
		};
		long n = ioctl(c->pagemap, PM_SCAN_IOCTL, &a);

		if (n < 0)
			return -errno;
		for (long i = 0; i < n; i++) {
			int err = 0;

			if (vec[i].categories & PM_SCAN_PFNZERO)
				m->pages.zero += (vec[i].end - vec[i].start) / c->page_size;
			else
				err = walk_range(c, m, vec[i].start, vec[i].end);
			if (err)
				return err;
		}
		if (a.walk_end <= at)
			break;
		at = a.walk_end;
	}
	return 0;
}

/* Without PAGEMAP_SCAN or kpagecount the zero page looks like a shared
 * anonymous page; smaps' Rss leaves it out, so the excess is zero pages. */
static void estimate_zero(struct pm_map *m, uint64_t page_size)
{
	uint64_t rss = m->smaps.rss * 1024 / page_size, extra;

	if (m->pages.resident <= rss)
		return;
	extra = m->pages.resident - rss;
	if (extra > m->pages.cow)
		extra = m->pages.cow;
	m->pages.resident -= extra;
	m->pages.shared -= extra;
	m->pages.cow -= extra;
	m->pages.zero += extra;
	m->zero_estimated = 1;
}

/* Counts of mapping m from smaps alone: resident, shared, exclusive. */
static void count_from_smaps(struct pm_map *m, uint64_t page_size)
{
	uint64_t kb_per_page = page_size / 1024;
	const struct pm_smaps *s = &m->smaps;

	m->source = PM_SRC_SMAPS;
	memset(&m->pages, 0, sizeof m->pages);
	m->pages.resident = s->rss / kb_per_page;
	m->pages.shared = (s->shared_clean + s->shared_dirty) / kb_per_page;
	m->pages.exclusive = (s->private_clean + s->private_dirty) / kb_per_page;
}

/* 1 if smaps' VmFlags of m hold the two-letter flag f. */
static int has_vmflag(const struct pm_map *m, const char *f)
{
	for (const char *p = m->vmflags; (p = strstr(p, f)); p += 2)
		if ((p == m->vmflags || p[-1] == ' ') && (p[2] == ' ' || !p[2]))
			return 1;
	return 0;
}

/* Count the pages of m from pagemap: with PAGEMAP_SCAN where the kernel has
 * it, else entry by entry (or from smaps, for huge reservations). */
static int walk_map(struct pm_ctx *c, struct pm_map *m)
{
	int err;

	if (c->scan >= 0) {
		err = walk_scan(c, m);
		if (!err) {
			c->scan = 1;
			return 0;
		}
		if (err == -ESRCH)
			return err;
		memset(&m->pages, 0, sizeof m->pages);	/* start over */
		if (c->scan == 0)
			c->scan = -1;	/* an older kernel: do not ask again */
	}
	if ((m->end - m->start) / c->page_size > PM_WALK_MAX_PAGES) {
		count_from_smaps(m, c->page_size);
		return 0;
	}
	err = walk_range(c, m, m->start, m->end);
	if (!err && c->kpagecount < 0)
		estimate_zero(m, c->page_size);
	return err;
}

/* Count the pages of mapping m with what c can read. */
static int count_map(struct pm_ctx *c, struct pm_map *m)
{
	int err = 0;

	if (m->smaps.rss == 0)
		m->source = PM_SRC_NONE;
	else if (c->pagemap < 0 || has_vmflag(m, "pf") || has_vmflag(m, "io"))
		count_from_smaps(m, c->page_size);	/* raw frames: no pages */
	else {
		m->source = PM_SRC_PAGEMAP;
		err = walk_map(c, m);
	}
	m->pages.swapped = m->smaps.swap * 1024 / c->page_size;
	return err;
}

static void add_counts(struct pm_counts *sum, const struct pm_counts *c)
{
	sum->resident += c->resident;
	sum->shared += c->shared;
	sum->exclusive += c->exclusive;
	sum->cow += c->cow;
	sum->zero += c->zero;
	sum->swapped += c->swapped;
	if (c->max_mapcount > sum->max_mapcount)
		sum->max_mapcount = c->max_mapcount;
}

static void read_comm(pid_t pid, char *comm, size_t len)
{
	int fd = open_proc(pid, "comm");
	ssize_t n = fd >= 0 ? read(fd, comm, len - 1) : -1;

	if (fd >= 0)
		close(fd);
	comm[n > 0 ? n : 0] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

int pm_proc_load(pid_t pid, struct pm_proc *out)
{
	struct pm_ctx *c;
	int err;

	memset(out, 0, sizeof *out);
	out->pid = pid;
	if (pid <= 0)
		return -ESRCH;
	err = load_smaps(pid, &out->maps, &out->nmaps);
	if (err)
		return err;
	out->access = PM_SMAPS;
	read_comm(pid, out->comm, sizeof out->comm);
	c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	c->pagemap = open_proc(pid, "pagemap");
	c->kpagecount = -1;
	if (getenv("COW_PROCMEM_NOSCAN"))
		c->scan = -1;	/* test the path of kernels before 6.7 */
	if (c->pagemap >= 0) {
		out->access |= PM_PAGEMAP;
		if (pm_frames_visible()) {
			out->access |= PM_FRAMES;
			c->kpagecount = open("/proc/kpagecount", O_RDONLY | O_CLOEXEC);
			if (c->kpagecount >= 0)
				out->access |= PM_KPAGECOUNT;
		}
	}
	for (size_t i = 0; i < out->nmaps && !err; i++) {
		err = count_map(c, &out->maps[i]);
		add_counts(&out->total, &out->maps[i].pages);
	}
	if (c->scan > 0)
		out->access |= PM_ZEROSCAN;
	if (c->pagemap >= 0)
		close(c->pagemap);
	if (c->kpagecount >= 0)
		close(c->kpagecount);
	free(c);
	return err;
}

void pm_proc_free(struct pm_proc *p)
{
	for (size_t i = 0; i < p->nmaps; i++)
		pm_map_clear(&p->maps[i]);
	free(p->maps);
	p->maps = NULL;
	p->nmaps = 0;
}

void pm_map_clear(struct pm_map *m)
{
	free(m->path);
	m->path = NULL;
}

int pm_map_at(pid_t pid, uintptr_t addr, struct pm_map *out)
{
	struct pm_map *maps;
	size_t n;
	int err = load_smaps(pid, &maps, &n), found = 0;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < n; i++) {
		if (!err && !found && maps[i].start <= addr && addr < maps[i].end) {
			*out = maps[i];
			found = 1;
			continue;	/* its path now belongs to out */
		}
		pm_map_clear(&maps[i]);
	}
	free(maps);
	return err ? err : found ? 0 : -ENOENT;
}

int pm_page_get(pid_t pid, uintptr_t addr, struct pm_page *out)
{
	uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE), e = 0, count = 0;
	int fd = open_proc(pid, "pagemap");
	ssize_t got;

	memset(out, 0, sizeof *out);
	out->mapcount = -1;
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	got = pread_full(fd, &e, sizeof e, (off_t)(addr / ps * 8));
	close(fd);
	if (got < 0)
		return (int)got;
	out->present = !!(e & PME_PRESENT);
	out->swapped = !!(e & PME_SWAP);
	out->file = !!(e & PME_FILE);
	out->exclusive = !!(e & PME_EXCLUSIVE);
	out->pfn = out->present ? e & PME_PFN_MASK : 0;
	if (out->pfn) {
		fd = open("/proc/kpagecount", O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && pread_full(fd, &count, sizeof count,
					  (off_t)(out->pfn * 8)) == sizeof count)
			out->mapcount = (int64_t)count;
		if (fd >= 0)
			close(fd);
	}
	return 0;
}
