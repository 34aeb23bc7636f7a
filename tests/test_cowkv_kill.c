/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_cowkv_kill.c — cowkv killed with SIGKILL at random moments, inside
 * and outside background saves, and restarted on the same directory again
 * and again. After every restart:
 *
 *   - consistent: the keys an MSET writes carry its step number in their
 *     values, so an MSET is all or nothing: k00..k99 (written by every
 *     step) hold the values of one step S, and each of the 10,000 filler
 *     keys (100 scattered ones per step, values of 100..2000 bytes) holds
 *     what the last step <= S that wrote it left there, or is absent if
 *     none did; or the dataset is empty (before any save);
 *   - durable: S is at least the step of the last BGSAVE that INFO
 *     reported done and ok (rdb_saves grew, rdb_last_bgsave_status:ok), and
 *     at most the last step sent;
 *   - exact: DBSIZE counts exactly those keys and SCAN returns them;
 *   - no crash: the server was alive when it was killed, and starts.
 *
 * $COWKV_KILL_RESTARTS sets the number of restarts (default 12, about 20 s;
 * scripts/kill-restart.sh runs hundreds), $COW_TEST_SEED replays a run, and
 * $COWKV_EXTRA_ARGS adds cowkv options (e.g. "--save-incremental no").
 */
#include <inttypes.h>

#include "kvtest.h"

#define NK 100		/* k00..k99: written by every step */
#define NF 10000	/* f00000..f09999: 100 of them, scattered, per step */
#define FPS 100

static char dir[256];
static struct kv_server *cur;	/* the server being checked */

/* Fail, saying how, when the server closed a connection (round -1: while
 * it was being written). */
static void need(const struct resp_reply *r, int round)
{
	if (r)
		return;
	fprintf(stderr, "restart %d: the server closed the connection: %s\n", round,
		kv_alive(cur) ? "still running" : "it died");
	if (!cur->pid)
		fprintf(stderr, "wait status %d (signal %d)\n", cur->status,
			WIFSIGNALED(cur->status) ? WTERMSIG(cur->status) : 0);
	kv_print_log(cur);
	fail();
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The m-th filler key step s writes. */
static int filler(uint64_t s, int m)
{
	return (int)(mix(s * 1000003u + (uint64_t)m) % NF);
}

/* Key i and its value at step s (lengths vary with the step, so the heap
 * allocates and frees as the steps go). */
static void kv_at(uint64_t s, int i, char *key, size_t kl, char *val, size_t vl)
{
	int len = 30 + (int)((s * 13 + (uint64_t)i * 7) % 500), at;

	snprintf(key, kl, "k%02d", i);
	at = snprintf(val, vl, "s%" PRIu64 ":i%02d:", s, i);
	for (; at < len && at < (int)vl - 1; at++)
		val[at] = (char)('a' + (s + (uint64_t)at) % 26);
	val[at] = 0;
}

/* Filler j's value as written by step s. */
static void filler_at(uint64_t s, int j, char *key, size_t kl, char *val, size_t vl)
{
	int len = 100 + (int)(mix(s ^ ((uint64_t)j << 40)) % 1900), at;

	snprintf(key, kl, "f%05d", j);
	at = snprintf(val, vl, "s%" PRIu64 ":f%05d:", s, j);
	for (; at < len && at < (int)vl - 1; at++)
		val[at] = (char)('A' + (s + (uint64_t)at * 3) % 26);
	val[at] = 0;
}

/* Send the MSET of step s (its reply is not read). */
static bool send_mset(struct kv_client *c, uint64_t s)
{
	static char keys[NK + FPS][8], vals[NK + FPS][2100];
	const char *argv[1 + 2 * (NK + FPS)];

	argv[0] = "MSET";
	for (int i = 0; i < NK + FPS; i++) {
		if (i < NK)
			kv_at(s, i, keys[i], sizeof keys[i], vals[i], sizeof vals[i]);
		else
			filler_at(s, filler(s, i - NK), keys[i], sizeof keys[i], vals[i],
				  sizeof vals[i]);
		argv[1 + 2 * i] = keys[i];
		argv[2 + 2 * i] = vals[i];
	}
	return kv_send(c, 1 + 2 * (NK + FPS), argv);
}

/* For every filler, the last step <= s that wrote it (0: none). Returns
 * how many fillers exist at step s. */
static long fillers_at(uint64_t s, uint64_t *last)
{
	long n = 0;

	memset(last, 0, NF * sizeof *last);
	for (uint64_t t = s; t > 0 && n < NF; t--)
		for (int m = 0; m < FPS; m++) {
			int j = filler(t, m);

			if (!last[j]) {
				last[j] = t;
				n++;
			}
		}
	return n;
}

/* Assert every filler holds what step s left there (MGET in batches). */
static void check_fillers(struct kv_client *c, uint64_t s, int round)
{
	static uint64_t last[NF];
	static char keys[500][8];
	char key[8], want[2100];
	const char *argv[501];

	fillers_at(s, last);
	argv[0] = "MGET";
	for (int j0 = 0; j0 < NF; j0 += 500) {
		struct resp_reply *r;

		for (int k = 0; k < 500; k++) {
			snprintf(keys[k], sizeof keys[k], "f%05d", j0 + k);
			argv[1 + k] = keys[k];
		}
		r = kv_cmdv(c, 501, argv);
		need(r, round);
		assert_int_equal(r->type, RESP_ARRAY);
		for (int k = 0; k < 500; k++) {
			const struct resp_reply *e = r->elem[k];
			int j = j0 + k;

			if (!last[j] && e->type == RESP_NIL)
				continue;
			if (last[j])
				filler_at(last[j], j, key, sizeof key, want, sizeof want);
			if (!last[j] || e->type != RESP_BULK || strcmp(e->str, want)) {
				fprintf(stderr, "restart %d (step %" PRIu64 "): f%05d is %.40s, "
					"want %.40s\n", round, s, j,
					e->type == RESP_BULK ? e->str : "(nil)",
					last[j] ? want : "(nil)");
				fail();
			}
		}
		resp_reply_free(r);
	}
}

struct progress {
	uint64_t sent;          /* last step whose MSET was sent in this life */
	uint64_t durable;       /* the last step a confirmed save holds */
};

/* The checks after a restart; returns the step the server holds (0: empty). */
static uint64_t check_restart(struct kv_client *c, const struct progress *p, int round)
{
	char key[8], want[600], cursor[32] = "0";
	struct resp_reply *r = kv_cmd(c, "GET", "k00", (const char *)NULL);
	uint64_t s = 0;
	long long seen = 0, want_keys;

	need(r, round);
	if (r->type == RESP_BULK)
		s = strtoull(r->str + 1, NULL, 10);
	else
		assert_int_equal(r->type, RESP_NIL);
	resp_reply_free(r);
	if (s < p->durable || s > p->sent) {
		fprintf(stderr, "restart %d: holds step %" PRIu64 "; the last confirmed save "
			"holds step %" PRIu64 ", the last step sent is %" PRIu64 "\n",
			round, s, p->durable, p->sent);
		fail();
	}
	{
		static uint64_t last[NF];

		want_keys = (s ? NK : 0) + fillers_at(s, last);
	}
	r = kv_cmd(c, "DBSIZE", (const char *)NULL);
	need(r, round);
	if (r->integer != want_keys)
		fprintf(stderr, "restart %d: DBSIZE %lld at step %" PRIu64 ", want %lld\n",
			round, r->integer, s, want_keys);
	assert_int_equal(r->integer, want_keys);
	resp_reply_free(r);
	for (int i = 0; s && i < NK; i++) {
		kv_at(s, i, key, sizeof key, want, sizeof want);
		r = kv_cmd(c, "GET", key, (const char *)NULL);
		need(r, round);
		if (r->type != RESP_BULK || strcmp(r->str, want)) {
			fprintf(stderr, "restart %d: %s is %s, want %s (step %" PRIu64 ")\n",
				round, key, r->type == RESP_BULK ? r->str : "(no string)", want, s);
			fail();
		}
		resp_reply_free(r);
	}
	do {
		r = kv_cmd(c, "SCAN", cursor, "COUNT", "1000", (const char *)NULL);
		need(r, round);
		assert_int_equal(r->type, RESP_ARRAY);
		snprintf(cursor, sizeof cursor, "%s", r->elem[0]->str);
		for (size_t k = 0; k < r->elem[1]->n; k++) {
			const char *name = r->elem[1]->elem[k]->str;

			if ((name[0] != 'k' || strlen(name) != 3 || atoi(name + 1) >= NK) &&
			    (name[0] != 'f' || strlen(name) != 6 || atoi(name + 1) >= NF)) {
				fprintf(stderr, "restart %d: SCAN returned %s\n", round, name);
				fail();
			}
			seen++;
		}
		resp_reply_free(r);
	} while (strcmp(cursor, "0"));
	assert_true(seen >= want_keys && seen <= 2 * want_keys);
	check_fillers(c, s, round);
	return s;
}

/* Read the reply of an MSET; false if the connection is gone. */
static bool mset_ok(struct kv_client *c)
{
	struct resp_reply *r = kv_read(c);
	bool ok = r && r->type == RESP_STATUS;

	if (r && !ok)
		fprintf(stderr, "MSET: %s\n", r->str ? r->str : "?");
	assert_true(!r || ok);
	resp_reply_free(r);
	return r != NULL;
}

/*
 * One life of the server: MSETs, a BGSAVE every ~0.5 s (confirmed through
 * INFO), then a SIGKILL at a random moment: idle, right after a BGSAVE
 * (inside the save), or right after an MSET was sent.
 */
static void live(struct kv_server *srv, struct progress *p, struct t_rng *rng)
{
	struct kv_client *c = kv_open(srv->port);
	int64_t end = kv_now_ms() + 200 + (int64_t)t_rng_below(rng, 1300);
	int64_t next_save = kv_now_ms() + 100 + (int64_t)t_rng_below(rng, 400);
	uint64_t candidate = 0, acked = p->sent;
	long long saves0 = kv_info_field(c, "rdb_saves");
	bool pending = false;
	int mode = (int)t_rng_below(rng, 3);

	cur = srv;

	while (kv_now_ms() < end) {
		if (!send_mset(c, ++p->sent) || !mset_ok(c))
			need(NULL, -1);		/* it died while serving */
		acked = p->sent;
		if (!pending && kv_now_ms() >= next_save) {
			struct resp_reply *r = kv_cmd(c, "BGSAVE", (const char *)NULL);

			need(r, -1);
			pending = r->type == RESP_STATUS;
			candidate = acked;
			resp_reply_free(r);
			next_save = kv_now_ms() + 400 + (int64_t)t_rng_below(rng, 200);
		}
		if (pending && kv_info_field(c, "rdb_bgsave_in_progress") == 0) {
			long long saves = kv_info_field(c, "rdb_saves");

			if (saves > saves0 && kv_info_field(c, "rdb_last_bgsave_status") == 1)
				p->durable = candidate;
			saves0 = saves;
			pending = false;
		}
		kv_sleep_us(1000 + (long)t_rng_below(rng, 4000));
	}
	if (mode == 1) {
		kv_send(c, 1, (const char *const[]){ "BGSAVE" });
		kv_sleep_us((long)t_rng_below(rng, 3000));
	} else if (mode == 2) {
		send_mset(c, ++p->sent);
		kv_sleep_us((long)t_rng_below(rng, 500));
	}
	if (!kv_alive(srv)) {
		fprintf(stderr, "cowkv died by itself (status %d)\n", srv->status);
		kv_print_log(srv);
		fail();
	}
	kv_stop(srv, SIGKILL);
	kv_close(c);
}

static void test_kill_restart(void **state)
{
	const char *env = getenv("COWKV_KILL_RESTARTS");
	int restarts = env && atoi(env) > 0 ? atoi(env) : 12;
	uint64_t seed = t_seed("cowkv_kill"), saved_steps = 0;
	struct progress p = { 0, 0 };
	struct t_rng rng;
	const char *tmp = getenv("TMPDIR");
	char log[300];

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	t_rng_seed(&rng, seed);
	snprintf(dir, sizeof dir, "%s/test_cowkv_kill.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(log, sizeof log, "%s.log", dir);
	unlink(log);
	for (int round = 0; round <= restarts; round++) {
		struct kv_server srv = { 0 };
		struct kv_client *c;
		uint64_t s;

		snprintf(srv.log, sizeof srv.log, "%s", log);
		if (!kv_start(&srv, dir, NULL)) {
			fprintf(stderr, "restart %d: cowkv did not start (status %d)\n", round,
				srv.status);
			kv_print_log(&srv);
			fail();
		}
		c = kv_open(srv.port);
		cur = &srv;
		s = check_restart(c, &p, round);
		kv_close(c);
		if (round && s)
			saved_steps++;
		/* What the store holds now; the steps after s are lost (they were
		 * never saved), so the next life writes from s + 1 again: the
		 * dataset at step S is always that of steps 1..S. */
		p.durable = s;
		p.sent = s;
		if (round == restarts) {
			kv_stop(&srv, SIGKILL);
			break;
		}
		live(&srv, &p, &rng);
	}
	fprintf(stderr, "%d restarts, %" PRIu64 " restarts found a saved step, the last "
		"at step %" PRIu64 "\n", restarts, saved_steps, p.sent);
	unlink(log);
	{
		char cmd[300];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		(void)!system(cmd);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_restart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
