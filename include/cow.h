/* SPDX-License-Identifier: BSD-2-Clause */
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
 * creates. A fault is libcow's only when it is a write, by the processor's
 * own account (on x86-64 the page-fault error code: a write, not an
 * instruction fetch), to a write-protected page of a writable space, and
 * not taken inside libcow itself. Every other fault — a stray NULL write, a
 * jump into a space, a write to a read-only snapshot view — is passed to the
 * handler that was installed before, with that handler's sa_mask (and the
 * signal, unless SA_NODEFER) blocked and SA_RESETHAND honoured, or meets the
 * default action: the program dies of the signal as it would without
 * libcow. If the program installs its own handler later, it must chain to
 * the previous one for libcow to work (or call cow_install_handlers()).
 *
 * WRITE FAULTS THAT CANNOT BE RESOLVED
 *
 * A first write needs, at most, one frame (a page of the frame store's
 * memfd) and one remap. If the kernel refuses them (no memory for the page,
 * vm.max_map_count reached), the write can neither complete nor fail: like
 * the kernel's out-of-memory killer, libcow ends the process (abort(3)),
 * after "libcow: fatal: cannot resolve a write fault: <reason>" on stderr.
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
 * releasing one does nothing; a background save started before the fork is
 * inert there (cow_save_wait() returns -ESTALE). The child may create new
 * spaces at once, even if another thread of the parent was inside libcow
 * (fork waits for it to leave the engine); nothing is asked of the kernel
 * at fork time. The parent is unaffected.
 *
 * MEMORY MAPPINGS
 *
 * Each mapped space and mapped snapshot view uses a bounded number of memory
 * mappings (struct cow_stats.maps). A space that is written while it still
 * borrows frames from another is remapped page by page and fragments; once it
 * passes its budget, it takes private copies of the pages it still borrows and
 * is one mapping again. The budget of an object of P pages is
 * max(COW_MAPS_MAX, P / 64) mappings (one per 256 KiB), but never more than
 * an equal share of half of vm.max_map_count among all mapped objects: all
 * of libcow's mappings together stay under half of vm.max_map_count.
 */
#ifndef COW_H
#define COW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* COW_VERSION_MAJOR, _MINOR, _PATCH, _STRING and _NUMBER: the version this
 * header belongs to (generated from CMakeLists.txt's project() version). */
#include "cow_version.h"

/** Page size used by libcow: sizes are rounded up to it. */
#define COW_PAGE_SIZE 4096u

/** The least mapping budget of a mapped space or view (see MEMORY MAPPINGS
 *  above: larger objects get one mapping per 64 pages). */
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
	uint64_t defrags; /**< times the space took private copies to stay within its mapping budget */
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
 * Memory is taken as pages are touched, as for mmap()'d memory, with one
 * difference: the space is shared memory (pages of libcow's memfd), so
 * *reading* a page never written takes a page of memory too, where
 * anonymous memory would map the kernel's zero page. A big space that is
 * read sparsely costs what is read.
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
 * Cost: write-protecting the pages written since s was last frozen, plus
 * mapping the child (its page table is s's, shared node by node; mapping
 * it looks at that table a 4 MiB leaf at a time and at its bitmaps 64
 * pages a word, eight alike words at a time, and reserves the child's
 * frame numbers: proportional to the space but small, about 0.2 ms for
 * 4 GiB here, 0.13 ms for 64 MiB).
 * Destroying the child costs less than that plus its own pages.
 *
 * On failure nothing is made and s keeps its content (its pages may be
 * write-protected: the next write to each faults once and reuses it).
 *
 * @return the new space (caller owns it), or NULL with errno EINVAL (s is
 *         NULL), ESTALE (s belongs to the parent of a fork(2)), ENOMEM.
 */
cow_space *cow_fork(cow_space *s);

/**
 * vfork a space: share without copying. The child is a second mapping of
 * the parent's frames: it holds no references of its own, its writes copy
 * nothing (except where a frame is also shared with a snapshot or fork of
 * the parent, which keeps the old content) and the parent sees them. The
 * child's first write to each page faults once (no copy): that is how the
 * parent's next background save knows the page changed.
 *
 * Until the child exits (cow_space_destroy(child)) or execs (cow_restore(child,
 * snap) or cow_exec_file(child, ...)), every write by the parent waits: a
 * store through a pointer blocks in the fault handler, cow_prefault(),
 * cow_restore() and cow_space_destroy() of the parent block; none fails.
 * Reads by the parent never wait. A vfork child may write, read, exec or
 * exit; cow_fork(), cow_snapshot() and cow_vfork() of it fail with EINVAL.
 * One vfork child per space at a time.
 *
 * The deadlock the texts warn about: a thread of the parent that writes the
 * parent while the child, or the thread driving it, waits for that thread
 * (a join, a lock, a condition) never wakes. Drive the child from a thread
 * that needs nothing from the parent's writers until the child has exited
 * or exec'ed; that is the usage the tests exercise with several threads.
 *
 * @return the child (caller owns it), or NULL with errno EINVAL (s is NULL
 *         or itself a vfork child), EBUSY (s already has a vfork child),
 *         ESTALE, ENOMEM.
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
 * Cost: write-protecting the pages written since the space was last frozen;
 * the page table is shared with the snapshot node by node (a node is copied
 * when either side first changes it), so nothing is copied per page.
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
 * image. On a vfork child this is its exec: it stops aliasing its parent
 * (whose writers go on) and becomes a space sharing the snapshot's frames.
 *
 * Cost: a space remembers its last four reference snapshots (taken from it
 * with cow_snapshot(), restored to, or that it was made from) and which
 * pages changed since each. Restoring to one of them visits only those
 * pages (and protects only the pages written since the last freeze), from
 * lists of them while they are at most 4,096: the work follows the pages
 * written, not the space's size, however often the space is restored (one
 * written page: about 2.5 us whether the space has 64 MiB or 4 GiB). A
 * restored page is shared with the snapshot again, whose copy of it is
 * freed, while up to 1,024 such copies can be kept ready for the next
 * copies; so memory does not grow with the pages ever written. Restoring
 * to any other snapshot of the same size compares every page's frame and
 * copies the pages whose frames differ. The snapshot stays valid.
 * Concurrent writers are blocked during the call; each of their writes
 * lands before or after the restore (a page a writer changes while the
 * restore begins is copied again once it is protected).
 *
 * On error the restore stops where the kernel refused (a remap at
 * vm.max_map_count, no memory for a frame, a read error of a file-backed
 * snapshot): each page then holds either its old content or the
 * snapshot's, every page stays write-protected or marked written (saves
 * stay exact), and calling cow_restore() again completes it.
 *
 * @return 0, -EINVAL (NULL, or sizes differ), -ESTALE, -ENOMEM, -EIO (a
 *         file-backed snapshot could not be read).
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
/* Images: files as the content of spaces                              */
/* ------------------------------------------------------------------ */

/**
 * A snapshot whose content is @p size bytes of the file at @p path from
 * @p offset, read lazily: nothing is read now; each page is read on first
 * access, through the kernel's page cache. Spaces made from it
 * (cow_space_from_snap) map the file's pages read-only and share them, as
 * processes running one program share its text: N spaces from one image
 * use the image's memory once, plus the pages they write. Writes never
 * reach the file: the first write to a page copies it into the writer's
 * own frame (private copy-on-write, like MAP_PRIVATE). Clean pages of the
 * image can be dropped by the kernel under memory pressure and are read
 * again when needed.
 *
 * @param offset  page-aligned offset in the file
 * @param size    bytes (rounded up to pages); 0 means up to the end of the
 *                file. Pages beyond the file's end read as zeroes.
 *
 * The file must not change while the snapshot, or a space made from it,
 * may read it; libcow keeps its own descriptor, so renaming or unlinking
 * the file is harmless. If the file shrinks, a page beyond its new end
 * cannot be read: cow_snap_read() returns -EIO and an access through a
 * mapping raises SIGBUS, as with any mapped file (never silent zeroes).
 *
 * @return the snapshot (caller owns it: cow_snap_release()), or NULL with
 *         errno EINVAL (NULL path, unaligned or negative offset, not a
 *         regular file, size 0 on an empty file, too large), ENOMEM, or the
 *         error of open(2)/fstat(2) (ENOENT, EACCES, ...).
 */
cow_snap *cow_snap_open(const char *path, off_t offset, size_t size);

/**
 * exec() for a space: its content becomes the file's (cow_size(s) bytes at
 * @p offset, see cow_snap_open()), read lazily; its old frames are
 * released. On a vfork child this is its exec: the parent's writers go on.
 * On a vfork parent it waits for the child first.
 *
 * Errors before the exchange (the file cannot be opened, no memory for the
 * new page table) leave s as it was. If the kernel then refuses to map the
 * new content (vm.max_map_count, no memory), s is left inaccessible — an
 * access raises SIGSEGV — rather than showing memory it no longer owns;
 * destroy it. The same holds for a vfork child's cow_restore().
 *
 * @return 0, -EINVAL (NULL, or as cow_snap_open()), -ESTALE, -ENOMEM, or
 *         the error of opening the file.
 */
int cow_exec_file(cow_space *s, const char *path, off_t offset);

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
 * Defined for every int, INT_MIN included ("unknown error" when the value is
 * no errno). Never NULL; the string is static.
 */
const char *cow_strerror(int err);

/**
 * The errno name of err, as libuv's uv_err_name(): "EINVAL" for -EINVAL (or
 * EINVAL), "OK" for 0, "UNKNOWN" for a value that is no errno this system
 * knows. Defined for every int. Never NULL; the string is static.
 */
const char *cow_err_name(int err);

/**
 * The version of the library the program runs with, "MAJOR.MINOR.PATCH"
 * (static string). Compare it with COW_VERSION_STRING, the version of the
 * header it was compiled against; cow_version_number() gives
 * COW_VERSION_NUMBER's form.
 */
const char *cow_version(void);

/** The running library's version as major * 10000 + minor * 100 + patch. */
int cow_version_number(void);

/* ==================================================================== */
/* PERSISTENCE: the store and background save                         */
/* ==================================================================== */

/*
 * THE STORE
 *
 * A store is one file holding checkpoints: saved snapshots, each with an id
 * (1, 2, 3, ... in commit order). It works like a copy-on-write file
 * system (ZFS, Btrfs) and like LMDB's two meta pages:
 *
 *   - a commit writes only the pages that changed since the previous
 *     checkpoint of the same space; unchanged pages share their block with
 *     it, zero pages take no block at all;
 *   - a block that a committed checkpoint references is never written
 *     again; a commit writes new blocks, fsyncs, then switches the root (one
 *     of two root slots, each with a transaction id and a checksum) and
 *     fsyncs again. After a crash or a power loss the store holds every
 *     checkpoint committed before it, intact, and nothing half-written;
 *   - every block has a checksum (XXH3 from libxxhash) stored in the pointer
 *     to it; cow_store_verify() reads everything and checks it;
 *   - cow_store_load() reads the checkpoint's page table and every one of
 *     its data blocks once, checking each checksum, before it returns: a
 *     flipped bit is an error (EBADMSG, naming the page and block), never
 *     a wrong value. This costs a read of the checkpoint (O(size), about
 *     the time of reading the file: docs/STORE.md has the figures); the
 *     pages are then mapped from the page cache when first touched.
 *
 * Blocks carry reference counts; a block is reused once no checkpoint
 * references it (cow_store_drop()). The file never shrinks.
 * docs/STORE.md describes the format and why it is crash-safe.
 *
 * FAILED WRITES
 *
 * When a commit or a drop fails, the previous state is intact (on disk and
 * in the handle). If the failure is an fsync (or a write reporting EIO),
 * the handle cannot know what reached the disk and the kernel may have
 * dropped the dirty pages, so retrying the fsync would lie: the handle
 * enters a failed state where every later commit and drop returns -EIO.
 * Close it and open the file again: the store is then the old state or
 * the new one, both intact.
 *
 * MEMORY
 *
 * For incremental commits the handle keeps a clone of the last snapshot it
 * committed (of up to 4 recent spaces): pages written in the space since
 * that commit are preserved for the clone, exactly as for a snapshot you
 * keep. Budget for the pages your program changes between two commits.
 *
 * THREADS AND PROCESSES
 *
 * A handle may be used from any number of threads; operations are
 * serialized internally. Two handles (in one process or several) cannot
 * have the same file open for writing: the second writer's open returns
 * EBUSY (an exclusive flock held by the writer). Read-only handles take no
 * lock: they open a store while a writer (another process, a running
 * cowkv) holds it, and never keep a writer from opening it. A reader sees
 * the newest committed root at its open, whole: the root slots carry
 * checksums and a writer never overwrites a block that root reaches until
 * a later transaction has dropped it. If the writer reuses such a block
 * under a reader (it dropped a checkpoint the reader is reading), the
 * checksum tells; the reader then moves to the newest root and reads again
 * (cow_store_open(), cow_store_load(), cow_store_verify(); EAGAIN if the
 * store changed 32 times in a row). Since a reader cannot stop a writer
 * from reusing blocks, cow_store_load() through a read-only handle copies
 * the checked pages into memory (the snapshot needs nothing from the file
 * afterwards; memory for every non-zero page), where a writable handle maps
 * them from the file.
 */

typedef struct cow_store cow_store;

/** cow_store_open() flags. */
#define COW_STORE_CREATE      0x1  /**< create the file (mode 0600) if it does not exist */
#define COW_STORE_EXCL        0x2  /**< with COW_STORE_CREATE: fail with EEXIST if it exists */
#define COW_STORE_RDONLY      0x4  /**< read only, no lock: commit, drop and saves return -EROFS */
#define COW_STORE_VERIFY_LOAD 0x8  /**< accepted for compatibility: every load now checks every block */
#define COW_STORE_FULL_COMMITS 0x10 /**< every commit and save writes every non-zero page
					  (no block shared with an earlier checkpoint, no clone kept) */
#define COW_STORE_SALVAGE     0x20 /**< a writer opens a store some of whose checkpoints have a
					  damaged page table (marked damaged, as read-only opens do) */

/** One checkpoint; filled by cow_store_info(). */
struct cow_store_info {
	uint64_t id;             /**< its id */
	uint64_t parent;         /**< checkpoint it was written incrementally against, 0 = full */
	uint64_t size;           /**< bytes (pages * COW_PAGE_SIZE) */
	uint64_t pages;          /**< pages */
	uint64_t data_pages;     /**< pages stored in a block; the others are zero */
	uint64_t written_blocks; /**< blocks its commit wrote: changed pages and page-table nodes */
	uint64_t time_ns;        /**< commit time: CLOCK_REALTIME, ns since the epoch */
	int      damaged;        /**< 1 if its page table could not be read at open
				      (read-only and COW_STORE_SALVAGE handles only; other
				      writable opens fail instead) */
};

/** The whole store; filled by cow_store_stat(). */
struct cow_store_stat {
	uint64_t checkpoints;    /**< checkpoints in the store */
	uint64_t latest;         /**< id of the newest, 0 if none */
	uint64_t file_blocks;    /**< blocks of COW_PAGE_SIZE bytes in the file */
	uint64_t used_blocks;    /**< blocks in use (checkpoints, catalog, root slots) */
	uint64_t free_blocks;    /**< blocks free for reuse */
	uint64_t txid;           /**< transactions (commits and drops) since creation, + 1 */
	uint64_t created_ns;     /**< creation time: CLOCK_REALTIME, ns since the epoch */
	int      readonly;       /**< 1 if the handle is read-only */
	int      failed;         /**< 1 if a write failed: reopen to write again */
};

/**
 * Open the store at @p path. With COW_STORE_CREATE a missing file is created
 * atomically (written to a temporary file, fsynced, renamed, directory
 * fsynced), mode 0600. Opening an existing store never creates, renames or
 * writes a file (with or without COW_STORE_CREATE): a server restarts on a
 * full disk or in a read-only directory. Opening reads the root slots, the
 * catalog and every checkpoint's page table (not the data) to rebuild the
 * free-space map: O(metadata), about 1/250 of the data. Each of them is
 * checked against its checksum.
 *
 * @param path  the file
 * @param flags COW_STORE_CREATE, COW_STORE_EXCL, COW_STORE_RDONLY,
 *              COW_STORE_VERIFY_LOAD, COW_STORE_FULL_COMMITS, or'ed
 * @return the handle (caller owns it; close with cow_store_close()), or
 *         NULL with errno: EINVAL (NULL or empty path, unknown flags,
 *         RDONLY with CREATE, EXCL without CREATE, a directory or
 *         anything else that is not a regular file),
 *         ENOENT (missing, without CREATE), EEXIST (with EXCL), EBUSY
 *         (a writer, and another writer has it open), EAGAIN (read-only:
 *         the writer committed 32 times while it was read), EBADMSG (not a
 *         store, or corrupt:
 *         cow_store_errmsg(NULL) says what), EPROTONOSUPPORT (another format
 *         version), ENOMEM, EIO, or the errno of open(2).
 *         A read-only open (or a writer's with COW_STORE_SALVAGE) succeeds
 *         on a store some of whose checkpoints have a damaged page table:
 *         they are listed, marked damaged (cow_store_info()), cannot be
 *         loaded (EBADMSG), and can be dropped; cow_store_verify() reports
 *         them. A salvaging writer may reuse blocks that only a damaged
 *         table reaches. Without SALVAGE a writer refuses such a store
 *         (EBADMSG): dropping or overwriting anything is the caller's call.
 *         RDONLY with SALVAGE is EINVAL.
 *
 * The handle remembers the file's absolute path and identity. Once the
 * path no longer names that file (moved, replaced or deleted while the
 * handle is open), every write (commit, save, drop) is refused with
 * -ENOENT and cow_store_errmsg() says so: a checkpoint written into a file
 * no later open can find would be lost however durable. Reads go on;
 * moving the file back lets writes go on; reopening the path opens what is
 * there now.
 */
cow_store *cow_store_open(const char *path, int flags);

/**
 * Close the handle. Snapshots loaded from it stay valid (they hold their
 * own file descriptor), but see cow_store_load() about dropping.
 *
 * @return 0; -EIO if the handle was in the failed state (it is closed
 *         anyway); -EBUSY if a checkpoint is still being written (nothing
 *         is closed). NULL is ignored (0).
 */
int cow_store_close(cow_store *st);

/**
 * Commit a snapshot as a new checkpoint: durable when the call returns.
 * Writes only the pages that changed since the last checkpoint this handle
 * committed or loaded for the same space (the engine knows which pages
 * share frames); zero pages take no block, and pages never written are
 * not even read (a fresh 64 GiB space holding a few pages reads those
 * pages' 4 MiB neighbourhoods, not 64 GiB of zeroes). The store's page
 * table in memory shares its leaves (254 pages each) with the previous
 * checkpoint's and copies those the commit changes; it holds memory for
 * the leaves that hold data, and a commit passes over its leaf pointers
 * once (docs/STORE.md §4). Writers may keep writing the space the snapshot
 * came from.
 *
 * @param st   a writable store
 * @param snap the snapshot (still the caller's afterwards)
 * @param id   receives the checkpoint's id (may be NULL)
 * @return 0, -EINVAL (NULL st or snap), -EROFS, -EIO (an fsync or write
 *         failed: the handle is now failed, see FAILED WRITES), -ENOSPC,
 *         -ENOMEM, -ENOENT (the file is no longer at the path it was
 *         opened with: see cow_store_open()),
 *         -ESTALE (snap or st belongs to the parent of a fork():
 *         a handle is never written from a child process).
 *         On failure no checkpoint was added and the previous ones are intact.
 */
int cow_store_commit(cow_store *st, cow_snap *snap, uint64_t *id);

/**
 * Load checkpoint @p id as a snapshot: this reads its page table
 * (O(pages / 254) blocks) and every data block once, checking each against
 * its checksum (O(size): one read of the checkpoint), so that no page the
 * program sees differs from what was committed. Through a writable handle
 * the pages are then mapped from the file (the page cache) when first
 * touched, without copying; through a read-only handle they are copied
 * into the snapshot's own memory as they are checked (a writer in another
 * process may reuse the file's blocks later; see THREADS AND PROCESSES).
 *
 * The checkpoint's blocks stay allocated while this handle is open, even if
 * it is dropped, so the snapshot always reads what was committed. After
 * cow_store_close(), do not drop the checkpoint through another handle
 * while the snapshot (or a space made from it) may still read pages.
 *
 * @return the snapshot (caller owns it: cow_snap_release()), or NULL with
 *         errno: EINVAL (NULL st), ENOENT (no such checkpoint), EBADMSG
 *         (a node of its page table or a data block is corrupt or missing:
 *         cow_store_errmsg() says which, e.g. "checkpoint 7: page 1234
 *         (block 5678): data checksum mismatch"), EAGAIN (read-only
 *         handle, see THREADS AND PROCESSES), EIO, ENOMEM.
 */
cow_snap *cow_store_load(cow_store *st, uint64_t id);

/**
 * The checkpoints' ids, oldest first: fills ids[0 .. min(cap, *n)) and sets
 * *n to the number of checkpoints (call with cap 0 to count).
 * @return 0, -EINVAL (NULL st or n, or NULL ids with cap > 0).
 */
int cow_store_list(cow_store *st, uint64_t *ids, size_t cap, size_t *n);

/** The newest checkpoint's id. @return 0, -EINVAL, -ENOENT (empty store). */
int cow_store_latest(cow_store *st, uint64_t *id);

/** Describe checkpoint @p id. @return 0, -EINVAL, -ENOENT. */
int cow_store_info(cow_store *st, uint64_t id, struct cow_store_info *out);

/** Describe the store. @return 0, -EINVAL. */
int cow_store_stat(cow_store *st, struct cow_store_stat *out);

/**
 * Remove checkpoint @p id, durably (a transaction like a commit). Blocks no
 * other checkpoint references become free for later commits (those of a
 * checkpoint loaded through this handle only once it is closed).
 *
 * @return 0, -EINVAL, -ENOENT (no such checkpoint, or the file is no
 *         longer at its path), -EROFS, -ESTALE (a child of fork()),
 *         -EBUSY (a checkpoint being written shares its pages), -EIO (the
 *         handle is now failed), -ENOSPC, -ENOMEM. On failure the
 *         checkpoint is still there.
 */
int cow_store_drop(cow_store *st, uint64_t id);

/**
 * Check the whole store: root slot, catalog, every page-table node and
 * every data block against its checksum, the structure (levels, positions,
 * ranges, no block used as two things) and the reference counts. Reads
 * everything once: O(file size). A read-only handle checks the newest
 * committed root, even while a writer commits (see THREADS AND PROCESSES).
 *
 * @return 0; -EBADMSG with cow_store_errmsg(st) naming the first problem
 *         (e.g. "checkpoint 7: page 1234 (block 5678): data checksum
 *         mismatch"); -EAGAIN (read-only: the writer committed 32 times
 *         during the check); -EIO; -ENOMEM; -EINVAL (NULL).
 */
int cow_store_verify(cow_store *st);

/**
 * What the last failure of an operation on @p st was, in words (empty if
 * none). With st NULL: why the calling thread's last cow_store_open()
 * failed. The string belongs to the handle (or thread) and changes with
 * the next failure.
 */
const char *cow_store_errmsg(const cow_store *st);

/* ------------------------------------------------------------------ */
/* Background save                                                     */
/* ------------------------------------------------------------------ */

/**
 * A background save: Redis's BGSAVE without fork(). See cow_save_start().
 */
typedef struct cow_save cow_save;

/** What a background save did; see cow_save_stats_get(). */
struct cow_save_stats {
	uint64_t freeze_ns;            /**< how long the writers were held (the snapshot) */
	uint64_t written_pages;        /**< pages the saver wrote as blocks (zero pages need none and are not counted) */
	uint64_t kept_pages;           /**< pages unchanged since the last save: blocks shared */
	uint64_t spilled_pages;        /**< old pages written by a writer's fault (budget reached) */
	uint64_t preserved_pages;      /**< preserved copies held now */
	uint64_t peak_preserved_pages; /**< the most held at once (x COW_PAGE_SIZE: peak extra memory) */
};

/**
 * Save space @p s into a new checkpoint of @p st in the background.
 *
 * The freeze is a snapshot (as short as cow_snapshot()); then a thread of
 * libcow's writes the pages while the program's threads keep writing the
 * space. That thread runs at nice +10 (Linux nice values are per thread):
 * on a busy machine the program's own threads get the CPU first, and the
 * save takes longer rather than slowing them. A page the program writes before the saver reached it needs its
 * old content kept: a preserved copy, as the kernel copies pages for a
 * forked Redis. At most @p mem_budget bytes of them are held: past that,
 * the writing thread's fault writes the old page into the checkpoint itself
 * (a pwrite, no copy). A page the saver has written is dropped at once, so
 * later writes to it reuse their frame. mem_budget 0 means no preserved
 * copies at all.
 *
 * Saves of the same space to the same store are incremental: the pages not
 * written since the freeze of the previous successful save share its
 * blocks, and nothing is kept in memory between saves.
 *
 * The checkpoint is durable when cow_save_wait() returns 0. Destroying the
 * space meanwhile is allowed (the save goes on). One save per space at a
 * time; a vfork child cannot be saved (its parent can).
 *
 * @return the job (finish it with cow_save_wait() or cow_save_finish(),
 *         exactly once), or NULL with errno EINVAL (NULL, or a vfork child),
 *         EBUSY (a save of s is running), ESTALE, ENOMEM, EROFS (read-only
 *         store), EIO (the store failed before), ENOENT (the store's file
 *         is no longer at its path: see cow_store_open()).
 */
cow_save *cow_save_start(cow_store *st, cow_space *s, size_t mem_budget);

/**
 * Progress: pages handled so far and in all (either may be NULL). Any
 * thread, any time before the job is finished.
 * @return 0, -EINVAL.
 */
int cow_save_progress(const cow_save *job, uint64_t *done, uint64_t *total);

/** The save's statistics so far. @return 0, -EINVAL. */
int cow_save_stats_get(const cow_save *job, struct cow_save_stats *out);

/**
 * Wait for the save to end and free the job. On success *id (if not NULL)
 * is the new checkpoint, durable. On failure the previous checkpoints are
 * intact and the next save of the space writes what this one did not.
 * @return 0, or the error of the store (-EIO, -ENOSPC, -ENOMEM, ...).
 */
int cow_save_wait(cow_save *job, uint64_t *id);

/** cow_save_wait(), also giving the final statistics (may be NULL). */
int cow_save_finish(cow_save *job, uint64_t *id, struct cow_save_stats *stats);


/* ==================================================================== */
/* THE SPACE HEAP                                                     */
/* ==================================================================== */
/*
 * THE SPACE HEAP
 *
 * An allocator whose every byte of state lives inside a space, so that a
 * snapshot, a fork, a restored space or a loaded checkpoint is a whole,
 * consistent heap, at whatever address it is mapped.
 *
 * Positions in the heap are offsets from the space's base (cow_off), never
 * pointers: store offsets in your structures, turn them into pointers with
 * cow_heap_ptr() when you use them, and back with cow_heap_off(). Offset 0
 * means "none" (the heap's own header lives there).
 *
 * The heap takes the whole space: a 4 KiB header page (identity, your root
 * offset, counters, and every free-list head), then the blocks. Allocation
 * and free take constant time (two-level segregated free lists with
 * bitmaps, TLSF-style, and boundary tags for merging neighbours). Blocks
 * are 16-byte aligned and carry a 16-byte header; the smallest block is 32
 * bytes (16 usable). One allocation is at most 128 GiB - 32 bytes.
 *
 * Copy-on-write cost: each page first written after a snapshot or fork is
 * copied, so the heap keeps its bookkeeping writes to the header page and to
 * the pages of the blocks an operation touches (the block itself, its
 * physical neighbours when it merges or splits, and at most the free-list
 * neighbours it links or unlinks); it stores a value only when it changes.
 * Freed memory is handed out again first (last in, first out), so a program
 * that frees and allocates keeps writing the same pages.
 *
 * Errors are reported, never ignored: freeing an offset that is not the
 * start of a live block (a wild offset, a double free) returns -EINVAL and
 * changes nothing; cow_heap_check() walks the whole heap; a damaged heap
 * found on the way returns -EBADMSG (NULL or 0 with errno EBADMSG).
 * cow_heap_last_error() describes the last problem found.
 *
 * THREADS, SNAPSHOTS AND FORKS
 *
 * A handle holds a (recursive) mutex; every function below takes it, so any
 * number of threads may share one handle. The heap registers that mutex as
 * the space's freeze hooks (cow_set_freeze_hooks(): cow_snapshot(),
 * cow_fork(), cow_restore() and background saves lock the heap around the
 * instant they freeze the space). A snapshot or fork is therefore always a
 * consistent heap, even while other threads allocate and free: each of their
 * operations lands wholly before the snapshot or wholly after it. The space
 * may have no other freeze hooks while a heap handle is open on it.
 *
 * The heap's lock does not protect your own structures. To make an update of
 * yours atomic with respect to snapshots (and to the other threads using the
 * heap), hold cow_heap_lock() around it; heap functions may be called while
 * holding it (the lock is recursive), and so may cow_snapshot() of the space
 * from that same thread.
 *
 * After cow_restore() the same handle keeps working: it caches nothing from
 * the space (if the restored content holds no heap, every call returns
 * -EBADMSG). A new space that holds a heap (cow_fork(), cow_space_from_snap(),
 * a loaded checkpoint) needs its own handle: cow_heap_attach(). One handle
 * per space at a time (a second one is refused with EBUSY); close it before
 * destroying the space.
 *
 * In the child of a fork(2), handles made before the fork are stale: every
 * function returns -ESTALE (or 0/NULL with errno ESTALE), and
 * cow_heap_close() only frees the handle's memory.
 */

/** A position in a space heap: bytes from the space's base; 0 is "none". */
typedef uint64_t cow_off;

/** A process-side handle on the heap inside a space. */
typedef struct cow_heap cow_heap;

/** What a heap holds; filled by cow_heap_stats_get(). Byte counts include
 *  the 16-byte block headers. */
struct cow_heap_stats {
	uint64_t size;         /**< bytes the heap spans (its space's size) */
	uint64_t used_blocks;  /**< allocated blocks */
	uint64_t used_bytes;   /**< bytes in allocated blocks */
	uint64_t free_blocks;  /**< free blocks */
	uint64_t free_bytes;   /**< bytes in free blocks */
	uint64_t largest_free; /**< the largest size cow_heap_alloc() can return now */
};

/**
 * Make the whole of space s an empty heap (what was in s is lost) and open a
 * handle on it. Registers the heap's freeze hooks on s (see THREADS).
 *
 * @param s  a space of at least 8 KiB
 * @return the handle (caller owns it: cow_heap_close()), or NULL with errno
 *         EINVAL (NULL s, or s smaller than 8 KiB), EBUSY (s already has an
 *         open heap handle), ESTALE, ENOMEM.
 */
cow_heap *cow_heap_init(cow_space *s);

/**
 * Open a handle on the heap already in space s (a fork, a space made from a
 * snapshot, a loaded checkpoint). Validates the header only (identity and
 * checksum): O(1). Call cow_heap_check() for a full walk. Registers the
 * heap's freeze hooks on s.
 *
 * @return the handle (caller owns it: cow_heap_close()), or NULL with errno
 *         EINVAL (NULL s), EBADMSG (s holds no valid heap header), EBUSY,
 *         ESTALE, ENOMEM.
 */
cow_heap *cow_heap_attach(cow_space *s);

/**
 * Close a handle: removes the freeze hooks and frees the handle (h is
 * invalid afterwards). The heap itself stays in the space, intact, for a
 * later cow_heap_attach(). Must not race with other calls on h, nor with a
 * cow_fork(), cow_snapshot() or cow_restore() of its space, and h must not
 * be held by cow_heap_lock(). NULL is ignored.
 */
void cow_heap_close(cow_heap *h);

/**
 * Allocate @p size bytes (0 is allowed and gives a 16-byte block).
 * The content is not initialised.
 *
 * @return the block's offset (16-byte aligned), or 0 with errno EINVAL (NULL
 *         h), ENOMEM (no free block is large enough: the heap stays usable),
 *         EBADMSG (the heap is damaged), ESTALE.
 */
cow_off cow_heap_alloc(cow_heap *h, size_t size);

/**
 * Allocate @p n * @p size bytes, zero-filled.
 * @return as cow_heap_alloc(); ENOMEM also when n * size overflows.
 */
cow_off cow_heap_calloc(cow_heap *h, size_t n, size_t size);

/**
 * Resize the block at @p off to @p size bytes, in place when it can
 * (shrinking, or growing into a free block after it), else by moving it: the
 * content up to the smaller of the two sizes is kept. off == 0 is
 * cow_heap_alloc(h, size); size 0 keeps a 16-byte block (it does not free).
 *
 * @return the block's offset (the old one, or a new one: then @p off is
 *         freed), or 0 with errno EINVAL (NULL h, or off is not a live
 *         block), ENOMEM (then the block at off is unchanged and still
 *         yours), EBADMSG, ESTALE.
 */
cow_off cow_heap_realloc(cow_heap *h, cow_off off, size_t size);

/**
 * Free the block at @p off. Offset 0 is ignored.
 *
 * @return 0, -EINVAL (NULL h; or off is not the start of a live block: a
 *         wild or interior offset, or a double free; nothing is changed and
 *         cow_heap_last_error() says which), -EBADMSG (the blocks around off
 *         are damaged), -ESTALE.
 */
int cow_heap_free(cow_heap *h, cow_off off);

/**
 * Bytes usable at @p off (at least what was asked for).
 * @return the size, or 0 with errno EINVAL (NULL h, off not a live block),
 *         EBADMSG, ESTALE.
 */
size_t cow_heap_usable_size(cow_heap *h, cow_off off);

/**
 * The address of offset @p off in this process. Cheap: takes no lock.
 * @return the pointer; NULL for off == 0 (errno unchanged), or NULL with
 *         errno EINVAL (NULL h, off beyond the heap).
 */
void *cow_heap_ptr(const cow_heap *h, cow_off off);

/**
 * The offset of address @p p, inside the heap's space. Cheap: takes no lock.
 * @return the offset; 0 for p == NULL (errno unchanged), or 0 with errno
 *         EINVAL (NULL h, p outside the heap).
 */
cow_off cow_heap_off(const cow_heap *h, const void *p);

/**
 * Remember @p off (a live block, or 0 for none) as the heap's root: the
 * place your program finds its top-level structure after a load. The root
 * is stored in the heap's header and travels with snapshots and forks. The
 * heap does not clear it if you free that block.
 * @return 0, -EINVAL (NULL h, off not a live block), -EBADMSG, -ESTALE.
 */
int cow_heap_set_root(cow_heap *h, cow_off off);

/**
 * The root offset set by cow_heap_set_root(), 0 if none (errno unchanged),
 * or 0 with errno EINVAL, EBADMSG, ESTALE.
 */
cow_off cow_heap_root(cow_heap *h);

/**
 * Walk the whole heap and verify it: the header's identity and checksum,
 * every block's tag, size, alignment and flags, the boundary tags of free
 * blocks, that no two free neighbours are left unmerged, that the bitmaps
 * agree with the lists and every free block is on its list once, and the
 * counters. O(blocks); the heap is locked meanwhile.
 *
 * @param report  if not NULL, receives "ok" or a description of the first
 *                problem (truncated to @p len bytes, NUL-terminated)
 * @return 0, -EBADMSG (damaged: see report), -EINVAL (NULL h), -ESTALE.
 */
int cow_heap_check(cow_heap *h, char *report, size_t len);

/**
 * The last problem this handle found (a refused free, an allocation that did
 * not fit, damage): copies its description into @p buf (or "ok").
 * @return that error (negative errno) or 0 if none; -EINVAL (NULL h),
 *         -ESTALE.
 */
int cow_heap_last_error(cow_heap *h, char *buf, size_t len);

/**
 * Fill @p out (see struct cow_heap_stats). O(1) but for largest_free, which
 * looks through one free list.
 * @return 0, -EINVAL (NULL argument), -EBADMSG, -ESTALE.
 */
int cow_heap_stats_get(cow_heap *h, struct cow_heap_stats *out);

/**
 * Hold the heap's lock (recursive): no other thread's heap call, and no
 * snapshot, fork or restore of the space, happens until cow_heap_unlock().
 * The caller may call heap functions meanwhile.
 * @return 0, -EINVAL, -EBADMSG (not locked), -ESTALE.
 */
int cow_heap_lock(cow_heap *h);

/**
 * Drop the lock taken by cow_heap_lock().
 * @return 0, -EINVAL, -EPERM (this thread does not hold it), -ESTALE.
 */
int cow_heap_unlock(cow_heap *h);



/* ==================================================================== */
/* VALUES: COW strings, buffers, vectors                              */
/* ==================================================================== */

/*
 * COW VALUES
 *
 * cow_str (a string), cow_buf (bytes) and cow_vec (elements of one fixed
 * size) are values whose copy costs O(1), whatever their length: the bytes
 * live in one heap block with a reference count in front of them, as in the
 * reference-counted std::string of old C++ libraries, and a copy shares the
 * block (count + 1). The bytes of a shared block are never written. The first
 * write through a handle decides, as the engine's fault handler does:
 *
 *   - the block is shared (count > 1): copy the bytes into a block of the
 *     handle's own ("detach"), then write there;
 *   - the block is exclusive (count == 1): write in place, no copy ("reuse").
 *
 * HANDLES
 *
 * A handle is a small struct that the caller owns: on the stack, in an
 * array, inside another struct. Its fields are private; use the functions.
 * A zeroed handle (COW_STR_INIT, COW_BUF_INIT, COW_VEC_INIT(esize)) is the
 * empty value: it holds no memory and needs no release, yet releasing it is
 * harmless. A handle that holds bytes owns one reference to its block and
 * must be released exactly once (cow_str_release(), ...), after which it is
 * the empty value again and may be reused. Assigning one handle to another
 * with `=` does NOT take a reference: use cow_str_copy() and friends.
 *
 * A slice (cow_buf_slice(), cow_vec_slice(), cow_str_sub() of a suffix)
 * shares the block of the value it was cut from; it keeps the whole block
 * alive until it is released or written.
 *
 * Functions that fill an "out" handle overwrite it without releasing what it
 * held (pass an empty or released handle), except when out is the source
 * handle itself: then the result replaces the source, whose reference is
 * dropped. On error, out is left untouched.
 *
 * ERRORS AND LIMITS
 *
 * Functions returning int return 0 or a negative errno value; functions
 * returning a pointer return NULL and set errno. Common codes:
 *   -EINVAL     a NULL handle or pointer, a position or range outside the
 *               value, an element size of 0 or one that does not divide;
 *   -EOVERFLOW  the result would be longer than the limit: about
 *               PTRDIFF_MAX bytes (lengths times element size);
 *   -ENOMEM     out of memory;
 *   -EBUSY      *_get_mut() on a shared value.
 * A function that fails leaves every value it was given unchanged (same
 * bytes, same length, same sharing), out-of-memory included.
 *
 * THREADS
 *
 * Reference counts are C11 atomics: copying and releasing values that share
 * a block is safe from any number of threads at once (the last release frees
 * the block; acquire/release ordering makes every read of the bytes by other
 * threads happen before a reuse or the free). The rules:
 *   - functions on different handles may run concurrently, even when the
 *     handles share a block;
 *   - one handle may be read by many threads at once (data, len, refs, and
 *     copies or slices taken from it), as long as none modifies it;
 *   - one writer per handle: a call that takes a non-const handle (writes,
 *     get_mut/make_mut, release, conversions that consume it) must not run
 *     concurrently with any other use of that same handle.
 * To hand a value to another thread, copy it into a handle of that thread's
 * own: both threads can then write their handle freely.
 *
 * Values are plain heap memory (malloc): a fork(2) child gets its own copy
 * of every value, as of any heap data. No value function is
 * async-signal-safe.
 *
 * POINTERS INTO A VALUE
 *
 * *_data() pointers stay valid until the handle is written or released.
 * A writable pointer from *_get_mut() or *_make_mut() may be written through
 * only until the handle is next copied, sliced, written through a function,
 * or released: after a copy the bytes are shared, and writing through the
 * old pointer would change the copy too (C cannot forbid it, as Rust's
 * borrows do; do not keep writable pointers across copies).
 */

/** Private: the block a handle points into, and its view of it. */
struct cow__block;
struct cow__ref {
	struct cow__block *blk;	/**< NULL for the empty value */
	size_t off;		/**< first unit of the view in the block */
	size_t len;		/**< units in the view */
};

/** A string: bytes and a terminating NUL. Length excludes the NUL; the
 *  bytes may contain NULs of their own. */
typedef struct cow_str { struct cow__ref r; } cow_str;
/** Bytes. */
typedef struct cow_buf { struct cow__ref r; } cow_buf;
/** Elements of esize bytes each (fixed for the life of the handle). */
typedef struct cow_vec { struct cow__ref r; size_t esize; } cow_vec;

/** The empty string, buffer, vector of @p esize-byte elements. */
#define COW_STR_INIT { { 0, 0, 0 } }
#define COW_BUF_INIT { { 0, 0, 0 } }
#define COW_VEC_INIT(esize) { { 0, 0, 0 }, (esize) }

/* ---- strings ------------------------------------------------------- */

/**
 * Make *out a new string holding a copy of the C string @p s.
 *
 * @param out  handle to fill (overwritten, see HANDLES)
 * @param s    NUL-terminated string
 * @return 0, -EINVAL (NULL argument), -EOVERFLOW, -ENOMEM.
 */
int cow_str_new(cow_str *out, const char *s);

/**
 * Make *out a new string holding a copy of the @p len bytes at @p p (which
 * may contain NULs); a NUL is added after them.
 *
 * @param p  the bytes; may be NULL when len is 0
 * @return 0, -EINVAL (NULL out, or NULL p with len > 0), -EOVERFLOW, -ENOMEM.
 */
int cow_str_newn(cow_str *out, const char *p, size_t len);

/**
 * Copy a string in O(1): *dst shares src's bytes (count + 1); no byte is
 * copied until one of them is written. cow_str_copy(&s, &s) does nothing.
 *
 * @return 0, -EINVAL (NULL argument).
 * @note Thread-safe against any use of other handles sharing the bytes, and
 *       against concurrent reads of *src.
 */
int cow_str_copy(cow_str *dst, const cow_str *src);

/**
 * Release a string: drop its reference (the last one frees the bytes) and
 * make *s the empty string. NULL and empty strings are ignored.
 */
void cow_str_release(cow_str *s);

/**
 * The string's bytes, NUL-terminated, usable with any C string function
 * ("" for the empty string). Valid until *s is written or released.
 *
 * @return the bytes, or NULL with errno EINVAL (NULL s).
 */
const char *cow_str_data(const cow_str *s);

/** Bytes in the string, not counting the NUL; 0 for NULL. */
size_t cow_str_len(const cow_str *s);

/**
 * How many handles share the string's bytes: 0 for the empty string (and
 * NULL), 1 when *s is the only one, more when shared. Only a hint when other
 * threads copy or release handles sharing the same bytes.
 */
size_t cow_str_refs(const cow_str *s);

/**
 * Fail-if-shared write access (Rust's get_mut): when *s is the only handle
 * of its bytes, return them writable (len bytes; the NUL after them is not
 * yours to write); when they are shared, fail and copy nothing. The empty
 * string gets a pointer to no writable byte at all.
 *
 * @return the bytes, or NULL with errno EINVAL (NULL s), EBUSY (shared).
 *         See POINTERS INTO A VALUE for how long the pointer may be used.
 */
char *cow_str_get_mut(cow_str *s);

/**
 * Copy-if-shared write access (Rust's make_mut): when the bytes are shared,
 * copy them into a block of *s's own first (detach); then return them
 * writable (len bytes; not the NUL).
 *
 * @return the bytes, or NULL with errno EINVAL (NULL s), ENOMEM (the copy
 *         failed; *s unchanged).
 */
char *cow_str_make_mut(cow_str *s);

/**
 * Append @p n bytes at @p p. In place when *s is unshared and has room;
 * otherwise into a new block (amortized O(1) per byte). @p p may point into
 * *s itself or any value.
 *
 * @return 0, -EINVAL (NULL s, or NULL p with n > 0), -EOVERFLOW, -ENOMEM.
 */
int cow_str_append(cow_str *s, const char *p, size_t n);

/**
 * Insert @p n bytes at @p p before byte @p pos (0 <= pos <= len).
 * @return 0, -EINVAL (NULL, or pos > len), -EOVERFLOW, -ENOMEM.
 */
int cow_str_insert(cow_str *s, size_t pos, const char *p, size_t n);

/**
 * Remove the @p n bytes at @p pos. Removing a prefix of a shared string
 * shares the rest (no copy).
 * @return 0, -EINVAL (NULL s, or [pos, pos+n) not inside the string),
 *         -ENOMEM (a shared string was copied and the copy failed).
 */
int cow_str_erase(cow_str *s, size_t pos, size_t n);

/**
 * Set the length to @p len: cut the end, or pad with @p fill bytes.
 * @return 0, -EINVAL (NULL s), -EOVERFLOW, -ENOMEM.
 */
int cow_str_resize(cow_str *s, size_t len, char fill);

/**
 * Make room for @p cap bytes (plus the NUL) in a block of *s's own, so that
 * writes up to that length need no allocation. Copies the bytes when they
 * are shared or the block is too small.
 * @return 0, -EINVAL (NULL s), -EOVERFLOW, -ENOMEM.
 */
int cow_str_reserve(cow_str *s, size_t cap);

/**
 * *out becomes the @p n bytes of *s at @p pos. A suffix (pos + n == len)
 * shares the bytes in O(1); any other substring is copied, since a C string
 * needs its NUL right after its last byte.
 *
 * @return 0, -EINVAL (NULL argument, or [pos, pos+n) not inside *s),
 *         -ENOMEM.
 */
int cow_str_sub(cow_str *out, const cow_str *s, size_t pos, size_t n);

/**
 * Convert a buffer into a string, consuming the buffer: on success *b is
 * the empty buffer. When *b was the only handle of its bytes they are
 * stolen (no copy; the block grows by one byte for the NUL only if it has no
 * room); when shared they are copied.
 *
 * @return 0, -EINVAL (NULL argument), -EOVERFLOW, -ENOMEM (*b unchanged).
 */
int cow_str_from_buf(cow_str *out, cow_buf *b);

/* ---- buffers ------------------------------------------------------- */

/**
 * Make *out a new buffer holding a copy of the @p len bytes at @p p.
 * @param p  the bytes; may be NULL when len is 0
 * @return 0, -EINVAL (NULL out, or NULL p with len > 0), -EOVERFLOW,
 *         -ENOMEM.
 */
int cow_buf_new(cow_buf *out, const void *p, size_t len);

/** Copy a buffer in O(1) (shares the bytes); as cow_str_copy(). */
int cow_buf_copy(cow_buf *dst, const cow_buf *src);

/** Release a buffer; as cow_str_release(). */
void cow_buf_release(cow_buf *b);

/**
 * The buffer's bytes (a non-NULL pointer, even for the empty buffer, whose
 * 0 bytes must not be read). Valid until *b is written or released.
 * @return the bytes, or NULL with errno EINVAL (NULL b).
 */
const void *cow_buf_data(const cow_buf *b);

/** Bytes in the buffer; 0 for NULL. */
size_t cow_buf_len(const cow_buf *b);

/** Handles sharing the bytes; as cow_str_refs(). */
size_t cow_buf_refs(const cow_buf *b);

/** Fail-if-shared write access; as cow_str_get_mut() (errno EINVAL, EBUSY). */
void *cow_buf_get_mut(cow_buf *b);

/** Copy-if-shared write access; as cow_str_make_mut() (errno EINVAL, ENOMEM). */
void *cow_buf_make_mut(cow_buf *b);

/**
 * Append @p n bytes at @p p (which may point into any value, *b included).
 * @return 0, -EINVAL (NULL b, or NULL p with n > 0), -EOVERFLOW, -ENOMEM.
 */
int cow_buf_append(cow_buf *b, const void *p, size_t n);

/**
 * Insert @p n bytes at @p p before byte @p pos (0 <= pos <= len).
 * @return 0, -EINVAL (NULL, or pos > len), -EOVERFLOW, -ENOMEM.
 */
int cow_buf_insert(cow_buf *b, size_t pos, const void *p, size_t n);

/**
 * Remove the @p n bytes at @p pos. Removing a prefix or a suffix never
 * copies (a shared buffer just narrows its view); removing from the middle
 * of a shared buffer copies the rest.
 * @return 0, -EINVAL (NULL b, or [pos, pos+n) not inside), -ENOMEM.
 */
int cow_buf_erase(cow_buf *b, size_t pos, size_t n);

/**
 * Set the length to @p len: cut the end (no copy) or add zero bytes.
 * @return 0, -EINVAL (NULL b), -EOVERFLOW, -ENOMEM.
 */
int cow_buf_resize(cow_buf *b, size_t len);

/** Make room for @p cap bytes in a block of *b's own; as cow_str_reserve(). */
int cow_buf_reserve(cow_buf *b, size_t cap);

/**
 * *out becomes the @p n bytes of *b at @p pos, sharing them in O(1): no byte
 * is copied until one side is written.
 * @return 0, -EINVAL (NULL argument, or [pos, pos+n) not inside *b).
 */
int cow_buf_slice(cow_buf *out, const cow_buf *b, size_t pos, size_t n);

/**
 * Convert a string into a buffer (the NUL is not part of it), consuming the
 * string: on success *s is the empty string. Always O(1): the reference
 * moves, whether the bytes are shared or not.
 * @return 0, -EINVAL (NULL argument).
 */
int cow_buf_from_str(cow_buf *out, cow_str *s);

/**
 * Convert a vector into a buffer of its len * esize bytes, consuming the
 * vector (on success *v is empty, its element size kept). Always O(1).
 * @return 0, -EINVAL (NULL argument).
 */
int cow_buf_from_vec(cow_buf *out, cow_vec *v);

/* ---- vectors ------------------------------------------------------- */

/**
 * Make *v the empty vector of @p esize-byte elements (same as
 * COW_VEC_INIT(esize)). Holds no memory.
 * @return 0, -EINVAL (NULL v, esize 0).
 */
int cow_vec_init(cow_vec *v, size_t esize);

/**
 * Make *out a new vector of @p esize-byte elements holding a copy of the
 * @p n elements at @p elems. The elements are plain bytes to libcow, copied
 * with memcpy; their alignment is kept for any type whose size is esize.
 *
 * @param elems  the elements; may be NULL when n is 0
 * @return 0, -EINVAL (NULL out, esize 0, NULL elems with n > 0),
 *         -EOVERFLOW (n * esize too large), -ENOMEM.
 */
int cow_vec_new(cow_vec *out, size_t esize, const void *elems, size_t n);

/** Copy a vector in O(1) (shares the elements); as cow_str_copy(). *dst
 *  takes *src's element size. -EINVAL also when *src has no element size. */
int cow_vec_copy(cow_vec *dst, const cow_vec *src);

/** Release a vector; as cow_str_release(). The element size is kept. */
void cow_vec_release(cow_vec *v);

/**
 * The elements, contiguous (non-NULL even when empty).
 * @return the elements, or NULL with errno EINVAL (NULL v).
 */
const void *cow_vec_data(const cow_vec *v);

/** Elements in the vector; 0 for NULL. */
size_t cow_vec_len(const cow_vec *v);

/** The element size in bytes; 0 for NULL. */
size_t cow_vec_esize(const cow_vec *v);

/** Handles sharing the elements; as cow_str_refs(). */
size_t cow_vec_refs(const cow_vec *v);

/**
 * Element @p i, read-only; valid as cow_vec_data().
 * @return the element, or NULL with errno EINVAL (NULL v, i >= len).
 */
const void *cow_vec_at(const cow_vec *v, size_t i);

/** Fail-if-shared write access; as cow_str_get_mut() (errno EINVAL, EBUSY). */
void *cow_vec_get_mut(cow_vec *v);

/** Copy-if-shared write access; as cow_str_make_mut() (errno EINVAL, ENOMEM). */
void *cow_vec_make_mut(cow_vec *v);

/**
 * Append one element (esize bytes at @p elem).
 * @return 0, -EINVAL (NULL argument), -EOVERFLOW, -ENOMEM.
 */
int cow_vec_push(cow_vec *v, const void *elem);

/**
 * Append @p n elements at @p elems (which may point into any value).
 * @return 0, -EINVAL (NULL v, or NULL elems with n > 0), -EOVERFLOW,
 *         -ENOMEM.
 */
int cow_vec_append(cow_vec *v, const void *elems, size_t n);

/**
 * Insert @p n elements before element @p pos (0 <= pos <= len).
 * @return 0, -EINVAL (NULL, or pos > len), -EOVERFLOW, -ENOMEM.
 */
int cow_vec_insert(cow_vec *v, size_t pos, const void *elems, size_t n);

/**
 * Remove the @p n elements at @p pos; a prefix or suffix never copies.
 * @return 0, -EINVAL (NULL v, or [pos, pos+n) not inside), -ENOMEM.
 */
int cow_vec_erase(cow_vec *v, size_t pos, size_t n);

/**
 * Set the length to @p n elements: cut the end (no copy) or add zeroed
 * elements.
 * @return 0, -EINVAL (NULL v), -EOVERFLOW, -ENOMEM.
 */
int cow_vec_resize(cow_vec *v, size_t n);

/** Make room for @p cap elements in a block of *v's own; as cow_str_reserve(). */
int cow_vec_reserve(cow_vec *v, size_t cap);

/**
 * *out becomes the @p n elements of *v at @p pos, sharing them in O(1);
 * *out takes *v's element size.
 * @return 0, -EINVAL (NULL argument, or [pos, pos+n) not inside *v).
 */
int cow_vec_slice(cow_vec *out, const cow_vec *v, size_t pos, size_t n);

/**
 * Convert a buffer into a vector of @p esize-byte elements, consuming the
 * buffer (on success *b is empty). The bytes are stolen when they start at
 * a multiple of esize in their block (always so for a buffer that is not a
 * slice) and copied otherwise, so elements stay aligned.
 *
 * @return 0, -EINVAL (NULL argument, esize 0, or the length is not a
 *         multiple of esize), -ENOMEM (*b unchanged).
 */
int cow_vec_from_buf(cow_vec *out, cow_buf *b, size_t esize);

/* ---- statistics ---------------------------------------------------- */

/**
 * What copy-on-write did for all values of the process since the start (or
 * the last cow_value_stats_reset()). Copies avoided: shares - detaches
 * (bytes: bytes_shared - bytes_detached).
 */
struct cow_value_stats {
	uint64_t allocs;	 /**< blocks allocated */
	uint64_t frees;		 /**< blocks freed (allocs - frees are alive) */
	uint64_t shares;	 /**< O(1) copies and slices: count + 1, no byte copied */
	uint64_t bytes_shared;	 /**< bytes those shares did not copy */
	uint64_t detaches;	 /**< writes that found the bytes shared and copied them */
	uint64_t bytes_detached; /**< bytes copied by those detaches */
	uint64_t reuses;	 /**< writes that found the bytes unshared: no copy */
	uint64_t steals;	 /**< conversions that took the bytes without a copy */
};

/**
 * Read the process-wide value statistics. Counters are updated with relaxed
 * atomics: each is exact once the threads that use values are quiet.
 * @return 0, -EINVAL (NULL out).
 */
int cow_value_stats_get(struct cow_value_stats *out);

/** Set every value statistic to 0 (allocs and frees included). */
void cow_value_stats_reset(void);


/* ==================================================================== */
/* end of sections                                                      */
/* ==================================================================== */

#ifdef __cplusplus
}
#endif

#endif /* COW_H */
