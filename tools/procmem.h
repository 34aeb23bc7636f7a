/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * procmem — what /proc says about the memory of a live process, page by page.
 *
 * Sources, and who may read them:
 *   /proc/PID/smaps    per-mapping counters (Rss, Shared_*, Private_*...);
 *                      readable by the process's owner and root.
 *   /proc/PID/pagemap  one 64-bit entry per virtual page: present, swapped,
 *                      file-or-shared, "exclusively mapped" (mapped once);
 *                      same readers. The physical frame number (PFN) in it
 *                      reads as 0 unless the reader has CAP_SYS_ADMIN.
 *   /proc/kpagecount   per frame, how many times it is mapped; root only.
 *   PAGEMAP_SCAN       an ioctl on pagemap (Linux >= 6.7) that finds present
 *                      ranges fast and tells the kernel's shared zero page
 *                      apart from real pages, for any reader.
 *
 * The environment variable COW_PROCMEM_NOSCAN=1 makes pm_proc_load() do
 * without PAGEMAP_SCAN, as on kernels before 6.7 (for tests).
 *
 * A private anonymous page mapped more than once is shared copy-on-write:
 * only fork() (or KSM merging) makes two page tables point at one anonymous
 * frame, and the first write to it by either side copies it.
 */
#ifndef COW_PROCMEM_H
#define COW_PROCMEM_H

#include <stdint.h>
#include <sys/types.h>

/* What could be read (struct pm_proc.access). */
enum {
	PM_SMAPS      = 1 << 0,	/* per-mapping counters */
	PM_PAGEMAP    = 1 << 1,	/* per-page present / exclusive bits */
	PM_FRAMES     = 1 << 2,	/* frame numbers in pagemap (CAP_SYS_ADMIN) */
	PM_KPAGECOUNT = 1 << 3,	/* exact mapping count of each frame */
	PM_ZEROSCAN   = 1 << 4,	/* PAGEMAP_SCAN worked: zero page told apart */
};

/* Where the page counts of a mapping come from (struct pm_map.source). */
enum {
	PM_SRC_NONE,		/* nothing resident: no need to look */
	PM_SRC_PAGEMAP,		/* page by page, from pagemap (and kpagecount) */
	PM_SRC_SMAPS,		/* from smaps' counters; cow is unknown */
};

/* Page counts of one mapping, or of a whole process. */
struct pm_counts {
	uint64_t resident;	/* pages in RAM, the shared zero page not counted */
	uint64_t shared;	/* resident pages mapped more than once */
	uint64_t exclusive;	/* resident pages mapped exactly once */
	uint64_t cow;		/* private anonymous pages mapped more than once */
	uint64_t zero;		/* entries mapping the kernel's shared zero page */
	uint64_t swapped;	/* pages out in swap (from smaps) */
	uint64_t max_mapcount;	/* highest kpagecount of its pages; 0: unknown */
};

/* The counters of one smaps entry, in kB, as the kernel prints them. */
struct pm_smaps {
	uint64_t rss, pss, shared_clean, shared_dirty, private_clean,
		 private_dirty, anonymous, anon_huge, swap;
};

/* One mapping (one line of /proc/PID/maps). */
struct pm_map {
	uint64_t start, end, offset, inode;
	char perms[5];		/* "rw-p": p = private (copy-on-write), s = shared */
	char dev[16];
	char vmflags[128];	/* smaps' VmFlags, e.g. "rd wr mr mw me ac" */
	char *path;		/* owned; "" for anonymous memory */
	struct pm_smaps smaps;
	struct pm_counts pages;
	int source;		/* PM_SRC_* */
	int zero_estimated;	/* zero pages estimated as pagemap minus Rss */
};

/* A process's memory, mapping by mapping. */
struct pm_proc {
	pid_t pid;
	char comm[64];
	unsigned access;	/* PM_* bits: what could be read */
	struct pm_map *maps;
	size_t nmaps;
	struct pm_counts total;
};

/*
 * Read the mappings of process pid and count their pages. Fills *out, which
 * the caller releases with pm_proc_free(), also after an error.
 * Returns 0, -ESRCH (no such process, or it exited meanwhile), -EACCES (its
 * smaps are not ours to read), -ENOMEM, or another -errno of open/read.
 * Pagemap and kpagecount are optional: what cannot be read is left out and
 * said in out->access.
 */
int pm_proc_load(pid_t pid, struct pm_proc *out);
void pm_proc_free(struct pm_proc *p);

/* One virtual page, from pagemap (and kpagecount). */
struct pm_page {
	int present, swapped, file, exclusive;
	uint64_t pfn;		/* 0 when hidden (no CAP_SYS_ADMIN) */
	int64_t mapcount;	/* from kpagecount; -1 when unreadable */
};

/* Look up the page of process pid that holds addr. Returns 0, -ESRCH,
 * -EACCES or another -errno of open/read. */
int pm_page_get(pid_t pid, uintptr_t addr, struct pm_page *out);

/* Copy into *out the smaps entry of process pid whose range holds addr
 * (page counts left zero). The caller frees out->path with pm_map_clear().
 * Returns 0, -ENOENT if no mapping holds addr, or as pm_proc_load(). */
int pm_map_at(pid_t pid, uintptr_t addr, struct pm_map *out);
void pm_map_clear(struct pm_map *m);

/* 1 if this process sees frame numbers in pagemap (CAP_SYS_ADMIN), else 0. */
int pm_frames_visible(void);

#endif
