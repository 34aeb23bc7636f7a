/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * supervise.c — how cowkv runs under a service manager, as redis-server
 * does: daemonize (fork into the background), pidfile, and readiness for
 * systemd (Type=notify: READY=1 sent to $NOTIFY_SOCKET, a datagram; no
 * libsystemd needed for that) or upstart (expect stop: SIGSTOP).
 *
 * Unlike redis-server, the parent of "daemonize yes" waits until the
 * daemon accepts connections, and exits 1 if it dies first: a start that
 * fails is seen by whoever started it, and its error (still on stderr until
 * then) with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server.h"

static enum { SUP_NO, SUP_SYSTEMD, SUP_UPSTART } mode;
static int ready_fd = -1;	/* daemonize: the pipe the waiting parent reads */
static bool pidfile_made;

const char *supervise_mode(void)
{
	return mode == SUP_SYSTEMD ? "systemd" : mode == SUP_UPSTART ? "upstart" : "no";
}

/* The supervision asked for ("auto": what the environment shows), as
 * Redis decides it. */
static void choose_mode(void)
{
	const char *s = srv.supervised ? srv.supervised : "no";

	mode = SUP_NO;
	if (!strcasecmp(s, "systemd") ||
	    (!strcasecmp(s, "auto") && getenv("NOTIFY_SOCKET")))
		mode = SUP_SYSTEMD;
	else if (!strcasecmp(s, "upstart") || (!strcasecmp(s, "auto") && getenv("UPSTART_JOB")))
		mode = SUP_UPSTART;
	if (mode == SUP_SYSTEMD && !getenv("NOTIFY_SOCKET")) {
		srv_log(LL_WARNING, "systemd supervision requested or auto-detected, but "
			"NOTIFY_SOCKET not found!");
		mode = SUP_NO;
	}
	if (mode == SUP_UPSTART && !getenv("UPSTART_JOB")) {
		srv_log(LL_WARNING, "upstart supervision requested, but UPSTART_JOB not found!");
		mode = SUP_NO;
	}
}

/*
 * Send msg to systemd's notification socket ($NOTIFY_SOCKET: a path, or
 * "@name" in the abstract namespace). Returns 0, or -errno (logged);
 * nothing to do without the variable.
 */
static int notify_systemd(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd, r = 0;

	if (!path)
		return 0;
	if ((path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof sa.sun_path) {
		srv_log(LL_WARNING, "NOTIFY_SOCKET is not a usable address: %s", path);
		return -EINVAL;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0) {
		r = -errno;
		srv_log(LL_WARNING, "Can't notify systemd at %s: %s", path, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return r;
}

/* Point fd at /dev/null. */
static void to_null(int fd)
{
	int n = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (n >= 0) {
		dup2(n, fd);
		close(n);
	}
}

/* Fork into the background. In the parent: wait for the child's word and
 * exit. In the child (the daemon): a new session, stdin and stdout on
 * /dev/null (stderr stays until ready). 0 or -1 (logged). */
static int daemonize(void)
{
	int p[2], status;
	pid_t pid;
	ssize_t n;
	char ok = 0;

	if (pipe2(p, O_CLOEXEC)) {
		srv_log(LL_WARNING, "daemonize: pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		srv_log(LL_WARNING, "daemonize: fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		do
			n = read(p[0], &ok, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1 && ok == '1')
			_exit(0);
		/* the daemon died before it was ready: its status is ours */
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status))
			_exit(WEXITSTATUS(status));
		_exit(1);
	}
	close(p[0]);
	ready_fd = p[1];
	setsid();
	to_null(STDIN_FILENO);
	to_null(STDOUT_FILENO);
	return 0;
}

/* Write our pid to srv.pidfile (created 0600). Failing is a warning, as
 * in Redis: the server runs without it. */
static void write_pidfile(void)
{
	char buf[32];
	int fd, n;

	fd = open(srv.pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
	if (fd < 0 || write(fd, buf, (size_t)n) != n) {
		srv_log(LL_WARNING, "Failed to write PID file %s: %s", srv.pidfile, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(srv.pidfile);
		}
		return;
	}
	close(fd);
	pidfile_made = true;
	atexit(supervise_stop);	/* a start that fails later removes it too */
}

int supervise_start(void)
{
	choose_mode();
	if (srv.daemonize && mode == SUP_NO && daemonize())
		return -1;
	if (srv.pidfile && srv.pidfile[0])
		write_pidfile();
	return 0;
}

void supervise_ready(void)
{
	if (ready_fd >= 0) {
		to_null(STDERR_FILENO);	/* the log goes to logfile from now on */
		(void)!write(ready_fd, "1", 1);
		close(ready_fd);
		ready_fd = -1;
	}
	if (mode == SUP_SYSTEMD) {
		srv_log(LL_NOTICE, "Sending READY=1 to systemd");
		notify_systemd("READY=1\nSTATUS=Ready to accept connections\n");
	} else if (mode == SUP_UPSTART) {
		raise(SIGSTOP);		/* upstart's "expect stop" */
		unsetenv("UPSTART_JOB");
	}
}

void supervise_stop(void)
{
	static bool stopped;

	if (mode == SUP_SYSTEMD && !stopped)
		notify_systemd("STOPPING=1\n");
	stopped = true;
	if (pidfile_made)
		unlink(srv.pidfile);
	pidfile_made = false;
}
