/*
 * libcow — copy-on-write memory for applications.
 *
 * This header is the manual. Read it top to bottom.
 *
 * THE MODEL
 *
 * A space (cow_space) is a contiguous, writable range of virtual memory,
 * like a process's address space. Its pages are backed by frames: 4 KiB
 * pages of one anonymous in-memory file (a memfd), the frame store. Each
 * space keeps a page table (page index -> frame) and each frame keeps a
 * reference count: how many page tables point at it.
 *
 * cow_fork() makes a second space whose page table points at the same
 * frames (every count + 1), and write-protects the shared pages through the
 * MMU. cow_snapshot() does the same for a frozen, read-only copy. The first
 * write to a protected page faults; libcow's fault handler decides, exactly
 * as the kernel does after fork():
 *
 *   - the frame is shared (count > 1): copy that one page, so the writer and
 *     the other sharers each have their own;
 *   - the frame is exclusive (count == 1): reuse it; just lift the
 *     protection, no copy.
 *
 * Writes go through plain pointers: ((char *)cow_base(s))[i] = x works and
 * costs nothing once the page is writable.
 *
 * "The writer stays home": each space owns a home range of frames and only
 * ever writes there, so a space that is being written stays one memory
 * mapping. When a shared home frame is written, the old content is copied
 * once for the other sharers (several snapshots taken between two writes
 * share that one copy).
 *
 * ERRORS
 *
 * Functions returning int return 0 or a negative errno value. Functions
 * returning a pointer return NULL and set errno. cow_strerror() names every
 * value. Every public function checks its arguments; a NULL handle or an
 * out-of-range offset is -EINVAL, never a crash.
 *
 * BACKENDS AND PRIVILEGES
 *
 * Two mechanisms catch the first write, behind one interface:
 *   "uffd"     userfaultfd write-protect, faults delivered as SIGBUS to the
 *              writing thread (needs Linux >= 5.19 for shmem write-protect;
 *              unprivileged users get it through UFFD_USER_MODE_ONLY).
 *   "mprotect" mprotect(PROT_READ) and SIGSEGV; works everywhere, including
 *              where seccomp forbids userfaultfd (Docker's default profile).
 * The default is uffd when the kernel allows it, else mprotect. The
 * environment variable COW_BACKEND=uffd|mprotect forces one (read once, at
 * the first call). libcow never needs root.
 *
 * SIGNALS
 *
 * libcow installs handlers for SIGSEGV and SIGBUS at the first space it
 * creates. Faults outside libcow's spaces are passed to the handler that was
 * installed before (or to the default action: a stray NULL write still
 * crashes the program the normal way). If the program installs its own
 * handler later, it must chain to the previous one for libcow to work.
 *
 * SYSCALLS THAT WRITE INTO A SPACE
 *
 * A kernel write (read(2), recv(2), ...) into a page that is write-protected
 * fails with EFAULT: the kernel does not raise the fault for us. Call
 * cow_prefault() on the buffer first; it makes the range writable (copying
 * or reusing, exactly as a write would) until the next snapshot or fork.
 *
 * THREADS
 *
 * All functions are thread-safe. Any number of threads may write a space
 * while another forks, snapshots or restores it: each write lands either
 * before the operation (it is in the snapshot) or after it. A snapshot may be
 * read by any thread while writers keep writing the space it came from.
 * Fault handling takes one internal lock; a thread never holds it while
 * running user code.
 *
 * fork(2)
 *
 * Spaces are not inherited by a child process: their mappings carry
 * MADV_DONTFORK, so in the child the addresses are unmapped (access is a
 * SIGSEGV). Handles created before fork() are stale in the child: every
 * function given one returns -ESTALE (or NULL with errno ESTALE) and
 * releasing one does nothing. The child may create new spaces. The parent
 * is unaffected.
 *
 * MEMORY MAPPINGS
 *
 * Each mapped space and mapped snapshot view uses a bounded number of memory
 * mappings (struct cow_stats.maps). A space that is written while it still
 * borrows frames from another is remapped page by page and fragments; once it
 * passes its budget, it takes private copies of the pages it still borrows and
 * is one mapping again. The budget is COW_MAPS_MAX per mapped object, and
 * all objects together stay under half of vm.max_map_count.
 */
#ifndef COW_H
#define COW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COW_VERSION_MAJOR 0
#define COW_VERSION_MINOR 1
#define COW_VERSION_PATCH 0

/** Page size used by libcow: sizes are rounded up to it. */
#define COW_PAGE_SIZE 4096u

/** Upper bound of memory mappings one mapped space or view may use before it
 *  de-fragments (see MEMORY MAPPINGS above). */
#define COW_MAPS_MAX 1024u

typedef struct cow_space cow_space;
typedef struct cow_snap cow_snap;

/** What a space is doing; filled by cow_stats_get(). */
struct cow_stats {
	uint64_t pages;   /**< pages in the space */
	uint64_t shared;  /**< pages whose frame another space or snapshot also references */
	uint64_t faults;  /**< write faults handled for this space */
	uint64_t copies;  /**< faults that copied a page */
	uint64_t reuses;  /**< faults that found the frame unshared and reused it */
	uint64_t maps;    /**< memory mappings the space uses now */
	uint64_t defrags; /**< times the space took private copies to stay within COW_MAPS_MAX */
	uint64_t defrag_copies; /**< pages copied by those de-fragmentations */
	uint64_t restored; /**< pages copied back by cow_restore() */
};

/* ------------------------------------------------------------------ */
/* Spaces                                                              */
/* ------------------------------------------------------------------ */

/**
 * Create a space of @p size bytes (rounded up to COW_PAGE_SIZE), zero-filled
 * and writable.
 *
 * @param size  bytes, > 0
 * @param flags 0 (no flags are defined yet; any other value is -EINVAL)
 * @return the space, owned by the caller (free with cow_space_destroy()), or
 *         NULL with errno: EINVAL (size 0, too large, or unknown flags),
 *         ENOMEM (no memory, no address space, or the frame store is full),
 *         or the errno of the failing system call (EMFILE, ...).
 */
cow_space *cow_space_create(size_t size, unsigned flags);

/**
 * Destroy a space: unmap it and drop its references to frames (frames that
 * only it referenced are freed). Snapshots and forks of it stay valid. The
 * address range is unmapped on return. NULL is ignored.
 * Like exit(): the space must not be used afterwards.
 */
void cow_space_destroy(cow_space *s);

/** The first byte of the space (page-aligned), or NULL with errno EINVAL. */
void *cow_base(const cow_space *s);

/** The space's size in bytes (a multiple of COW_PAGE_SIZE); 0 for NULL. */
size_t cow_size(const cow_space *s);

/**
 * Fork a space: a new writable space with the same content, sharing every
 * frame (reference counts + 1). Both sides are write-protected; the first
 * write on either side to a page copies that page only (or reuses it when it
 * is no longer shared). Forks of forks work, at any depth.
 *
 * @return the new space (caller owns it), or NULL with errno EINVAL (s is
 *         NULL), ESTALE (s belongs to the parent of a fork(2)), ENOMEM.
 */
cow_space *cow_fork(cow_space *s);

/**
 * vfork a space: the child aliases the parent's frames. (Comes with the
 * vfork/exec work; until then it returns NULL with errno EOPNOTSUPP.)
 */
cow_space *cow_vfork(cow_space *s);

/**
 * Make [addr, addr+len) of space s writable now, as if each page had been
 * written (shared frames are copied, exclusive ones reused). Use it before a
 * system call writes into the space (see SYSCALLS THAT WRITE INTO A SPACE).
 * The range stays writable until the next snapshot or fork of s.
 *
 * @return 0, -EINVAL (NULL s, or the range is not inside s), -ESTALE, -ENOMEM.
 */
int cow_prefault(cow_space *s, void *addr, size_t len);

/**
 * Fill @p out with the space's statistics (see struct cow_stats).
 * @return 0, -EINVAL (NULL argument), -ESTALE.
 */
int cow_stats_get(const cow_space *s, struct cow_stats *out);

/* ------------------------------------------------------------------ */
/* Snapshots                                                           */
/* ------------------------------------------------------------------ */

/**
 * Freeze the space's content at this instant. The snapshot shares every
 * frame; the space is write-protected and its next write to each page
 * preserves the old content for the snapshot (one copy, shared by every
 * snapshot taken since that page was last written). Writer threads may keep
 * writing during the call: each write is either in the snapshot or after it.
 *
 * @return the snapshot (caller owns it; free with cow_snap_release()), or
 *         NULL with errno EINVAL, ESTALE, ENOMEM.
 */
cow_snap *cow_snapshot(cow_space *s);

/**
 * Release a snapshot: drop its references (frames no one else references are
 * freed) and its view, if mapped. NULL is ignored. Releasing the same
 * snapshot twice is detected where possible (the handle is poisoned on
 * release) and ignored; do not rely on it.
 */
void cow_snap_release(cow_snap *snap);

/** The snapshot's size in bytes; 0 for NULL. */
size_t cow_snap_size(const cow_snap *snap);

/**
 * Copy @p len bytes at offset @p off of the snapshot into @p buf. Any thread,
 * any time, while writers write the space the snapshot came from. @p buf may
 * be anywhere, even inside a space.
 *
 * @return 0, -EINVAL (NULL, or [off, off+len) beyond the snapshot), -ESTALE,
 *         -ENOMEM (no memory for the bounce buffer).
 */
int cow_snap_read(const cow_snap *snap, size_t off, void *buf, size_t len);

/**
 * A read-only view of the snapshot in memory, valid until cow_snap_release().
 * Calling it again returns the same view. Writes to the view crash with
 * SIGSEGV as writes to any read-only memory do.
 *
 * @return the view, or NULL with errno EINVAL, ESTALE, ENOMEM.
 */
const void *cow_snap_map(cow_snap *snap);

/**
 * Restore: the space's content becomes the snapshot's, as exec() replaces an
 * image. Costs work proportional to the pages that differ (the pages written
 * since the snapshot or whose frames differ), not to the space's size. The
 * snapshot stays valid. Concurrent writers are blocked during the call; each
 * of their writes lands before or after the restore.
 *
 * @return 0, -EINVAL (NULL, or sizes differ), -ESTALE, -ENOMEM.
 */
int cow_restore(cow_space *s, const cow_snap *snap);

/**
 * A new writable space whose content is the snapshot's, sharing its frames
 * (a fork of the snapshot).
 *
 * @return the space (caller owns it), or NULL with errno EINVAL, ESTALE,
 *         ENOMEM.
 */
cow_space *cow_space_from_snap(const cow_snap *snap);

/* ------------------------------------------------------------------ */
/* Freeze hooks                                                        */
/* ------------------------------------------------------------------ */

typedef void cow_freeze_fn(void *arg);

/**
 * Register hooks that bracket every freeze of space s: cow_fork(),
 * cow_snapshot(), cow_restore() and the freezes of background saves call
 * before(arg) first and after(arg) last, outside libcow's own lock. A
 * structure kept inside the space (a heap, an index) takes its own lock in
 * before() and drops it in after(), so every snapshot sees it consistent.
 * Hooks must not call libcow functions on s. One pair per space; NULL
 * functions remove the pair.
 *
 * @return 0, -EINVAL (NULL s, or only one of before/after), -ESTALE.
 */
int cow_set_freeze_hooks(cow_space *s, cow_freeze_fn *before,
			 cow_freeze_fn *after, void *arg);

/* ------------------------------------------------------------------ */
/* Introspection (for tools, demos and tests)                          */
/* ------------------------------------------------------------------ */

/** What backs one page of a space or snapshot. */
struct cow_page_info {
	uint64_t frame;     /**< frame number in the frame store */
	uint32_t refcount;  /**< page tables that reference the frame */
	uint8_t  writable;  /**< 1 if a write now lands without a fault */
	uint8_t  home;      /**< 1 if the frame is in the space's own home range */
};

/**
 * Describe page @p index of a space.
 * @return 0, -EINVAL (NULL argument, index out of range), -ESTALE.
 */
int cow_page_info(const cow_space *s, size_t index, struct cow_page_info *out);

/** Same for a snapshot (writable is always 0). */
int cow_snap_page_info(const cow_snap *snap, size_t index,
		       struct cow_page_info *out);

/** Frames in use in the frame store (referenced by some page table). */
uint64_t cow_frames_in_use(void);

/* ------------------------------------------------------------------ */
/* Misc                                                                */
/* ------------------------------------------------------------------ */

/**
 * The backend in use: "uffd" or "mprotect". Chooses it (and installs the
 * signal handlers) if nothing has yet. Returns NULL with errno when neither
 * can be set up (EINVAL: COW_BACKEND names an unknown backend; or the error
 * of the forced backend, e.g. EPERM for a forbidden userfaultfd).
 */
const char *cow_backend_name(void);

/**
 * Install libcow's fault handlers again, on top of the SIGSEGV and SIGBUS
 * handlers installed now, which become the ones libcow passes foreign faults
 * to. For programs and frameworks (test runners, crash reporters) that
 * install their handlers after libcow without chaining. Does nothing if
 * libcow's handlers are the current ones.
 *
 * @return 0, or the error of choosing a backend (see cow_backend_name()),
 *         or of sigaction().
 */
int cow_install_handlers(void);

/**
 * A message for any value returned by libcow (negative or positive errno).
 * Never NULL; the string is static.
 */
const char *cow_strerror(int err);

/* ==================================================================== */
/* @@section:persistence@@ (the store and background save go here)      */
/* ==================================================================== */


/* ==================================================================== */
/* @@section:heap@@ (the space heap goes here)                          */
/* ==================================================================== */


/* ==================================================================== */
/* @@section:values@@ (COW strings, buffers, vectors go here)           */
/* ==================================================================== */


/* ==================================================================== */
/* end of sections                                                      */
/* ==================================================================== */

#ifdef __cplusplus
}
#endif

#endif /* COW_H */
