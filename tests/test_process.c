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

#include "testlib.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stray_null_write_still_crashes),
		cmocka_unit_test(writing_a_view_crashes),
		cmocka_unit_test(foreign_faults_reach_the_previous_handler),
		cmocka_unit_test(real_fork_child_gets_no_spaces),
		cmocka_unit_test(parent_space_is_unmapped_in_child),
		cmocka_unit_test(read_syscall_into_a_space),
	};

	/* The crashes in these tests are on purpose: no core files. */
	struct rlimit nocore = { 0, 0 };

	setrlimit(RLIMIT_CORE, &nocore);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
