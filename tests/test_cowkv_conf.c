/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_cowkv_conf.c — cowkv started the way Redis users start redis-server:
 * from a redis.conf (Debian's own /etc/redis/redis.conf first), with
 * command-line overrides and standard input, daemonized with a pidfile,
 * under systemd's notify protocol, on a unix socket, and CONFIG REWRITE.
 * Where redis-server can be asked the same thing, it is, and the answers
 * are compared (CONFIG GET, start-up refusals, the rewritten file).
 */
#include <sys/un.h>

#include "kvharness.h"

#define DEBIAN_CONF "/etc/redis/redis.conf"

/* ---- processes ------------------------------------------------------------ */

static pid_t daemons[8];	/* daemonized servers (not our children): killed at teardown */
static int ndaemons;

/* Kill the daemons, then what the harness started. */
static int conf_teardown(void **state)
{
	for (int i = 0; i < ndaemons; i++)
		if (daemons[i] > 0)
			kill(daemons[i], SIGKILL);
	ndaemons = 0;
	return teardown(state);
}

/* Run argv (NULL-terminated) with stdin from in (or /dev/null), stdout and
 * stderr into out; env: "NAME=value" to add, or NULL. Its pid. */
static pid_t spawn(const char **argv, const char *in, const char *out, const char *env)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int i = open(in ? in : "/dev/null", O_RDONLY);
		int o = open(out, O_WRONLY | O_CREAT | O_APPEND, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (i >= 0)
			dup2(i, 0);
		if (o >= 0) {
			dup2(o, 1);
			dup2(o, 2);
		}
		if (env)
			putenv((char *)env);
		execvp(argv[0], (char **)argv);
		_exit(127);
	}
	return pid;
}

/* Run argv to its end (at most the I/O timeout); its exit status (-1 if
 * it had to be killed). */
static int run(const char **argv, const char *in, const char *out)
{
	pid_t pid = spawn(argv, in, out, NULL);
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;
	int status;

	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		sleep_ms(5);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The whole content of a file ("" if none), in a static ring buffer. */
static const char *slurp(const char *path)
{
	static char bufs[4][1 << 17];
	static int at;
	char *b = bufs[at++ % 4];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, b, sizeof bufs[0] - 1) : 0;

	b[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	return b;
}

/* Replace the file at path with text (0600). */
static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Wait until something accepts on TCP port; fail after the timeout. */
static void wait_tcp(int port)
{
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;
	int fd;

	while ((fd = try_connect(port)) < 0) {
		if (now_ms() > deadline)
			fail_msg("nothing accepts on port %d", port);
		sleep_ms(5);
	}
	close(fd);
}

/* A connection to the unix socket at path, -1 if none. */
static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Does something accept on [::1]:port? */
static bool accepts_ipv6_loopback(int port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* A client on the unix socket at path, waiting until it accepts. */
static struct kc *kc_open_unix(const char *path)
{
	struct kc *c = calloc(1, sizeof *c);
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;

	assert_non_null(c);
	while ((c->fd = connect_unix(path)) < 0) {
		if (now_ms() > deadline)
			fail_msg("nothing accepts on %s", path);
		sleep_ms(5);
	}
	return c;
}

/* A foreground server started by spawn(), registered for teardown. */
static struct server *track(pid_t pid, int port, const char *log)
{
	struct server *s = calloc(1, sizeof *s);

	assert_non_null(s);
	s->pid = pid;
	s->port = port;
	snprintf(s->log, sizeof s->log, "%s", log);
	for (int i = 0; i < MAX_SERVERS; i++)
		if (!servers[i]) {
			servers[i] = s;
			return s;
		}
	fail_msg("too many servers");
	return NULL;
}

/* The pid written in a pidfile, waiting for it (redis-server writes its
 * pidfile just after it starts listening); 0 if none came. */
static pid_t read_pid(const char *path)
{
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;
	pid_t pid;

	while ((pid = (pid_t)atoi(slurp(path))) <= 0 && now_ms() < deadline)
		sleep_ms(5);
	return pid;
}

/* Wait until pid is gone (a daemon is not our child: no waitpid). */
static void wait_gone(pid_t pid)
{
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;

	while (kill(pid, 0) == 0) {
		if (now_ms() > deadline)
			fail_msg("process %d did not exit", (int)pid);
		sleep_ms(5);
	}
}

/* Can this process read path (Debian's file is 0640 redis:redis)? */
static bool readable(const char *path)
{
	return access(path, R_OK) == 0;
}

/* The directive names of a config file's lines (not comments), each once. */
static int conf_names(const char *path, char names[][64], int max)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof line, f) && n < max) {
		char name[64];
		bool dup = false;

		if (sscanf(line, " %63[a-z0-9_-]", name) != 1 || line[strspn(line, " \t")] == '#')
			continue;
		for (int i = 0; i < n; i++)
			dup |= !strcmp(names[i], name);
		if (!dup && strcmp(name, "include") && strcmp(name, "user"))
			snprintf(names[n++], 64, "%s", name);
	}
	fclose(f);
	return n;
}

/* CONFIG GET name's value on c (the second element), in a ring buffer. */
static const char *get(struct kc *c, const char *name)
{
	static char bufs[8][1024];
	static int at;
	char *b = bufs[at++ % 8];
	const char *r = Q(c, "CONFIG", "GET", name);
	const char *v = strchr(r, ',');

	snprintf(b, sizeof bufs[0], "%s", v ? v + 1 : r);
	if (v && b[0] && b[strlen(b) - 1] == ']')
		b[strlen(b) - 1] = '\0';
	return b;
}

/* ---- Debian's own redis.conf ----------------------------------------------- */

/*
 * Both servers from /etc/redis/redis.conf as the Debian package installs it
 * (daemonize yes, its bind list, its save defaults...), with only what two
 * servers on one machine cannot share overridden on the command line: port,
 * dir, pidfile, logfile, and a unix socket. Every setting the file names
 * must read back the same from both; then what the settings mean is
 * checked: both daemonized (parent exited 0, pidfile holds a live pid),
 * bound where the file says, the socket's mode, the databases, and a clean
 * shutdown that removes pidfile and socket.
 */
static void test_debian_conf_matches_redis(void **state)
{
	static char names[256][64];
	char *dir = new_tmpdir(), p[2][16], path[8][300], out[300];
	struct kc *c[2];
	pid_t pid[2];
	int port[2], n;
	struct stat st;

	(void)state;
	if (!readable(DEBIAN_CONF) || !have_program("redis-server")) {
		print_message("skipped: %s not readable or redis-server missing\n", DEBIAN_CONF);
		skip();
	}
	n = conf_names(DEBIAN_CONF, names, 256);
	assert_true(n > 50);
	snprintf(out, sizeof out, "%s/out", dir);
	for (int k = 0; k < 2; k++) {
		const char *prog = k ? "redis-server" : cowkv_path();
		const char *argv[20];
		int a = 0;

		port[k] = free_port();
		snprintf(p[k], sizeof p[k], "%d", port[k]);
		snprintf(path[4 * k], sizeof path[0], "%s/d%d", dir, k);
		mkdir(path[4 * k], 0700);
		snprintf(path[4 * k + 1], sizeof path[0], "%s/pid%d", dir, k);
		snprintf(path[4 * k + 2], sizeof path[0], "%s/log%d", dir, k);
		snprintf(path[4 * k + 3], sizeof path[0], "%s/sock%d", dir, k);
		argv[a++] = prog;
		argv[a++] = DEBIAN_CONF;
		argv[a++] = "--port";
		argv[a++] = p[k];
		argv[a++] = "--dir";
		argv[a++] = path[4 * k];
		argv[a++] = "--pidfile";
		argv[a++] = path[4 * k + 1];
		argv[a++] = "--logfile";
		argv[a++] = path[4 * k + 2];
		argv[a++] = "--unixsocket";
		argv[a++] = path[4 * k + 3];
		argv[a++] = "--unixsocketperm";
		argv[a++] = "770";
		argv[a] = NULL;
		/* daemonize yes: the parent returns once the daemon is ready */
		assert_int_equal(run(argv, NULL, out), 0);
		wait_tcp(port[k]);
		pid[k] = read_pid(path[4 * k + 1]);
		assert_true(pid[k] > 0);
		daemons[ndaemons++] = pid[k];
		assert_int_equal(kill(pid[k], 0), 0);
		c[k] = kc_open(port[k]);
	}
	for (int i = 0; i < n; i++) {
		const char *name = names[i];
		bool own = !strcmp(name, "port") || !strcmp(name, "dir") || !strcmp(name, "pidfile") ||
			   !strcmp(name, "logfile");

		if (!own)
			assert_string_equal(get(c[0], name), get(c[1], name));
	}
	/* the settings the file leaves to their defaults that it shows commented out */
	assert_string_equal(get(c[0], "save"), get(c[1], "save"));
	assert_string_equal(get(c[0], "databases"), get(c[1], "databases"));
	/* maxmemory: the file leaves it unset, Redis's 0; cowkv shows the
	 * space's size, its default of 4gb (docs/COWKV.md) */
	assert_string_equal(get(c[1], "maxmemory"), "\"0\"");
	assert_string_equal(get(c[0], "maxmemory"), "\"4294967296\"");
	assert_string_equal(get(c[0], "unixsocketperm"), get(c[1], "unixsocketperm"));
	assert_string_equal(get(c[0], "bind"), "\"127.0.0.1 -::1\"");
	/* bind 127.0.0.1 -::1: both addresses where the machine has IPv6 */
	assert_int_equal(accepts_ipv6_loopback(port[0]), accepts_ipv6_loopback(port[1]));
	if (!accepts_ipv6_loopback(port[1]))
		print_message("no IPv6 loopback here: -::1 skipped by both\n");
	for (int k = 0; k < 2; k++) {
		struct kc *u = kc_open_unix(path[4 * k + 3]);

		EXPECT(u, "+PONG", "PING");
		kc_close(u);
		assert_int_equal(stat(path[4 * k + 3], &st), 0);
		assert_int_equal(st.st_mode & 0777, 0770);
		EXPECT(c[k], "+OK", "SELECT", "15");
	}
	assert_string_equal(Q(c[0], "SELECT", "16"), Q(c[1], "SELECT", "16"));
	assert_non_null(strstr(Q(c[0], "INFO", "server"), "config_file:" DEBIAN_CONF));
	assert_non_null(strstr(Q(c[1], "INFO", "server"), "config_file:" DEBIAN_CONF));
	/* the log went to logfile (0600 for cowkv) */
	assert_int_equal(stat(path[2], &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_non_null(strstr(slurp(path[2]), "Configuration loaded from " DEBIAN_CONF));
	/* logrotate renames the log (Debian's rotates without copytruncate):
	 * the next line goes to a new file at logfile, as with redis-server */
	{
		char rotated[320];

		snprintf(rotated, sizeof rotated, "%s.1", path[2]);
		assert_int_equal(rename(path[2], rotated), 0);
		EXPECT(c[0], "+OK", "CONFIG", "SET", "loglevel", "notice");
		EXPECT(c[0], "+OK", "SAVE");
		assert_non_null(strstr(slurp(path[2]), "DB saved on disk"));
		assert_null(strstr(slurp(rotated), "DB saved on disk"));
	}
	/* SHUTDOWN: pidfile and socket gone, as with redis-server */
	for (int k = 0; k < 2; k++) {
		send_args(c[k], "SHUTDOWN", "NOSAVE", (const char *)NULL);
		wait_gone(pid[k]);
		daemons[k] = 0;
		kc_close(c[k]);
		assert_int_equal(access(path[4 * k + 1], F_OK), -1);
		assert_int_equal(access(path[4 * k + 3], F_OK), -1);
	}
}

/* ---- syntax, includes, overrides, stdin ----------------------------------------- */

static const char *syntax_conf =
	"# a comment\n"
	"   # an indented comment\n"
	"\n"
	"bind 127.0.0.1\n"
	"save 900 1 300 10\n"
	"save \"60 10000\"\n"
	"client-output-buffer-limit normal 0 0 0\n"
	"client-output-buffer-limit pubsub 64mb 16mb 30\n"
	"dbfilename 'my store'\n"
	"notify-keyspace-events \"Ex\"\n"
	"syslog-ident \"id\\x41\\tent\"\n"
	"  hz 20   \r\n"
	"TIMEOUT 7\n"
	"include %s\n"
	"appendfsync always\n"
	"oom-score-adj-values \"0 100 900\"\n"
	"slowlog-max-len 64\n";

/*
 * One file using the whole syntax (comments, blank and indented lines,
 * CRLF, "..." with escapes, '...', multi-word directives on one line and
 * in one quoted word, repeated save and client-output-buffer-limit lines,
 * an include, a directive in capitals), given to both servers with the
 * same command-line override; and the same file through standard input
 * ("-"). Every setting it names reads back the same.
 */
static void test_syntax_matches_redis(void **state)
{
	static const char *names[] = { "bind", "save", "client-output-buffer-limit",
				       "dbfilename", "notify-keyspace-events", "syslog-ident", "hz",
				       "timeout", "maxclients", "appendfsync", "oom-score-adj-values",
				       "slowlog-max-len", "tcp-keepalive" };
	char *dir = new_tmpdir(), conf[300], inc[300], text[2048], out[300], p[3][16], d[3][300];
	struct kc *c[3];
	const char *dash = "-";

	(void)state;
	if (!have_program("redis-server"))
		skip();
	snprintf(conf, sizeof conf, "%s/main.conf", dir);
	snprintf(inc, sizeof inc, "%s/inc.conf", dir);
	snprintf(out, sizeof out, "%s/out", dir);
	write_file(inc, "maxclients 333\ntcp-keepalive 17\nslowlog-max-len 99\n");
	snprintf(text, sizeof text, syntax_conf, inc);
	write_file(conf, text);
	for (int k = 0; k < 3; k++) {
		/* 0: cowkv FILE, 1: redis-server FILE, 2: cowkv - < FILE */
		const char *argv[12] = { k == 1 ? "redis-server" : cowkv_path(),
					 k == 2 ? dash : conf, "--port", p[k], "--dir", d[k],
					 "--hz", "30", "--daemonize", "no", NULL };
		int port = free_port();

		snprintf(p[k], sizeof p[k], "%d", port);
		snprintf(d[k], sizeof d[k], "%s/d%d", dir, k);
		mkdir(d[k], 0700);
		track(spawn(argv, k == 2 ? conf : NULL, out, NULL), port, out);
		wait_tcp(port);
		c[k] = kc_open(port);
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		assert_string_equal(get(c[0], names[i]), get(c[1], names[i]));
		assert_string_equal(get(c[2], names[i]), get(c[1], names[i]));
	}
	assert_string_equal(get(c[0], "save"), "\"900 1 300 10 60 10000\"");
	assert_string_equal(get(c[0], "hz"), "\"30\"");	/* the command line wins */
	assert_string_equal(get(c[0], "syslog-ident"), "\"idA\tent\"");
	assert_string_equal(get(c[0], "slowlog-max-len"), "\"64\"");	/* after the include */
	assert_string_equal(get(c[0], "dbfilename"), "\"my store\"");
	/* what the settings do: expiry events (Ex) and the store's name */
	assert_non_null(strstr(Q(c[0], "INFO", "server"), "config_file:"));
	EXPECT(c[0], "+OK", "SAVE");
	{
		char store[400];

		snprintf(store, sizeof store, "%s/my store", d[0]);
		assert_int_equal(access(store, F_OK), 0);
	}
	/* standard input has no file to rewrite, as in Redis */
	assert_string_equal(Q(c[2], "CONFIG", "REWRITE"), "-ERR The server is running without a config file");
	for (int k = 0; k < 3; k++)
		kc_close(c[k]);
}

/* ---- refusals ----------------------------------------------------------------- */

struct bad {
	const char *line;
	bool redis_refuses;     /* redis-server refuses it too */
	const char *why;        /* part of cowkv's message */
};

/*
 * A config whose line 3 is bad: cowkv exits 1 before touching the data,
 * printing FILE:3 and the reason; redis-server refuses the same lines
 * (where it would) the same way. The store in dir keeps its key.
 */
static void test_bad_directives(void **state)
{
	static const struct bad bads[] = {
		{ "no-such-directive 1", true, "Bad directive or wrong number of arguments" },
		{ "port 1 2", true, "wrong number of arguments" },
		{ "port", true, "wrong number of arguments" },
		{ "dir \"/tmp", true, "Unbalanced quotes in configuration line" },
		{ "dir \"/tmp\"x", true, "Unbalanced quotes in configuration line" },
		{ "appendfsync sometimes", true, "must be one of the following: always, everysec, no" },
		{ "hz fast", true, "couldn't be parsed into an integer" },
		{ "maxmemory lots", true, "memory value" },
		{ "save 10", true, "Invalid save parameters" },
		{ "include /nonexistent/x.conf", true, "can't open config file '/nonexistent/x.conf'" },
		{ "appendonly yes", false, "can't honour 'appendonly yes': cowkv has no AOF" },
		{ "replicaof 10.0.0.1 6379", false, "can't honour 'replicaof 10.0.0.1 6379'" },
		{ "cluster-enabled yes", false, "can't honour 'cluster-enabled yes'" },
		{ "maxmemory-policy allkeys-lru", false, "can't honour 'maxmemory-policy allkeys-lru'" },
		{ "io-threads 4", false, "can't honour 'io-threads 4'" },
		{ "tls-port 6380", false, "can't honour 'tls-port 6380'" },
		{ "min-replicas-to-write -1", true, "argument must be between 0 and" },
		{ "rename-command FLUSHALL \"\"", false, "can't honour rename-command" },
		{ "user alice on >pw ~* +@all", false, "aclfile" },
		{ "loadmodule /x.so", false, "no modules" },
	};
	char *dir = new_tmpdir(), conf[300], out[300], text[512], data[300], expect[600];
	struct server *s;
	struct kc *c;

	(void)state;
	snprintf(conf, sizeof conf, "%s/bad.conf", dir);
	snprintf(out, sizeof out, "%s/out", dir);
	snprintf(data, sizeof data, "%s/data", dir);
	mkdir(data, 0700);
	s = start_cowkv(data, (const char *)NULL);
	c = kc_open(s->port);
	EXPECT(c, "+OK", "SET", "kept", "yes");
	kc_close(c);
	assert_int_equal(WEXITSTATUS(stop_server(s, SIGTERM)), 0);
	for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
		const char *cow[] = { cowkv_path(), conf, "--dir", data, "--maxmemory", "256mb",
				      "--port", "0", "--unixsocket", "x", NULL };
		const char *red[] = { "redis-server", conf, "--port", "0", "--dir", "/tmp", NULL };

		snprintf(text, sizeof text, "# line 1\nloglevel notice\n%s\nport 0\n", bads[i].line);
		write_file(conf, text);
		unlink(out);
		assert_int_equal(run(cow, NULL, out), 1);
		snprintf(expect, sizeof expect, "%s:3: ", conf);
		if (!strstr(slurp(out), expect) || !strstr(slurp(out), bads[i].why) ||
		    !strstr(slurp(out), bads[i].line))
			fail_msg("'%s': cowkv said:\n%s", bads[i].line, slurp(out));
		if (bads[i].redis_refuses && have_program("redis-server")) {
			unlink(out);
			assert_int_equal(run(red, NULL, out), 1);
			assert_true(strstr(slurp(out), "at line 3") ||
				    strstr(slurp(out), "can't open config file"));
		}
	}
	/* a bad option on the command line: named, nothing started */
	{
		const char *cow[] = { cowkv_path(), "--dir", data, "--appendonly", "yes", NULL };

		unlink(out);
		assert_int_equal(run(cow, NULL, out), 1);
		assert_non_null(strstr(slurp(out), "command line:"));
		assert_non_null(strstr(slurp(out), "appendonly yes"));
	}
	/* nothing was lost */
	s = start_cowkv(data, (const char *)NULL);
	c = kc_open(s->port);
	EXPECT(c, "\"yes\"", "GET", "kept");
	kc_close(c);
}

/* ---- the unix socket and port 0 ------------------------------------------------- */

/* Does process pid hold a listening TCP socket? (/proc: its socket
 * inodes against the LISTEN entries of /proc/net/tcp and tcp6.) */
static bool listens_tcp(pid_t pid)
{
	char path[64], link[128], line[512];
	unsigned long inodes[256];
	int n = 0;
	DIR *d;
	struct dirent *e;
	bool found = false;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	assert_non_null(d = opendir(path));
	while ((e = readdir(d)) && n < 256) {
		char fdp[340];
		ssize_t k;

		snprintf(fdp, sizeof fdp, "%s/%s", path, e->d_name);
		k = readlink(fdp, link, sizeof link - 1);
		if (k > 0) {
			link[k] = '\0';
			if (sscanf(link, "socket:[%lu]", &inodes[n]) == 1)
				n++;
		}
	}
	closedir(d);
	for (int v = 0; v < 2 && !found; v++) {
		FILE *f = fopen(v ? "/proc/net/tcp6" : "/proc/net/tcp", "r");

		while (f && fgets(line, sizeof line, f)) {
			unsigned st;
			unsigned long ino;

			if (sscanf(line, " %*s %*s %*s %x %*s %*s %*s %*s %*s %lu", &st, &ino) == 2 &&
			    st == 0x0A)
				for (int i = 0; i < n; i++)
					found |= inodes[i] == ino;
		}
		if (f)
			fclose(f);
	}
	return found;
}

/* Leave a socket file at path that nobody accepts on (a crashed server's). */
static void stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	close(fd);
}

/*
 * port 0 and a unix socket: no TCP listener at all, the socket 0600 by
 * default (cowkv's choice; Redis leaves it to the umask), redis-cli -s
 * works, CLIENT LIST says addr=PATH:0 and flag U as Redis; a stale socket
 * file is replaced, a live one or a regular file is refused (left alone);
 * SIGTERM removes the socket.
 */
static void test_unixsocket_port0(void **state)
{
	char *dir = new_tmpdir(), sock[300], out[300], file[300];
	const char *argv[] = { cowkv_path(), "--port", "0", "--unixsocket", sock, "--maxmemory",
			       "256mb", NULL };
	struct server *s;
	struct kc *c;
	struct stat st;
	pid_t pid;

	(void)state;
	snprintf(sock, sizeof sock, "%s/cowkv.sock", dir);
	snprintf(out, sizeof out, "%s/out", dir);
	snprintf(file, sizeof file, "%s/regular", dir);
	stale_socket(sock);
	pid = spawn(argv, NULL, out, NULL);
	s = track(pid, 0, out);
	c = kc_open_unix(sock);
	EXPECT(c, "+PONG", "PING");
	assert_int_equal(stat(sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_false(listens_tcp(pid));
	assert_string_equal(get(c, "port"), "\"0\"");
	{
		char want[700];
		const char *list = Q(c, "CLIENT", "LIST");

		snprintf(want, sizeof want, "addr=%s:0 laddr=%s:0", sock, sock);
		assert_non_null(strstr(list, want));
		assert_non_null(strstr(list, "flags=U"));
	}
	if (have_program("redis-cli")) {
		const char *cli[] = { "redis-cli", "-s", sock, "ping", NULL };
		char cliout[300];

		snprintf(cliout, sizeof cliout, "%s/cli", dir);
		assert_int_equal(run(cli, NULL, cliout), 0);
		assert_string_equal(slurp(cliout), "PONG\n");
	}
	/* a second server on the same path: refused, the first unharmed */
	unlink(out);
	assert_int_equal(run(argv, NULL, out), 1);
	assert_non_null(strstr(slurp(out), "a server is listening on it"));
	EXPECT(c, "+PONG", "PING");
	kc_close(c);
	assert_int_equal(WEXITSTATUS(stop_server(s, SIGTERM)), 0);
	assert_int_equal(access(sock, F_OK), -1);
	/* a regular file where the socket goes: refused and kept */
	write_file(file, "precious\n");
	{
		const char *arg2[] = { cowkv_path(), "--port", "0", "--unixsocket", file, NULL };

		assert_int_equal(run(arg2, NULL, out), 1);
		assert_string_equal(slurp(file), "precious\n");
	}
	/* nowhere to listen: refused, as Redis */
	{
		const char *arg3[] = { cowkv_path(), "--port", "0", NULL };

		unlink(out);
		assert_int_equal(run(arg3, NULL, out), 1);
		assert_non_null(strstr(slurp(out), "Configured to not listen anywhere"));
	}
	/* unixsocketperm as asked */
	{
		const char *arg4[] = { cowkv_path(), "--port", "0", "--unixsocket", sock,
				       "--unixsocketperm", "760", "--maxmemory", "256mb", NULL };

		s = track(spawn(arg4, NULL, out, NULL), 0, out);
		c = kc_open_unix(sock);
		assert_int_equal(stat(sock, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0760);
		assert_string_equal(get(c, "unixsocketperm"), "\"760\"");
		kc_close(c);
		stop_server(s, SIGTERM);
	}
}

/* ---- systemd ---------------------------------------------------------------- */

/* Receive datagrams on fd until one holds want, within the I/O timeout;
 * that one ("" if none came). redis-server sends STATUS=... first. */
static const char *recv_notify(int fd, const char *want)
{
	static char buf[512];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;
	ssize_t n;

	while (now_ms() < deadline && poll(&p, 1, (int)(deadline - now_ms())) == 1) {
		if ((n = recv(fd, buf, sizeof buf - 1, 0)) <= 0)
			break;
		buf[n] = '\0';
		if (strstr(buf, want))
			return buf;
	}
	return "";
}

/*
 * --supervised systemd --daemonize no, as Debian's unit starts redis-server
 * (Type=notify): READY=1 arrives on $NOTIFY_SOCKET once the server answers
 * (redis-server sends it too, when built with systemd), STOPPING=1 at
 * SIGTERM; INFO says process_supervised:systemd. An abstract socket name
 * (@...) works as well. daemonize yes is ignored under supervision (as
 * Redis: the service manager keeps the process).
 */
static void test_supervised_systemd(void **state)
{
	char *dir = new_tmpdir(), nsock[300], env[340], out[300], p[16];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	(void)state;
	snprintf(nsock, sizeof nsock, "%s/notify", dir);
	snprintf(out, sizeof out, "%s/out", dir);
	for (int k = 0; k < 3; k++) {
		/* 0: cowkv, path; 1: redis-server, path; 2: cowkv, abstract */
		int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), port = free_port();
		socklen_t len = sizeof sa;
		const char *argv[] = { k == 1 ? "redis-server" : cowkv_path(), "--port", p,
				       "--supervised", "systemd", "--daemonize", k == 2 ? "yes" : "no",
				       "--save", "", "--maxmemory", "256mb", NULL };
		struct server *s;
		struct kc *c;
		const char *msg;

		if (k == 1 && !have_program("redis-server"))
			continue;
		snprintf(p, sizeof p, "%d", port);
		memset(sa.sun_path, 0, sizeof sa.sun_path);
		if (k == 2) {
			snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "cowkv-test-%d", (int)getpid());
			len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1));
			snprintf(env, sizeof env, "NOTIFY_SOCKET=@%s", sa.sun_path + 1);
		} else {
			unlink(nsock);
			snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", nsock);
			snprintf(env, sizeof env, "NOTIFY_SOCKET=%s", nsock);
		}
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
		s = track(spawn(argv, NULL, out, env), port, out);
		msg = recv_notify(fd, "READY=1");
		if (k == 1 && !strstr(msg, "READY=1")) {
			print_message("redis-server sent no READY=1 (built without systemd?)\n");
			close(fd);
			stop_server(s, SIGKILL);
			continue;
		}
		assert_non_null(strstr(msg, "READY=1"));
		/* ready means ready: it answers at once */
		c = kc_open(port);
		EXPECT(c, "+PONG", "PING");
		assert_non_null(strstr(Q(c, "INFO", "server"), "process_supervised:systemd"));
		kc_close(c);
		assert_int_equal(kill(s->pid, SIGTERM), 0);
		msg = recv_notify(fd, "STOPPING=1");
		assert_non_null(strstr(msg, "STOPPING=1"));
		close(fd);
		stop_server(s, SIGTERM);
	}
}

/*
 * daemonize yes: the command returns when the daemon is ready; a start that
 * fails returns 1 with the reason on stderr (redis-server's parent exits 0
 * at once and leaves the failure to its log).
 */
static void test_daemonize_failure_is_seen(void **state)
{
	char *dir = new_tmpdir(), out[300], pidf[300], p[16], file[300];
	const char *argv[] = { cowkv_path(), "--daemonize", "yes", "--port", p, "--dir", file,
			       "--pidfile", pidf, "--maxmemory", "256mb", NULL };

	(void)state;
	snprintf(out, sizeof out, "%s/out", dir);
	snprintf(pidf, sizeof pidf, "%s/pid", dir);
	snprintf(file, sizeof file, "%s/not-a-dir", dir);
	snprintf(p, sizeof p, "%d", free_port());
	write_file(file, "x");
	assert_int_equal(run(argv, NULL, out), 1);
	assert_non_null(strstr(slurp(out), "not-a-dir"));
	assert_int_equal(access(pidf, F_OK), -1);	/* removed with the failed daemon */
}

/* ---- CONFIG REWRITE ------------------------------------------------------------ */

/* Each comment line of a, in order, is in b. */
static bool comments_kept(const char *a, const char *b)
{
	const char *at = b;

	for (const char *l = a; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
		char line[1024];
		size_t n = strcspn(l, "\n");

		if (l[0] != '#')
			continue;
		snprintf(line, sizeof line, "%.*s\n", (int)(n < 1000 ? n : 1000), l);
		if (!(at = strstr(at, line)))
			return false;
		at += strlen(line);
	}
	return true;
}

/*
 * The same CONFIG SETs then CONFIG REWRITE on both servers, each on its
 * own copy of a config file (Debian's when readable, mode 0640 kept); the
 * rewritten files keep every comment, hold no temporary file beside them,
 * and a server started from each (cowkv's by redis-server too) reads back
 * the values set. Without a config file, Redis's error.
 */
static void test_config_rewrite(void **state)
{
	static const char *sets[][2] = {
		{ "hz", "25" }, { "save", "100 5 200 7" }, { "maxmemory", "200mb" },
		{ "notify-keyspace-events", "KEA" }, { "client-output-buffer-limit", "pubsub 64mb 16mb 30" },
		{ "timeout", "0" }, { "appendfsync", "always" }, { "slowlog-max-len", "77" },
	};
	static const char *small = "# my server\nport 6379\n# keep me\nhz 10\nsave 900 1\nsave 300 10\n"
				   "include /dev/null\nappendonly no\n";
	char *dir = new_tmpdir(), conf[2][300], out[300], p[3][16], d[300];
	struct kc *c[3];
	struct stat st;
	char original[1 << 17];

	(void)state;
	if (!have_program("redis-server"))
		skip();
	snprintf(out, sizeof out, "%s/out", dir);
	snprintf(original, sizeof original, "%s", readable(DEBIAN_CONF) ? slurp(DEBIAN_CONF) : small);
	for (int k = 0; k < 2; k++) {
		const char *argv[] = { k ? "redis-server" : cowkv_path(), conf[k], "--port", p[k],
				       "--dir", d, "--daemonize", "no", "--pidfile", "", "--logfile", "",
				       "--dbfilename", k ? "dump.rdb" : "cowkv.store", NULL };
		int port = free_port();

		snprintf(conf[k], sizeof conf[k], "%s/%d.conf", dir, k);
		snprintf(d, sizeof d, "%s", dir);
		snprintf(p[k], sizeof p[k], "%d", port);
		write_file(conf[k], original);
		chmod(conf[k], 0640);
		track(spawn(argv, NULL, out, NULL), port, out);
		wait_tcp(port);
		c[k] = kc_open(port);
		for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
			EXPECT(c[k], "+OK", "CONFIG", "SET", sets[i][0], sets[i][1]);
		EXPECT(c[k], "+OK", "CONFIG", "REWRITE");
		kc_close(c[k]);
	}
	assert_int_equal(stat(conf[0], &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_true(comments_kept(original, slurp(conf[0])));
	{
		DIR *dd = opendir(dir);
		struct dirent *e;

		while ((e = readdir(dd)))
			assert_null(strstr(e->d_name, "rewrite"));
		closedir(dd);
	}
	/* read back: cowkv's file by cowkv and by redis-server, redis's by cowkv */
	for (int k = 0; k < 3; k++) {
		const char *prog = k == 1 ? "redis-server" : cowkv_path();
		const char *file = k == 2 ? conf[1] : conf[0];
		const char *argv[] = { prog, file, "--port", p[k], "--dir", d, "--daemonize", "no",
				       "--pidfile", "", "--logfile", "", "--dbfilename",
				       k == 1 ? "dump2.rdb" : k ? "c2.store" : "c1.store", NULL };
		int port = free_port();

		snprintf(p[k], sizeof p[k], "%d", port);
		if (k == 2) {
			/* redis-server's rewrite may hold users and settings cowkv refuses
			 * (a "user" line): keep the settings compared only */
			char *f = strdup(slurp(conf[1])), *l, *save = NULL, buf[1 << 17] = "";

			for (l = strtok_r(f, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
				if (strncmp(l, "user ", 5) && strncmp(l, "latency-tracking-info", 21) &&
				    strncmp(l, "acl-pubsub-default", 18))
					snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s\n", l);
			free(f);
			write_file(conf[1], buf);
		}
		track(spawn(argv, NULL, out, NULL), port, out);
		wait_tcp(port);
		c[k] = kc_open(port);
	}
	for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
		const char *want = get(c[1], sets[i][0]);

		assert_string_equal(get(c[0], sets[i][0]), want);
		assert_string_equal(get(c[2], sets[i][0]), want);
	}
	assert_string_equal(get(c[1], "hz"), "\"25\"");
	assert_string_equal(get(c[0], "maxmemory"), "\"209715200\"");
	for (int k = 0; k < 3; k++)
		kc_close(c[k]);
	/* no config file: Redis's error */
	{
		struct server *s = start_cowkv(NULL, (const char *)NULL);
		struct server *r = start_redis();
		struct kc *a = kc_open(s->port), *b = kc_open(r->port);

		assert_string_equal(Q(a, "CONFIG", "REWRITE"), Q(b, "CONFIG", "REWRITE"));
		EXPECT(a, "+OK", "CONFIG", "RESETSTAT");
		kc_close(a);
		kc_close(b);
	}
}

/*
 * CONFIG REWRITE, exactly: a setting's first line takes its current value,
 * its later lines go, comments, include and fixed settings stay as written,
 * nothing unchanged is appended; a second REWRITE changes nothing. A path
 * that is no longer a file gets Redis's "Rewriting config file" error, and
 * what stands there is left alone.
 */
static void test_rewrite_exact(void **state)
{
	char *dir = new_tmpdir(), conf[300], out[300], p[16], want[1024];
	const char *argv[] = { cowkv_path(), conf, "--port", p, NULL };
	struct kc *c;
	int port = free_port();

	(void)state;
	snprintf(conf, sizeof conf, "%s/exact.conf", dir);
	snprintf(out, sizeof out, "%s/out", dir);
	snprintf(p, sizeof p, "%d", port);
	write_file(conf, "# my server\nport 6379\n# keep me  \nhz 10\nsave 900 1\n# between\n"
		   "save 300 10\nHZ 11\ninclude /dev/null\nappendonly no\nmaxclients   500\n");
	track(spawn(argv, NULL, out, NULL), port, out);
	wait_tcp(port);
	c = kc_open(port);
	EXPECT(c, "+OK", "CONFIG", "SET", "hz", "12", "save", "60 5");
	EXPECT(c, "+OK", "CONFIG", "REWRITE");
	snprintf(want, sizeof want, "# my server\nport %d\n# keep me  \nhz 12\nsave 60 5\n# between\n"
		 "include /dev/null\nappendonly no\nmaxclients   500\n", port);
	assert_string_equal(slurp(conf), want);
	EXPECT(c, "+OK", "CONFIG", "REWRITE");
	assert_string_equal(slurp(conf), want);
	EXPECT(c, "+OK", "CONFIG", "SET", "notify-keyspace-events", "Ex");
	EXPECT(c, "-ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set immutable config",
	       "CONFIG", "SET", "dbfilename", "x");
	EXPECT(c, "+OK", "CONFIG", "REWRITE");
	snprintf(want + strlen(want), sizeof want - strlen(want),
		 "# Generated by CONFIG REWRITE\nnotify-keyspace-events xE\n");
	assert_string_equal(slurp(conf), want);
	assert_int_equal(unlink(conf), 0);
	assert_int_equal(mkdir(conf, 0700), 0);
	assert_string_equal(Q(c, "CONFIG", "REWRITE"), "-ERR Rewriting config file: Is a directory");
	kc_close(c);
}

/* Append name and value to a config text as one line, value quoted. */
static void conf_line(char *buf, size_t len, const char *name, const char *value)
{
	size_t at = strlen(buf);

	at += (size_t)snprintf(buf + at, len - at, "%s \"", name);
	for (const char *v = value; *v && at + 4 < len; v++) {
		if (*v == '"' || *v == '\\')
			buf[at++] = '\\';
		buf[at++] = *v;
	}
	snprintf(buf + at, len - at, "\"\n");
}

/*
 * Every setting redis-server 7.0 has (its CONFIG GET *, defaults and all),
 * written as a config file: cowkv refuses exactly the two whose Redis
 * default it cannot honour (enable-debug-command no, acl-pubsub-default
 * resetchannels: file:line named); without them it starts, and CONFIG GET
 * answers redis-server's value for every one but those it documents
 * (maxmemory: the space's size).
 */
static void test_every_redis_setting(void **state)
{
	static const char *skip_names[] = { "port", "dir", "logfile", "pidfile", "bind",
					    "unixsocket", "dbfilename", NULL };
	static char text[1 << 16], text2[1 << 16];
	char *dir = new_tmpdir(), conf[300], out[300], p[16];
	const char *argv[] = { cowkv_path(), conf, "--port", p, "--maxmemory", "256mb", NULL };
	const char *get_all[] = { "CONFIG", "GET", "*" };
	size_t lens[] = { 6, 3, 1 };
	struct server *r;
	struct resp_reply *all;
	struct kc *rc, *c;
	int port = free_port(), refused = 0;

	(void)state;
	if (!have_program("redis-server"))
		skip();
	snprintf(conf, sizeof conf, "%s/all.conf", dir);
	snprintf(out, sizeof out, "%s/out", dir);
	snprintf(p, sizeof p, "%d", port);
	r = start_redis();
	rc = kc_open(r->port);
	kc_sendv(rc, 3, get_all, lens);
	all = kc_read(rc);
	assert_true(all && all->type == RESP_ARRAY && all->n > 300);
	text[0] = text2[0] = '\0';
	for (size_t i = 0; i + 1 < all->n; i += 2) {
		const char *name = all->elem[i]->str, *value = all->elem[i + 1]->str;
		bool skipped = false;

		for (int k = 0; skip_names[k]; k++)
			skipped |= !strcmp(name, skip_names[k]);
		if (skipped)
			continue;
		conf_line(text, sizeof text, name, value);
		if (strcmp(name, "enable-debug-command") && strcmp(name, "acl-pubsub-default"))
			conf_line(text2, sizeof text2, name, value);
	}
	write_file(conf, text);
	assert_int_equal(run(argv, NULL, out), 1);
	refused = strstr(slurp(out), "can't honour 'enable-debug-command no'") ||
		  strstr(slurp(out), "can't honour 'acl-pubsub-default resetchannels'");
	if (!refused)
		fail_msg("cowkv said:\n%s", slurp(out));
	write_file(conf, text2);
	track(spawn(argv, NULL, out, NULL), port, out);
	wait_tcp(port);
	c = kc_open(port);
	for (size_t i = 0; i + 1 < all->n; i += 2) {
		const char *name = all->elem[i]->str;
		char want[1100];

		bool skipped = !strcmp(name, "maxmemory") || !strcmp(name, "enable-debug-command") ||
			       !strcmp(name, "acl-pubsub-default");

		for (int k = 0; skip_names[k]; k++)
			skipped |= !strcmp(name, skip_names[k]);
		if (skipped)
			continue;
		snprintf(want, sizeof want, "\"%s\"", all->elem[i + 1]->str);
		if (strcmp(get(c, name), want))
			fail_msg("%s: cowkv %s, redis-server %s", name, get(c, name), want);
	}
	resp_reply_free(all);
	kc_close(rc);
	kc_close(c);
}

/* SET key k<i> to 1 MB on c; the rendered reply (a static buffer). */
static const char *set_mb(struct kc *c, int i)
{
	static char value[1 << 20], reply[256];
	const char *argv[3] = { "SET", NULL, value };
	size_t lens[3] = { 3, 0, sizeof value };
	struct resp_reply *r;
	char key[16];

	memset(value, 'v', sizeof value);
	snprintf(key, sizeof key, "k%d", i);
	argv[1] = key;
	lens[1] = strlen(key);
	kc_sendv(c, 3, argv, lens);
	r = kc_read(c);
	render(r, reply, sizeof reply);
	resp_reply_free(r);
	return reply;
}

/*
 * What a config file's settings do, on both servers from their own copy of
 * one file (nothing on the command line): the port and bind it names,
 * requirepass (with a space in it), databases 4, timeout 2 (an idle client
 * is closed), maxmemory 32mb (writes refused with Redis's OOM error at
 * about the same fill), save 1 1 (a save follows the writes).
 */
static void test_file_settings_behave(void **state)
{
	char *dir = new_tmpdir(), conf[2][300], out[300], text[1024], d[2][300];
	struct kc *c[2], *idle[2];
	int port[2], filled[2];
	const char *oom[2];
	char oomtext[2][256];

	(void)state;
	if (!have_program("redis-server"))
		skip();
	snprintf(out, sizeof out, "%s/out", dir);
	for (int k = 0; k < 2; k++) {
		const char *argv[] = { k ? "redis-server" : cowkv_path(), conf[k], NULL };

		port[k] = free_port();
		snprintf(conf[k], sizeof conf[k], "%s/%d.conf", dir, k);
		snprintf(d[k], sizeof d[k], "%s/d%d", dir, k);
		mkdir(d[k], 0700);
		snprintf(text, sizeof text, "port %d\nbind 127.0.0.1\ndir %s\nmaxmemory 32mb\n"
			 "save 1 1\ndatabases 4\ntimeout 2\nrequirepass \"s3cret pw\"\n", port[k], d[k]);
		write_file(conf[k], text);
		track(spawn(argv, NULL, out, NULL), port[k], out);
		wait_tcp(port[k]);
		c[k] = kc_open(port[k]);
		idle[k] = kc_open(port[k]);
	}
	assert_string_equal(Q(c[0], "GET", "x"), Q(c[1], "GET", "x"));	/* NOAUTH */
	for (int k = 0; k < 2; k++) {
		EXPECT(c[k], "+OK", "AUTH", "s3cret pw");
		EXPECT(c[k], "+OK", "SELECT", "3");
		EXPECT(c[k], "+OK", "SELECT", "0");
	}
	assert_string_equal(Q(c[0], "SELECT", "4"), Q(c[1], "SELECT", "4"));
	/* both filled in turn, so neither client idles into the timeout */
	filled[0] = filled[1] = -1;
	for (int i = 0; i < 200 && (filled[0] < 0 || filled[1] < 0); i++)
		for (int k = 0; k < 2; k++)
			if (filled[k] < 0 && strcmp(oom[k] = set_mb(c[k], i), "+OK")) {
				filled[k] = i;
				snprintf(oomtext[k], sizeof oomtext[k], "%s", oom[k]);
			}
	assert_string_equal(oomtext[0], oomtext[1]);
	assert_true(filled[0] >= 16 && filled[0] <= 34);	/* 32 MB: about 30 keys of 1 MB */
	assert_true(filled[1] >= 16 && filled[1] <= 34);
	/* save 1 1: both save; timeout 2: both close the idle connection while
	 * the busy ones (a command every 50 ms) stay */
	{
		int64_t deadline = now_ms() + IO_TIMEOUT_MS;
		bool saved[2] = { false }, closed[2] = { false };

		while (!(saved[0] && saved[1] && closed[0] && closed[1])) {
			if (now_ms() > deadline)
				fail_msg("saved %d %d, idle closed %d %d", saved[0], saved[1],
					 closed[0], closed[1]);
			for (int k = 0; k < 2; k++) {
				char byte;

				saved[k] |= info_field(c[k], "persistence",
						       "rdb_changes_since_last_save") == 0;
				closed[k] |= recv(idle[k]->fd, &byte, 1, MSG_DONTWAIT) == 0;
			}
			sleep_ms(50);
		}
	}
	for (int k = 0; k < 2; k++) {
		EXPECT(c[k], "+PONG", "PING");
		kc_close(idle[k]);
		kc_close(c[k]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_debian_conf_matches_redis, conf_teardown),
		cmocka_unit_test_teardown(test_syntax_matches_redis, conf_teardown),
		cmocka_unit_test_teardown(test_bad_directives, conf_teardown),
		cmocka_unit_test_teardown(test_unixsocket_port0, conf_teardown),
		cmocka_unit_test_teardown(test_supervised_systemd, conf_teardown),
		cmocka_unit_test_teardown(test_daemonize_failure_is_seen, conf_teardown),
		cmocka_unit_test_teardown(test_config_rewrite, conf_teardown),
		cmocka_unit_test_teardown(test_rewrite_exact, conf_teardown),
		cmocka_unit_test_teardown(test_every_redis_setting, conf_teardown),
		cmocka_unit_test_teardown(test_file_settings_behave, conf_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
