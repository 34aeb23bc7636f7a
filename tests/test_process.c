/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libcow in a real process: fault handler chaining, crashes that must stay
 * crashes, a real fork(), and system calls that write into a space.
 * Anything that may crash runs in a child process.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cow.h>
#include <pthread.h>
#include <stdio.h>

#include "testlib.h"
#include "internal.h"

#define P COW_PAGE_SIZE

static void expect_signal(int status, int sig)
{
	if (!WIFSIGNALED(status))
		fail_msg("child did not die of a signal (status %#x)", status);
	assert_int_equal(WTERMSIG(status), sig);
}

static void expect_exit(int status, int code)
{
	if (!WIFEXITED(status))
		fail_msg("child died of signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
	assert_int_equal(WEXITSTATUS(status), code);
}

/* In a child: reset to default handlers, then let libcow install its own. */
static void child_defaults(void)
{
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
}

/* The NULL store is the point of this test: keep UBSan from reporting it. */
__attribute__((no_sanitize("undefined")))
static void null_write(void *arg)
{
	cow_space *s;

	child_defaults();
	s = cow_space_create(P, 0);
	cow_snap_release(cow_snapshot(s));
	((char *)cow_base(s))[0] = 1;		/* libcow's fault: fine */
	*(volatile char *)arg = 1;		/* a stray write: must crash */
	_exit(0);
}

static void stray_null_write_still_crashes(void **state)
{
	expect_signal(t_in_child(null_write, NULL), SIGSEGV);
}

static void view_write(void *arg)
{
	cow_space *s;
	cow_snap *x;

	child_defaults();
	s = cow_space_create(P, 0);
	x = cow_snapshot(s);
	((volatile char *)cow_snap_map(x))[0] = 1;
	_exit(0);
}

static void writing_a_view_crashes(void **state)
{
	expect_signal(t_in_child(view_write, NULL), SIGSEGV);
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	_exit(42);
}

static void chained(void *arg)
{
	struct sigaction sa;
	cow_space *s;
	char *ro;

	child_defaults();
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);		/* the program's handler first */
	s = cow_space_create(4 * P, 0);		/* then libcow's */
	cow_snap_release(cow_snapshot(s));
	memset(cow_base(s), 7, 4 * P);		/* libcow's faults stay libcow's */
	ro = mmap(NULL, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro[0] = 1;				/* not libcow's: the program's handler */
	_exit(0);
}

static void foreign_faults_reach_the_previous_handler(void **state)
{
	expect_exit(t_in_child(chained, NULL), 42);
}

static void after_fork(void *arg)
{
	cow_space *s = arg, *t;
	cow_snap *x;
	char *b;

	/* The parent's space is stale here, and its memory is not mapped. */
	if (cow_base(s) != NULL || errno != ESTALE)
		_exit(10);
	if (cow_fork(s) != NULL || errno != ESTALE)
		_exit(11);
	if (cow_snapshot(s) != NULL || errno != ESTALE)
		_exit(12);
	cow_space_destroy(s);			/* does nothing, does not crash */
	/* The child can use libcow afresh. */
	t = cow_space_create(8 * P, 0);
	if (!t)
		_exit(14);
	b = cow_base(t);
	memset(b, 'c', 8 * P);
	x = cow_snapshot(t);
	b[0] = 'd';
	{
		char c;

		if (cow_snap_read(x, 0, &c, 1) || c != 'c')
			_exit(15);
	}
	cow_snap_release(x);
	cow_space_destroy(t);
	_exit(0);
}

static void real_fork_child_gets_no_spaces(void **state)
{
	T_START();
	cow_space *s = cow_space_create(8 * P, 0);
	char *b = cow_base(s);
	cow_snap *x;

	memset(b, 'p', 8 * P);
	x = cow_snapshot(s);
	expect_exit(t_in_child(after_fork, s), 0);
	/* The parent is unaffected: its space, snapshot and faults work. */
	assert_int_equal(b[0], 'p');
	b[0] = 'q';
	{
		char c;

		assert_int_equal(cow_snap_read(x, 0, &c, 1), 0);
		assert_int_equal(c, 'p');
	}
	cow_snap_release(x);
	cow_space_destroy(s);
}

static void child_touches_parent_space(void *arg)
{
	child_defaults();
	*(volatile char *)arg = 1;
	_exit(0);
}

static void parent_space_is_unmapped_in_child(void **state)
{
	T_START();
	cow_space *s = cow_space_create(P, 0);

	expect_signal(t_in_child(child_touches_parent_space, cow_base(s)), SIGSEGV);
	cow_space_destroy(s);
}

static void read_syscall_into_a_space(void **state)
{
	T_START();
	cow_space *s = cow_space_create(4 * P, 0);
	char *b = cow_base(s);
	int fds[2];
	cow_snap *x;
	char c;

	memset(b, 'o', 4 * P);
	x = cow_snapshot(s);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "new!", 4), 4);
	/* The kernel does not raise libcow's fault: the read fails. */
	errno = 0;
	assert_int_equal(read(fds[0], b + P, 4), -1);
	assert_int_equal(errno, EFAULT);
	/* cow_prefault makes the range writable first; then it works. */
	assert_int_equal(cow_prefault(s, b + P, 4), 0);
	assert_int_equal(read(fds[0], b + P, 4), 4);
	assert_memory_equal(b + P, "new!", 4);
	assert_int_equal(cow_snap_read(x, P, &c, 1), 0);
	assert_int_equal(c, 'o');
	close(fds[0]);
	close(fds[1]);
	cow_snap_release(x);
	cow_space_destroy(s);
}

/* Jump into a page of a space (protected or not): an instruction fetch is
 * never a copy-on-write, so the program dies of SIGSEGV instead of looping. */
static void jump_into(void *arg)
{
	cow_space *s;
	char *b;
	void (*fn)(void);

	child_defaults();
	alarm(10);				/* a hang dies of SIGALRM instead */
	cow_install_handlers();			/* libcow may be initialised already */
	s = cow_space_create(2 * P, 0);
	b = cow_base(s);
	memset(b, 0xc3, 2 * P);			/* "ret" everywhere */
	cow_snap_release(cow_snapshot(s));	/* every page protected again */
	b[P] = (char)0xc3;			/* page 1 writable again */
	fn = (void (*)(void))(void *)(b + (arg ? P : 0));
	fn();
	_exit(0);
}

static void jumping_into_a_space_crashes(void **state)
{
	expect_signal(t_in_child(jump_into, NULL), SIGSEGV);	/* protected page */
	expect_signal(t_in_child(jump_into, (void *)1), SIGSEGV);	/* writable page */
}

static volatile sig_atomic_t handled;
static char *ro_pages;

/* The program's handler: was SIGUSR1 (its sa_mask) blocked while it ran? */
static void on_segv_masked(int sig, siginfo_t *si, void *uc)
{
	sigset_t cur;

	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	_exit(sigismember(&cur, SIGUSR1) && sigismember(&cur, SIGSEGV) ? 43 : 44);
}

static void chained_with_mask(void *arg)
{
	struct sigaction sa;
	cow_space *s;

	child_defaults();
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv_masked;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR1);
	sigaction(SIGSEGV, &sa, NULL);
	cow_install_handlers();			/* libcow may be initialised already */
	s = cow_space_create(P, 0);
	cow_snap_release(cow_snapshot(s));
	((char *)cow_base(s))[0] = 1;
	ro_pages = mmap(NULL, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro_pages[0] = 1;
	_exit(0);
}

/* A one-shot handler (SA_RESETHAND): it mends the first fault; the second
 * foreign fault must meet the default action. */
static void on_segv_once(int sig)
{
	handled++;
	mprotect(ro_pages, P, PROT_READ | PROT_WRITE);
}

static void chained_once(void *arg)
{
	struct sigaction sa;
	cow_space *s;

	child_defaults();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_segv_once;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGSEGV, &sa, NULL);
	cow_install_handlers();
	s = cow_space_create(P, 0);
	cow_snap_release(cow_snapshot(s));
	ro_pages = mmap(NULL, 2 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro_pages[0] = 1;			/* handled, mended */
	if (handled != 1)
		_exit(45);
	((char *)cow_base(s))[0] = 1;		/* libcow's own: still fine */
	ro_pages[P] = 1;			/* default action: dies */
	_exit(0);
}

static void chaining_honours_mask_and_resethand(void **state)
{
	expect_exit(t_in_child(chained_with_mask, NULL), 43);
	expect_signal(t_in_child(chained_once, NULL), SIGSEGV);
}

/* fork() while other threads use libcow: the child works at once, and a
 * save it inherited is inert. */
struct busy_arg { cow_space *s; volatile int stop; };

static void *busy_restorer(void *arg)
{
	struct busy_arg *b = arg;
	cow_snap *x = cow_snapshot(b->s);

	while (!b->stop) {
		memset(cow_base(b->s), 'r', 64 * P);
		cow_restore(b->s, x);
	}
	cow_snap_release(x);
	return NULL;
}

static cow_save *inherited_job;

static void child_after_busy_fork(void *arg)
{
	cow_space *t;

	alarm(10);
	if (cow_save_wait(inherited_job, NULL) != -ESTALE)
		_exit(20);
	t = cow_space_create(16 * P, 0);
	if (!t)
		_exit(21);
	memset(cow_base(t), 1, 16 * P);
	cow_snap_release(cow_snapshot(t));
	memset(cow_base(t), 2, 16 * P);
	cow_space_destroy(t);
	_exit(0);
}

static void fork_while_threads_use_libcow(void **state)
{
	T_START();
	char tmpl[] = "/tmp/cow-process-store-XXXXXX";
	struct busy_arg b = { cow_space_create(64 * P, 0), 0 };
	cow_space *saved = cow_space_create(256 * P, 0);
	cow_store *st;
	pthread_t th;
	uint64_t id;

	close(mkstemp(tmpl));
	unlink(tmpl);
	st = cow_store_open(tmpl, COW_STORE_CREATE);
	assert_non_null(st);
	memset(cow_base(saved), 5, 256 * P);
	assert_int_equal(pthread_create(&th, NULL, busy_restorer, &b), 0);
	inherited_job = cow_save_start(st, saved, 0);
	assert_non_null(inherited_job);
	for (int k = 0; k < 20; k++)
		expect_exit(t_in_child(child_after_busy_fork, NULL), 0);
	assert_int_equal(cow_save_wait(inherited_job, &id), 0);
	b.stop = 1;
	pthread_join(th, NULL);
	cow_space_destroy(b.s);
	cow_space_destroy(saved);
	cow_store_close(st);
	unlink(tmpl);
}

/* The invariant checker looks at the MMU itself: a page made writable behind
 * libcow's back (mprotect backend) is reported. */
static void checker_sees_the_mmu(void **state)
{
	T_START();
	cow_space *s;
	char msg[200];

	if (strcmp(cow_backend_name(), "mprotect"))
		skip();
	s = cow_space_create(8 * P, 0);
	cow_snap_release(cow_snapshot(s));
	assert_int_equal(cow__check(msg, sizeof msg), 0);
	assert_int_equal(mprotect((char *)cow_base(s) + 3 * P, P, PROT_READ | PROT_WRITE), 0);
	assert_int_equal(cow__check(msg, sizeof msg), -EBADMSG);
	print_message("checker: %s\n", msg);
	assert_int_equal(mprotect((char *)cow_base(s) + 3 * P, P, PROT_READ), 0);
	cow_space_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stray_null_write_still_crashes),
		cmocka_unit_test(writing_a_view_crashes),
		cmocka_unit_test(foreign_faults_reach_the_previous_handler),
		cmocka_unit_test(real_fork_child_gets_no_spaces),
		cmocka_unit_test(parent_space_is_unmapped_in_child),
		cmocka_unit_test(read_syscall_into_a_space),
		cmocka_unit_test(jumping_into_a_space_crashes),
		cmocka_unit_test(chaining_honours_mask_and_resethand),
		cmocka_unit_test(fork_while_threads_use_libcow),
		cmocka_unit_test(checker_sees_the_mmu),
	};

	/* The crashes in these tests are on purpose: no core files. */
	struct rlimit nocore = { 0, 0 };

	setrlimit(RLIMIT_CORE, &nocore);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
