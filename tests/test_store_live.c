/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_store_live.c — stores in use by someone else, and stores where
 * nothing may be created.
 *
 *   - read-only handles beside a writer that keeps committing and dropping
 *     (so it reuses blocks under the readers): every open, list, load and
 *     verify sees one committed root whole, never a torn one, and never
 *     wrong content; a writer opens while readers hold the file;
 *   - an existing store opens, loads and commits in a directory where no
 *     file can be created (mode 0555, run as an unprivileged user when the
 *     test runs as root), with and without COW_STORE_CREATE;
 *   - and on a full disk (a 1 MiB tmpfs in a mount namespace of its own,
 *     when the test may make one): it opens and loads, a commit fails with
 *     ENOSPC leaving the store intact and the handle usable.
 */
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

#include "storetest.h"

#define LNP 48u		/* pages per checkpoint */

/* Sometimes wait long enough for the writer to drop the checkpoint just
 * loaded and reuse its blocks (7 commits of ~2 ms). */
static void kv_pause(void)
{
	static unsigned n;
	struct timespec ts = { 0, 20 * 1000000 };

	if (++n % 8 == 0)
		nanosleep(&ts, NULL);
}

/* Content of checkpoint id: page p is ts_fill(id, p), but every 4th page
 * is zero and pages >= 32 keep the content of the first checkpoint, so
 * incremental commits share blocks. */
static void content(unsigned char *mem, uint64_t id)
{
	for (uint64_t p = 0; p < LNP; p++) {
		if (p % 4 == 3)
			memset(mem + p * PG, 0, PG);
		else
			ts_fill(mem + p * PG, p >= 32 ? 1 : id, p);
	}
}

struct writer {
	const char *path;
	atomic_int stop;
	atomic_int commits;
};

/* The writer: commit checkpoints (incremental against the previous one),
 * keeping the six newest, until told to stop. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	cow_store *st = cow_store_open(w->path, 0);
	unsigned char *mem = malloc(LNP * PG), changed[LNP];
	uint64_t prev = 0, id;
	struct timespec pause = { 0, 2000000 };

	assert_non_null(st);
	for (uint64_t p = 0; p < LNP; p++)
		changed[p] = p < 32;
	cow_store_latest(st, &prev);
	while (!atomic_load(&w->stop)) {
		content(mem, cow__store_next_id(st));
		assert_int_equal(ts_commit(st, mem, LNP, prev, changed, &id), 0);
		if (prev > 5)	/* keep 6: blocks are reused 7 commits later */
			assert_int_equal(cow_store_drop(st, prev - 5), 0);
		prev = id;
		atomic_fetch_add(&w->commits, 1);
		nanosleep(&pause, NULL);
	}
	free(mem);
	assert_int_equal(cow_store_close(st), 0);
	return NULL;
}

/* One reader pass: open read-only, check that the checkpoints listed are
 * the newest ones, load the newest and compare it page by page. Returns 1
 * if it checked content, 0 if the checkpoint was dropped under it. */
static int reader_pass(const char *path, unsigned char *want)
{
	cow_store *st = cow_store_open(path, COW_STORE_RDONLY);
	unsigned char got[PG];
	uint64_t ids[8], id;
	cow_snap *snap;
	size_t n;

	if (!st)
		fprintf(stderr, "open: %s (%s)\n", strerror(errno), cow_store_errmsg(NULL));
	assert_non_null(st);
	assert_int_equal(cow_store_list(st, ids, 8, &n), 0);
	assert_true(n >= 1 && n <= 7);		/* the writer keeps 6 (7 while dropping) */
	for (size_t i = 1; i < n; i++)
		assert_true(ids[i] > ids[i - 1]);
	assert_int_equal(cow_store_latest(st, &id), 0);
	snap = cow_store_load(st, id);
	if (!snap) {
		/* Only "dropped by the writer and moved on" is acceptable. */
		if (errno != ENOENT)
			fprintf(stderr, "load %" PRIu64 ": %s (%s)\n", id, strerror(errno),
				cow_store_errmsg(st));
		assert_int_equal(errno, ENOENT);
		cow_store_close(st);
		return 0;
	}
	content(want, id);
	/* A read-only load copies the checked pages: the writer may drop the
	 * checkpoint and reuse its blocks meanwhile, the snapshot stays right. */
	kv_pause();
	for (uint64_t p = 0; p < LNP; p++) {
		assert_int_equal(cow_snap_read(snap, p * PG, got, PG), 0);
		assert_memory_equal(got, want + p * PG, PG);
	}
	cow_snap_release(snap);
	assert_int_equal(cow_store_close(st), 0);
	return 1;
}

static void test_readers_beside_a_writer(void **state)
{
	char *dir = ts_dir();
	const char *path = ts_path(dir, "s");
	struct writer w = { .path = path };
	unsigned char *want = malloc(LNP * PG);
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	int checked = 0, verified = 0, again = 0, passes = 0;
	uint64_t id;
	pthread_t t;
	time_t end;

	(void)state;
	T_START();
	content(want, 1);
	assert_int_equal(ts_commit(st, want, LNP, 0, NULL, &id), 0);
	assert_int_equal(cow_store_close(st), 0);

	assert_int_equal(pthread_create(&t, NULL, writer_main, &w), 0);
	end = time(NULL) + 3;
	for (int i = 0; time(NULL) < end || atomic_load(&w.commits) < 50; i++) {
		checked += reader_pass(path, want);
		passes++;
		if (i % 4 == 0) {	/* a long-lived handle verifies the newest root */
			cow_store *r = cow_store_open(path, COW_STORE_RDONLY);
			int err;

			assert_non_null(r);
			for (int k = 0; k < 5; k++) {
				err = cow_store_verify(r);
				if (err && err != -EAGAIN)
					fprintf(stderr, "verify: %s (%s)\n", cow_strerror(err),
						cow_store_errmsg(r));
				assert_true(err == 0 || err == -EAGAIN);
				verified += err == 0;
				again += err == -EAGAIN;
			}
			cow_store_close(r);
		}
	}
	atomic_store(&w.stop, 1);
	pthread_join(t, NULL);
	fprintf(stderr, "%d commits; %d of %d loads checked (the others found their "
		"checkpoint dropped), %d verifies passed, %d EAGAIN\n", atomic_load(&w.commits), checked,
		passes, verified, again);
	assert_true(checked > 10);
	assert_true(verified > 10);
	st = cow_store_open(path, 0);
	ts_check(st);
	cow_store_close(st);
	free(want);
	ts_rmdir(dir);
}

/* A read-only handle refuses every write with EROFS, and changes nothing. */
static void test_readonly_refuses_writes(void **state)
{
	char *dir = ts_dir();
	const char *path = ts_path(dir, "s");
	unsigned char *mem = malloc(LNP * PG);
	cow_store *st = cow_store_open(path, COW_STORE_CREATE), *r;
	cow_space *s;
	cow_snap *snap;
	struct cow_store_stat ss;
	uint64_t id, nid = 7;

	(void)state;
	T_START();
	content(mem, 1);
	assert_int_equal(ts_commit(st, mem, LNP, 0, NULL, &id), 0);
	r = cow_store_open(path, COW_STORE_RDONLY);	/* beside the writer */
	assert_non_null(r);
	snap = cow_store_load(r, id);
	assert_non_null(snap);
	s = cow_space_from_snap(snap);
	assert_non_null(s);
	assert_int_equal(cow_store_commit(r, snap, &nid), -EROFS);
	assert_int_equal(nid, 7);
	assert_int_equal(cow_store_drop(r, id), -EROFS);
	errno = 0;
	assert_null(cow_save_start(r, s, 1 << 20));
	assert_int_equal(errno, EROFS);
	assert_int_equal(cow_store_stat(r, &ss), 0);
	assert_int_equal(ss.readonly, 1);
	assert_int_equal(ss.checkpoints, 1);
	cow_snap_release(snap);
	cow_space_destroy(s);
	assert_int_equal(cow_store_close(r), 0);
	ts_check(st);
	assert_int_equal(cow_store_close(st), 0);
	free(mem);
	ts_rmdir(dir);
}

/* ---- no file may be created ------------------------------------------------- */

struct ro_dir {
	const char *dir, *path;
	unsigned char *mem;
};

/* The checks, in a child process (possibly unprivileged): opening the
 * existing store creates nothing; a missing one cannot be created. */
static void ro_dir_checks(void *arg)
{
	struct ro_dir *d = arg;
	const int flags[] = { 0, COW_STORE_CREATE, COW_STORE_RDONLY };
	uint64_t id;

	T_START();
	for (int i = 0; i < 3; i++) {
		cow_store *st = cow_store_open(d->path, flags[i]);
		cow_snap *snap;

		if (!st)
			fprintf(stderr, "open(%d): %s (%s)\n", flags[i], strerror(errno),
				cow_store_errmsg(NULL));
		assert_non_null(st);
		assert_int_equal(cow_store_latest(st, &id), 0);
		snap = cow_store_load(st, id);
		assert_non_null(snap);
		cow_snap_release(snap);
		if (flags[i] != COW_STORE_RDONLY)	/* the file itself is writable */
			assert_int_equal(ts_commit(st, d->mem, LNP, 0, NULL, &id), 0);
		assert_int_equal(cow_store_close(st), 0);
	}
	errno = 0;
	assert_null(cow_store_open(ts_path(d->dir, "new"), COW_STORE_CREATE));
	assert_int_equal(errno, EACCES);
}

static void test_read_only_directory(void **state)
{
	char *dir = ts_dir();
	struct ro_dir d = { .dir = dir, .path = ts_path(dir, "s"), .mem = malloc(LNP * PG) };
	cow_store *st = cow_store_open(d.path, COW_STORE_CREATE);
	uint64_t id;
	int status;
	char cmd[700];

	(void)state;
	content(d.mem, 1);
	assert_int_equal(ts_commit(st, d.mem, LNP, 0, NULL, &id), 0);
	assert_int_equal(cow_store_close(st), 0);
	if (geteuid() == 0) {	/* root creates files anywhere: be nobody */
		assert_int_equal(chown(dir, 65534, 65534), 0);
		assert_int_equal(chown(d.path, 65534, 65534), 0);
	}
	assert_int_equal(chmod(dir, 0555), 0);
	fflush(NULL);
	{
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			if (geteuid() == 0 && (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
				_exit(3);
			ro_dir_checks(&d);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
	}
	chmod(dir, 0700);
	snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
	{
		FILE *f = popen(cmd, "r");
		int files = -1;

		assert_non_null(f);
		assert_int_equal(fscanf(f, "%d", &files), 1);
		pclose(f);
		assert_int_equal(files, 1);	/* only the store: no temporary file left */
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	st = cow_store_open(d.path, 0);
	assert_non_null(st);
	ts_check(st);
	assert_int_equal(cow_store_latest(st, &id), 0);
	assert_int_equal(id, 3);	/* the two commits of the child */
	cow_store_close(st);
	free(d.mem);
	ts_rmdir(dir);
}

/* The full-disk checks, in a child with its own mount namespace: a 1 MiB
 * tmpfs holding the store and a file filling the rest. Exit 77: no mount
 * namespace here (not root, or no CAP_SYS_ADMIN). */
static void full_disk_checks(void *arg)
{
	struct ro_dir *d = arg;
	char mnt[600], path[700], fill[700], *buf = calloc(1, 65536);
	unsigned char *other = malloc(LNP * PG);
	cow_store *st;
	cow_snap *snap;
	uint64_t id;
	int fd;

	snprintf(mnt, sizeof mnt, "%s/mnt", d->dir);
	if (mkdir(mnt, 0700) || unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("none", mnt, "tmpfs", 0, "size=1m"))
		_exit(77);
	T_START();
	snprintf(path, sizeof path, "%s/s", mnt);
	snprintf(fill, sizeof fill, "%s/fill", mnt);
	ts_copy(d->path, path);
	fd = open(fill, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	while (write(fd, buf, 65536) > 0)
		;
	while (write(fd, buf, 4096) > 0)
		;
	assert_int_equal(errno, ENOSPC);
	close(fd);
	/* The disk is full: the store opens (with CREATE too) and loads. */
	st = cow_store_open(path, COW_STORE_CREATE);
	if (!st)
		fprintf(stderr, "open on a full disk: %s (%s)\n", strerror(errno),
			cow_store_errmsg(NULL));
	assert_non_null(st);
	assert_int_equal(cow_store_latest(st, &id), 0);
	snap = cow_store_load(st, id);
	assert_non_null(snap);
	cow_snap_release(snap);
	/* A commit fails cleanly, the handle still works, the store is intact. */
	content(other, 99);
	assert_int_equal(ts_commit(st, other, LNP, 0, NULL, &id), -ENOSPC);
	ts_expect(st, 1, d->mem, LNP);
	assert_int_equal(cow_store_close(st), 0);
	st = cow_store_open(path, 0);
	assert_non_null(st);
	ts_check(st);
	ts_expect(st, 1, d->mem, LNP);
	/* Room again: the same handle commits. */
	assert_int_equal(unlink(fill), 0);
	assert_int_equal(ts_commit(st, other, LNP, 0, NULL, &id), 0);
	ts_expect(st, id, other, LNP);
	assert_int_equal(cow_store_close(st), 0);
	free(buf);
	free(other);
}

static void test_full_disk(void **state)
{
	char *dir = ts_dir();
	struct ro_dir d = { .dir = dir, .path = ts_path(dir, "s"), .mem = malloc(LNP * PG) };
	cow_store *st = cow_store_open(d.path, COW_STORE_CREATE);
	uint64_t id;
	int status;

	(void)state;
	content(d.mem, 1);
	assert_int_equal(ts_commit(st, d.mem, LNP, 0, NULL, &id), 0);
	assert_int_equal(cow_store_close(st), 0);
	status = t_in_child(full_disk_checks, &d);
	free(d.mem);
	rmdir(ts_path(dir, "mnt"));
	ts_rmdir(dir);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		skip();
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readers_beside_a_writer),
		cmocka_unit_test(test_readonly_refuses_writes),
		cmocka_unit_test(test_read_only_directory),
		cmocka_unit_test(test_full_disk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
