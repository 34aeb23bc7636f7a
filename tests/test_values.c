/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_values.c — what cow_str, cow_buf and cow_vec share: the randomized
 * oracle test (every value against a plain malloc'd copy, byte for byte,
 * plus reference counts and live blocks), the fail-the-Nth-allocation loop
 * over every operation, the many-thread share/release/detach test, and the
 * statistics. The three types are driven through one table of adapters.
 * The per-function unit tests are in test_str.c, test_buf.c, test_vec.c.
 */
#include <cow.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "value_internal.h"

/* ---- one handle of any kind, and the adapters ------------------------ */

typedef union {
	struct cow__ref r;	/* every handle starts with its view */
	cow_str s;
	cow_buf b;
	cow_vec v;
} handle;

struct kind {
	const char *name;
	size_t esize;
	bool nul;
	unsigned char fill;	/* what resize pads with */
	void (*init)(handle *h);
	int (*new)(handle *h, const void *p, size_t n);
	int (*copy)(handle *dst, const handle *src);
	void (*release)(handle *h);
	const void *(*data)(const handle *h);
	size_t (*len)(const handle *h);
	void *(*get_mut)(handle *h);
	void *(*make_mut)(handle *h);
	int (*append)(handle *h, const void *p, size_t n);
	int (*insert)(handle *h, size_t pos, const void *p, size_t n);
	int (*erase)(handle *h, size_t pos, size_t n);
	int (*resize)(handle *h, size_t n);
	int (*reserve)(handle *h, size_t n);
	int (*slice)(handle *out, const handle *h, size_t pos, size_t n);
};

static void s_init(handle *h) { h->s = (cow_str)COW_STR_INIT; }
static int s_new(handle *h, const void *p, size_t n) { return cow_str_newn(&h->s, p, n); }
static int s_copy(handle *d, const handle *s) { return cow_str_copy(&d->s, &s->s); }
static void s_release(handle *h) { cow_str_release(&h->s); }
static const void *s_data(const handle *h) { return cow_str_data(&h->s); }
static size_t s_len(const handle *h) { return cow_str_len(&h->s); }
static void *s_get_mut(handle *h) { return cow_str_get_mut(&h->s); }
static void *s_make_mut(handle *h) { return cow_str_make_mut(&h->s); }
static int s_append(handle *h, const void *p, size_t n) { return cow_str_append(&h->s, p, n); }
static int s_insert(handle *h, size_t pos, const void *p, size_t n) { return cow_str_insert(&h->s, pos, p, n); }
static int s_erase(handle *h, size_t pos, size_t n) { return cow_str_erase(&h->s, pos, n); }
static int s_resize(handle *h, size_t n) { return cow_str_resize(&h->s, n, '~'); }
static int s_reserve(handle *h, size_t n) { return cow_str_reserve(&h->s, n); }
static int s_slice(handle *o, const handle *h, size_t pos, size_t n) { return cow_str_sub(&o->s, &h->s, pos, n); }

static void b_init(handle *h) { h->b = (cow_buf)COW_BUF_INIT; }
static int b_new(handle *h, const void *p, size_t n) { return cow_buf_new(&h->b, p, n); }
static int b_copy(handle *d, const handle *s) { return cow_buf_copy(&d->b, &s->b); }
static void b_release(handle *h) { cow_buf_release(&h->b); }
static const void *b_data(const handle *h) { return cow_buf_data(&h->b); }
static size_t b_len(const handle *h) { return cow_buf_len(&h->b); }
static void *b_get_mut(handle *h) { return cow_buf_get_mut(&h->b); }
static void *b_make_mut(handle *h) { return cow_buf_make_mut(&h->b); }
static int b_append(handle *h, const void *p, size_t n) { return cow_buf_append(&h->b, p, n); }
static int b_insert(handle *h, size_t pos, const void *p, size_t n) { return cow_buf_insert(&h->b, pos, p, n); }
static int b_erase(handle *h, size_t pos, size_t n) { return cow_buf_erase(&h->b, pos, n); }
static int b_resize(handle *h, size_t n) { return cow_buf_resize(&h->b, n); }
static int b_reserve(handle *h, size_t n) { return cow_buf_reserve(&h->b, n); }
static int b_slice(handle *o, const handle *h, size_t pos, size_t n) { return cow_buf_slice(&o->b, &h->b, pos, n); }

/* Two vector kinds: an odd element size, and 8-byte elements. */
static void v3_init(handle *h) { h->v = (cow_vec)COW_VEC_INIT(3); }
static int v3_new(handle *h, const void *p, size_t n) { return cow_vec_new(&h->v, 3, p, n); }
static void v8_init(handle *h) { h->v = (cow_vec)COW_VEC_INIT(8); }
static int v8_new(handle *h, const void *p, size_t n) { return cow_vec_new(&h->v, 8, p, n); }
static int v_copy(handle *d, const handle *s) { return cow_vec_copy(&d->v, &s->v); }
static void v_release(handle *h) { cow_vec_release(&h->v); }
static const void *v_data(const handle *h) { return cow_vec_data(&h->v); }
static size_t v_len(const handle *h) { return cow_vec_len(&h->v); }
static void *v_get_mut(handle *h) { return cow_vec_get_mut(&h->v); }
static void *v_make_mut(handle *h) { return cow_vec_make_mut(&h->v); }
static int v_append(handle *h, const void *p, size_t n) { return cow_vec_append(&h->v, p, n); }
static int v_insert(handle *h, size_t pos, const void *p, size_t n) { return cow_vec_insert(&h->v, pos, p, n); }
static int v_erase(handle *h, size_t pos, size_t n) { return cow_vec_erase(&h->v, pos, n); }
static int v_resize(handle *h, size_t n) { return cow_vec_resize(&h->v, n); }
static int v_reserve(handle *h, size_t n) { return cow_vec_reserve(&h->v, n); }
static int v_slice(handle *o, const handle *h, size_t pos, size_t n) { return cow_vec_slice(&o->v, &h->v, pos, n); }

#define VEC_OPS v_copy, v_release, v_data, v_len, v_get_mut, v_make_mut, \
	v_append, v_insert, v_erase, v_resize, v_reserve, v_slice

static const struct kind kinds[] = {
	{ "str", 1, true, '~', s_init, s_new, s_copy, s_release, s_data, s_len,
	  s_get_mut, s_make_mut, s_append, s_insert, s_erase, s_resize,
	  s_reserve, s_slice },
	{ "buf", 1, false, 0, b_init, b_new, b_copy, b_release, b_data, b_len,
	  b_get_mut, b_make_mut, b_append, b_insert, b_erase, b_resize,
	  b_reserve, b_slice },
	{ "vec3", 3, false, 0, v3_init, v3_new, VEC_OPS },
	{ "vec8", 8, false, 0, v8_init, v8_new, VEC_OPS },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* ---- the oracle: a plain malloc'd copy beside every handle ------------ */

struct model {
	unsigned char *b;
	size_t len;	/* units */
};

#define NSLOTS 8

struct world {
	const struct kind *k;
	handle h[NSLOTS];
	struct model m[NSLOTS];
	long live0;	/* blocks alive before the test */
};

static long live_blocks(void)
{
	struct cow_value_stats st;

	assert_int_equal(cow_value_stats_get(&st), 0);
	return (long)(st.allocs - st.frees);
}

/* p may point into m's own bytes. */
static void model_set(struct model *m, const void *p, size_t len, size_t es)
{
	unsigned char *n = malloc(len * es + 1);

	assert_non_null(n);
	if (len)
		memcpy(n, p, len * es);
	free(m->b);
	m->b = n;
	m->len = len;
}

/* Replace units [pos, pos+del) by ins units from src (fill when NULL). */
static void model_splice(struct model *m, size_t es, size_t pos, size_t del,
			 const void *src, size_t ins, unsigned char fill)
{
	size_t len = m->len - del + ins;
	unsigned char *n = malloc(len * es + 1);

	assert_non_null(n);
	memcpy(n, m->b, pos * es);
	if (src)
		memcpy(n + pos * es, src, ins * es);
	else
		memset(n + pos * es, fill, ins * es);
	memcpy(n + (pos + ins) * es, m->b + (pos + del) * es,
	       (m->len - pos - del) * es);
	free(m->b);
	m->b = n;
	m->len = len;
}

static void world_init(struct world *w, const struct kind *k)
{
	w->k = k;
	w->live0 = live_blocks();
	for (int i = 0; i < NSLOTS; i++) {
		k->init(&w->h[i]);
		w->m[i].b = NULL;
		model_set(&w->m[i], NULL, 0, k->esize);
	}
}

static void world_free(struct world *w)
{
	for (int i = 0; i < NSLOTS; i++) {
		w->k->release(&w->h[i]);
		free(w->m[i].b);
	}
	assert_int_equal(live_blocks(), w->live0);
}

/*
 * Check every slot against its model byte for byte, the NUL of strings,
 * each block's reference count against the handles that point at it, each
 * view inside its block, and the live block count against the distinct
 * blocks the slots hold (no leak, no early free).
 */
static void world_check(const struct world *w)
{
	const struct kind *k = w->k;
	long distinct = 0;

	for (int i = 0; i < NSLOTS; i++) {
		const handle *h = &w->h[i];
		const unsigned char *d = k->data(h);
		size_t refs = 0;
		bool first = true;

		assert_int_equal(k->len(h), w->m[i].len);
		assert_non_null(d);
		if (w->m[i].len)
			assert_memory_equal(d, w->m[i].b, w->m[i].len * k->esize);
		if (k->nul)
			assert_int_equal(d[w->m[i].len], 0);
		if (!h->r.blk) {
			assert_int_equal(h->r.len, 0);
			continue;
		}
		assert_true((h->r.off + h->r.len) * k->esize + k->nul <=
			    h->r.blk->b_cap);
		for (int j = 0; j < NSLOTS; j++) {
			if (w->h[j].r.blk != h->r.blk)
				continue;
			refs++;
			first = first && j >= i;
		}
		assert_int_equal(cow__ref_refs(&h->r), refs);
		distinct += first;
	}
	assert_int_equal(live_blocks() - w->live0, distinct);
}

/* ---- operations, applied to a handle and its model -------------------- */

enum op {
	OP_NEW, OP_COPY, OP_RELEASE, OP_APPEND, OP_APPEND_SELF, OP_INSERT,
	OP_ERASE, OP_RESIZE, OP_RESERVE, OP_MAKE_MUT, OP_GET_MUT, OP_SLICE,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"new", "copy", "release", "append", "append_self", "insert", "erase",
	"resize", "reserve", "make_mut", "get_mut", "slice",
};

/* The arguments of one operation on slot a (o: the other slot). */
struct args {
	int a, o;
	size_t pos, n;
	const unsigned char *src;	/* n units, for new/append/insert */
	unsigned char val;		/* byte written by make_mut/get_mut */
};

static void write_unit(unsigned char *p, size_t es, size_t pos, unsigned char v)
{
	memset(p + pos * es, v, es);
}

/*
 * apply — run op on the world's handles; on success update the models.
 * Returns what the library returned (pointer ops: 0 or -errno).
 */
static int apply(struct world *w, enum op op, const struct args *x)
{
	const struct kind *k = w->k;
	size_t es = k->esize;
	handle *h = &w->h[x->a], *o = &w->h[x->o];
	struct model *m = &w->m[x->a], *mo = &w->m[x->o];
	unsigned char *p;
	int rc = 0;

	switch (op) {
	case OP_NEW:
		k->release(o);
		model_set(mo, NULL, 0, es);
		rc = k->new(o, x->src, x->n);
		if (!rc)
			model_set(mo, x->src, x->n, es);
		break;
	case OP_COPY:
		k->release(o);
		model_set(mo, NULL, 0, es);
		rc = k->copy(o, h);
		if (!rc)
			model_set(mo, m->b, m->len, es);
		break;
	case OP_SLICE:
		if (x->a != x->o) {
			k->release(o);
			model_set(mo, NULL, 0, es);
		}
		rc = k->slice(o, h, x->pos, x->n);
		if (!rc)
			model_set(mo, m->b + x->pos * es, x->n, es);
		break;
	case OP_RELEASE:
		k->release(h);
		model_set(m, NULL, 0, es);
		break;
	case OP_APPEND:
		rc = k->append(h, x->src, x->n);
		if (!rc)
			model_splice(m, es, m->len, 0, x->src, x->n, 0);
		break;
	case OP_APPEND_SELF:	/* the source lies inside the value itself */
		p = malloc(x->n * es + 1);
		memcpy(p, m->b + x->pos * es, x->n * es);
		rc = k->append(h, (const unsigned char *)k->data(h) + x->pos * es,
			       x->n);
		if (!rc)
			model_splice(m, es, m->len, 0, p, x->n, 0);
		free(p);
		break;
	case OP_INSERT:
		rc = k->insert(h, x->pos, x->src, x->n);
		if (!rc)
			model_splice(m, es, x->pos, 0, x->src, x->n, 0);
		break;
	case OP_ERASE:
		rc = k->erase(h, x->pos, x->n);
		if (!rc)
			model_splice(m, es, x->pos, x->n, NULL, 0, 0);
		break;
	case OP_RESIZE:
		rc = k->resize(h, x->n);
		if (!rc && x->n < m->len)
			model_splice(m, es, x->n, m->len - x->n, NULL, 0, 0);
		else if (!rc)
			model_splice(m, es, m->len, 0, NULL, x->n - m->len, k->fill);
		break;
	case OP_RESERVE:
		rc = k->reserve(h, x->n);
		break;
	case OP_MAKE_MUT:
	case OP_GET_MUT: {
		bool unique = cow__ref_refs(&h->r) <= 1;

		p = op == OP_MAKE_MUT ? k->make_mut(h) : k->get_mut(h);
		if (!p) {
			rc = -errno;
			assert_true(op == OP_MAKE_MUT ? rc == -ENOMEM :
				    rc == -EBUSY && !unique);
			break;
		}
		assert_true(op == OP_MAKE_MUT || unique);
		if (m->len) {
			write_unit(p, es, x->pos, x->val);
			write_unit(m->b, es, x->pos, x->val);
		}
		break;
	}
	default:
		fail();
	}
	return rc;
}

/* Random arguments for op on slot a, valid for the slot's length. */
static struct args random_args(struct t_rng *r, const struct world *w,
			       enum op op, const unsigned char *pool)
{
	struct args x = { .a = (int)t_rng_below(r, NSLOTS),
			  .o = (int)t_rng_below(r, NSLOTS) };
	size_t len = w->m[x.a].len, big = t_rng_below(r, 8) == 0 ? 300 : 24;

	x.val = (unsigned char)t_rng_next(r);
	x.src = pool + t_rng_below(r, 64);
	x.pos = len ? t_rng_below(r, len + 1) : 0;
	x.n = t_rng_below(r, big);
	switch (op) {
	case OP_APPEND_SELF:
	case OP_ERASE:
	case OP_SLICE:
		x.n = t_rng_below(r, len - x.pos + 1);
		break;
	case OP_MAKE_MUT:
	case OP_GET_MUT:
		x.pos = len ? t_rng_below(r, len) : 0;
		break;
	case OP_RESIZE:
		x.n = t_rng_below(r, 2 * len + 8);
		break;
	default:
		break;
	}
	return x;
}

/* Thousands of random operations on 8 slots of each kind, checked after
 * every one. The slots share, slice and detach all the time. */
static void test_oracle(void **state)
{
	struct t_rng r;
	unsigned char pool[64 + 300 * 8];
	unsigned long iters = 4000ul * t_scale();

	t_rng_seed(&r, t_seed("values_oracle"));
	for (size_t i = 0; i < sizeof pool; i++)
		pool[i] = (unsigned char)t_rng_next(&r);
	for (size_t k = 0; k < NKINDS; k++) {
		struct world w;

		world_init(&w, &kinds[k]);
		for (unsigned long i = 0; i < iters; i++) {
			enum op op = (enum op)t_rng_below(&r, OP_COUNT);
			struct args x = random_args(&r, &w, op, pool);

			int expect = op == OP_GET_MUT &&
				     cow__ref_refs(&w.h[x.a].r) > 1 ? -EBUSY : 0;

			if (op == OP_RELEASE && t_rng_below(&r, 3))
				continue;	/* keep the slots populated */
			assert_int_equal(apply(&w, op, &x), expect);
			world_check(&w);
		}
		world_free(&w);
	}
}

/* ---- out of memory: fail the Nth allocation of every operation -------- */

/* The states a value can be in when an operation starts. */
enum setup { EXACT, SHARED, SLICED, ROOMY, NSETUPS };
static const char *const setup_names[] = { "exact", "shared", "sliced", "roomy" };

/* Slot 0 holds 10 units: in a block with no spare room (EXACT), shared
 * with slot 1 (SHARED), as a view past a cut prefix, at the end of its
 * block (SLICED), or in a block with room (ROOMY). */
static void setup(struct world *w, enum setup s, const unsigned char *pool)
{
	struct args x = { .a = 0, .o = 0, .n = s == SLICED ? 12 : 10,
			  .src = pool };

	assert_int_equal(apply(w, OP_NEW, &x), 0);
	x.o = 1;
	if (s == SHARED)
		assert_int_equal(apply(w, OP_COPY, &x), 0);
	x.n = 2;
	if (s == SLICED)
		assert_int_equal(apply(w, OP_ERASE, &x), 0);	/* prefix */
	if (s == ROOMY)
		assert_int_equal(w->k->reserve(&w->h[0], 64), 0);
	world_check(w);
}

/* The operations to break, with arguments that need memory. */
static const struct { enum op op; struct args x; } oom_ops[] = {
	{ OP_NEW, { .a = 0, .o = 2, .n = 40 } },
	{ OP_APPEND, { .a = 0, .n = 100 } },
	{ OP_APPEND, { .a = 0, .n = 1 } },
	{ OP_APPEND_SELF, { .a = 0, .pos = 2, .n = 8 } },
	{ OP_INSERT, { .a = 0, .pos = 3, .n = 70 } },
	{ OP_INSERT, { .a = 0, .pos = 0, .n = 1 } },
	{ OP_ERASE, { .a = 0, .pos = 2, .n = 3 } },
	{ OP_ERASE, { .a = 0, .pos = 7, .n = 3 } },
	{ OP_RESIZE, { .a = 0, .n = 300 } },
	{ OP_RESIZE, { .a = 0, .n = 4 } },
	{ OP_RESERVE, { .a = 0, .n = 1000 } },
	{ OP_MAKE_MUT, { .a = 0, .pos = 5, .val = 0xee } },
	{ OP_SLICE, { .a = 0, .o = 2, .pos = 2, .n = 5 } },
	{ OP_SLICE, { .a = 0, .o = 0, .pos = 1, .n = 9 } },
};

/*
 * For each kind, each starting state and each operation: make allocation
 * number 0, 1, 2, ... fail until the operation succeeds. After a failure
 * the operation must return -ENOMEM and every slot must be exactly as it
 * was (the oracle, unchanged, still matches; same block, same counts);
 * after the success the oracle, updated, must match.
 */
static void test_oom_every_operation(void **state)
{
	unsigned char pool[2048];

	for (size_t i = 0; i < sizeof pool; i++)
		pool[i] = (unsigned char)(i * 37 + 11);
	for (size_t k = 0; k < NKINDS; k++)
		for (int s = 0; s < NSETUPS; s++)
			for (size_t o = 0; o < sizeof oom_ops / sizeof oom_ops[0]; o++) {
				long n;

				for (n = 0; n < 8; n++) {
					struct world w;
					struct args x = oom_ops[o].x;
					struct cow__ref before[NSLOTS];
					int rc;

					world_init(&w, &kinds[k]);
					setup(&w, (enum setup)s, pool);
					x.src = pool + 100;
					for (int i = 0; i < NSLOTS; i++)
						before[i] = w.h[i].r;
					cow__value_alloc_fail_after(n);
					rc = apply(&w, oom_ops[o].op, &x);
					cow__value_alloc_fail_after(-1);
					if (rc && rc != -ENOMEM)
						fail_msg("%s/%s/%s: %d", kinds[k].name,
							 setup_names[s],
							 op_names[oom_ops[o].op], rc);
					for (int i = 0; rc && i < NSLOTS; i++)
						if (memcmp(&w.h[i].r, &before[i], sizeof before[i]))
							fail_msg("%s/%s/%s: slot %d changed",
								 kinds[k].name, setup_names[s],
								 op_names[oom_ops[o].op], i);
					world_check(&w);
					world_free(&w);
					if (!rc)
						break;
				}
				assert_true(n < 8);	/* it did succeed */
			}
}

/* Conversions under failing allocations: *in unchanged until success. */
static void test_oom_conversions(void **state)
{
	static const char text[] = "0123456789abcdef";

	for (int shared = 0; shared < 2; shared++)
		for (long n = 0;; n++) {
			cow_buf b = COW_BUF_INIT, keep = COW_BUF_INIT, before;
			cow_str s = COW_STR_INIT;
			cow_vec v = COW_VEC_INIT(4);
			int rc;

			assert_int_equal(cow_buf_new(&b, text, 16), 0);
			if (shared)
				assert_int_equal(cow_buf_copy(&keep, &b), 0);
			before = b;
			cow__value_alloc_fail_after(n);
			rc = cow_str_from_buf(&s, &b);
			cow__value_alloc_fail_after(-1);
			if (rc) {
				assert_int_equal(rc, -ENOMEM);
				assert_memory_equal(&b, &before, sizeof b);
				assert_memory_equal(cow_buf_data(&b), text, 16);
				assert_int_equal(cow_str_len(&s), 0);
				cow_buf_release(&b);
				cow_buf_release(&keep);
				continue;
			}
			assert_string_equal(cow_str_data(&s), text);
			/* and a misaligned buffer slice into a vector: a copy */
			assert_int_equal(cow_buf_from_str(&b, &s), 0);
			assert_int_equal(cow_buf_erase(&b, 0, 2), 0);
			assert_int_equal(cow_buf_resize(&b, 12), 0);
			before = b;
			cow__value_alloc_fail_after(0);
			assert_int_equal(cow_vec_from_buf(&v, &b, 4), -ENOMEM);
			cow__value_alloc_fail_after(-1);
			assert_memory_equal(&b, &before, sizeof b);
			assert_int_equal(cow_vec_from_buf(&v, &b, 4), 0);
			assert_memory_equal(cow_vec_data(&v), text + 2, 12);
			cow_vec_release(&v);
			cow_buf_release(&keep);
			break;
		}
}

/* ---- threads ----------------------------------------------------------- */

#define NTHREADS 4
#define TLEN 1024

static cow_str root;			/* read by every thread, never written */
static unsigned char pattern[TLEN];

/* A mailbox per thread: a neighbour drops a shared copy in it. */
static struct mailbox {
	pthread_mutex_t lock;
	cow_str s;
	bool full;
} boxes[NTHREADS];

/* Bytes [8, TLEN) of every string in play are the pattern; the first 8 are
 * the pattern or a tag some thread wrote into its own copy. */
static void check_tail(const cow_str *s)
{
	assert_int_equal(cow_str_len(s), TLEN);
	assert_memory_equal(cow_str_data(s) + 8, pattern + 8, TLEN - 8);
	assert_int_equal(cow_str_data(s)[TLEN], 0);
}

static void write_tag(cow_str *s, unsigned id, unsigned long i)
{
	char *p = cow_str_make_mut(s);
	unsigned long tag = ((unsigned long)id << 56) | i;

	assert_non_null(p);
	memcpy(p, &tag, 8);
	assert_memory_equal(cow_str_data(s), &tag, 8);
}

static void *thread_main(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	struct mailbox *next = &boxes[(id + 1) % NTHREADS], *own = &boxes[id];
	unsigned long iters = 3000ul * t_scale();
	struct t_rng r;

	t_rng_seed(&r, id + 1);
	for (unsigned long i = 0; i < iters; i++) {
		cow_str mine = COW_STR_INIT, c = COW_STR_INIT, got = COW_STR_INIT;
		bool took = false;

		assert_int_equal(cow_str_copy(&mine, &root), 0);
		check_tail(&mine);
		if (t_rng_below(&r, 2))
			write_tag(&mine, id, i);	/* detaches: root shared */
		/* send a shared copy of mine to the neighbour */
		assert_int_equal(cow_str_copy(&c, &mine), 0);
		pthread_mutex_lock(&next->lock);
		if (!next->full) {
			next->s = c;
			next->full = true;
			c = (cow_str)COW_STR_INIT;
		}
		pthread_mutex_unlock(&next->lock);
		cow_str_release(&c);
		/* read mine after sending, then drop it: the receiver may
		 * then reuse the bytes in place (count back to 1) */
		check_tail(&mine);
		cow_str_release(&mine);
		pthread_mutex_lock(&own->lock);
		if (own->full) {
			got = own->s;
			own->full = false;
			took = true;
		}
		pthread_mutex_unlock(&own->lock);
		if (took) {
			check_tail(&got);
			write_tag(&got, id, i);
			check_tail(&got);
			cow_str_release(&got);
		}
		assert_memory_equal(cow_str_data(&root), pattern, TLEN);
	}
	return NULL;
}

/* Many threads copy one root string, detach, pass copies to each other and
 * release them in every order; the root never changes, every copy always
 * holds what its thread expects, nothing leaks. Run it under TSan. */
static void test_threads_share_release_detach(void **state)
{
	pthread_t th[NTHREADS];
	struct cow_value_stats before, after;
	long live0 = live_blocks();

	for (int i = 0; i < TLEN; i++)
		pattern[i] = (unsigned char)(1 + i * 7 % 251);
	assert_int_equal(cow_str_newn(&root, (const char *)pattern, TLEN), 0);
	assert_int_equal(cow_value_stats_get(&before), 0);
	for (int i = 0; i < NTHREADS; i++) {
		pthread_mutex_init(&boxes[i].lock, NULL);
		boxes[i].full = false;
	}
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thread_main,
						(void *)(uintptr_t)i), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NTHREADS; i++) {
		if (boxes[i].full)
			cow_str_release(&boxes[i].s);
		pthread_mutex_destroy(&boxes[i].lock);
	}
	assert_int_equal(cow_str_refs(&root), 1);
	cow_str_release(&root);
	assert_int_equal(live_blocks(), live0);
	assert_int_equal(cow_value_stats_get(&after), 0);
	assert_true(after.detaches > before.detaches);
	assert_true(after.shares > before.shares);
}

/* The last reference dropped in another thread frees the block there; the
 * releasing threads race each other on one count. */
static void *release_main(void *arg)
{
	cow_str_release(arg);
	return NULL;
}

static void test_threads_last_release(void **state)
{
	long live0 = live_blocks();

	for (int round = 0; round < 100; round++) {
		cow_str s, c[NTHREADS];
		pthread_t th[NTHREADS];

		assert_int_equal(cow_str_new(&s, "released by many"), 0);
		for (int i = 0; i < NTHREADS; i++)
			assert_int_equal(cow_str_copy(&c[i], &s), 0);
		cow_str_release(&s);
		for (int i = 0; i < NTHREADS; i++)
			pthread_create(&th[i], NULL, release_main, &c[i]);
		for (int i = 0; i < NTHREADS; i++)
			pthread_join(th[i], NULL);
	}
	assert_int_equal(live_blocks(), live0);
}

/* ---- statistics ---------------------------------------------------------- */

static void test_stats(void **state)
{
	struct cow_value_stats st;
	cow_str a, b = COW_STR_INIT;
	cow_buf buf;

	assert_int_equal(cow_value_stats_get(NULL), -EINVAL);
	cow_value_stats_reset();
	assert_int_equal(cow_value_stats_get(&st), 0);
	assert_int_equal(st.allocs + st.shares + st.detaches + st.reuses +
			 st.steals + st.frees, 0);

	assert_int_equal(cow_str_new(&a, "0123456789"), 0);	/* alloc */
	assert_int_equal(cow_str_copy(&b, &a), 0);		/* share 10 */
	assert_non_null(cow_str_make_mut(&b));			/* detach 10 */
	assert_non_null(cow_str_make_mut(&b));			/* reuse */
	assert_int_equal(cow_buf_from_str(&buf, &b), 0);	/* steal */
	cow_buf_release(&buf);					/* free */
	cow_str_release(&a);					/* free */
	assert_int_equal(cow_value_stats_get(&st), 0);
	assert_int_equal(st.allocs, 2);
	assert_int_equal(st.frees, 2);
	assert_int_equal(st.shares, 1);
	assert_int_equal(st.bytes_shared, 10);
	assert_int_equal(st.detaches, 1);
	assert_int_equal(st.bytes_detached, 10);
	assert_int_equal(st.reuses, 1);
	assert_int_equal(st.steals, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_oracle),
		cmocka_unit_test(test_oom_every_operation),
		cmocka_unit_test(test_oom_conversions),
		cmocka_unit_test(test_threads_share_release_detach),
		cmocka_unit_test(test_threads_last_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
