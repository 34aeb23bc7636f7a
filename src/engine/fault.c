/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fault.c — the write fault's entry: the signal handlers.
 *
 * A write to a write-protected page of a space raises SIGBUS (uffd backend)
 * or SIGSEGV (mprotect backend, and writes to read-only file pages under
 * either). The handler decides whether the fault is libcow's — a write,
 * by the processor's own account, to a page of a registered space, not
 * taken inside libcow — and if so hands it to cow__page_write() (page.c),
 * where the textbook's decision is made: exclusive -> reuse, shared -> copy.
 *
 * Everything else goes to the handler installed before libcow's, or to the
 * default action, so a stray NULL write, a jump into a space or a write to
 * a read-only snapshot view dies of its signal as it would without libcow.
 *
 * The handler takes the engine lock. A thread never holds that lock while
 * running user code, so a faulting thread can always take it.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"

static struct sigaction old_segv, old_bus;

/*
 * Pass a fault that is not libcow's to whoever handled it before, as the
 * kernel would have delivered it: with the old handler's mask (and the
 * signal itself unless SA_NODEFER) blocked while it runs, and the
 * disposition reset first if it asked for SA_RESETHAND.
 */
static void chain(int sig, siginfo_t *si, void *uc)
{
	struct sigaction *saved = sig == SIGSEGV ? &old_segv : &old_bus;
	struct sigaction old = *saved;
	sigset_t mask, prev;

	if (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN) {
		/*
		 * Default action (a fault cannot be ignored: the kernel kills
		 * for it too): restore it; a fault re-executes the instruction
		 * and dies of it the normal way (with a core dump); a signal sent
		 * by a process is raised again.
		 */
		signal(sig, SIG_DFL);
		if (si->si_code <= 0)
			raise(sig);
		return;
	}
	if (old.sa_flags & SA_RESETHAND) {
		saved->sa_handler = SIG_DFL;
		saved->sa_flags &= ~SA_SIGINFO;
	}
	mask = old.sa_mask;
	if (!(old.sa_flags & SA_NODEFER))
		sigaddset(&mask, sig);
	pthread_sigmask(SIG_BLOCK, &mask, &prev);
	if (old.sa_flags & SA_SIGINFO)
		old.sa_sigaction(sig, si, uc);
	else
		old.sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &prev, NULL);
}

/*
 * Is this fault a write by the program to memory, by the processor's own
 * account? On x86-64 the page-fault error code is in the signal context:
 * bit 1 write, bit 4 instruction fetch. Elsewhere only the signal's code is
 * known: an access to a mapped page (SEGV_ACCERR) or the userfaultfd's
 * SIGBUS (BUS_ADRERR).
 */
static bool is_write_fault(int sig, const siginfo_t *si, const void *ucv)
{
	if (si->si_code <= 0)
		return false;		/* sent by a process, not a fault */
	if (sig == SIGSEGV ? si->si_code != SEGV_ACCERR : si->si_code != BUS_ADRERR)
		return false;
#if defined(__x86_64__)
	{
		const ucontext_t *uc = ucv;
		unsigned long err = (unsigned long)uc->uc_mcontext.gregs[REG_ERR];

		if (uc->uc_mcontext.gregs[REG_TRAPNO] != 14)
			return false;	/* not a page fault */
		return (err & 2) && !(err & 16);
	}
#else
	(void)ucv;
	return true;
#endif
}
/*
 * Is addr in a page of m mapped from an image file? Writes to those raise
 * SIGSEGV (they are read-only mappings); a SIGBUS there means the file
 * could not be read (it shrank, or an I/O error), which the program must see.
 */
static bool image_page(const struct cow__member *m, const void *addr)
{
	size_t i = (size_t)((const char *)addr - m->addr) >> COW__PAGE_SHIFT;

	return cow__frame_is_image(cow__frame_at(m, i));
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	int saved_errno = errno;
	struct cow__member *m;
	int err = 0;

	/* A fault inside libcow itself is a bug, never a copy-on-write. */
	if (cow__in_engine || !cow__be || !is_write_fault(sig, si, uc)) {
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

		err = cow__page_write(m, i);
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

/*
 * Install on_fault for sig unless it is there already. The previous handler
 * is recorded before libcow's goes live, so a fault in between already
 * finds where to chain (and if another thread changed the disposition in
 * between, what it set is what is chained to).
 */
static int install(int sig, struct sigaction *old)
{
	struct sigaction sa, cur, prev;

	if (sigaction(sig, NULL, &cur))
		return -errno;
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_fault)
		return 0;
	*old = cur;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &prev))
		return -errno;
	if (memcmp(&prev, &cur, sizeof prev))
		*old = prev;
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
