/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Images: files as the content of spaces and snapshots, read lazily, shared
 * through the page cache, never written.
 */
#include <errno.h>
#include <setjmp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cow.h>

#include "testlib.h"
#include "internal.h"

#define P COW_PAGE_SIZE

/* A temporary file of n bytes, byte k = (k * 7 + seed) & 0xff. */
static char *make_file(size_t n, unsigned seed)
{
	char *path = strdup("/tmp/cow-image-XXXXXX");
	int fd = mkstemp(path);
	unsigned char buf[65536];

	assert_true(fd >= 0);
	for (size_t off = 0; off < n; off += sizeof buf) {
		size_t len = n - off < sizeof buf ? n - off : sizeof buf;

		for (size_t k = 0; k < len; k++)
			buf[k] = (unsigned char)((off + k) * 7 + seed);
		assert_int_equal(write(fd, buf, len), (ssize_t)len);
	}
	assert_int_equal(fsync(fd), 0);	/* clean pages, as an image on disk */
	close(fd);
	return path;
}

static unsigned char expect(size_t k, unsigned seed)
{
	return (unsigned char)(k * 7 + seed);
}

static struct cow_stats stats(cow_space *s)
{
	struct cow_stats st;

	assert_int_equal(cow_stats_get(s, &st), 0);
	return st;
}

static void image_reads_lazily_and_writes_stay_private(void **state)
{
	T_START();
	char *path = make_file(64 * P + 100, 3);	/* a partial last page */
	cow_snap *x = cow_snap_open(path, 0, 0);
	cow_space *s;
	unsigned char *b, buf[P];
	uint64_t frames;

	assert_non_null(x);
	assert_int_equal(cow_snap_size(x), 65 * P);
	frames = cow_frames_in_use();
	assert_int_equal(cow_snap_read(x, 5 * P, buf, P), 0);
	for (size_t k = 0; k < P; k++)
		assert_int_equal(buf[k], expect(5 * P + k, 3));
	assert_int_equal(cow_snap_read(x, 64 * P, buf, P), 0);
	assert_int_equal(buf[99], expect(64 * P + 99, 3));
	assert_int_equal(buf[100], 0);			/* past the end: zeroes */
	s = cow_space_from_snap(x);
	assert_non_null(s);
	b = cow_base(s);
	for (size_t k = 0; k < 64 * P; k += 333)
		assert_int_equal(b[k], expect(k, 3));
	assert_int_equal(cow_frames_in_use(), frames);	/* reading copies nothing */
	b[7 * P] = 0xee;				/* a write copies one page */
	assert_int_equal(stats(s).copies, 1);
	assert_int_equal(b[7 * P + 1], expect(7 * P + 1, 3));
	assert_int_equal(cow_frames_in_use(), frames + 1);
	{
		int fd = open(path, O_RDONLY);	/* the file never changes */
		unsigned char c;

		assert_int_equal(pread(fd, &c, 1, 7 * P), 1);
		assert_int_equal(c, expect(7 * P, 3));
		close(fd);
	}
	assert_int_equal(cow_snap_read(x, 7 * P, buf, 1), 0);
	assert_int_equal(buf[0], expect(7 * P, 3));
	/* A snapshot of the space shares both kinds of frames. */
	{
		cow_snap *y = cow_snapshot(s);

		b[8 * P] = 1;
		b[7 * P] = 2;
		assert_int_equal(cow_snap_read(y, 7 * P, buf, 1), 0);
		assert_int_equal(buf[0], 0xee);
		assert_int_equal(cow_snap_read(y, 8 * P, buf, 1), 0);
		assert_int_equal(buf[0], expect(8 * P, 3));
		assert_int_equal(cow_restore(s, y), 0);
		assert_int_equal(b[8 * P], expect(8 * P, 3));
		assert_int_equal(b[7 * P], 0xee);
		cow_snap_release(y);
	}
	/* The view of an image maps the file. */
	{
		const unsigned char *v = cow_snap_map(x);

		assert_non_null(v);
		assert_int_equal(v[9 * P + 5], expect(9 * P + 5, 3));
	}
	unlink(path);				/* harmless: libcow holds the file */
	assert_int_equal(b[30 * P], expect(30 * P, 3));
	t_check_invariants();
	cow_space_destroy(s);
	cow_snap_release(x);
	assert_int_equal(cow_frames_in_use(), 0);
	free(path);
}

static void exec_file_replaces_and_releases(void **state)
{
	T_START();
	char *path = make_file(16 * P, 9);
	cow_space *s = cow_space_create(32 * P, 0);
	unsigned char *b = cow_base(s);

	memset(b, 'z', 32 * P);
	assert_int_equal(cow_frames_in_use(), 32);
	assert_int_equal(cow_exec_file(s, path, 4 * P), 0);	/* pages 4..15 of the file */
	/* The old frames are released; the 20 pages past the file's end are
	 * unwritten frames (zeroes, no memory until written). */
	assert_int_equal(cow_frames_in_use(), 20);
	assert_ptr_equal(cow_base(s), b);
	assert_int_equal(b[0], expect(4 * P, 9));
	assert_int_equal(b[11 * P + 5], expect(15 * P + 5, 9));
	assert_int_equal(b[12 * P], 0);			/* beyond the file */
	b[12 * P] = 1;				/* its own zero frame: reused */
	b[0] = 2;				/* an image page: copied */
	assert_int_equal(cow_frames_in_use(), 21);
	assert_int_equal(stats(s).copies, 1);
	assert_int_equal(stats(s).reuses, 1);
	t_check_invariants();
	assert_int_equal(cow_exec_file(s, path, 3), -EINVAL);	/* unaligned */
	assert_int_equal(cow_exec_file(s, "/nonexistent/x", 0), -ENOENT);
	assert_int_equal(cow_exec_file(NULL, path, 0), -EINVAL);
	assert_null(cow_snap_open("/tmp", 0, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(cow_snap_open(NULL, 0, 0));
	assert_int_equal(b[0], 2);			/* failed calls changed nothing */
	cow_space_destroy(s);
	unlink(path);
	free(path);
}

/* Pss of this process, in KiB, from /proc/self/smaps_rollup. */
static long pss_kib(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	long v = -1;

	assert_non_null(f);
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "Pss: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void hundred_spaces_share_one_image(void **state)
{
	T_START();
	enum { N = 100 };
	size_t size = 256ul << 20;
	char *path = make_file(size, 1);
	cow_snap *x = cow_snap_open(path, 0, 0);
	cow_space *s[N];
	long before, after;
	volatile unsigned long sum = 0;

	assert_non_null(x);
	before = pss_kib();
	for (int k = 0; k < N; k++) {
		unsigned char *b;

		s[k] = cow_space_from_snap(x);
		assert_non_null(s[k]);
		b = cow_base(s[k]);
		for (size_t off = 0; off < size; off += P)
			sum += b[off];			/* every page read */
		b[(size_t)k * P] = (unsigned char)k;	/* and one written */
	}
	after = pss_kib();
	print_message("100 spaces x 256 MiB image: Pss grew %ld MiB\n", (after - before) >> 10);
	/* About the image once plus what they wrote, not 100 copies. */
	assert_true(after - before < (long)(size >> 10) * 5 / 4 + N * 4 + 16384);
	assert_int_equal(cow_frames_in_use(), N);
	for (int k = 0; k < N; k++) {
		unsigned char *b = cow_base(s[k]);

		assert_int_equal(b[(size_t)k * P], (unsigned char)k);
		assert_int_equal(b[(size_t)k * P + 1], expect((size_t)k * P + 1, 1));
		cow_space_destroy(s[k]);
	}
	cow_snap_release(x);
	unlink(path);
	free(path);
}

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

static long resident_pages(const void *addr, size_t len)
{
	unsigned char vec[4096];
	size_t pages = len / P;
	long n = 0;

	assert_true(pages <= sizeof vec);
	assert_int_equal(mincore((void *)addr, len, vec), 0);
	for (size_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	return n;
}

static void clean_image_pages_are_dropped_and_read_again(void **state)
{
	T_START();
	size_t size = 1024 * P;
	char *path = make_file(size, 5);
	cow_snap *x = cow_snap_open(path, 0, 0);
	cow_space *s = cow_space_from_snap(x);
	unsigned char *b = cow_base(s);
	long before, after;
	int fd;

	for (size_t off = 0; off < size; off += P)
		assert_int_equal(b[off], expect(off, 5));
	/* Drop the file's pages from the page cache and from the mapping. */
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	before = resident_pages(b, size);
	/*
	 * Reclaim as the kernel would under pressure: MADV_PAGEOUT where the
	 * kernel honours it for file pages; else unmap the pages from the space
	 * (MADV_DONTNEED: nothing is lost, they are clean file pages) and drop
	 * them from the page cache.
	 */
	madvise(b, size, MADV_PAGEOUT);
	posix_fadvise(fd, 0, (off_t)size, POSIX_FADV_DONTNEED);
	if (resident_pages(b, size) >= before / 2) {
		assert_int_equal(madvise(b, size, MADV_DONTNEED), 0);
		assert_int_equal(posix_fadvise(fd, 0, (off_t)size, POSIX_FADV_DONTNEED), 0);
	}
	after = resident_pages(b, size);
	print_message("resident image pages: %ld before, %ld after MADV_PAGEOUT\n", before, after);
	assert_true(after < before / 2);		/* clean: dropped, not written */
	for (size_t off = 0; off < size; off += P)	/* and read back */
		assert_int_equal(b[off + 3], expect(off + 3, 5));
	assert_int_equal(stats(s).copies, 0);		/* never copied */
	assert_int_equal(cow_frames_in_use(), 0);
	close(fd);
	cow_space_destroy(s);
	cow_snap_release(x);
	unlink(path);
	free(path);
}

static sigjmp_buf bus_jump;
static volatile sig_atomic_t bus_seen;

static void on_bus(int sig)
{
	bus_seen = sig;
	siglongjmp(bus_jump, 1);
}

static void shrunk_file_is_an_error_not_zeroes(void **state)
{
	T_START();
	char *path = make_file(32 * P, 2);
	cow_snap *x = cow_snap_open(path, 0, 0);
	cow_space *s = cow_space_from_snap(x);
	unsigned char buf[16];
	struct sigaction sa, old;

	assert_int_equal(truncate(path, 8 * P), 0);
	assert_int_equal(cow_snap_read(x, 2 * P, buf, 16), 0);	/* still there */
	assert_int_equal(cow_snap_read(x, 20 * P, buf, 16), -EIO);
	/* Through the mapping: SIGBUS reaches the program, as for any mapped
	 * file (libcow's handler passes it on). */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_bus;
	sigaction(SIGBUS, &sa, &old);
	assert_int_equal(cow_install_handlers(), 0);
	bus_seen = 0;
	if (sigsetjmp(bus_jump, 1) == 0)
		(void)*(volatile char *)((char *)cow_base(s) + 20 * P);
	sigaction(SIGBUS, &old, NULL);
	T_START();
	assert_int_equal(bus_seen, SIGBUS);
	cow_space_destroy(s);
	cow_snap_release(x);
	unlink(path);
	free(path);
}


/* cow__snap_from_file of a copy of offs (the engine takes the array it is
 * given; the tests keep theirs to check the pages against). */
static cow_snap *snap_from_file(int fd, size_t n, const uint64_t *offs)
{
	uint64_t *copy = malloc(n * sizeof *copy);

	assert_non_null(copy);
	memcpy(copy, offs, n * sizeof *copy);
	return cow__snap_from_file(fd, n, copy, NULL);
}

static void scattered_blocks_of_a_file(void **state)
{
	T_START();
	char *path = make_file(16 * P, 4);
	int fd = open(path, O_RDONLY);
	uint64_t offs[6] = { 3 * P, 4 * P, COW__ZERO_BLOCK, 0, 15 * P, 5 * P };
	cow_snap *x = snap_from_file(fd, 6, offs);
	cow_space *s;
	unsigned char *b;

	close(fd);				/* the engine keeps its own */
	assert_non_null(x);
	s = cow_space_from_snap(x);
	b = cow_base(s);
	for (int i = 0; i < 6; i++)
		for (size_t k = 0; k < P; k += 511)
			assert_int_equal(b[(size_t)i * P + k],
					 offs[i] == COW__ZERO_BLOCK ? 0 : expect(offs[i] + k, 4));
	b[2 * P] = 9;
	b[0] = 8;
	assert_int_equal(b[P], expect(4 * P, 4));
	t_check_invariants();
	cow_space_destroy(s);
	cow_snap_release(x);
	assert_int_equal(cow_frames_in_use(), 0);
	unlink(path);
	free(path);
}

/* A span the caller marks empty is zeroes whatever offs holds there (here
 * values cow__snap_from_file would refuse): the engine neither checks nor
 * reads those entries, so a caller need not fill them. */
static void spans_left_out_are_zeroes_unread(void **state)
{
	T_START();
	enum { N = 3 * COW__FILE_SPAN + 5 };
	char *path = make_file(16 * P, 6);
	int fd = open(path, O_RDONLY);
	uint64_t *offs = malloc(N * sizeof *offs), spans[1] = { 0x5 };	/* spans 0 and 2 */
	cow_snap *x;
	cow_space *s;
	unsigned char *b;

	assert_non_null(offs);
	for (size_t i = 0; i < N; i++)
		offs[i] = i / COW__FILE_SPAN % 2 ? 12345 : COW__ZERO_BLOCK;
	offs[7] = 2 * P;
	offs[2 * COW__FILE_SPAN + 1] = 9 * P;
	x = cow__snap_from_file(fd, N, offs, spans);	/* takes offs */
	close(fd);
	assert_non_null(x);
	s = cow_space_from_snap(x);
	assert_non_null(s);
	b = cow_base(s);
	for (size_t i = 0; i < N; i++) {
		size_t want = i == 7 ? 2 * P : i == 2 * COW__FILE_SPAN + 1 ? 9 * P : SIZE_MAX;

		for (size_t k = 0; k < P; k += 1021)
			assert_int_equal(b[i * P + k], want == SIZE_MAX ? 0 : expect(want + k, 6));
	}
	b[COW__FILE_SPAN * P + 3] = 1;	/* a page of the span left out is the space's */
	assert_int_equal(b[COW__FILE_SPAN * P + 3], 1);
	t_check_invariants();
	cow_space_destroy(s);
	cow_snap_release(x);
	assert_int_equal(cow_frames_in_use(), 0);
	/* the same offs with every span read: 12345 is refused */
	offs = malloc(N * sizeof *offs);
	assert_non_null(offs);
	for (size_t i = 0; i < N; i++)
		offs[i] = i / COW__FILE_SPAN % 2 ? 12345 : COW__ZERO_BLOCK;
	fd = open(path, O_RDONLY);
	errno = 0;
	assert_null(cow__snap_from_file(fd, N, offs, NULL));
	assert_int_equal(errno, EINVAL);
	close(fd);
	unlink(path);
	free(path);
}

/* Pages scattered all over a file: mapping them one by one would pass the
 * budget (and vm.max_map_count), so the space takes private copies. */
static void scattered_image_stays_within_budget(void **state)
{
	T_START();
	enum { N = 8192 };
	char *path = make_file((size_t)N * P, 8);
	int fd = open(path, O_RDONLY);
	uint64_t *offs = malloc(N * sizeof *offs);
	struct cow_stats st;
	cow_snap *x;
	cow_space *s;
	unsigned char *b;

	for (size_t i = 0; i < N; i++)
		offs[i] = (uint64_t)(N - 1 - i) * P;	/* every page its own run */
	x = snap_from_file(fd, N, offs);
	close(fd);
	assert_non_null(x);
	s = cow_space_from_snap(x);
	assert_non_null(s);
	assert_int_equal(cow_stats_get(s, &st), 0);
	assert_int_equal(st.defrags, 1);
	assert_true(st.maps <= COW_MAPS_MAX);
	assert_true(t_maps_in_range(cow_base(s), (size_t)N * P) <= (long)COW_MAPS_MAX);
	b = cow_base(s);
	for (size_t i = 0; i < N; i += 101)
		assert_int_equal(b[i * P + 7], expect(offs[i] + 7, 8));
	/* exec of the same scattered image into a space: the same rule */
	assert_int_equal(cow_restore(s, x), 0);
	t_check_invariants();
	cow_space_destroy(s);
	cow_snap_release(x);
	free(offs);
	unlink(path);
	free(path);
}

/* Bytes of memory the frame store holds (pages of its memfd). */
static size_t frames_memory(void)
{
	struct stat st;

	assert_int_equal(fstat(cow__frames_fd(), &st), 0);
	return (size_t)st.st_blocks * 512;
}

/*
 * A checkpoint as incremental saves leave it: a quarter of the pages
 * written, each block somewhere else in the file, the rest never written
 * (zero blocks), and one block that holds zeroes. Over the budget the space
 * takes every page home: the content is exact, page by page, and only the
 * pages with data take memory (the never-written ones were read through the
 * window before, a page of memory on each side for each).
 */
static void scattered_checkpoint_takes_memory_for_its_data_only(void **state)
{
	T_START();
	enum { N = 16384, DATA = N / 4 };
	char *path = make_file((size_t)DATA * P, 5);
	int fd = open(path, O_RDWR);
	uint64_t *offs = malloc(N * sizeof *offs);
	unsigned char *zero = calloc(1, P);
	size_t before = frames_memory();
	cow_snap *x;
	cow_space *s;
	unsigned char *b;

	for (size_t i = 0; i < N; i++)
		offs[i] = i % 4 ? COW__ZERO_BLOCK : (uint64_t)(DATA - 1 - i / 4) * P;
	/* the block of page 40 holds zeroes */
	assert_int_equal(pwrite(fd, zero, P, (off_t)offs[40]), (ssize_t)P);
	x = snap_from_file(fd, N, offs);
	close(fd);
	assert_non_null(x);
	s = cow_space_from_snap(x);
	assert_non_null(s);
	assert_int_equal(stats(s).defrags, 1);
	assert_true(stats(s).defrag_copies >= DATA);
	assert_true(stats(s).maps <= COW_MAPS_MAX);
	/* the data pages, not the space: at most one page in ten more (before
	 * the space is read: a read of a hole of the memfd allocates a page) */
	assert_true(frames_memory() - before <= (size_t)DATA * P * 11 / 10);
	b = cow_base(s);
	for (size_t i = 0; i < N; i++) {
		if (offs[i] == COW__ZERO_BLOCK || i == 40) {
			assert_memory_equal(b + i * P, zero, P);
			continue;
		}
		for (size_t k = 0; k < P; k += 97)
			assert_int_equal(b[i * P + k], expect(offs[i] + k, 5));
	}
	/* writes stay the space's own, zero pages included */
	b[1 * P] = 1;
	b[4 * P + 1] = 2;
	assert_int_equal(cow_snap_read(x, 1 * P, zero, 1), 0);
	assert_int_equal(zero[0], 0);
	assert_int_equal(b[4 * P + 1], 2);
	t_check_invariants();
	assert_int_equal(cow_restore(s, x), 0);
	assert_int_equal(b[1 * P], 0);
	assert_int_equal(b[4 * P + 1], expect(offs[4] + 1, 5));
	t_check_invariants();
	cow_space_destroy(s);
	cow_snap_release(x);
	assert_int_equal(cow_frames_in_use(), 0);
	free(zero);
	free(offs);
	unlink(path);
	free(path);
}

/* The same, from a file cut short since: taking the pages home reads it, so
 * the space is refused with EIO, and nothing is left behind. */
static void scattered_checkpoint_cut_short_is_refused(void **state)
{
	T_START();
	enum { N = 8192 };
	char *path = make_file((size_t)N * P, 3);
	int fd = open(path, O_RDONLY);
	uint64_t *offs = malloc(N * sizeof *offs);
	cow_snap *x;

	for (size_t i = 0; i < N; i++)
		offs[i] = (uint64_t)(N - 1 - i) * P;
	x = snap_from_file(fd, N, offs);
	close(fd);
	assert_non_null(x);
	assert_int_equal(truncate(path, (off_t)(N / 2) * P), 0);
	errno = 0;
	assert_null(cow_space_from_snap(x));
	assert_int_equal(errno, EIO);
	t_check_invariants();
	cow_snap_release(x);
	assert_int_equal(cow_frames_in_use(), 0);
	free(offs);
	unlink(path);
	free(path);
}

static void vfork_child_execs_a_file(void **state)
{
	T_START();
	char *path = make_file(4 * P, 6);
	cow_space *p = cow_space_create(4 * P, 0), *c;
	unsigned char *cb;

	memset(cow_base(p), 'p', 4 * P);
	c = cow_vfork(p);
	cb = cow_base(c);
	cb[0] = 'c';
	assert_int_equal(cow_exec_file(c, path, 0), 0);
	assert_int_equal(cb[0], expect(0, 6));
	((char *)cow_base(p))[1] = 'q';		/* the parent writes again */
	assert_int_equal(((char *)cow_base(p))[0], 'c');
	cb[1] = 'd';
	assert_int_equal(((char *)cow_base(p))[1], 'q');
	t_check_invariants();
	cow_space_destroy(c);
	cow_space_destroy(p);
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(image_reads_lazily_and_writes_stay_private),
		cmocka_unit_test(exec_file_replaces_and_releases),
		cmocka_unit_test(hundred_spaces_share_one_image),
		cmocka_unit_test(clean_image_pages_are_dropped_and_read_again),
		cmocka_unit_test(shrunk_file_is_an_error_not_zeroes),
		cmocka_unit_test(scattered_blocks_of_a_file),
		cmocka_unit_test(spans_left_out_are_zeroes_unread),
		cmocka_unit_test(scattered_image_stays_within_budget),
		cmocka_unit_test(scattered_checkpoint_takes_memory_for_its_data_only),
		cmocka_unit_test(scattered_checkpoint_cut_short_is_refused),
		cmocka_unit_test(vfork_child_execs_a_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
