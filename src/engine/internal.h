/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * internal.h — what libcow's source files share. Nothing here is public.
 * Internal names start with cow__.
 */
#ifndef COW_INTERNAL_H
#define COW_INTERNAL_H

#include <cow.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Public functions are the only exported symbols of libcow.so. */
#define COW_API __attribute__((visibility("default")))

#define COW__PAGE ((size_t)COW_PAGE_SIZE)
#define COW__PAGE_SHIFT 12

#include <pthread.h>
#include <signal.h>

/* ======================================================================
 * The frame store (frame.c)
 *
 * Frames are the pages of one memfd. Frame f lives at file offset f * 4 KiB.
 * The frame number space is cut in chunks of 2^18 frames (1 GiB); each chunk
 * has a window (a MAP_SHARED mapping of its part of the memfd that libcow
 * reads and writes frames through), a reference count per frame, and two
 * bitmaps: "allocated" (the frame is in use or reserved as someone's home)
 * and "homed" (the frame is in the home range of a live space or snapshot).
 * A frame is freed (hole punched, so it reads as zeroes again) when its
 * count reaches 0 and it is no longer homed.
 * ====================================================================== */

#define COW__CHUNK_SHIFT 18u
#define COW__CHUNK_FRAMES (1u << COW__CHUNK_SHIFT)
#define COW__MAX_CHUNKS 4096u          /* 2^30 frames: 4 TiB of frames */
#define COW__READY_MAX 1024u           /* freed frames kept ready: 4 MiB */
#define COW__NO_FRAME UINT32_MAX

typedef uint32_t cow__frame;

struct cow__chunk {
	char *window;          /* COW__CHUNK_FRAMES pages of the memfd */
	uint32_t *ref;         /* per frame: its count above one (see extra) */
	uint64_t *allocated;   /* bit per frame */
	uint64_t *homed;       /* bit per frame */
	uint64_t *image;       /* bit per frame: a page of an image file */
	uint64_t *live;        /* bit per frame: its count is above 0 */
	uint64_t *extra;       /* bit per frame: above 1 (ref[] is above 0) */
	uint64_t *windowed;    /* bit per frame: the window maps its page (a hint) */
	uint32_t nalloc;       /* frames allocated in the chunk */
};

struct cow__frames {
	int fd;                          /* the memfd; -1 until first use */
	uint32_t nchunks;
	uint64_t in_use;                 /* frames with a count > 0 */
	uint64_t hint;                   /* where the next home search starts */
	uint32_t nready;                 /* frames in ready[] */
	cow__frame ready[COW__READY_MAX]; /* freed, page kept: for the next copy */
	struct cow__chunk chunk[COW__MAX_CHUNKS];
};

int cow__frames_init(void);
int cow__frames_reserve(size_t n, cow__frame *first);
int cow__frame_alloc(cow__frame *f);
bool cow__frames_ready_room(void);
void cow__frames_trim(void);
void cow__frames_batch(bool on);
void cow__frames_unhome(cow__frame first, size_t n);
void *cow__frame_addr(cow__frame f);
uint32_t cow__frame_ref(cow__frame f);
void cow__frame_set_ref(cow__frame f, uint32_t ref);
void cow__frame_get(cow__frame f);
void cow__frame_put(cow__frame f);
void cow__frames_get_run(cow__frame first, size_t n);
void cow__frames_put_run(cow__frame first, size_t n);
int cow__frame_copy(cow__frame dst, cow__frame src);
int cow__frame_fill(cow__frame dst, const void *src);
int cow__frames_fd(void);
int cow__frames_read(const cow__frame *f, size_t n, char *buf);
#define COW__COPY_RUN 16u	/* pages cow__frames_copy_home reads at a time */
int cow__frames_copy_home(cow__frame dst, const cow__frame *src, size_t n);
uint64_t cow__frames_in_use(void);
int cow__frames_reserve_image(size_t n, cow__frame *first);
void cow__frames_release_range(cow__frame first, size_t n);
bool cow__frame_is_image(cow__frame f);
bool cow__frame_is_hole(cow__frame f);
bool cow__frames_are_holes(cow__frame first, size_t n);
size_t cow__frames_data_at(cow__frame first, size_t n);
size_t cow__frames_held_more(cow__frame first, size_t n);
bool cow__page_is_zero(const void *p);

/* ======================================================================
 * Page tables (pt.c): page index -> frame, radix trees of 4 KiB nodes that
 * members share and copy one node at a time (copy-on-write of the tables).
 * A frame's count is the number of leaves that hold it.
 * ====================================================================== */

#define COW__PT_BITS 10u
#define COW__PT_FAN (1u << COW__PT_BITS)	/* entries per node */

typedef uint32_t cow__node;			/* 0: none (no frames below) */

struct cow__pt {
	cow__node root;
	unsigned depth;				/* inner levels above the leaves */
};

extern uint32_t *cow__pt_pool;
extern uint32_t *cow__pt_base;

/* cow__pt_get — the frame page i of t holds (COW__NO_FRAME: none). */
static inline cow__frame cow__pt_get(const struct cow__pt *t, size_t i)
{
	cow__node n = t->root;

	for (unsigned l = t->depth; l; l--) {
		if (!n)
			return COW__NO_FRAME;
		n = cow__pt_pool[(size_t)n * COW__PT_FAN +
				 ((i >> (COW__PT_BITS * l)) & (COW__PT_FAN - 1))];
	}
	/* A leaf's entry holds its frame less the leaf's base and its index. */
	return n ? cow__pt_pool[(size_t)n * COW__PT_FAN + (i & (COW__PT_FAN - 1))] +
		   cow__pt_base[n] + (uint32_t)(i & (COW__PT_FAN - 1))
		 : COW__NO_FRAME;
}

int cow__pt_init(struct cow__pt *t, size_t npages);
int cow__pt_own(struct cow__pt *t, size_t i);
void cow__pt_set(struct cow__pt *t, size_t i, cow__frame f);
int cow__pt_fill(struct cow__pt *t, size_t i, size_t n, cow__frame first);
int cow__pt_room(const struct cow__pt *t);
int cow__pt_clear(struct cow__pt *t, size_t i, size_t n);
bool cow__pt_full(const struct cow__pt *t, size_t i, size_t n);
bool cow__pt_shared(const struct cow__pt *t, size_t i);
uint64_t cow__pt_shared_pages(const struct cow__pt *t, size_t npages);
size_t cow__pt_run(const struct cow__pt *t, size_t i, size_t end);
void cow__pt_share(struct cow__pt *dst, const struct cow__pt *src);
void cow__pt_release(struct cow__pt *t);
void cow__pt_diff(const struct cow__pt *a, const struct cow__pt *b, size_t npages,
		  uint64_t *bits);
uint64_t cow__pt_nodes_live(void);
struct cow__pt_census;
struct cow__pt_census *cow__pt_census_new(void);
void cow__pt_census_add(struct cow__pt_census *c, const struct cow__pt *t, uint32_t *frames);
int cow__pt_census_check(struct cow__pt_census *c, char *msg, size_t len,
			 int (*bad)(char *, size_t, const char *, ...));

/* ======================================================================
 * Images (image.c): frames that are pages of a file.
 * ====================================================================== */

struct cow__image {
	cow__frame first;      /* first frame; guards at first-1 and first+n */
	size_t n;
	int fd;                /* the image's own descriptor */
	off_t off0;            /* linear images: file offset of frame first */
	uint64_t *offs;        /* or a file offset per frame */
	off_t size;            /* the file's size when the image was made */
	size_t live;           /* frames with a count above 0 */
	bool dead;             /* all frames gone: to be closed */
};

const struct cow__image *cow__image_of(cow__frame f);
off_t cow__image_offset(const struct cow__image *img, cow__frame f);
bool cow__frames_follow(cow__frame a, cow__frame b);
struct cow__image *cow__image_new(int fd, size_t n, off_t off0,
				  uint64_t *offs, off_t size);
void cow__image_frame_gone(cow__frame f);
void cow__images_reap(void);
int cow__image_read(const struct cow__image *img, cow__frame f, void *buf);
bool cow__image_intact(const struct cow__image *img, cow__frame f);

/* ======================================================================
 * Backends (backend.c, uffd.c, mprotect.c): how pages are write-protected.
 * ====================================================================== */

struct cow__backend {
	const char *name;
	int (*init)(void);                       /* 0 or -errno */
	void (*reset_after_fork)(void);
	int (*attach)(void *addr, size_t len);   /* a fresh mapping */
	int (*protect)(void *addr, size_t len);
	int (*unprotect)(void *addr, size_t len);
	int map_prot_protected;      /* mmap prot for a protected page */
	bool prot_splits;            /* protection changes split mappings */
	bool fault_populates;        /* a write fault on a hole reaches libcow
	                                after the kernel gave it a page (uffd-wp
	                                on shmem), not before (mprotect) */
	int signo;                   /* the signal its write faults raise */
};

extern const struct cow__backend cow__backend_uffd;
extern const struct cow__backend cow__backend_mprotect;
extern const struct cow__backend *cow__be;   /* the one in use */

/* ======================================================================
 * Members: spaces and snapshots (member.c, space.c, snapshot.c)
 *
 * Both are "members" of a family: the spaces and snapshots that descend from
 * one cow_space_create() (or one file image) and may share frames. A frame is
 * only ever shared at one page index (fork, snapshot and restore keep
 * indices), so the sharers of page i's frame are the family members whose
 * page table holds that frame at index i.
 * ====================================================================== */

enum cow__kind { COW__KIND_SPACE = 1, COW__KIND_SNAP = 2 };

#define COW__REFS 4	/* reference snapshots a space tracks changes against */
/* Pages a space lists as written since an event (a protect, a reference),
 * so that what follows costs per page written, not per page of the space;
 * past this many, a scan of the bitmap (64 pages a word) is as cheap. */
#define COW__LOG_MAX 4096u

#define COW__MAGIC_LIVE 0x636f776du    /* "cowm" */
#define COW__MAGIC_DEAD 0xdeadc0deu

struct cow__family {
	struct cow__member *head;
	size_t members;
	struct cow__family *prev, *next;   /* all families (for cow__check) */
};

struct cow__member {
	uint32_t magic;
	enum cow__kind kind;
	uint64_t gen;                /* process generation it was made in */
	struct cow__family *fam;
	struct cow__member *fam_prev, *fam_next;
	size_t npages;
	cow__frame home;             /* first frame of the home range (COW__NO_FRAME:
					an unmapped snapshot has none) */
	struct cow__pt *pt;          /* its page table (a vfork child: its parent's) */
	struct cow__pt ptab;         /* the page table it owns */
	uint64_t *wp;                /* write-protected pages (mapped spaces) */
	uint64_t *ro;                /* space, uffd: pages protected by a read-only
					mapping instead of uffd-wp (mapping.c) */
	char *addr;                  /* the mapping, or NULL */
	size_t maps;                 /* mappings the mapping is made of */
	bool needs_defrag;
	struct cow__member *defrag_next;
	struct cow_stats st;
	cow_freeze_fn *freeze_before, *freeze_after;
	void *freeze_arg;
	struct cow__member *alias_of;     /* vfork child: the parent it aliases */
	struct cow__member *vfork_child;  /* parent: its living vfork child */
	uint64_t *dirty;             /* space: pages written since the last save's freeze */
	struct cow_save *save;       /* space: its save in progress; snapshot: the save it is */
	void *saved_store;           /* space: where its last save went ... */
	uint64_t saved_serial;       /* ... that store handle's serial ... */
	uint64_t saved_id;           /* ... and as which checkpoint (0: none) */
	uint64_t serial;             /* unique in the process, never reused */
	/* space: its reference snapshots (page.c): the last few it was taken
	 * as, restored to or made from, each with the pages changed since. */
	struct cow__space_ref {
		uint64_t serial;     /* the snapshot's serial (0: slot free) */
		uint64_t used;       /* when last set or restored to (LRU) */
		uint64_t *changed;   /* pages changed since (bits) */
		uint64_t *list;      /* while listed: the pages whose bit is set, once each */
		uint32_t nlist;
		bool listed;         /* false once more than COW__LOG_MAX changed */
	} refs[COW__REFS];
	/* space: the pages made writable since the last cow__protect_writable,
	 * while wlog_ok (member.c); past COW__LOG_MAX, the bitmap is scanned */
	uint64_t *wlog;
	uint32_t nwlog;
	bool wlog_ok;
};

struct cow_space { struct cow__member m; };
struct cow_snap { struct cow__member m; };

/* The engine lock and the process generation (engine.c). */
extern pthread_mutex_t cow__lock;
extern uint64_t cow__gen;
extern __thread int cow__in_engine __attribute__((tls_model("initial-exec")));
int cow__ensure_init(void);
/*
 * Each module resets its own state in the child of a real fork(): it
 * registers a function with COW__AT_FORK_CHILD(fn) at load time, and the
 * engine calls them all, in the child, with nothing locked but the engine
 * lock (held by the forking thread, released after).
 */
void cow__at_fork_child(void (*fn)(void));
void *cow__engine_mem(size_t bytes);
#define COW__AT_FORK_CHILD(fn) \
	static void __attribute__((constructor)) fn##_register(void) { cow__at_fork_child(fn); }
void cow__engine_lock(void);
void cow__engine_unlock(void);
void cow__die(const char *what, int err) __attribute__((noreturn));

/* Registry of mapped spaces, for the fault handler (registry.c). */
int cow__registry_add(struct cow__member *m);
void cow__registry_remove(struct cow__member *m);
struct cow__member *cow__registry_find(const void *addr);

/* Member life cycle (member.c). Call with the engine lock held. */
int cow__member_check(const struct cow__member *m, enum cow__kind kind);
struct cow__member *cow__member_new(enum cow__kind kind, size_t npages,
				    struct cow__family *fam);
int cow__member_share(struct cow__member *dst, const struct cow__member *src);
void cow__member_join(struct cow__member *m, struct cow__family *fam);
int cow__member_give_home(struct cow__member *m);
void cow__member_leave(struct cow__member *m);
void cow__member_quarantine(struct cow__member *m);
int cow__member_rebirth(struct cow__member *m, const struct cow__member *x);
int cow__space_exec(struct cow__member *m, const struct cow__member *x);
void cow__member_free(struct cow__member *m);
static inline cow__frame cow__home(const struct cow__member *m, size_t i)
{
	return m->home + (cow__frame)i;
}
/* Set bits [i, j) of bitmap b to v: the whole words between with memset. */
static inline void cow__bits_fill(uint64_t *b, size_t i, size_t j, bool v)
{
	for (; i < j && (i & 63); i++)
		b[i >> 6] = v ? b[i >> 6] | 1ull << (i & 63) : b[i >> 6] & ~(1ull << (i & 63));
	if (j - i >= 64) {
		memset(&b[i >> 6], v ? 0xff : 0, ((j - i) >> 6) * sizeof *b);
		i += (j - i) & ~(size_t)63;
	}
	for (; i < j; i++)
		b[i >> 6] = v ? b[i >> 6] | 1ull << (i & 63) : b[i >> 6] & ~(1ull << (i & 63));
}
/*
 * cow__bits_find — the first k in [i, j) whose bit of bitmap b is v (j if
 * none): a word (64 pages) per step, eight alike words (512 pages) per step
 * where they are aligned, so a fork's or a freeze's look at a bitmap of
 * 4 GiB of pages is a few thousand loads.
 */
static inline size_t cow__bits_find(const uint64_t *b, size_t i, size_t j, bool v)
{
	uint64_t skip = v ? 0 : ~0ull;	/* a word without bit v */

	while (i < j) {
		uint64_t x;

		if (!(i & 511) && j - i >= 512) {
			uint64_t acc = 0;

			for (unsigned k = 0; k < 8; k++)
				acc |= b[(i >> 6) + k] ^ skip;
			if (!acc) {
				i += 512;
				continue;
			}
		}
		x = (b[i >> 6] ^ skip) >> (i & 63);
		if (x) {
			size_t k = i + (size_t)__builtin_ctzll(x);

			return k < j ? k : j;
		}
		i = (i | 63) + 1;	/* the next word */
	}
	return j;
}
static inline bool cow__wp_test(const struct cow__member *m, size_t i)
{
	return (m->wp[i >> 6] >> (i & 63)) & 1;
}
void cow__wp_set(struct cow__member *m, size_t i, bool on);
void cow__wlog_note(struct cow__member *m, size_t first, size_t n);
void cow__wlog_reset(struct cow__member *m, bool ok);
static inline bool cow__ro_test(const struct cow__member *m, size_t i)
{
	return m->ro && ((m->ro[i >> 6] >> (i & 63)) & 1);
}
/* cow__frame_at — the frame page i of member m holds. */
static inline cow__frame cow__frame_at(const struct cow__member *m, size_t i)
{
	return cow__pt_get(m->pt, i);
}
bool cow__page_shared(const struct cow__member *m, size_t i);
uint32_t cow__page_sharers(const struct cow__member *m, size_t i);

/* Consistency check for tests (check.c): 0, or -EBADMSG with a message. */
int cow__check(char *msg, size_t len);
struct cow__family *cow__families(void);
uint64_t cow__frames_span(void);
int cow__frames_check(char *msg, size_t len,
		      int (*bad)(char *, size_t, const char *, ...));

/* Mappings (mapping.c). Call with the engine lock held. */
int cow__map_member(struct cow__member *m, bool protect_all);
int cow__map_range(struct cow__member *m, size_t first, size_t n);
int cow__map_whole(struct cow__member *m);
int cow__fit_budget(struct cow__member *m);
int cow__remap_page(struct cow__member *m, size_t i, cow__frame f, bool protect);
void cow__remap_begin(struct cow__member *m, size_t i);
int cow__remap_end(struct cow__member *m, size_t i, bool protect);
int cow__protect_range(struct cow__member *m, size_t first, size_t n);
int cow__unprotect_range(struct cow__member *m, size_t first, size_t n);
int cow__protect_writable(struct cow__member *m);
/* Testing hook (tests only): called, engine lock held, after a range of a
 * member is mapped again and before it is armed for faults, and after a
 * range leaving its read-only mapping is armed and before it is writable. */
extern void (*cow__test_mapped_hook)(void *addr, size_t len);
/* Testing knob (tests only, 0 normally): when set, every member's mapping
 * budget is at most this many mappings (and at least 8), so that the
 * randomized tests de-fragment, and take checkpoints home, all the time. */
extern size_t cow__test_maps_budget;
/* Pages libcow has read out of frames (cow__frames_read, cow__read_pages):
 * lets a test see that a save or commit read only what holds data. */
extern uint64_t cow__test_pages_read;
int cow__defrag_pending(void);
void cow__defrag_forget(struct cow__member *m);
void cow__unmap_member(struct cow__member *m);
#define COW__PAGES_PER_MAP 64
size_t cow__maps_budget(const struct cow__member *m);
void cow__maps_count(struct cow__member *m);

/* Spaces (space.c). */
struct cow_space *cow__space_new(size_t npages, struct cow__family *fam,
				 const struct cow__member *src);
struct cow__member *cow__freeze_share(cow_space *s,
				      struct cow__member *(*make)(struct cow__member *m));
void cow__freeze_begin(const struct cow__member *m);
void cow__freeze_end(const struct cow__member *m);
int cow__read_pages(const struct cow__member *x, size_t first, size_t n, char *buf);
int cow__page_info(const struct cow__member *m, enum cow__kind kind,
		   size_t index, struct cow_page_info *out);

/* vfork (vfork.c). Engine lock held. */
void cow__vfork_wait(struct cow__member *m);
void cow__alias_end(struct cow__member *c);
void cow__alias_free(struct cow__member *c);
int cow__alias_refresh(struct cow__member *c);
size_t cow__boundaries_at(const struct cow__member *m, size_t i);

/*
 * Page state (page.c): the one module that changes what a page holds or
 * lets a write through. Engine lock held.
 */
int cow__page_write(struct cow__member *m, size_t i);
int cow__page_preserve(struct cow__member *o, size_t i);
int cow__page_restore(struct cow__member *m, size_t i, cow__frame g);
void cow__pages_restore_early(struct cow__member *m, const struct cow__member *x);
#define COW__TAKE_RUN 1024u	/* pages cow__pages_take_home takes at once, at most */
int cow__pages_take_home(struct cow__member *m, size_t i, size_t n);
void cow__page_mark_written(struct cow__member *m, size_t i);
void cow__pages_take_written(struct cow__member *m, uint64_t *keep);
void cow__pages_rewritten(struct cow__member *m, const uint64_t *keep);
void cow__pages_inherit_written(struct cow__member *d, const struct cow__member *src);
void cow__pages_set_reference(struct cow__member *m, const struct cow__member *x);
void cow__pages_restored_to(struct cow__member *m, const struct cow__member *x);
const uint64_t *cow__pages_changed_since(const struct cow__member *m,
					 const struct cow__member *x);
const uint64_t *cow__pages_changed_list(const struct cow__member *m,
					const struct cow__member *x, size_t *n);
void cow__pages_forget_references(struct cow__member *m);
void cow__page_wait(void);
bool cow__frames_hold(const cow__frame *f, unsigned n);
void cow__frames_release(const cow__frame *f, unsigned n);
void cow__page_space_gone(struct cow__member *m);

/*
 * Page events, for the background save (which registers them). All but
 * spill() are called with the engine lock held.
 *   claim_spill  a space is about to write page i, its home frame, which
 *                job's snapshot shares: a save that wants the old content
 *                written out instead of preserved marks the page as being
 *                spilled and returns a token (else NULL);
 *   spill        write the old content (at old) for token, WITHOUT the
 *                engine lock; 0 or -errno;
 *   spill_done   the write ended with err: the save drops the page (or
 *                keeps it, on error, to preserve it as usual);
 *   preserved    page i of job's snapshot now holds a preserved copy;
 *   space_gone   the space job saves is destroyed.
 */
struct cow__page_events {
	void *(*claim_spill)(void *job, size_t i);
	int (*spill)(void *token, size_t i, const void *old);
	void (*spill_done)(void *token, size_t i, int err);
	void (*preserved)(void *job, size_t i);
	void (*space_gone)(void *job);
};
void cow__page_events_set(const struct cow__page_events *ev);

/* The engine's services for a background save (save_snap.c). Lock held. */
struct cow__member *cow__save_freeze(struct cow__member *m, void *job, uint64_t *keep,
				     int *err_after);
void cow__save_release(struct cow__member *x, struct cow__member *m);
bool cow__save_running(const struct cow__member *m);
cow__frame cow__snap_frame(const struct cow__member *x, size_t i);
void cow__snap_drop(struct cow__member *x, size_t i);
void cow__snap_drop_run(struct cow__member *x, size_t i, size_t n);
bool cow__snap_holes(const struct cow__member *x, size_t i, size_t n);
bool cow__snap_full(const struct cow__member *x, size_t i, size_t n);
uint64_t cow__space_saved_in(const struct cow__member *m, const void *store, uint64_t serial);
void cow__space_set_saved(struct cow__member *m, void *store, uint64_t serial, uint64_t id);
size_t cow__space_pages(const struct cow__member *m);
bool cow__space_is_vfork_child(const struct cow__member *m);

/* Write faults: the signal handlers (fault.c). */
int cow__install_handlers(void);

/* ---- engine services for the store and background save ------------------ */

/* Value of a file offset meaning "this page is all zeroes, no block". */
#define COW__ZERO_BLOCK UINT64_MAX

/* Pages in a snapshot (its size / COW_PAGE_SIZE); 0 for NULL. */
size_t cow__snap_pages(const cow_snap *snap);

/*
 * Pages of b whose content may differ from a's: sets bit i of bits (an array
 * of (pages + 63) / 64 words, zeroed by the caller) when page i of a and b are
 * backed by different frames. Pages sharing a frame are certainly equal; the
 * check costs no reads of page content. Returns 0, -EINVAL (NULL, or sizes
 * differ), -ESTALE.
 */
int cow__snap_diff(const cow_snap *a, const cow_snap *b, uint64_t *bits);

/*
 * A new snapshot sharing every frame of snap (each reference count + 1): the
 * store keeps one to diff the next checkpoint against. NULL with errno on
 * failure (EINVAL, ESTALE, ENOMEM).
 */
cow_snap *cow__snap_clone(const cow_snap *snap);
void cow__snap_set_origin(cow_snap *snap, void *store, uint64_t serial, uint64_t id);

/*
 * cow__snap_never_written — do pages [i, i+n) of snap (within one page-table
 * leaf) read as zeroes because they were never written (holes of the frame
 * store), so that a commit need not read them? False when unsure.
 */
bool cow__snap_never_written(const cow_snap *snap, size_t i, size_t n);

/* Pages per bit of cow__snap_from_file's spans (one page-table leaf). */
#define COW__FILE_SPAN COW__PT_FAN

/*
 * A snapshot of npages pages whose page i is the COW_PAGE_SIZE bytes at file
 * offset offs[i] of fd (page-aligned), or zeroes when offs[i] is
 * COW__ZERO_BLOCK. Pages are read from the file on first access where the
 * engine can do so lazily; the engine keeps its own duplicate of fd (the
 * caller keeps and closes its own). offs (malloc'd) is the engine's from now
 * on, whatever the outcome (not copied: it is 8 bytes a page, 128 MiB for a
 * 64 GiB space).
 *
 * spans, when not NULL, says where offs need be read at all: bit j clear
 * means pages [j * COW__FILE_SPAN, (j + 1) * COW__FILE_SPAN) are zeroes,
 * whatever offs holds there. So a caller that allocates offs with calloc
 * (fresh memory from the kernel when large) and fills only the spans that
 * hold data makes a snapshot whose cost follows its data, not its size: no
 * entry of a clear span is written or read. The caller keeps spans.
 *
 * The file's blocks must not change while the snapshot (or a space made
 * from it) may still read them. NULL with errno: EINVAL (bad fd, npages 0,
 * unaligned offset), ENOMEM, or the error of reading the file.
 */
cow_snap *cow__snap_from_file(int fd, size_t npages, uint64_t *offs, const uint64_t *spans);

#endif
