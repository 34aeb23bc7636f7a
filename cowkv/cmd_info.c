/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_info.c — INFO: Redis's sections and field names (so that monitoring
 * tools and redis-cli read them), plus cow_* fields for what libcow does:
 * the freeze, the pages copied on write, the checkpoints.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "server.h"
#include "script.h"   /* issue 15: used_memory_lua */
#include "errstats.h"   /* issue 15: errorstats */

struct sb {
	char *p;
	size_t len, cap;
	bool nomem;
};

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->nomem)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->nomem = true;
			return;
		}
		if (b->p && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *q = realloc(b->p, cap);

		if (!q) {
			b->nomem = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
}

/* "1.50G"-style sizes, as Redis's *_human fields. */
static void human(char *buf, size_t len, uint64_t n)
{
	const char *units = "BKMGTP";
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lluB", (unsigned long long)n);
	else
		snprintf(buf, len, "%.2f%c", v, units[u]);
}

/* What the kernel says of the process's resident memory, in bytes. */
struct proc_mem {
	uint64_t rss;		/* all resident pages (statm): RssAnon + RssFile + RssShmem */
	uint64_t anon;		/* private anonymous (RssAnon): malloc, libcow's page tables, stacks */
	uint64_t file;		/* file pages mapped (RssFile): code, libraries, lazily loaded checkpoints */
	uint64_t shmem;		/* shared memory mapped (RssShmem): the space's frames in the memfd */
};

/* Read /proc/self/status's Rss* lines into *m (zero what is missing). */
static void proc_mem_read(struct proc_mem *m)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];

	memset(m, 0, sizeof *m);
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		unsigned long long kb;

		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			m->rss = kb * 1024;
		else if (sscanf(line, "RssAnon: %llu kB", &kb) == 1)
			m->anon = kb * 1024;
		else if (sscanf(line, "RssFile: %llu kB", &kb) == 1)
			m->file = kb * 1024;
		else if (sscanf(line, "RssShmem: %llu kB", &kb) == 1)
			m->shmem = kb * 1024;
	}
	fclose(f);
}

/*
 * The mean remaining TTL, in ms, of the keys that expire: exact over all of
 * them up to 1024 keys, else over 1024 picked at random from the TTL heap
 * (uniform over the volatile keys, with repeats), as Redis estimates
 * avg_ttl from the keys its expire cycle samples. Keys already expired but
 * not yet removed count as 0. 0 when no key expires.
 */
static uint64_t avg_ttl_ms(const struct kvdb *db, unsigned dbi, int64_t now_ms)
{
	const struct kv_ttl *t = &kv_ks_at(db, dbi)->ttl;
	const kv_off *arr = kv_ptr(db, t->arr);
	uint64_t n = t->count, samples = n <= 1024 ? n : 1024;
	long double sum = 0;

	if (!n || !arr)
		return 0;
	for (uint64_t i = 0; i < samples; i++) {
		uint64_t pos = n <= 1024 ? i : srv_random() % n;
		const struct kv_ent *e = kv_ptr(db, arr[pos]);

		if (e && e->expire > now_ms)
			sum += (long double)(e->expire - now_ms);
	}
	return (uint64_t)(sum / (long double)samples);
}

/* One function per INFO section, each appending "# Name" and its fields. */
static void info_server(struct sb *b)
{
	struct utsname u;
	char exe[512] = "";
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	int64_t up = (srv.now_ms - srv.start_ms) / 1000;

	if (n > 0)
		exe[n] = '\0';
	uname(&u);
	sb_printf(b, "# Server\r\n"
		  "redis_version:%s\r\n"
		  "redis_git_sha1:00000000\r\n"
		  "redis_git_dirty:0\r\n"
		  "redis_mode:standalone\r\n"
		  "cowkv_version:%s\r\n"
		  "cow_backend:%s\r\n"
		  "os:%s %s %s\r\n"
		  "arch_bits:%d\r\n"
		  "multiplexing_api:epoll\r\n"
		  "process_id:%d\r\n"
		  "process_supervised:%s\r\n"
		  "run_id:%016llx%016llx%08x\r\n"
		  "tcp_port:%ld\r\n"
		  "server_time_usec:%lld\r\n"
		  "uptime_in_seconds:%lld\r\n"
		  "uptime_in_days:%lld\r\n"
		  "hz:%ld\r\n"
		  "configured_hz:%ld\r\n"
		  "executable:%s\r\n"
		  "config_file:%s\r\n"
		  "io_threads_active:0\r\n",
		  COWKV_REDIS_COMPAT, COWKV_VERSION, cow_backend_name(),
		  u.sysname, u.release, u.machine, (int)(8 * sizeof(void *)),
		  (int)getpid(), supervise_mode(), (unsigned long long)srv.start_ms,
		  (unsigned long long)srv.db.root->seed ^ 0x5bd1e995ull,
		  (unsigned)getpid(), srv.port, (long long)srv.now_ms * 1000,
		  (long long)up, (long long)up / 86400, srv.hz, srv.hz, exe,
		  srv.configfile ? srv.configfile : "");
}

static void info_clients(struct sb *b)
{
	size_t maxin = 0, maxout = 0;

	for (struct client *c = srv.clients; c; c = c->next) {
		if (c->qcap > maxin)
			maxin = c->qcap;
		if (c->obytes > maxout)
			maxout = c->obytes;
	}
	sb_printf(b, "# Clients\r\n"
		  "connected_clients:%llu\r\n"
		  "cluster_connections:0\r\n"
		  "maxclients:%ld\r\n"
		  "client_recent_max_input_buffer:%zu\r\n"
		  "client_recent_max_output_buffer:%zu\r\n"
		  "blocked_clients:%zu\r\n"
		  "tracking_clients:0\r\n"
		  "clients_in_timeout_table:%zu\r\n",
		  (unsigned long long)srv.nclients, srv.maxclients, maxin, maxout,
		  blocking_clients(), blocking_clients());
}

/*
 * # Memory, with Redis's meanings (docs/COWKV.md, "INFO memory"):
 *   used_memory_dataset  bytes allocated in the space heap (the dataset);
 *   used_memory_overhead the process's private memory (RssAnon): libcow's
 *                        page tables for the space, client buffers, malloc;
 *   used_memory          the two together: what the server allocated;
 *   used_memory_rss      what the kernel says is resident;
 *   mem_fragmentation_ratio  rss / used: near 1 when the space's resident
 *                        pages hold allocated bytes, above when freed blocks
 *                        keep pages resident.
 */
static void info_memory(struct sb *b)
{
	static uint64_t peak;
	struct cow_heap_stats hs = { 0 };
	struct cow_stats cs = { 0 };
	struct proc_mem pm;
	uint64_t used, clients = 0, frames = cow_frames_in_use();
	char h1[32], h2[32], h3[32], h4[32];

	proc_mem_read(&pm);
	cow_heap_stats_get(srv.db.heap, &hs);
	cow_stats_get(srv.db.space, &cs);
	for (struct client *c = srv.clients; c; c = c->next)
		clients += c->qcap + c->obytes + sizeof *c;
	used = hs.used_bytes + pm.anon;
	if (used > peak)
		peak = used;
	human(h1, sizeof h1, used);
	human(h2, sizeof h2, pm.rss);
	human(h3, sizeof h3, peak);
	human(h4, sizeof h4, srv.maxmemory);
	sb_printf(b, "# Memory\r\n"
		  "used_memory:%llu\r\n"
		  "used_memory_human:%s\r\n"
		  "used_memory_rss:%llu\r\n"
		  "used_memory_rss_human:%s\r\n"
		  "used_memory_peak:%llu\r\n"
		  "used_memory_peak_human:%s\r\n"
		  "used_memory_overhead:%llu\r\n"
		  "used_memory_dataset:%llu\r\n"
		  "maxmemory:%llu\r\n"
		  "maxmemory_human:%s\r\n"
		  "maxmemory_policy:noeviction\r\n"
		  "mem_fragmentation_ratio:%.2f\r\n"
		  "mem_fragmentation_bytes:%lld\r\n"
		  "mem_clients_normal:%llu\r\n"
		  "mem_allocator:libcow-space-heap\r\n"
		  "cow_rss_anon:%llu\r\n"
		  "cow_rss_file:%llu\r\n"
		  "cow_rss_shmem:%llu\r\n"
		  "cow_space_bytes:%llu\r\n"
		  "cow_heap_free_bytes:%llu\r\n"
		  "cow_pages_shared:%llu\r\n"
		  "cow_write_faults:%llu\r\n"
		  "cow_pages_copied:%llu\r\n"
		  "cow_pages_reused:%llu\r\n"
		  "cow_pages_restored:%llu\r\n"
		  "cow_maps:%llu\r\n"
		  "cow_frames_in_use:%llu\r\n"
		  "cow_frames_bytes:%llu\r\n",
		  (unsigned long long)used, h1, (unsigned long long)pm.rss, h2,
		  (unsigned long long)peak, h3, (unsigned long long)pm.anon,
		  (unsigned long long)hs.used_bytes,
		  (unsigned long long)srv.maxmemory, h4,
		  used ? (double)pm.rss / (double)used : 0.0,
		  (long long)pm.rss - (long long)used,
		  (unsigned long long)clients, (unsigned long long)pm.anon,
		  (unsigned long long)pm.file, (unsigned long long)pm.shmem,
		  (unsigned long long)srv.db.size,
		  (unsigned long long)hs.free_bytes, (unsigned long long)cs.shared,
		  (unsigned long long)cs.faults, (unsigned long long)cs.copies,
		  (unsigned long long)cs.reuses, (unsigned long long)cs.restored,
		  (unsigned long long)cs.maps, (unsigned long long)frames,
		  (unsigned long long)frames * COW_PAGE_SIZE);
	/* ---- issue 15: scripting memory ---- */
	sb_printf(b, "used_memory_lua:%llu\r\nnumber_of_cached_scripts:%llu\r\n",
		  (unsigned long long)script_lua_memory(),
		  (unsigned long long)script_cache_count());
}

static void info_persistence(struct sb *b)
{
	bool running = kv_bgsave_running();
	double prog = running ? kv_bgsave_progress() * 100 : 0;
	int64_t cur = running ? (srv.now_ms - kv_bgsave_started_ms()) / 1000 : -1;
	const struct cow_save_stats *ls = &srv.last_save;
	char path[1024] = "";

	if (srv.dir)
		snprintf(path, sizeof path, "%s/%s", srv.dir, srv.dbfilename);
	sb_printf(b, "# Persistence\r\n"
		  "loading:0\r\n"
		  "async_loading:0\r\n"
		  "current_cow_peak:%llu\r\n"
		  "current_cow_size:%llu\r\n"
		  "current_cow_size_age:0\r\n"
		  "current_fork_perc:%.2f\r\n"
		  "current_save_keys_processed:0\r\n"
		  "current_save_keys_total:0\r\n"
		  "rdb_changes_since_last_save:%llu\r\n"
		  "rdb_bgsave_in_progress:%d\r\n"
		  "rdb_last_save_time:%lld\r\n"
		  "rdb_last_bgsave_status:%s\r\n"
		  "rdb_last_bgsave_time_sec:%lld\r\n"
		  "rdb_current_bgsave_time_sec:%lld\r\n"
		  "rdb_saves:%llu\r\n"
		  "rdb_last_cow_size:%llu\r\n"
		  "rdb_last_load_keys_expired:0\r\n"
		  "rdb_last_load_keys_loaded:%llu\r\n"
		  "aof_enabled:0\r\n"
		  "aof_rewrite_in_progress:0\r\n"
		  "aof_rewrite_scheduled:0\r\n"
		  "aof_last_rewrite_time_sec:-1\r\n"
		  "aof_current_rewrite_time_sec:-1\r\n"
		  "aof_last_bgrewrite_status:ok\r\n"
		  "aof_rewrites:0\r\n"
		  "aof_rewrites_consecutive_failures:0\r\n"
		  "aof_last_write_status:ok\r\n"
		  "aof_last_cow_size:0\r\n"
		  "module_fork_in_progress:0\r\n"
		  "module_fork_last_cow_size:0\r\n"
		  "cow_save_progress_perc:%.2f\r\n"
		  "cow_save_budget:%llu\r\n"
		  "cow_last_freeze_usec:%lld\r\n"
		  "cow_last_save_written_pages:%llu\r\n"
		  "cow_last_save_kept_pages:%llu\r\n"
		  "cow_last_save_spilled_pages:%llu\r\n"
		  "cow_last_save_peak_preserved_pages:%llu\r\n"
		  "cow_store:%s\r\n"
		  "cow_last_checkpoint:%llu\r\n"
		  "cow_loaded_checkpoint:%llu\r\n"
		  "cow_load_usec:%lld\r\n"
		  "cow_snapshots:%d\r\n"
		  "cow_rollbacks:%llu\r\n",
		  (unsigned long long)kv_bgsave_cow_peak(),
		  (unsigned long long)kv_bgsave_cow_bytes(), prog,
		  (unsigned long long)srv.dirty, running,
		  (long long)srv.lastsave, srv.last_save_ok ? "ok" : "err",
		  (long long)srv.last_save_secs, (long long)cur,
		  (unsigned long long)srv.saves, (unsigned long long)srv.last_cow_bytes,
		  (unsigned long long)(srv.loaded_checkpoint ? kv_count_all(&srv.db) : 0),
		  running ? prog : 100.0,
		  (unsigned long long)srv.save_budget, (long long)srv.freeze_usec,
		  (unsigned long long)ls->written_pages, (unsigned long long)ls->kept_pages,
		  (unsigned long long)ls->spilled_pages,
		  (unsigned long long)ls->peak_preserved_pages, path,
		  (unsigned long long)srv.last_checkpoint,
		  (unsigned long long)srv.loaded_checkpoint, (long long)srv.load_usec,
		  srv.nsnaps, (unsigned long long)srv.rollbacks);
}

static void info_stats(struct sb *b)
{
	sb_printf(b, "# Stats\r\n"
		  "total_connections_received:%llu\r\n"
		  "total_commands_processed:%llu\r\n"
		  "instantaneous_ops_per_sec:%.0f\r\n"
		  "total_net_input_bytes:%llu\r\n"
		  "total_net_output_bytes:%llu\r\n"
		  "rejected_connections:%llu\r\n"
		  "sync_full:0\r\n"
		  "expired_keys:%llu\r\n"
		  "evicted_keys:0\r\n"
		  "keyspace_hits:%llu\r\n"
		  "keyspace_misses:%llu\r\n"
		  "pubsub_channels:%zu\r\n"
		  "pubsub_patterns:%zu\r\n"
		  "latest_fork_usec:0\r\n"
		  "total_forks:0\r\n"
		  "client_query_buffer_limit_disconnections:%llu\r\n"
		  "client_output_buffer_limit_disconnections:%llu\r\n"
		  "unexpected_error_replies:0\r\n"
		  "total_error_replies:%llu\r\n",
		  (unsigned long long)srv.conns_total, (unsigned long long)srv.cmds_total,
		  srv.ops_per_sec, (unsigned long long)srv.net_in,
		  (unsigned long long)srv.net_out, (unsigned long long)srv.conns_rejected,
		  (unsigned long long)srv.db.expired, (unsigned long long)srv.hits,
		  (unsigned long long)srv.misses, pubsub_channels(), pubsub_patterns(),
		  (unsigned long long)srv.qbuf_disconnects,
		  (unsigned long long)srv.obuf_disconnects,
		  (unsigned long long)errstats_total());
}

static void info_replication(struct sb *b)
{
	/* SYNC/PSYNC get an RDB (repl.c) but no stream: never a replica here */
	sb_printf(b, "# Replication\r\n"
		  "role:master\r\n"
		  "connected_slaves:0\r\n"
		  "master_failover_state:no-failover\r\n"
		  "master_replid:%s\r\n"
		  "master_replid2:0000000000000000000000000000000000000000\r\n"
		  "master_repl_offset:0\r\n"
		  "second_repl_offset:-1\r\n"
		  "repl_backlog_active:0\r\n"
		  "repl_backlog_size:1048576\r\n"
		  "repl_backlog_first_byte_offset:0\r\n"
		  "repl_backlog_histlen:0\r\n", repl_id());
}

static void info_cpu(struct sb *b)
{
	struct rusage self;

	getrusage(RUSAGE_SELF, &self);
	sb_printf(b, "# CPU\r\n"
		  "used_cpu_sys:%ld.%06ld\r\n"
		  "used_cpu_user:%ld.%06ld\r\n"
		  "used_cpu_sys_children:0.000000\r\n"
		  "used_cpu_user_children:0.000000\r\n",
		  (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec,
		  (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec);
}

static void info_commandstats(struct sb *b)
{
	size_t n;
	const struct kv_cmd *t = cmd_table(&n);

	sb_printf(b, "# Commandstats\r\n");
	for (size_t i = 0; i < n; i++) {
		uint64_t rejected, failed;

		cmd_failures(&t[i], &rejected, &failed);
		if (t[i].calls || rejected)
			sb_printf(b, "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,"
				  "rejected_calls=%llu,failed_calls=%llu\r\n", t[i].name,
				  (unsigned long long)t[i].calls, (unsigned long long)t[i].usec,
				  t[i].calls ? (double)t[i].usec / (double)t[i].calls : 0.0,
				  (unsigned long long)rejected, (unsigned long long)failed);
	}
}

static void info_keyspace(struct sb *b)
{
	int64_t now = srv_unix_ms();

	sb_printf(b, "# Keyspace\r\n");
	for (unsigned i = 0; i < kv_ndb(&srv.db); i++) {
		const struct kv_keyspace *k = kv_ks_at(&srv.db, i);

		if (k->keys.count)
			sb_printf(b, "db%u:keys=%llu,expires=%llu,avg_ttl=%llu\r\n", i,
				  (unsigned long long)k->keys.count,
				  (unsigned long long)k->ttl.count,
				  (unsigned long long)avg_ttl_ms(&srv.db, i, now));
	}
}

/* ---- issue 15: error replies by code ---- */
static void info_errorstats(struct sb *b)
{
	const char *code;
	uint64_t n;

	sb_printf(b, "# Errorstats\r\n");
	for (int i = 0; errstats_get(i, &code, &n); i++)
		sb_printf(b, "errorstat_%s:count=%llu\r\n", code, (unsigned long long)n);
}

/* "# Modules": cowkv loads none; the header is there, as in Redis's INFO. */
static void info_modules(struct sb *b)
{
	sb_printf(b, "# Modules\r\n");
}

/* "# Cluster": cowkv has no cluster mode. Clients read cluster_enabled
 * (redis-py's test suite refuses to start without it). */
static void info_cluster(struct sb *b)
{
	sb_printf(b, "# Cluster\r\ncluster_enabled:0\r\n");
}

static const struct {
	const char *name;
	void (*fn)(struct sb *b);
	bool in_default;
} sections[] = {
	{ "server", info_server, true },
	{ "clients", info_clients, true },
	{ "memory", info_memory, true },
	{ "persistence", info_persistence, true },
	{ "stats", info_stats, true },
	{ "replication", info_replication, true },
	{ "cpu", info_cpu, true },
	{ "modules", info_modules, true },
	{ "commandstats", info_commandstats, false },
	{ "errorstats", info_errorstats, true },       /* issue 15 */
	{ "cluster", info_cluster, true },
	{ "keyspace", info_keyspace, true },
};

#define NSECTIONS (sizeof sections / sizeof sections[0])

void cmd_info(struct client *c)
{
	bool want[NSECTIONS] = { false };
	struct sb b = { 0 };
	bool first = true;

	for (size_t s = 0; s < NSECTIONS; s++)
		want[s] = c->argc == 1 && sections[s].in_default;
	for (int i = 1; i < c->argc; i++) {
		bool all = arg_is(c, i, "all") || arg_is(c, i, "everything");
		bool def = arg_is(c, i, "default");

		for (size_t s = 0; s < NSECTIONS; s++)
			if (all || (def && sections[s].in_default) ||
			    arg_is(c, i, sections[s].name))
				want[s] = true;
	}
	for (size_t s = 0; s < NSECTIONS; s++) {
		if (!want[s])
			continue;
		if (!first)
			sb_printf(&b, "\r\n");
		sections[s].fn(&b);
		first = false;
	}
	if (b.nomem)
		reply_error(c, "ERR out of memory");
	else
		reply_verbatim(c, b.p ? b.p : "", b.len, "txt");  /* issue 15: RESP3 verbatim */
	free(b.p);
}
