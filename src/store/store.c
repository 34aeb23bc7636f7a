/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.c — the store: one file of checkpoints, crash-safe by copy on write.
 *
 * The durable state is what the newer valid root slot reaches: the catalog
 * (the list of checkpoints), their page tables, their data blocks. A
 * transaction (a commit, a drop) never writes a block that state reaches: it
 * writes new blocks, fsyncs, then writes the *older* root slot with txid + 1
 * and fsyncs again. A crash before the second fsync leaves the old root the
 * newer valid one; after it, the new one. Blocks the old state alone
 * reached are freed only once the new root is durable.
 *
 * This file: open (create, root slots, catalog, rebuilding the block counts),
 * transactions, drop, list/info, verify, lineages. Building checkpoints is in
 * store_commit.c, page tables in store_tree.c, the block map in
 * store_blocks.c, the engine glue (commit and load of snapshots) in
 * store_snap.c.
 */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

/* Every handle opened in this process gets its own serial (see store.h). */
static atomic_uint_fast64_t store_serials;


#define OPEN_FLAGS (COW_STORE_CREATE | COW_STORE_EXCL | COW_STORE_RDONLY | \
		    COW_STORE_VERIFY_LOAD | COW_STORE_FULL_COMMITS | COW_STORE_SALVAGE)

/* What the last failed cow_store_open() of this thread found. */
static __thread char open_msg[256];

int cow__store_fail(struct cow_store *st, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->msg, sizeof st->msg, fmt, ap);
	va_end(ap);
	return err;
}

struct cow__ckpt *cow__store_find(struct cow_store *st, uint64_t id)
{
	size_t lo = 0, hi = st->nck;

	while (lo < hi) {		/* ids are increasing */
		size_t mid = lo + (hi - lo) / 2;

		if (st->ck[mid].rec.id == id)
			return &st->ck[mid];
		if (st->ck[mid].rec.id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- creating a store ----------------------------------------------------- */

/* fsync_dir — make the directory entry of path durable. 0 or -errno. */
static int fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, err = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -errno;
	err = cow__io_fsync(fd);
	close(fd);
	return err;
}

/* write_empty — the two root slots of an empty store into fd, fsynced. */
static int write_empty(int fd)
{
	unsigned char *blk = calloc(COW__SLOTS, COW__BLK);
	struct cow__slot s = { .version = COW__VERSION, .block_size = COW__BLK,
			       .txid = 1, .next_id = 1, .nblocks = COW__SLOTS };
	int err;

	if (!blk)
		return -ENOMEM;
	s.created = now_ns();
	if (getrandom(&s.store_id, sizeof s.store_id, 0) != sizeof s.store_id)
		s.store_id = s.created ^ (uint64_t)getpid();
	cow__slot_encode(blk, &s);	/* slot 1 stays zero: never valid */
	err = cow__io_pwrite(fd, blk, COW__SLOTS * COW__BLK, 0);
	if (!err)
		err = cow__io_fsync(fd);
	free(blk);
	return err;
}

/* publish — rename tmp to path unless path exists (then -EEXIST). */
static int publish(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* File systems without RENAME_NOREPLACE: link() does not replace. */
	if (link(tmp, path) < 0)
		return -errno;
	unlink(tmp);
	return 0;
}

/*
 * create_file — create an empty store at path, atomically: the slots are
 * written and fsynced in a temporary file (mode 0600) renamed into place,
 * then the directory is fsynced. A crash leaves no store or a complete one.
 * 0, -EEXIST, or -errno.
 */
static int create_file(const char *path)
{
	size_t len = strlen(path);
	char *tmp = malloc(len + 16);
	int fd, err;

	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, len + 16, "%s.tmp.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		free(tmp);
		return err;
	}
	err = write_empty(fd);
	close(fd);
	if (!err)
		err = publish(tmp, path);
	if (err)
		unlink(tmp);
	if (!err)
		err = fsync_dir(path);
	free(tmp);
	return err;
}

/* ---- opening: root slots, catalog, block counts ---------------------------- */

/* slot_check — a valid slot's fields against the format; NULL if fine. */
static const char *slot_check(const struct cow__slot *s, uint64_t n)
{
	if (s->next_id == 0 || s->txid == 0 || s->nckpts > COW__MAX_CKPTS)
		return "impossible values";
	if (s->ncatalog != (s->nckpts + COW__CAT_PER_BLOCK - 1) / COW__CAT_PER_BLOCK)
		return "catalog length does not match its checkpoint count";
	if (s->ncatalog > n - COW__SLOTS)
		return "catalog longer than the file";
	if (s->nckpts ? s->catalog.blk < COW__SLOTS || s->catalog.blk >= n
		      : s->catalog.blk || s->catalog.sum)
		return "catalog pointer out of range";
	for (int i = 0; i < 4; i++)
		if (s->reserved[i])
			return "reserved fields set";
	return NULL;
}

/*
 * load_root — read both root slots and keep the valid one with the higher
 * txid in st->slot (its fields are checked against the file by load()).
 * Both slots are read in one pread: a slot being rewritten by a writer
 * (another process) fails its checksum, and the other, older one wins.
 * 0, -EBADMSG (not a store, both slots corrupt), -EPROTONOSUPPORT
 * (another format version or block size), -EIO.
 */
static int load_root(struct cow_store *st)
{
	unsigned char *blk = cow__io_malloc(COW__SLOTS * COW__BLK);
	struct cow__slot s[COW__SLOTS];
	int ok[COW__SLOTS], magic[COW__SLOTS], win = -1;
	ssize_t got;

	if (!blk)
		return -ENOMEM;
	got = cow__io_pread(st->fd, blk, COW__SLOTS * COW__BLK, 0);
	if (got < 0) {
		free(blk);
		return cow__store_fail(st, (int)got, "reading the root slots: %s",
				       cow_strerror((int)got));
	}
	for (int i = 0; i < COW__SLOTS; i++) {
		memset(&s[i], 0, sizeof s[i]);
		ok[i] = (size_t)got >= (size_t)(i + 1) * COW__BLK &&
			cow__slot_decode(blk + i * COW__BLK, &s[i], &magic[i]) == 0;
		if ((size_t)got < (size_t)(i + 1) * COW__BLK)
			magic[i] = 1;
		if (ok[i] && (win < 0 || s[i].txid > s[win].txid))
			win = i;
	}
	free(blk);
	if ((size_t)got < COW__SLOTS * COW__BLK && win < 0)
		return cow__store_fail(st, -EBADMSG, "file too short to be a store (%zd bytes)",
				       got);
	if (win < 0)
		return cow__store_fail(st, -EBADMSG, magic[0] && magic[1]
				       ? "not a libcow store (bad magic)"
				       : "both root slots are corrupt (checksum mismatch)");
	if (ok[0] && ok[1] && s[0].txid == s[1].txid)
		return cow__store_fail(st, -EBADMSG, "both root slots have txid %" PRIu64,
				       s[0].txid);
	if (s[win].version != COW__VERSION || s[win].block_size != COW__BLK)
		return cow__store_fail(st, -EPROTONOSUPPORT, "store format version %u, "
				       "block size %u: this libcow reads version %u, block size %u",
				       s[win].version, s[win].block_size, COW__VERSION, COW__BLK);
	st->slot = s[win];
	st->cur = win;
	return 0;
}

/* rec_ok — a catalog record against the previous one and the root. */
static const char *rec_ok(const struct cow__rec *r, uint64_t prev, uint64_t next_id)
{
	if (r->id <= prev || r->id >= next_id)
		return "checkpoint ids out of order";
	if (r->parent >= r->id || r->flags)
		return "impossible record";
	return NULL;
}

/*
 * cat_block — read catalog block i at p, check it, and append its records
 * to st->ck. *next gets the pointer to the following block. kind marks the
 * blocks seen (a chain that loops is caught). 0, -EBADMSG, -EIO.
 */
static int cat_block(struct cow_store *st, struct cow__ptr p, uint32_t i,
		     unsigned char *blk, uint8_t *kind, struct cow__ptr *next)
{
	uint32_t last = st->slot.ncatalog - 1;
	uint32_t want = i < last ? COW__CAT_PER_BLOCK
				 : st->slot.nckpts - last * COW__CAT_PER_BLOCK;
	struct cow__cat_hdr h;
	ssize_t got;
	const char *bad = NULL;

	if (p.blk < COW__SLOTS || p.blk >= st->blocks.n || kind[p.blk])
		return cow__store_fail(st, -EBADMSG, "catalog block #%u: pointer out of range", i);
	kind[p.blk] = COW__K_CAT;
	got = cow__io_pread(st->fd, blk, COW__BLK, (off_t)(p.blk << COW__BLK_SHIFT));
	if (got < 0)
		return cow__store_fail(st, (int)got, "reading catalog block %" PRIu64 ": %s",
				       p.blk, cow_strerror((int)got));
	cow__cat_hdr_decode(blk, &h);
	if (got != COW__BLK)
		bad = "beyond the end of the file";
	else if (!cow__sum_ok(blk, p.sum))
		bad = "checksum mismatch";
	else if (h.magic != COW__CAT_MAGIC || h.index != i || h.reserved)
		bad = "not the expected catalog block";
	else if (h.count != want || h.txid > st->slot.txid)
		bad = "wrong record count or transaction";
	else if (i < last ? h.next.blk == 0 : h.next.blk || h.next.sum)
		bad = "wrong chain pointer";
	for (uint32_t k = 0; k < want && !bad; k++) {
		struct cow__rec *r = &st->ck[st->nck].rec;

		cow__rec_decode(blk + COW__CAT_HDR + k * COW__CAT_REC, r);
		bad = rec_ok(r, st->nck ? st->ck[st->nck - 1].rec.id : 0, st->slot.next_id);
		if (!bad)
			st->nck++;
	}
	if (bad)
		return cow__store_fail(st, -EBADMSG, "catalog block #%u (block %" PRIu64 "): %s",
				       i, p.blk, bad);
	st->cat[i] = p.blk;
	*next = h.next;
	return 0;
}

/* load_catalog — read the catalog chain of the root into st->ck, st->cat. */
static int load_catalog(struct cow_store *st, uint8_t *kind)
{
	unsigned char *blk = cow__io_malloc(COW__BLK);
	struct cow__ptr p = st->slot.catalog;
	int err = 0;

	st->ck = cow__io_calloc(st->slot.nckpts ? st->slot.nckpts : 1, sizeof *st->ck);
	st->cat = cow__io_calloc(st->slot.ncatalog ? st->slot.ncatalog : 1, sizeof *st->cat);
	if (!blk || !st->ck || !st->cat) {
		free(blk);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < st->slot.ncatalog && !err; i++)
		err = cat_block(st, p, i, blk, kind, &p);
	st->ncat = st->slot.ncatalog;
	for (uint32_t i = 0; i < st->slot.ncatalog && !err; i++)
		st->blocks.rc[st->cat[i]] = 1;
	free(blk);
	return err;
}

/*
 * count_refs — rebuild the block counts from the checkpoints' page tables.
 * A checkpoint that cannot be read fails the open, except for read-only
 * and salvaging (COW_STORE_SALVAGE) handles where it is marked damaged (the
 * others stay readable). A damaged table is counted as far as it could be
 * read; a block reached only through its unreadable part counts as free,
 * which can harm nothing but that checkpoint, already lost.
 */
static int count_refs(struct cow_store *st, uint8_t *kind)
{
	struct cow__walk w = { .st = st, .rc = st->blocks.rc, .kind = kind,
			       .n = st->blocks.n };
	char first[sizeof st->msg] = "";

	w.buf = cow__io_malloc(COW__BLK);
	if (!w.buf)
		return -ENOMEM;
	for (size_t i = 0; i < st->nck; i++) {
		int err;

		w.rec = &st->ck[i].rec;
		err = cow__walk_tree(&w);
		if (err && (!(st->flags & (COW_STORE_RDONLY | COW_STORE_SALVAGE)) ||
			    err == -ENOMEM)) {
			free(w.buf);
			return err;
		}
		st->ck[i].damaged = err;
		if (err && !first[0])
			memcpy(first, st->msg, sizeof first);
	}
	memcpy(st->msg, first, sizeof first);
	free(w.buf);
	st->blocks.nfree = 0;
	for (uint64_t b = COW__SLOTS; b < st->blocks.n; b++)
		st->blocks.nfree += st->blocks.rc[b] == 0;
	return 0;
}

/*
 * load — read the root, the catalog, and rebuild the block counts. The
 * file's size is taken after the root is read: a writer extends the file
 * before it writes the root slot that reaches the new blocks, so a reader
 * never finds the root it reads pointing past the end it knows.
 */
static int load(struct cow_store *st)
{
	struct stat a;
	const char *bad;
	uint8_t *kind;
	int err = load_root(st);

	if (err)
		return err;
	if (fstat(st->fd, &a) < 0)
		return cow__store_fail(st, -errno, "fstat: %s", strerror(errno));
	err = cow__blocks_init(&st->blocks, (uint64_t)a.st_size >> COW__BLK_SHIFT);
	if (err)
		return err;
	bad = slot_check(&st->slot, st->blocks.n);
	if (bad)
		return cow__store_fail(st, -EBADMSG, "root slot %d: %s", st->cur, bad);
	kind = cow__io_calloc(st->blocks.n, 1);
	if (!kind)
		return -ENOMEM;
	kind[0] = kind[1] = COW__K_SLOT;
	err = load_catalog(st, kind);
	if (!err)
		err = count_refs(st, kind);
	free(kind);
	return err;
}

/* disk_txid — the txid of the newer valid root slot on disk now (0 if
 * neither is valid), -errno on a read error. */
static int64_t disk_txid(struct cow_store *st)
{
	unsigned char *blk = cow__io_malloc(COW__SLOTS * COW__BLK);
	uint64_t best = 0;
	ssize_t got;

	if (!blk)
		return -ENOMEM;
	got = cow__io_pread(st->fd, blk, COW__SLOTS * COW__BLK, 0);
	for (int i = 0; got > 0 && i < COW__SLOTS; i++) {
		struct cow__slot s;
		int magic;

		if ((size_t)got >= (size_t)(i + 1) * COW__BLK &&
		    cow__slot_decode(blk + i * COW__BLK, &s, &magic) == 0 && s.txid > best)
			best = s.txid;
	}
	free(blk);
	return got < 0 ? (int64_t)got : (int64_t)best;
}

/* cow__store_moved — 1 if a writer has committed since st read its root
 * (the newest root on disk is another one), else 0. Read-only handles use
 * it to tell a block a writer reused under them from a corrupt one. */
int cow__store_moved(struct cow_store *st)
{
	int64_t t = disk_txid(st);

	return t > 0 && (uint64_t)t != st->slot.txid;
}

/* damaged_any — 1 if some checkpoint could not be read at open. */
static int damaged_any(const struct cow_store *st)
{
	for (size_t i = 0; i < st->nck; i++)
		if (st->ck[i].damaged)
			return 1;
	return 0;
}

/* state_clear — forget the root, catalog and block counts (after a failed
 * or raced load). */
static void state_clear(struct cow_store *st)
{
	cow__blocks_destroy(&st->blocks);
	memset(&st->blocks, 0, sizeof st->blocks);
	free(st->ck);
	free(st->cat);
	st->ck = NULL;
	st->cat = NULL;
	st->nck = st->ncat = 0;
	st->held = 0;
	memset(&st->slot, 0, sizeof st->slot);
}

/*
 * load_view — load(), for every handle; a read-only handle does not lock
 * the file, so a writer may commit while it reads and reuse blocks the root
 * it read reaches (those of a checkpoint the writer dropped). Every block
 * carries its checksum, so such a block reads as corrupt: when the root on
 * disk moved meanwhile, the load starts again from the new root (up to
 * COW__RELOADS times), otherwise the corruption is real.
 */
static int load_view(struct cow_store *st)
{
	int err = 0;

	for (int i = 0; i < COW__RELOADS; i++) {
		if (i)
			state_clear(st);
		err = load(st);
		if (!(st->flags & COW_STORE_RDONLY) || err == -ENOMEM)
			return err;
		if ((err != -EBADMSG && !(err == 0 && damaged_any(st))) || !cow__store_moved(st))
			return err;
	}
	return cow__store_fail(st, -EAGAIN, "the store changed %d times while it was read",
			       COW__RELOADS);
}

/*
 * open_files — open path (and a second read-only file description for
 * loaded snapshots). A writer takes the exclusive flock (-EBUSY if another
 * writer has it); a read-only handle takes no lock at all, so it never
 * stops a writer from opening, and reads the newest committed root (see
 * load_view()). Nothing is ever created here. 0 or -errno; -EINVAL for a
 * path that is not a regular file.
 */
static int open_files(struct cow_store *st, const char *path)
{
	int ro = st->flags & COW_STORE_RDONLY;
	struct stat a, b;

	if (stat(path, &a) == 0 && !S_ISREG(a.st_mode))	/* no open of a FIFO or a directory */
		return cow__store_fail(st, -EINVAL, "not a regular file");
	st->fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
	if (st->fd < 0 && errno == EISDIR)
		return cow__store_fail(st, -EINVAL, "not a regular file");
	if (st->fd < 0)
		return cow__store_fail(st, -errno, "%s", strerror(errno));
	if (fstat(st->fd, &a) < 0)
		return -errno;
	if (!S_ISREG(a.st_mode))
		return cow__store_fail(st, -EINVAL, "not a regular file");
	if (!ro && flock(st->fd, LOCK_EX | LOCK_NB) < 0)
		return cow__store_fail(st, errno == EWOULDBLOCK ? -EBUSY : -errno,
				       "open for writing by another handle");
	/* Snapshots keep a duplicate of this one: it must not hold the lock. */
	st->rfd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (st->rfd < 0 || fstat(st->rfd, &b) < 0)
		return -errno;
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return cow__store_fail(st, -EAGAIN, "the file was replaced while opening");
	return 0;
}

static void store_free(struct cow_store *st)
{
	for (int i = 0; i < COW__LINEAGES; i++) {
		struct cow__lineage *l = &st->lin[i];

		if (l->snap && l->release)
			l->release(l->snap);
		cow__tree_put(l->tree);
	}
	if (st->fd >= 0)
		close(st->fd);
	if (st->rfd >= 0)
		close(st->rfd);
	cow__blocks_destroy(&st->blocks);
	pthread_mutex_destroy(&st->lock);
	free(st->path);
	free(st->ck);
	free(st->cat);
	free(st);
}

/* Record where st's file is (absolute path, device, inode), so that a write
 * can tell when the file was moved, replaced or deleted meanwhile. 0 or
 * -errno. */
static int remember_path(struct cow_store *st, const char *path)
{
	struct stat sb;

	if (fstat(st->fd, &sb))
		return cow__store_fail(st, -errno, "fstat: %s", cow_strerror(-errno));
	st->dev = sb.st_dev;
	st->ino = sb.st_ino;
	st->path = realpath(path, NULL);
	if (!st->path)
		return cow__store_fail(st, -errno, "resolving the path: %s", cow_strerror(-errno));
	return 0;
}

/* Is st's file still the one at the path it was opened with? */
static bool still_at_path(const struct cow_store *st)
{
	struct stat sb;

	return st->path && stat(st->path, &sb) == 0 && sb.st_dev == st->dev &&
	       sb.st_ino == st->ino;
}

COW_API cow_store *cow_store_open(const char *path, int flags)
{
	struct cow_store *st;
	int err = 0;

	open_msg[0] = 0;
	if (!path || !*path || (flags & ~OPEN_FLAGS) ||
	    ((flags & COW_STORE_RDONLY) && (flags & (COW_STORE_CREATE | COW_STORE_SALVAGE))) ||
	    ((flags & COW_STORE_EXCL) && !(flags & COW_STORE_CREATE))) {
		snprintf(open_msg, sizeof open_msg, "invalid arguments");
		errno = EINVAL;
		return NULL;
	}
	st = cow__io_calloc(1, sizeof *st);
	if (!st) {
		errno = ENOMEM;
		return NULL;
	}
	st->fd = st->rfd = -1;
	st->flags = flags;
	st->pid = getpid();
	st->serial = atomic_fetch_add(&store_serials, 1) + 1;
	pthread_mutex_init(&st->lock, NULL);
	/* An existing store is opened without creating anything (no temporary
	 * file): a restart works on a full disk or in a read-only directory. */
	if (!(flags & COW_STORE_EXCL))
		err = open_files(st, path);
	if ((flags & COW_STORE_CREATE) && ((flags & COW_STORE_EXCL) || err == -ENOENT)) {
		st->msg[0] = 0;
		if (st->fd >= 0)	/* the file vanished between two opens */
			close(st->fd);
		if (st->rfd >= 0)
			close(st->rfd);
		st->fd = st->rfd = -1;
		err = create_file(path);
		if (err == -EEXIST && !(flags & COW_STORE_EXCL))
			err = 0;	/* created by another process meanwhile */
		if (err)
			cow__store_fail(st, err, "creating the file: %s", cow_strerror(err));
		if (!err)
			err = open_files(st, path);
	}
	if (!err)
		err = load_view(st);
	if (!err)
		err = remember_path(st, path);
	if (err) {
		snprintf(open_msg, sizeof open_msg, "%s", st->msg[0] ? st->msg : cow_strerror(err));
		store_free(st);
		errno = -err;
		return NULL;
	}
	st->msg[0] = 0;
	return st;
}

COW_API int cow_store_close(cow_store *st)
{
	int err;

	if (!st)
		return 0;
	pthread_mutex_lock(&st->lock);
	err = st->builders ? -EBUSY : 0;
	pthread_mutex_unlock(&st->lock);
	if (err)
		return err;
	err = __atomic_load_n(&st->failed, __ATOMIC_RELAXED);
	store_free(st);
	return err;
}

COW_API const char *cow_store_errmsg(const cow_store *st)
{
	return st ? st->msg : open_msg;
}

/* ---- transactions ----------------------------------------------------------- */

void cow__store_set_failed(struct cow_store *st)
{
	__atomic_store_n(&st->failed, -EIO, __ATOMIC_RELAXED);
}

/* io_failed — note a write error; EIO means the handle can no longer trust
 * what it wrote: it fails every later write. Returns err. */
static int io_failed(struct cow_store *st, int err, const char *what)
{
	if (err == -EIO)
		cow__store_set_failed(st);
	return cow__store_fail(st, err, "%s: %s", what, cow_strerror(err));
}

/* fsync_failed — after a failed fsync the dirty pages may be gone and a
 * second fsync would report success: the handle is failed for good. */
static int fsync_failed(struct cow_store *st, int err)
{
	cow__store_set_failed(st);
	return cow__store_fail(st, err, "fsync: %s; the store must be reopened",
			       cow_strerror(err));
}

/* free_blocks — give n blocks (counts 1) back to the block map. */
static void free_blocks(struct cow_store *st, const uint64_t *blk, size_t n)
{
	pthread_mutex_lock(&st->blocks.lock);
	for (size_t i = 0; i < n; i++)
		cow__blocks_unref(&st->blocks, blk[i]);
	pthread_mutex_unlock(&st->blocks.lock);
}

/* alloc_blocks — n blocks (not necessarily consecutive) into blk. */
static int alloc_blocks(struct cow_store *st, uint64_t *blk, size_t n)
{
	size_t done = 0;

	pthread_mutex_lock(&st->blocks.lock);
	while (done < n) {
		uint64_t got, first = cow__blocks_alloc(&st->blocks, n - done, &got);

		if (!first)
			break;
		for (uint64_t k = 0; k < got; k++)
			blk[done++] = first + k;
	}
	pthread_mutex_unlock(&st->blocks.lock);
	if (done < n) {
		free_blocks(st, blk, done);
		return -ENOMEM;
	}
	return 0;
}

/* write_catalog — encode ck[0..n) as a chain of blocks at blk[] (last block
 * first, so each holds its successor's checksum), write them; *first is the
 * pointer to the chain. */
static int write_catalog(struct cow_store *st, const struct cow__ckpt *ck, size_t n,
			 const uint64_t *blk, size_t nblk, struct cow__ptr *first)
{
	unsigned char *buf = cow__io_malloc(COW__BLK);
	struct cow__ptr next = { 0, 0 };
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (size_t i = nblk; i-- > 0 && !err;) {
		size_t from = i * COW__CAT_PER_BLOCK, cnt = n - from;
		struct cow__cat_hdr h = { .magic = COW__CAT_MAGIC, .txid = st->slot.txid + 1,
					  .index = (uint32_t)i, .next = next };

		if (cnt > COW__CAT_PER_BLOCK)
			cnt = COW__CAT_PER_BLOCK;
		h.count = (uint32_t)cnt;
		memset(buf, 0, COW__BLK);
		cow__cat_hdr_encode(buf, &h);
		for (size_t k = 0; k < cnt; k++)
			cow__rec_encode(buf + COW__CAT_HDR + k * COW__CAT_REC, &ck[from + k].rec);
		next.blk = blk[i];
		next.sum = cow__sum(buf, COW__BLK);
		err = cow__io_pwrite(st->fd, buf, COW__BLK, (off_t)(blk[i] << COW__BLK_SHIFT));
	}
	free(buf);
	*first = next;
	return err;
}

/* write_root — the older slot becomes the root of txid + 1; both fsyncs. */
static int write_root(struct cow_store *st, struct cow__slot *s)
{
	unsigned char *buf = cow__io_calloc(1, COW__BLK);
	int err;

	if (!buf)
		return -ENOMEM;
	cow__slot_encode(buf, s);
	s->sum = cow__get64(buf + COW__SLOT_SIZE - 8);
	err = cow__io_fsync(st->fd);		/* everything the root reaches */
	if (err) {
		free(buf);
		return fsync_failed(st, err);
	}
	err = cow__io_pwrite(st->fd, buf, COW__BLK, (off_t)((st->cur ^ 1) << COW__BLK_SHIFT));
	free(buf);
	if (err)
		return io_failed(st, err, "writing the root slot");
	err = cow__io_fsync(st->fd);
	if (err)
		return fsync_failed(st, err);
	return 0;
}

/*
 * cow__store_txn — make ck[0..n) (with next_id) the durable catalog: write
 * it in new blocks, fsync, write the older root slot, fsync. Under st->lock.
 * On success st owns ck (the old array is freed) and the old catalog's
 * blocks are free; on failure nothing changed (the caller keeps ck), except
 * st->failed after an I/O error. 0, -EIO, -ENOSPC, -ENOMEM...
 */
int cow__store_txn(struct cow_store *st, struct cow__ckpt *ck, size_t n, uint64_t next_id)
{
	size_t nblk = (n + COW__CAT_PER_BLOCK - 1) / COW__CAT_PER_BLOCK;
	uint64_t *blk = cow__io_calloc(nblk ? nblk : 1, sizeof *blk);
	struct cow__slot s = st->slot;
	int err;

	if (!blk)
		return -ENOMEM;
	err = alloc_blocks(st, blk, nblk);
	if (err) {
		free(blk);
		return err;
	}
	err = write_catalog(st, ck, n, blk, nblk, &s.catalog);
	if (err)
		io_failed(st, err, "writing the catalog");
	s.txid++;
	s.next_id = next_id;
	s.nblocks = st->blocks.n;
	s.ncatalog = (uint32_t)nblk;
	s.nckpts = (uint32_t)n;
	if (!err)
		err = write_root(st, &s);
	if (err) {
		free_blocks(st, blk, nblk);
		free(blk);
		return err;
	}
	free_blocks(st, st->cat, st->ncat);
	free(st->cat);
	st->cat = blk;
	st->ncat = nblk;
	st->slot = s;
	st->cur ^= 1;
	if (ck != st->ck)
		free(st->ck);
	st->ck = ck;
	st->nck = n;
	return 0;
}

/* cow__store_writable — 0 if st may be written, else why not. */
int cow__store_writable(struct cow_store *st)
{
	if (st->flags & COW_STORE_RDONLY)
		return cow__store_fail(st, -EROFS, "the store is open read-only");
	if (st->pid != getpid())
		return cow__store_fail(st, -ESTALE, "the handle belongs to the parent of a fork()");
	if (__atomic_load_n(&st->failed, __ATOMIC_RELAXED))
		return cow__store_fail(st, -EIO, "an earlier write failed to reach "
				       "the disk: reopen the store");
	/* A checkpoint written into a file nobody can find any more would be
	 * lost at the next start, however durable: refuse, and say so. */
	if (!still_at_path(st))
		return cow__store_fail(st, -ENOENT, "the store's file is no longer at %s "
				       "(moved, replaced or deleted since it was opened): "
				       "nothing is written; reopen the store",
				       st->path ? st->path : "its path");
	return 0;
}

/* ---- lineages ----------------------------------------------------------------- */

static void lineage_clear(struct cow__lineage *l)
{
	if (l->snap && l->release)
		l->release(l->snap);
	cow__tree_put(l->tree);
	memset(l, 0, sizeof *l);
}

void cow__store_lineage_put(struct cow_store *st, struct cow__tree *tree, uint64_t replace)
{
	struct cow__lineage *victim = &st->lin[0];

	for (int i = 0; i < COW__LINEAGES; i++) {
		struct cow__lineage *l = &st->lin[i];

		if (l->tree && replace && l->tree->id == replace) {
			victim = l;
			break;
		}
		if (!l->tree || (victim->tree && l->used < victim->used))
			victim = l;
	}
	lineage_clear(victim);
	tree->refs++;
	victim->tree = tree;
	victim->used = ++st->clock;
}

void cow__store_lineage_attach(struct cow_store *st, uint64_t id, void *snap,
			       void (*release)(void *))
{
	pthread_mutex_lock(&st->lock);
	for (int i = 0; i < COW__LINEAGES && snap; i++) {
		struct cow__lineage *l = &st->lin[i];

		if (l->tree && l->tree->id == id && !l->snap) {
			l->snap = snap;
			l->release = release;
			snap = NULL;
		}
	}
	pthread_mutex_unlock(&st->lock);
	if (snap)
		release(snap);
}

/* cow__store_tree — checkpoint ck's page table: a lineage's, or read from
 * the file. *out holds a reference. Under st->lock. */
int cow__store_tree(struct cow_store *st, const struct cow__ckpt *ck, struct cow__tree **out)
{
	if (ck->damaged)
		return cow__store_fail(st, ck->damaged, "checkpoint %" PRIu64 " is damaged",
				       ck->rec.id);
	for (int i = 0; i < COW__LINEAGES; i++) {
		struct cow__lineage *l = &st->lin[i];

		if (l->tree && l->tree->id == ck->rec.id) {
			l->tree->refs++;
			l->used = ++st->clock;
			*out = l->tree;
			return 0;
		}
	}
	return cow__tree_read(st, &ck->rec, out);
}

/* ---- drop ------------------------------------------------------------------------ */

/* unref_tree — after the transaction that removed r is durable: drop r's
 * reference to its page table (reading it before any block is freed). */
static int unref_tree(struct cow_store *st, const struct cow__rec *r)
{
	struct cow__tree *t;
	int err = cow__tree_read(st, r, &t);

	if (err)
		return err;		/* blocks stay counted until the next open */
	cow__tree_unref(st, t);
	cow__tree_put(t);
	return 0;
}

COW_API int cow_store_drop(cow_store *st, uint64_t id)
{
	struct cow__ckpt *ck, *nck, gone;
	size_t at;
	int err;

	if (!st)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	err = cow__store_writable(st);
	ck = err ? NULL : cow__store_find(st, id);
	if (!err && !ck)
		err = cow__store_fail(st, -ENOENT, "no checkpoint %" PRIu64, id);
	if (!err && cow__store_parent_busy(st, id))
		err = cow__store_fail(st, -EBUSY, "checkpoint %" PRIu64 " is the parent of "
				      "a checkpoint being written", id);
	if (err)
		goto out;
	at = (size_t)(ck - st->ck);
	gone = *ck;
	nck = cow__io_malloc((st->nck ? st->nck : 1) * sizeof *nck);
	if (!nck) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(nck, st->ck, at * sizeof *nck);
	memcpy(nck + at, st->ck + at + 1, (st->nck - at - 1) * sizeof *nck);
	err = cow__store_txn(st, nck, st->nck - 1, st->slot.next_id);
	if (err) {
		free(nck);
		goto out;
	}
	for (int i = 0; i < COW__LINEAGES; i++)
		if (st->lin[i].tree && st->lin[i].tree->id == id)
			lineage_clear(&st->lin[i]);
	if (gone.pinned || gone.damaged || unref_tree(st, &gone.rec))
		st->held++;	/* its blocks stay allocated until close */
out:
	pthread_mutex_unlock(&st->lock);
	return err;
}

/* ---- questions -------------------------------------------------------------------- */

COW_API int cow_store_list(cow_store *st, uint64_t *ids, size_t cap, size_t *n)
{
	if (!st || !n || (cap && !ids))
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < cap && i < st->nck; i++)
		ids[i] = st->ck[i].rec.id;
	*n = st->nck;
	pthread_mutex_unlock(&st->lock);
	return 0;
}

COW_API int cow_store_latest(cow_store *st, uint64_t *id)
{
	int err = 0;

	if (!st || !id)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	if (st->nck)
		*id = st->ck[st->nck - 1].rec.id;
	else
		err = -ENOENT;
	pthread_mutex_unlock(&st->lock);
	return err;
}

COW_API int cow_store_info(cow_store *st, uint64_t id, struct cow_store_info *out)
{
	struct cow__ckpt *ck;

	if (!st || !out)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	ck = cow__store_find(st, id);
	if (ck) {
		memset(out, 0, sizeof *out);
		out->id = id;
		out->parent = ck->rec.parent;
		out->pages = ck->rec.npages;
		out->size = ck->rec.npages * COW__BLK;
		out->data_pages = ck->rec.data_pages;
		out->written_blocks = ck->rec.written;
		out->time_ns = ck->rec.time_ns;
		out->damaged = ck->damaged != 0;
	}
	pthread_mutex_unlock(&st->lock);
	return ck ? 0 : -ENOENT;
}

COW_API int cow_store_stat(cow_store *st, struct cow_store_stat *out)
{
	if (!st || !out)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&st->lock);
	out->checkpoints = st->nck;
	out->latest = st->nck ? st->ck[st->nck - 1].rec.id : 0;
	out->txid = st->slot.txid;
	out->created_ns = st->slot.created;
	out->failed = __atomic_load_n(&st->failed, __ATOMIC_RELAXED) != 0;
	out->readonly = (st->flags & COW_STORE_RDONLY) != 0;
	pthread_mutex_lock(&st->blocks.lock);
	out->file_blocks = st->blocks.n;
	out->free_blocks = st->blocks.nfree;
	out->used_blocks = st->blocks.n - st->blocks.nfree;
	pthread_mutex_unlock(&st->blocks.lock);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

uint64_t cow__store_next_id(struct cow_store *st)
{
	uint64_t id;

	pthread_mutex_lock(&st->lock);
	id = st->slot.next_id;
	pthread_mutex_unlock(&st->lock);
	return id;
}

/* ---- reading and verifying ------------------------------------------------------ */

/* A data block of a checkpoint and its page, for reading in file order. */
struct page_block {
	struct cow__ptr p;
	uint64_t page;
};

static int by_block(const void *a, const void *b)
{
	uint64_t x = ((const struct page_block *)a)->p.blk, y = ((const struct page_block *)b)->p.blk;

	return x < y ? -1 : x > y;
}

/* Are t's data blocks in page order in the file (as one commit writes them)? */
static bool blocks_in_order(const struct cow__tree *t)
{
	uint64_t last = 0;

	for (uint64_t j = 0; j < t->count[1]; j++) {
		const struct cow__ptr *ent = cow__tree_leaf(t, j);

		for (uint32_t i = 0; ent && i < cow__tree_leaf_pages(t, j); i++) {
			if (ent[i].blk && ent[i].blk < last)
				return false;
			if (ent[i].blk)
				last = ent[i].blk;
		}
	}
	return true;
}

#define SORTED_RUN 64u	/* blocks read at a time in file order */

/* data_blocks — t's data blocks and their pages, in page order, into pb
 * (NULL: only count them). Returns how many. */
static size_t data_blocks(const struct cow__tree *t, struct page_block *pb)
{
	size_t n = 0;

	for (uint64_t j = 0; j < t->count[1]; j++) {
		const struct cow__ptr *ent = cow__tree_leaf(t, j);

		if (!pb) {
			n += cow__tree_leaf_data(t, j);
			continue;
		}
		for (uint32_t i = 0; ent && i < cow__tree_leaf_pages(t, j); i++)
			if (ent[i].blk)
				pb[n++] = (struct page_block){ ent[i], j * COW__FANOUT + i };
	}
	return n;
}

/*
 * check_in_file_order — read and check every data block of t, in the order
 * of the blocks in the file rather than of the pages: incremental commits
 * under random writes scatter a checkpoint's blocks, and reading them page
 * by page from a cold cache is random I/O (a restart of a 1 GB dataset after
 * 33 checkpoints spent 12.5 s here). 0, -EBADMSG or -EIO (message set),
 * -ENOMEM.
 */
static int check_in_file_order(struct cow_store *st, const struct cow__tree *t)
{
	struct cow__ptr run[SORTED_RUN];
	struct page_block *pb;
	unsigned char *scratch;
	size_t n = data_blocks(t, NULL);
	int err = 0;

	pb = cow__io_malloc((n ? n : 1) * sizeof *pb);
	scratch = cow__io_malloc(SORTED_RUN * COW__BLK);
	if (!pb || !scratch) {
		free(pb);
		free(scratch);
		return -ENOMEM;
	}
	n = data_blocks(t, pb);
	qsort(pb, n, sizeof *pb, by_block);
	for (size_t k = 0; k < n && !err; k += SORTED_RUN) {
		size_t cnt = n - k < SORTED_RUN ? n - k : SORTED_RUN, bad = 0;

		for (size_t j = 0; j < cnt; j++)
			run[j] = pb[k + j].p;
		err = cow__read_blocks(st, run, cnt, scratch, &bad);
		if (err == -EBADMSG)
			cow__store_fail(st, err, "checkpoint %" PRIu64 ": page %" PRIu64
					" (block %" PRIu64 "): data checksum mismatch",
					t->id, pb[k + bad].page, pb[k + bad].p.blk);
		else if (err)
			cow__store_fail(st, err, "checkpoint %" PRIu64 ": reading: %s",
					t->id, cow_strerror(err));
	}
	free(scratch);
	free(pb);
	return err;
}

int cow__store_read_tree(struct cow_store *st, const struct cow__tree *t,
			 unsigned char *buf)
{
	unsigned char *scratch;
	int err;

	if (!buf && !blocks_in_order(t))
		return check_in_file_order(st, t);
	scratch = buf ? NULL : cow__io_malloc(COW__READ_CHUNK * COW__BLK);
	err = buf || scratch ? 0 : -ENOMEM;

	for (uint64_t j = 0; j < t->count[1] && !err; j++) {
		const struct cow__ptr *ent = cow__tree_leaf(t, j);
		uint64_t i = j * COW__FANOUT;
		size_t n = cow__tree_leaf_pages(t, j), bad = 0;

		if (!ent) {
			if (buf)
				memset(buf + i * COW__BLK, 0, n * COW__BLK);
			continue;
		}
		err = buf ? cow__read_blocks(st, ent, n, buf + i * COW__BLK, &bad)
			  : cow__check_blocks(st, ent, n, scratch, &bad);
		if (err == -EBADMSG)
			cow__store_fail(st, err, "checkpoint %" PRIu64 ": page %" PRIu64
					" (block %" PRIu64 "): data checksum mismatch",
					t->id, i + bad, ent[bad].blk);
		else if (err)
			cow__store_fail(st, err, "checkpoint %" PRIu64 ": reading: %s",
					t->id, cow_strerror(err));
	}
	free(scratch);
	return err;
}

int cow__store_read(struct cow_store *st, uint64_t id, void *buf, size_t len)
{
	struct cow__ckpt *ck;
	struct cow__tree *t = NULL;
	int err;

	pthread_mutex_lock(&st->lock);
	ck = cow__store_find(st, id);
	err = ck ? 0 : -ENOENT;
	if (!err && len != ck->rec.npages * COW__BLK)
		err = -EINVAL;
	if (!err)
		err = cow__store_tree(st, ck, &t);
	if (!err)
		err = cow__store_read_tree(st, t, buf);
	cow__tree_put(t);
	pthread_mutex_unlock(&st->lock);
	return err;
}

/* check_disk_root — the durable root on disk is still the one in memory. */
static int check_disk_root(struct cow_store *st)
{
	unsigned char *blk = cow__io_malloc(COW__BLK);
	struct cow__slot s;
	int magic, err;

	if (!blk)
		return -ENOMEM;
	err = (int)cow__io_pread(st->fd, blk, COW__BLK, (off_t)(st->cur << COW__BLK_SHIFT));
	if (err >= 0)
		err = err == COW__BLK && cow__slot_decode(blk, &s, &magic) == 0 &&
		      s.txid == st->slot.txid && s.sum == st->slot.sum ? 0 : -EBADMSG;
	free(blk);
	if (err == -EBADMSG)
		return cow__store_fail(st, err, "root slot %d changed on disk", st->cur);
	return err < 0 ? cow__store_fail(st, err, "reading root slot: %s", cow_strerror(err)) : 0;
}

/*
 * recount — count every reference from the file again (and, with
 * check_data, read every block once and check it), then compare with the
 * block map: a block referenced more often than counted could be reused
 * while a checkpoint needs it. exact: the counts must be equal (no build in
 * progress, no held checkpoint).
 */
static int recount(struct cow_store *st, int check_data, int exact)
{
	uint64_t n = st->blocks.n;
	struct cow__walk w = { .st = st, .n = n, .check_data = check_data };
	int err = check_disk_root(st);

	w.rc = cow__io_calloc(n, sizeof *w.rc);
	w.kind = cow__io_calloc(n, 1);
	w.buf = cow__io_malloc(COW__READ_CHUNK * COW__BLK);
	if (!err && (!w.rc || !w.kind || !w.buf))
		err = -ENOMEM;
	if (!err)
		w.rc[0] = w.rc[1] = 1;
	for (size_t i = 0; i < st->ncat && !err; i++)
		w.rc[st->cat[i]]++;
	for (size_t i = 0; i < st->nck && !err; i++) {
		w.rec = &st->ck[i].rec;
		err = st->ck[i].damaged ? cow__store_fail(st, -EBADMSG, "checkpoint %" PRIu64
							   " is damaged", w.rec->id)
					: cow__walk_tree(&w);
	}
	pthread_mutex_lock(&st->blocks.lock);
	for (uint64_t b = 0; b < n && !err; b++) {
		uint32_t have = st->blocks.rc[b];

		if (have < w.rc[b] || (exact && have != w.rc[b]))
			err = cow__store_fail(st, -EBADMSG, "block %" PRIu64 ": %u references "
					      "in the file, %u counted", b, w.rc[b], have);
	}
	pthread_mutex_unlock(&st->blocks.lock);
	free(w.rc);
	free(w.kind);
	free(w.buf);
	return err;
}

/*
 * cow__store_refresh — a read-only handle moves to the newest root on disk: the state
 * is read into a scratch handle sharing st's file, then swapped in. On
 * failure st keeps its old view. Under st->lock.
 */
int cow__store_refresh(struct cow_store *st)
{
	struct cow_store *t = cow__io_calloc(1, sizeof *t);
	struct cow__blocks ob;
	int err;

	if (!t)
		return -ENOMEM;
	t->fd = st->fd;
	t->rfd = -1;
	t->flags = st->flags;
	pthread_mutex_init(&t->lock, NULL);
	err = load_view(t);
	if (err) {
		memcpy(st->msg, t->msg, sizeof st->msg);
	} else {
		ob = st->blocks;	/* swap everything but the mutexes */
		st->blocks.rc = t->blocks.rc;
		st->blocks.n = t->blocks.n;
		st->blocks.cap = t->blocks.cap;
		st->blocks.cursor = t->blocks.cursor;
		st->blocks.nfree = t->blocks.nfree;
		t->blocks.rc = ob.rc;
		t->blocks.cap = ob.cap;
#define SWAP(f) do { __typeof__(st->f) x_ = st->f; st->f = t->f; t->f = x_; } while (0)
		SWAP(slot);
		SWAP(cur);
		SWAP(ck);
		SWAP(nck);
		SWAP(cat);
		SWAP(ncat);
#undef SWAP
	}
	t->fd = -1;		/* st's */
	state_clear(t);
	pthread_mutex_destroy(&t->lock);
	free(t);
	return err;
}

/*
 * cow_store_verify — see cow.h. A read-only handle verifies the newest
 * root: if a writer committed since the handle read its root (or commits
 * during the check and reuses a block under it), the handle moves to the
 * new root and checks again, up to COW__RELOADS times (then -EAGAIN).
 */
COW_API int cow_store_verify(cow_store *st)
{
	int ro, err, tries = 0;

	if (!st)
		return -EINVAL;
	pthread_mutex_lock(&st->lock);
	ro = (st->flags & COW_STORE_RDONLY) != 0;
	err = ro && cow__store_moved(st) ? cow__store_refresh(st) : 0;
	if (!err)
		err = recount(st, 1, !st->builders && !st->held && !ro);
	while (ro && err == -EBADMSG && cow__store_moved(st)) {
		if (++tries >= COW__RELOADS) {
			err = cow__store_fail(st, -EAGAIN, "the store changed %d times during "
					      "the check", tries);
			break;
		}
		err = cow__store_refresh(st);
		if (!err)
			err = recount(st, 1, 0);
	}
	if (!err)
		st->msg[0] = 0;
	pthread_mutex_unlock(&st->lock);
	return err;
}

int cow__store_check_counts(struct cow_store *st)
{
	int err;

	pthread_mutex_lock(&st->lock);
	err = recount(st, 0, 1);
	pthread_mutex_unlock(&st->lock);
	return err;
}
