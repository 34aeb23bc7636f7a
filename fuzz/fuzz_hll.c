/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_hll — cowkv's HyperLogLog code (cowkv/t_hll.c) on any string value,
 * as SET or SETRANGE can leave one under a key that PFADD, PFCOUNT,
 * PFMERGE and PFDEBUG then read and edit.
 *
 * Input: byte 0: bit 0 forces the header "HYLL" and bit 1 the encoding
 * byte (dense when bit 2), so that mutations reach the registers; byte 1:
 * hll-sparse-max-bytes / 16; byte 2: how many elements to add; then the
 * value.
 *
 * Must hold, whatever the input:
 *   - no crash, no read or write outside a buffer (ASan), no UB (UBSan),
 *     no leak;
 *   - a value the estimate reads as valid converts to dense with the same
 *     estimate, and merges (max of registers) to the same registers;
 *   - adding elements to a valid value (sparse edits, splits, joins,
 *     promotion under the limit) gives exactly the registers of a plain
 *     array raised by the same elements, and a valid value again; PFDEBUG
 *     DECODE of it runs.
 *
 * t_hll.c is included below; the server functions it calls for its
 * commands are stubs here (the commands themselves are not run).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../cowkv/t_hll.c"

/* ---- stubs of what the commands call (never reached here but by DECODE) ---- */
struct server srv;
long enc_hll_sparse = 3000;
static size_t replied;

bool check_type(struct client *c, const struct kv_ent *e, enum kv_type type)
{
	(void)c;
	return !e || e->type == type;
}
void reply_error(struct client *c, const char *msg) { (void)c; replied += strlen(msg); }
void reply_errorf(struct client *c, const char *fmt, ...) { (void)c; replied += strlen(fmt); }
void reply_oom(struct client *c) { (void)c; }
void reply_int(struct client *c, long long v) { (void)c; replied += (size_t)v & 1; }
void reply_ok(struct client *c) { (void)c; }
void reply_status(struct client *c, const char *s) { (void)c; replied += strlen(s); }
void reply_bulk(struct client *c, const void *p, size_t n)
{
	(void)c;
	if (n)
		replied += ((const unsigned char *)p)[n - 1];	/* read all of it (ASan) */
}
void reply_array(struct client *c, long long n) { (void)c; (void)n; }
struct kv_ent *lookup_read(struct client *c, int i) { (void)c; (void)i; return NULL; }
struct kv_ent *lookup_write(struct client *c, int i) { (void)c; (void)i; return NULL; }
struct kv_ent *set_string(struct client *c, int i, const char *v, size_t n, bool keepttl)
{
	(void)c; (void)i; (void)v; (void)n; (void)keepttl;
	return NULL;
}
int ent_set_bytes(struct kvdb *db, struct kv_ent *e, const void *p, size_t n)
{
	(void)db; (void)e; (void)p; (void)n;
	return -ENOMEM;
}
void notify_arg(struct client *c, int type, const char *event, int i)
{
	(void)c; (void)type; (void)event; (void)i;
}
void keyspace_changed(const char *key, size_t klen) { (void)key; (void)klen; }
void cmd_keys_signalled(void) {}
uint64_t srv_random(void) { return 4; }

/* ---- the checks -------------------------------------------------------------- */

/* The registers of a valid value, into regs[HLL_REGS]. */
static void registers_of(const uint8_t *p, size_t n, uint8_t *regs)
{
	memset(regs, 0, HLL_REGS);
	if (!hll_merge_into(regs, p, n))
		abort();
}

/* Add the elements "<k>" for k < count to the value b, and to a plain
 * array of its registers: they must agree after. */
static void check_adds(struct hll_buf *b, unsigned count)
{
	static uint8_t want[HLL_REGS], got[HLL_REGS];
	uint64_t card;

	registers_of(b->p, b->len, want);
	for (unsigned k = 0; k < count; k++) {
		long reg;
		unsigned run = hll_pattern(&k, sizeof k, &reg);
		int rc = buf_add(b, &k, sizeof k);

		if (rc == HLL_CORRUPT)
			abort();	/* a valid value stays valid */
		if (rc == HLL_NOMEM)
			return;
		if (run > want[reg])
			want[reg] = (uint8_t)run;
	}
	if (!hll_shape_ok(b->p, b->len) || hll_estimate_bytes(b->p, b->len, &card))
		abort();
	registers_of(b->p, b->len, got);
	if (memcmp(want, got, HLL_REGS) != 0)
		abort();
	if (b->p[4] == HLL_SPARSE)
		pfdebug_decode((struct client *)b, b->p, b->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t regs[HLL_REGS], dregs[HLL_REGS];
	struct hll_buf b, d;
	uint64_t card, dcard;
	unsigned count;

	if (size < 3 || size > 1 << 16)
		return 0;
	enc_hll_sparse = (long)data[1] * 16;
	count = data[2];
	if (buf_load(&b, data + 3, size - 3))
		return 0;
	if ((data[0] & 1) && b.len >= HLL_HDR)
		memcpy(b.p, "HYLL", 4);
	if ((data[0] & 2) && b.len >= HLL_HDR)
		b.p[4] = data[0] & 4 ? HLL_DENSE : HLL_SPARSE;
	if (!hll_shape_ok(b.p, b.len)) {
		buf_free(&b);
		return 0;
	}
	memset(regs, 0, sizeof regs);
	if (b.p[4] == HLL_SPARSE)
		pfdebug_decode((struct client *)&b, b.p, b.len);
	/* The estimate's walk and the merge's agree on what is valid. */
	if (hll_estimate_bytes(b.p, b.len, &card) != 0) {
		if (hll_merge_into(regs, b.p, b.len) && b.p[4] == HLL_SPARSE)
			abort();
		/* corrupt: the editors must only fail cleanly */
		for (unsigned k = 0; k < count; k++)
			if (buf_add(&b, &k, sizeof k) < 0)
				break;
		buf_free(&b);
		return 0;
	}
	registers_of(b.p, b.len, regs);
	if (buf_load(&d, b.p, b.len) == 0) {
		if (buf_to_dense(&d) != 0 || hll_estimate_bytes(d.p, d.len, &dcard) || dcard != card)
			abort();
		registers_of(d.p, d.len, dregs);
		if (memcmp(regs, dregs, HLL_REGS) != 0)
			abort();
		buf_free(&d);
	}
	check_adds(&b, count);
	buf_free(&b);
	return 0;
}
