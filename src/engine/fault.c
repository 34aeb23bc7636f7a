/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fault.c — the write fault: the textbook's decision, made by the MMU's
 * signal in the thread that wrote.
 *
 * A write to a write-protected page of a space raises SIGBUS (uffd backend)
 * or SIGSEGV (mprotect backend). The handler finds the space, and then, as
 * the kernel does after fork():
 *
 *   frame exclusive (count == 1)  -> reuse: lift the protection, no copy;
 *   frame shared, at the writer's home
 *                                 -> copy the old content once for the other
 *                                    sharers, then the writer writes in place;
 *   frame shared, borrowed        -> copy it into the writer's home frame and
 *                                    map that instead.
 *
 * The handler takes the engine lock. A thread never holds that lock while
 * running user code, so a faulting thread can always take it. Faults that are
 * not libcow's go to the handler installed before libcow's, or to the default
 * action (a stray NULL write crashes as usual).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static struct sigaction old_segv, old_bus;

/*
 * cow__preserve — the writer m is about to write page i, whose frame f is at
 * m's home and shared. Copy f once into the home frame of one other sharer
 * (a mapped space if there is one: it then owns its copy and stays compact),
 * and point every other sharer there. Afterwards f is m's alone.
 * Returns 0 or -errno (a remap refused by the kernel).
 */
int cow__preserve(struct cow__member *m, size_t i)
{
	cow__frame f = m->pt[i], dest;
	struct cow__member *best = NULL;
	uint32_t sharers = 0;
	int err = 0;

	for (struct cow__member *y = m->fam->head; y; y = y->fam_next) {
		if (y == m || y->pt[i] != f)
			continue;
		if (!best || (y->addr && (!best->addr || y->kind == COW__KIND_SPACE)))
			best = y;
	}
	if (!best)
		return 0;
	dest = cow__home(best, i);
	if (m->addr) {
		/* m's page still shows f: copy from there, no window faults. */
		err = cow__frame_fill(dest, m->addr + (i << COW__PAGE_SHIFT));
		if (err)
			return err;
	} else {
		err = cow__frame_copy(dest, f);
		if (err)
			return err;
	}
	for (struct cow__member *y = m->fam->head; y; y = y->fam_next) {
		if (y == m || y->pt[i] != f)
			continue;
		int e = cow__remap_page(y, i, dest, true);

		sharers++;
		if (y->save)
			cow__save_preserved(y, i);
		if (e && !err)
			err = e;
	}
	cow__frame_set_ref(dest, sharers);
	cow__frame_set_ref(f, 1);
	return err;
}

/*
 * cow__resolve — resolve a write to page i of mapped space m: afterwards the
 * page is writable and m's alone. Also used by cow_prefault(). Engine lock
 * held. Returns 0 or -errno from the kernel (remap or protection refused).
 */
int cow__resolve(struct cow__member *m, size_t i)
{
	cow__frame f, home = cow__home(m, i);
	int err;

	if (m->alias_of)
		return cow__alias_resolve(m, i);
	/* The parent of a living vfork child waits for it to exit or exec. */
	cow__vfork_wait(m);
	f = m->pt[i];
	if (!cow__wp_test(m, i)) {
		/* Another thread resolved it first; make sure the kernel agrees. */
		return cow__be->unprotect(m->addr + (i << COW__PAGE_SHIFT), COW__PAGE);
	}
	m->st.faults++;
	cow__dirty_set(m, i);
	/* A background save over its memory budget takes the old page now. */
	if (f == home && cow__frame_ref(f) > 1)
		cow__save_spill(m, i);
	if (cow__frame_ref(f) == 1 && !cow__frame_is_image(f)) {
		/* Exclusive: reuse the frame in place, no copy. */
		m->st.reuses++;
		return cow__unprotect_range(m, i, 1);
	}
	/* Shared: we need to copy. */
	m->st.copies++;
	if (f == home) {
		err = cow__preserve(m, i);
		return err ? err : cow__unprotect_range(m, i, 1);
	}
	err = cow__frame_fill(home, m->addr + (i << COW__PAGE_SHIFT));
	if (err)
		return err;
	cow__frame_get(home);
	cow__frame_put(f);
	return cow__remap_page(m, i, home, false);
}

/* Pass a fault that is not libcow's to whoever handled it before. */
static void chain(int sig, siginfo_t *si, void *uc)
{
	struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;

	if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
		old->sa_sigaction(sig, si, uc);
		return;
	}
	if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		return;
	}
	/*
	 * Default action: restore it; a fault re-executes the instruction and
	 * dies of it the normal way (with a core dump); a signal sent by a
	 * process is raised again.
	 */
	signal(sig, SIG_DFL);
	if (si->si_code <= 0)
		raise(sig);
}

static bool is_write_fault(int sig, const siginfo_t *si)
{
	if (sig == SIGSEGV)
		return si->si_code == SEGV_ACCERR;
	return si->si_code == BUS_ADRERR;
}

/*
 * Is addr in a page of m mapped from an image file? Writes to those raise
 * SIGSEGV (they are read-only mappings); a SIGBUS there means the file
 * could not be read (it shrank, or an I/O error), which the program must see.
 */
static bool image_page(const struct cow__member *m, const void *addr)
{
	size_t i = (size_t)((const char *)addr - m->addr) >> COW__PAGE_SHIFT;

	return cow__frame_is_image(m->pt[i]);
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	int saved_errno = errno;
	struct cow__member *m;
	int err = 0;

	/* A fault inside libcow itself is a bug, never a copy-on-write. */
	if (cow__in_engine || !cow__be || !is_write_fault(sig, si)) {
		chain(sig, si, uc);
		errno = saved_errno;
		return;
	}
	cow__engine_lock();
	m = cow__registry_find(si->si_addr);
	if (m && sig == SIGBUS && image_page(m, si->si_addr))
		m = NULL;	/* an image file's read error: not a write fault */
	if (m) {
		size_t i = (size_t)((char *)si->si_addr - m->addr) >> COW__PAGE_SHIFT;

		err = cow__resolve(m, i);
		if (!err)
			err = cow__defrag_pending();
	}
	cow__engine_unlock();
	if (err)
		cow__die("cannot resolve a write fault", err);
	if (!m)
		chain(sig, si, uc);
	errno = saved_errno;
}

/* Install on_fault for sig unless it is there already; remember the old. */
static int install(int sig, struct sigaction *old)
{
	struct sigaction sa, cur;

	if (sigaction(sig, NULL, &cur))
		return -errno;
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_fault)
		return 0;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &cur))
		return -errno;
	*old = cur;
	return 0;
}

/*
 * cow__install_handlers — install the fault handler for SIGSEGV and SIGBUS,
 * remembering the previous handlers. 0 or -errno.
 */
int cow__install_handlers(void)
{
	int err = install(SIGSEGV, &old_segv);

	return err ? err : install(SIGBUS, &old_bus);
}

COW_API int cow_install_handlers(void)
{
	int err = cow__ensure_init();

	return err ? err : cow__install_handlers();
}
