/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_store_crash.c — kill -9 during commits, hundreds of times.
 *
 * A child process commits checkpoints in a loop (incremental ones, and a
 * full one now and then) and drops old ones; it reports each step through a
 * pipe before and after doing it. The parent kills it with SIGKILL after a
 * random delay, reopens the store and checks: every checkpoint whose commit
 * returned is there, byte for byte (the content of checkpoint id is a
 * function of id alone), the one in flight is there whole or not at all,
 * nothing else is there, verify passes and the block counts are exact.
 */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "storetest.h"

#define NP 96u          /* pages per checkpoint: a leaf and a half */
#define KEEP 5u         /* checkpoints the child keeps */

enum { BEGIN = 'B', COMMITTED = 'C', DROPPING = 'D', DROPPED = 'd' };

struct msg {
	char tag;
	uint64_t id;
} __attribute__((packed));

/* The version of page p in checkpoint id: the last id <= id that rewrote
 * it, or 0 for a page that is zero. */
static uint64_t version(uint64_t id, uint64_t p)
{
	if (p % 7 == 0)
		return 0;
	while (id && (id + p) % 3 && id % 11)
		id--;		/* every 11th checkpoint rewrites everything */
	return id;
}

/* The content of checkpoint id. */
static void content(uint64_t id, unsigned char *mem)
{
	for (uint64_t p = 0; p < NP; p++) {
		uint64_t v = version(id, p);

		if (v)
			ts_fill(mem + p * PG, v, p);
		else
			memset(mem + p * PG, 0, PG);
	}
}

static void say(int fd, char tag, uint64_t id)
{
	struct msg m = { tag, id };

	if (write(fd, &m, sizeof m) != sizeof m)
		_exit(3);
}

/* The child: commit and drop forever (until killed). */
static void child(const char *path, int fd)
{
	unsigned char *mem = malloc(NP * PG), changed[NP];
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);

	if (!st || !mem)
		_exit(2);
	for (;;) {
		uint64_t id = cow__store_next_id(st), got, parent = 0, oldest;
		size_t n;

		if (cow_store_latest(st, &parent) == 0 && id % 11 == 0)
			parent = 0;			/* a full commit now and then */
		for (uint64_t p = 0; p < NP; p++)
			changed[p] = version(id, p) == id;
		content(id, mem);
		say(fd, BEGIN, id);
		if (ts_commit(st, mem, NP, parent, changed, &got) || got != id)
			_exit(4);
		say(fd, COMMITTED, id);
		while (cow_store_list(st, &oldest, 1, &n) == 0 && n > KEEP) {
			say(fd, DROPPING, oldest);
			if (cow_store_drop(st, oldest))
				_exit(5);
			say(fd, DROPPED, oldest);
		}
	}
}

/* What the parent knows: ids certainly there, and the uncertain ones. */
struct model {
	uint64_t alive[64];
	size_t n;
	uint64_t inflight;     /* begun, not reported committed */
	uint64_t dropping;     /* drop begun, not reported done */
};

static void model_add(struct model *m, uint64_t id)
{
	assert_true(m->n < 64);
	m->alive[m->n++] = id;
}

static void model_remove(struct model *m, uint64_t id)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->alive[i] == id) {
			memmove(m->alive + i, m->alive + i + 1, (--m->n - i) * sizeof *m->alive);
			return;
		}
}

static int model_has(const struct model *m, uint64_t id)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->alive[i] == id)
			return 1;
	return 0;
}

/* Read the child's reports into the model. */
static void read_reports(int fd, struct model *m)
{
	struct msg msg;

	while (read(fd, &msg, sizeof msg) == sizeof msg) {
		switch (msg.tag) {
		case BEGIN: m->inflight = msg.id; break;
		case COMMITTED: model_add(m, msg.id); m->inflight = 0; break;
		case DROPPING: m->dropping = msg.id; break;
		case DROPPED: model_remove(m, msg.id); m->dropping = 0; break;
		default: fail();
		}
	}
}

/* Reopen after the kill and compare with the model (resolving the
 * uncertain ids by what the store holds). */
static void check_store(const char *path, struct model *m, unsigned char *mem)
{
	cow_store *st = cow_store_open(path, 0);
	uint64_t ids[64];
	size_t n;

	if (!st && errno == ENOENT && m->n == 0) {
		/* Killed before the store was created (creation is a rename,
		 * all or nothing): nothing can have been committed. */
		m->inflight = 0;
		m->dropping = 0;
		return;
	}
	if (!st)
		fprintf(stderr, "reopen: %s (%s)\n", strerror(errno), cow_store_errmsg(NULL));
	assert_non_null(st);
	assert_int_equal(cow_store_list(st, ids, 64, &n), 0);
	assert_true(n <= 64);
	for (size_t i = 0; i < n; i++) {
		if (ids[i] == m->inflight) {
			model_add(m, ids[i]);	/* its commit reached the disk */
			m->inflight = 0;
		}
		assert_true(model_has(m, ids[i]));
	}
	if (m->inflight)
		m->inflight = 0;		/* it did not */
	if (m->dropping) {
		model_remove(m, m->dropping);
		for (size_t i = 0; i < n; i++)
			if (ids[i] == m->dropping)
				model_add(m, ids[i]);	/* the drop did not */
		m->dropping = 0;
	}
	assert_int_equal(n, m->n);
	for (size_t i = 0; i < n; i++) {
		content(ids[i], mem);
		ts_expect(st, ids[i], mem, NP);
	}
	ts_check(st);
	assert_int_equal(cow_store_close(st), 0);
}

static void test_kill_during_commits(void **state)
{
	char *dir = ts_dir();
	const char *path = ts_path(dir, "s");
	unsigned char *mem = malloc(NP * PG);
	unsigned rounds = 200 * t_scale(), mid_commit = 0;
	struct model m = { .n = 0 };
	struct t_rng r;

	t_rng_seed(&r, t_seed("store_crash"));
	for (unsigned i = 0; i < rounds; i++) {
		int fds[2], status;
		pid_t pid;

		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			child(path, fds[1]);
		}
		close(fds[1]);
		/* Mostly short delays (the open and the first commits), some longer. */
		usleep((useconds_t)(t_rng_below(&r, 4) ? t_rng_below(&r, 8000)
						       : t_rng_below(&r, 40000)));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));	/* it never stopped on its own */
		read_reports(fds[0], &m);
		close(fds[0]);
		mid_commit += m.inflight != 0;
		check_store(path, &m, mem);
	}
	fprintf(stderr, "[store_crash] %u kills, %u in the middle of a commit, "
		"%zu checkpoints at the end\n", rounds, mid_commit, m.n);
	assert_true(mid_commit > 0);
	free(mem);
	ts_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_during_commits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
