/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * engine.c — the engine's global state: one lock, initialisation, and what
 * happens to libcow in the child of a real fork().
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

/*
 * One lock serialises every change to frames, page tables and mappings,
 * including the ones the fault handler makes. A thread never holds it while
 * running user code, and libcow never writes into a space's mapping while
 * holding it, so a faulting thread can always take it.
 */
pthread_mutex_t cow__lock = PTHREAD_MUTEX_INITIALIZER;
uint64_t cow__gen = 1;
__thread int cow__in_engine __attribute__((tls_model("initial-exec")));
const struct cow__backend *cow__be;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_err;

void cow__engine_lock(void)
{
	pthread_mutex_lock(&cow__lock);
	cow__in_engine++;
}

void cow__engine_unlock(void)
{
	cow__in_engine--;
	pthread_mutex_unlock(&cow__lock);
}

/*
 * cow__die — a fault that cannot be resolved (the kernel refused a mapping
 * or protection change). The faulting write cannot be completed or failed,
 * so, like the kernel's OOM killer, libcow ends the process, with a message.
 * Async-signal-safe.
 */
void cow__die(const char *what, int err)
{
	char buf[256];
	size_t n = 0;
	const char *msg = cow_strerror(err);

#define PUT(s) do { size_t l_ = strlen(s); if (n + l_ > sizeof buf - 2) l_ = sizeof buf - 2 - n; memcpy(buf + n, s, l_); n += l_; } while (0)
	PUT("libcow: fatal: ");
	PUT(what);
	PUT(": ");
	PUT(msg);
	buf[n++] = '\n';
#undef PUT
	if (write(STDERR_FILENO, buf, n) < 0) {
		/* nothing more we can do */
	}
	abort();
}

/*
 * cow__engine_mem — bytes of zeroed memory for engine bookkeeping, used as
 * touched (MAP_NORESERVE) and not inherited by a fork() child
 * (MADV_DONTFORK: a real fork() must not copy engine state; each module
 * resets what it had with COW__AT_FORK_CHILD). NULL: no address space.
 */
void *cow__engine_mem(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, bytes, MADV_DONTFORK);
	return p;
}

/* What each module registered to reset in a fork() child. */
#define AT_FORK_MAX 16
static void (*at_fork_child[AT_FORK_MAX])(void);
static unsigned n_at_fork_child;

/* cow__at_fork_child — call fn in the child of every fork() (at load time). */
void cow__at_fork_child(void (*fn)(void))
{
	if (n_at_fork_child == AT_FORK_MAX)
		cow__die("too many fork() resets", -ENOMEM);
	at_fork_child[n_at_fork_child++] = fn;
}

static void atfork_prepare(void)
{
	pthread_mutex_lock(&cow__lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&cow__lock);
}

/*
 * In the child of fork(): the spaces' mappings and the engine's bookkeeping
 * were not inherited (MADV_DONTFORK). Every handle from before is stale
 * (new generation); each module forgets its state (what it registered with
 * COW__AT_FORK_CHILD); the next call starts a new frame store. The engine
 * lock is held by this thread (atfork_prepare took it), so nothing can have
 * been half-changed: it is released, not re-initialised. Nothing here asks
 * the kernel for anything new (fork+exec stays cheap).
 */
static void atfork_child(void)
{
	cow__gen++;
	for (unsigned k = 0; k < n_at_fork_child; k++)
		at_fork_child[k]();
	if (cow__be && cow__be->reset_after_fork)
		cow__be->reset_after_fork();
	pthread_mutex_unlock(&cow__lock);
}

static const struct cow__backend *backend_choose(int *err)
{
	const char *want = getenv("COW_BACKEND");
	int e;

	if (want && *want && strcmp(want, "uffd") && strcmp(want, "mprotect")) {
		*err = -EINVAL;
		return NULL;
	}
	if (!want || !*want || !strcmp(want, "uffd")) {
		e = cow__backend_uffd.init();
		if (!e)
			return &cow__backend_uffd;
		if (want && *want) {
			*err = e;
			return NULL;
		}
	}
	e = cow__backend_mprotect.init();
	if (e) {
		*err = e;
		return NULL;
	}
	return &cow__backend_mprotect;
}

static void engine_init(void)
{
	const struct cow__backend *be = backend_choose(&init_err);

	if (!be)
		return;
	init_err = cow__install_handlers();
	if (init_err)
		return;
	cow__be = be;
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/*
 * cow__ensure_init — choose the backend and install the fault handlers,
 * once per process. Returns 0 or -errno (and sets errno).
 */
int cow__ensure_init(void)
{
	pthread_once(&init_once, engine_init);
	if (init_err)
		errno = -init_err;
	return init_err;
}

COW_API const char *cow_backend_name(void)
{
	if (cow__ensure_init())
		return NULL;
	return cow__be->name;
}
