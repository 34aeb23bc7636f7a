/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cow_vfork: the child aliases the parent's frames (no copy, its writes are
 * the parent's), the parent's writes wait until the child exits or execs,
 * the parent's reads never wait.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <cow.h>

#include "testlib.h"

#define P COW_PAGE_SIZE

static struct cow_stats stats(cow_space *s)
{
	struct cow_stats st;

	assert_int_equal(cow_stats_get(s, &st), 0);
	return st;
}

static void child_writes_are_the_parents(void **state)
{
	T_START();
	cow_space *p = cow_space_create(8 * P, 0), *c;
	char *pb = cow_base(p), *cb;
	uint64_t frames;

	memset(pb, 'p', 8 * P);
	frames = cow_frames_in_use();
	c = cow_vfork(p);
	assert_non_null(c);
	cb = cow_base(c);
	assert_ptr_not_equal(pb, cb);
	assert_memory_equal(cb, pb, 8 * P);
	memset(cb, 'c', 8 * P);			/* no copies: the parent's frames */
	assert_int_equal(pb[5 * P], 'c');	/* reads by the parent never wait */
	assert_int_equal(stats(c).copies, 0);
	assert_int_equal(cow_frames_in_use(), frames);
	assert_null(cow_vfork(p));		/* one vfork child at a time */
	assert_int_equal(errno, EBUSY);
	assert_null(cow_snapshot(c));		/* a child may write, exec or exit */
	assert_int_equal(errno, EINVAL);
	assert_null(cow_fork(c));
	assert_null(cow_vfork(c));
	cow_space_destroy(c);			/* the child exits */
	pb[0] = 'q';				/* the parent writes again */
	assert_int_equal(pb[1], 'c');
	t_check_invariants();
	cow_space_destroy(p);
	assert_int_equal(cow_frames_in_use(), 0);
}

struct pwriter {
	char *addr;
	atomic_bool done;
};

static void *parent_writer(void *arg)
{
	struct pwriter *w = arg;

	*w->addr = 'w';			/* waits while the vfork child lives */
	atomic_store(&w->done, true);
	return NULL;
}

struct child_job {
	cow_space *c;
	cow_snap *exec_image;		/* exec this instead of exiting, if set */
};

static void *child_main(void *arg)
{
	struct child_job *j = arg;
	char *cb = cow_base(j->c);

	for (size_t i = 0; i < 8; i++)
		cb[i * P + 1] = 'k';	/* visible to the parent */
	if (j->exec_image)
		assert_int_equal(cow_restore(j->c, j->exec_image), 0);
	else
		cow_space_destroy(j->c);
	return NULL;
}

static void parent_writers_wait_for_exit_or_exec(bool exec)
{
	cow_space *p = cow_space_create(8 * P, 0), *c;
	char *pb = cow_base(p);
	cow_snap *img;
	struct pwriter w[4];
	pthread_t th[4], ct;
	struct child_job job;

	memset(pb, 'a', 8 * P);
	img = cow_snapshot(p);
	c = cow_vfork(p);
	assert_non_null(c);
	for (int k = 0; k < 4; k++) {
		w[k].addr = pb + (size_t)k * 2 * P;
		atomic_init(&w[k].done, false);
		assert_int_equal(pthread_create(&th[k], NULL, parent_writer, &w[k]), 0);
	}
	usleep(20000);	/* let the writers reach their fault (not required) */
	for (int k = 0; k < 4; k++)
		assert_false(atomic_load(&w[k].done));	/* blocked, not failed */
	assert_int_equal(pb[0], 'a');
	/* The documented usage: the child runs in its own thread, the parent's
	 * threads wait on their writes, nobody waits on anybody else. */
	job.c = c;
	job.exec_image = exec ? img : NULL;
	assert_int_equal(pthread_create(&ct, NULL, child_main, &job), 0);
	pthread_join(ct, NULL);
	for (int k = 0; k < 4; k++) {
		pthread_join(th[k], NULL);
		assert_true(atomic_load(&w[k].done));
		assert_int_equal(pb[(size_t)k * 2 * P], 'w');
	}
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(pb[i * P + 1], 'k');	/* the child's writes stay */
	if (exec) {
		char *cb = cow_base(c);

		/* The child now runs the image: its own, copy-on-write content. */
		for (size_t i = 0; i < 8; i++) {
			assert_int_equal(cb[i * P], 'a');
			assert_int_equal(cb[i * P + 1], 'a');
		}
		cb[0] = 'x';
		assert_int_equal(pb[0], 'w');
		{
			cow_snap *cs = cow_snapshot(c);	/* a normal space now */

			assert_non_null(cs);
			cow_snap_release(cs);
		}
		cow_space_destroy(c);
	}
	{
		char x;

		assert_int_equal(cow_snap_read(img, P + 1, &x, 1), 0);
		assert_int_equal(x, 'a');	/* the snapshot kept the old content */
	}
	cow_snap_release(img);
	t_check_invariants();
	cow_space_destroy(p);
}

static void writers_wait_for_exit(void **state)
{
	T_START();
	parent_writers_wait_for_exit_or_exec(false);
	t_check_invariants();
}

static void writers_wait_for_exec(void **state)
{
	T_START();
	parent_writers_wait_for_exit_or_exec(true);
	t_check_invariants();
}

static void child_writes_preserve_for_snapshots(void **state)
{
	T_START();
	cow_space *p = cow_space_create(4 * P, 0), *f, *c;
	char *pb = cow_base(p), *cb, *fb;
	cow_snap *x;
	char v;

	memset(pb, 'o', 4 * P);
	x = cow_snapshot(p);
	f = cow_fork(p);
	c = cow_vfork(p);
	cb = cow_base(c);
	cb[P] = 'n';			/* shared with x and f: preserved for them */
	assert_int_equal(pb[P], 'n');
	assert_int_equal(cow_snap_read(x, P, &v, 1), 0);
	assert_int_equal(v, 'o');
	fb = cow_base(f);
	assert_int_equal(fb[P], 'o');
	assert_int_equal(stats(c).copies, 1);
	cb[P + 1] = 'm';		/* now exclusive: no second copy */
	assert_int_equal(stats(c).copies, 1);
	/* A snapshot of the parent while the child lives shares more frames:
	 * the child's next write to them preserves again. */
	cow_snap_release(x);
	x = cow_snapshot(p);
	cb[P + 2] = 'l';
	assert_int_equal(cow_snap_read(x, P + 2, &v, 1), 0);
	assert_int_equal(v, 'o');
	assert_int_equal(pb[P + 2], 'l');
	cow_space_destroy(c);
	t_check_invariants();
	cow_snap_release(x);
	cow_space_destroy(f);
	cow_space_destroy(p);
	assert_int_equal(cow_frames_in_use(), 0);
}

static void child_of_a_fork_that_borrows(void **state)
{
	T_START();
	cow_space *p = cow_space_create(4 * P, 0), *f, *c;
	char *fb, *cb;

	memset(cow_base(p), 'g', 4 * P);
	f = cow_fork(p);		/* f borrows p's frames */
	c = cow_vfork(f);
	cb = cow_base(c);
	cb[2 * P] = 'h';		/* f gets its own copy; p keeps 'g' */
	fb = cow_base(f);
	assert_int_equal(fb[2 * P], 'h');
	assert_int_equal(((char *)cow_base(p))[2 * P], 'g');
	cow_space_destroy(c);
	fb[2 * P + 1] = 'i';
	assert_int_equal(fb[2 * P], 'h');
	t_check_invariants();
	cow_space_destroy(f);
	cow_space_destroy(p);
	assert_int_equal(cow_frames_in_use(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(child_writes_are_the_parents),
		cmocka_unit_test(writers_wait_for_exit),
		cmocka_unit_test(writers_wait_for_exec),
		cmocka_unit_test(child_writes_preserve_for_snapshots),
		cmocka_unit_test(child_of_a_fork_that_borrows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
