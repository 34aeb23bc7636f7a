/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c — cowkv: a Redis-protocol server whose dataset lives in one libcow
 * space. Start-up, the tick, logging, shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "server.h"
#include "acl.h"      /* issue 15: protected mode */
#include "rdb.h"      /* issue 15: --import, --export */

struct server srv;
static FILE *logfp;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

int64_t srv_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t srv_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t srv_random(void)
{
	static uint64_t s;

	if (!s)
		s = (uint64_t)srv_mono_us() * 0x9e3779b97f4a7c15ull | 1;
	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return s * 0x2545f4914f6cdd1dull;
}

/*
 * Point logfp at logfile again if the file was renamed or removed since it
 * was opened (logrotate without copytruncate, as Debian's rotates Redis's
 * log: redis-server opens its log for every line). 0, or -1 when it cannot
 * be reopened (the line then goes to stderr).
 */
static int reopen_log(void)
{
	struct stat now, open_st;
	FILE *f;
	int fd;

	if (stat(srv.logfile, &now) == 0 && fstat(fileno(logfp), &open_st) == 0 &&
	    now.st_ino == open_st.st_ino && now.st_dev == open_st.st_dev)
		return 0;
	fd = open(srv.logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "a"))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fclose(logfp);
	logfp = f;
	return 0;
}

void srv_log(int level, const char *fmt, ...)
{
	static const char marks[] = ".-*#";
	char when[64], msg[1024];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	size_t n;

	if (level < srv.verbosity)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	n = strftime(when, sizeof when, "%d %b %Y %H:%M:%S.", &tm);
	snprintf(when + n, sizeof when - n, "%03d", (int)(tv.tv_usec / 1000));
	pthread_mutex_lock(&log_lock);	/* the save thread logs too */
	if (logfp && reopen_log() == 0) {
		fprintf(logfp, "%d:M %s %c %s\n", (int)getpid(), when, marks[level & 3], msg);
		fflush(logfp);
		pthread_mutex_unlock(&log_lock);
		return;
	}
	pthread_mutex_unlock(&log_lock);
	fprintf(stderr, "%d:M %s %c %s\n", (int)getpid(), when, marks[level & 3], msg);
	fflush(stderr);
}

/* ---- the tick ----------------------------------------------------------------- */

static void expire_tick(void)
{
	int64_t t0 = srv_mono_us(), budget = 250000 / srv.hz;	/* 25% of CPU at most */

	if (!active_expire_enabled)
		return;		/* DEBUG SET-ACTIVE-EXPIRE 0 */

	while (kv_expire_cycle(&srv.db, 64) == 64 && srv_mono_us() - t0 < budget)
		;
}

static void rehash_tick(void)
{
	int64_t t0 = srv_mono_us();
	static unsigned next;	/* 16 databases a tick, in turn, as Redis's cron */
	unsigned ndb = kv_ndb(&srv.db), n = ndb < 16 ? ndb : 16;

	if (srv_saving())
		return;		/* as Redis's cron while its child runs: see dict.c */
	for (unsigned k = 0; k < n; k++) {
		struct kv_dict *d = &kv_ks_at(&srv.db, (next + k) % ndb)->keys;

		while (config_activerehashing() && dict_rehash(&srv.db, d, 100) &&
		       srv_mono_us() - t0 < 1000)
			;
		dict_maybe_shrink(&srv.db, d);
	}
	next = (next + n) % ndb;
}

static void clients_tick(void)
{
	static int64_t last;

	if (srv.now_ms - last < 1000)
		return;
	last = srv.now_ms;
	for (struct client *c = srv.clients; c; c = c->next) {
		if (srv.timeout && srv.now_ms - c->last_ms > srv.timeout * 1000 &&
		    !(c->flags & (CF_CLOSE_ASAP | CF_SYNCING))) {
			srv_log(LL_VERBOSE, "Closing idle client");
			client_close_async(c);
			continue;
		}
		client_check_output(c);
	}
}

static void ops_tick(void)
{
	int64_t dt = srv.now_ms - srv.ops_sample_ms;

	if (dt < 1000)
		return;
	srv.ops_per_sec = (double)(srv.cmds_total - srv.ops_sample_cmds) * 1000.0 / (double)dt;
	srv.ops_sample_cmds = srv.cmds_total;
	srv.ops_sample_ms = srv.now_ms;
}

void srv_tick(void)
{
	srv.now_ms = srv_unix_ms();
	srv.db.now_ms = srv.now_ms;
	expire_tick();
	rehash_tick();
	clients_tick();
	ops_tick();
	persist_cron();
}

/* ---- start-up ------------------------------------------------------------------- */

/* Raise RLIMIT_NOFILE for maxclients (+32 for the rest), as far as allowed;
 * lower maxclients when the limit cannot reach it. */
static void raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)srv.maxclients + 32;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want) {
		long maxc = rl.rlim_cur > 64 ? (long)rl.rlim_cur - 32 : 32;

		srv_log(LL_WARNING, "You requested maxclients of %ld requiring at least %llu max "
			"file descriptors; the limit is %llu: maxclients is now %ld.",
			srv.maxclients, (unsigned long long)want,
			(unsigned long long)rl.rlim_cur, maxc);
		srv.maxclients = maxc;
	}
}

static int setup_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* Blocked in every thread (the save thread inherits the mask): they
	 * arrive through the signal fd, in the loop. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	srv.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	srv.savefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return srv.sigfd < 0 || srv.savefd < 0 ? -1 : 0;
}

/* Open logfile (created 0600) for appending, if one is set. 0 or -1. */
static int open_log(void)
{
	int fd;

	if (!srv.logfile || !srv.logfile[0])
		return 0;
	fd = open(srv.logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || !(logfp = fdopen(fd, "a"))) {
		fprintf(stderr, "cowkv: can't open the log file %s: %s\n", srv.logfile,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return 0;
}

/* The addresses the server listens on, for the log. */
static void log_ready(void)
{
	if (srv.port)
		srv_log(LL_NOTICE, "Ready to accept connections tcp port %ld, bind %s (space %zu bytes, "
			"%llu keys)", srv.port, srv.bind, srv.db.size,
			(unsigned long long)kv_count_all(&srv.db));
	if (srv.unixsocket[0])
		srv_log(LL_NOTICE, "Ready to accept connections unix %s%s", srv.unixsocket,
			srv.port ? "" : " (port 0: no TCP)");
}

/* ---- issue 15: --import / --export (rdb.c), taken out of argv ---- */
static const char *import_path, *export_path;

static void take_rdb_args(int *argc, char **argv)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		if (i + 1 < *argc && !strcmp(argv[i], "--import"))
			import_path = argv[++i];
		else if (i + 1 < *argc && !strcmp(argv[i], "--export"))
			export_path = argv[++i];
		else
			argv[out++] = argv[i];
	}
	*argc = out;
	argv[out] = NULL;
}

int main(int argc, char **argv)
{
	int r;

	take_rdb_args(&argc, argv);
	config_defaults();
	srv.sigfd = srv.savefd = srv.lfd = srv.epfd = -1;
	if ((r = config_from_args(argc, argv)))
		return r > 0 ? 0 : 1;
	if (open_log())
		return 1;
	if (supervise_start())	/* before any space or thread: it may fork */
		return 1;
	srv.start_ms = srv.now_ms = srv.ops_sample_ms = srv_unix_ms();
	if (setup_signals()) {
		srv_log(LL_WARNING, "can't set up signals: %s", strerror(errno));
		return 1;
	}
	if (!cow_backend_name()) {
		srv_log(LL_WARNING, "libcow has no usable backend: %s", strerror(errno));
		return 1;
	}
	raise_nofile();
	srv_log(LL_NOTICE, "cowkv %s starting, pid %d, libcow backend %s", COWKV_VERSION,
		(int)getpid(), cow_backend_name());
	if (srv.configfile)
		srv_log(LL_NOTICE, "Configuration loaded from %s", srv.configfile);
	config_log_inert();
	if (acl_start() || acl_protected_mode_check())     /* issue 15 */
		return 1;
	if (persist_start())
		return 1;
	srv.db.now_ms = srv_unix_ms();
	if (import_path && rdb_import(import_path, NULL))     /* issue 15 */
		return 1;
	if (export_path) {
		r = rdb_export(export_path);
		persist_stop();
		kvdb_close(&srv.db);
		return r ? 1 : 0;
	}
	if (net_listen()) {
		net_close_listeners();
		supervise_stop();
		return 1;
	}
	log_ready();
	supervise_ready();
	for (;;) {
		if (net_loop())
			break;
		if (srv.shutdown_ready || srv_prepare_shutdown() == 0)
			break;
		srv.shutdown_asap = false;	/* the save failed: keep serving */
	}
	net_close_all();
	repl_stop();
	persist_stop();
	snapshots_release_all();
	kvdb_close(&srv.db);
	net_close_listeners();
	supervise_stop();
	close(srv.epfd);
	close(srv.sigfd);
	close(srv.savefd);
	free(srv.bind);
	free(srv.dir);
	free(srv.dbfilename);
	free(srv.logfile);
	free(srv.configfile);
	free(srv.supervised);
	free(srv.pidfile);
	free(srv.unixsocket);
	if (logfp)
		fclose(logfp);
	return 0;
}
