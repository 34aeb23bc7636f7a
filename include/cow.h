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
