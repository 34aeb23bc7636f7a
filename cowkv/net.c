/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * net.c — the event loop: one epoll set for the listening socket, the
 * clients, the signal fd and the save thread's eventfd; non-blocking
 * sockets, level-triggered.
 *
 * A turn of the loop: wait for events (at most until the next tick), read
 * what clients sent and run the whole requests found, run the tick (expiry,
 * rehash, save points, timeouts) when due, write the replies produced, then
 * free the clients closed meanwhile (never while an event may still name
 * them).
 *
 * Flow control: a client whose pending output passes OBUF_PAUSE is neither
 * read nor served until the output drains below it, so a client pipelining
 * requests without reading its replies is held back by TCP instead of
 * growing the server's memory. Only a single huge reply can pass the output
 * limits (client-output-buffer-limit), which close the client.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "server.h"
#include "acl.h"      /* issue 15: connections start unauthenticated */

#define READ_CHUNK (16 * 1024)
#define READ_MAX (64u << 20)        /* bytes read in one call at most */
#define OBUF_PAUSE (1u << 20)       /* stop serving a client above this */
#define WRITE_MAX (64u << 20)       /* bytes written per client per turn */
#define OBUF_DROP_MIN (64u << 20)   /* buffers whose written pages go back at once */
#define QBUF_IDLE_MAX (64 * 1024)   /* larger idle query buffers are freed */
#define MAX_EVENTS 1024
#define ACCEPTS_PER_TURN 1000

/* epoll tags that are not clients. */
static char tag_signal, tag_save;
static int spare_fd = -1;   /* closed to accept-and-refuse at EMFILE */

static const struct resp_limits *limits(void)
{
	static struct resp_limits lim;

	lim.max_bulk = srv.proto_max_bulk_len;
	lim.max_args = 0x7fffffff;
	lim.max_inline = 64 * 1024;
	return &lim;
}

static int ep_ctl(int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	return epoll_ctl(srv.epfd, op, fd, &ev);
}

/* ---- listening ---------------------------------------------------------- */

#define LISTENERS_MAX 17	/* 16 bind addresses (Redis's limit) and the unix socket */

/* The listening sockets; an epoll event's tag is the listener's address. */
static struct listener {
	int fd;
} listeners[LISTENERS_MAX];
static int nlisteners;
static bool unix_made;		/* we created srv.unixsocket: remove it at exit */

/* Is an epoll tag one of the listening sockets? */
static bool is_listener(const void *tag)
{
	return tag >= (const void *)listeners && tag < (const void *)(listeners + nlisteners);
}

/* Errors that let an optional ("-addr") bind address be skipped, as
 * Redis skips them: the address or its family is not available here. */
static bool optional_skip(int err)
{
	return err == EADDRNOTAVAIL || err == EAFNOSUPPORT || err == EPROTONOSUPPORT ||
	       err == ESOCKTNOSUPPORT || err == EPFNOSUPPORT || err == EINVAL;
}

/* Listen on one TCP address of the bind list ("*" any IPv4, "::*" any
 * IPv6). Its fd, or -errno (logged unless quiet). */
static int listen_tcp(const char *addr, bool quiet)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICHOST };
	struct addrinfo *ai;
	char port[16];
	const char *host = !strcmp(addr, "*") ? "0.0.0.0" : !strcmp(addr, "::*") ? "::" : addr;
	int fd, one = 1, err;

	snprintf(port, sizeof port, "%ld", srv.port);
	err = getaddrinfo(host, port, &hints, &ai);
	if (err) {
		srv_log(LL_WARNING, "bad bind address '%s': %s", addr, gai_strerror(err));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, (int)srv.tcp_backlog)) {
		err = -errno;
		if (!quiet || !optional_skip(-err))
			srv_log(LL_WARNING, "Could not create server TCP listening socket %s:%ld: %s",
				addr, srv.port, strerror(-err));
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		return err;
	}
	freeaddrinfo(ai);
	return fd;
}

/* Is a server accepting connections on the unix socket at path? */
static bool unix_in_use(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool used;

	if (fd < 0)
		return false;
	used = connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0;
	close(fd);
	return used;
}

/*
 * Listen on srv.unixsocket with mode unixsocketperm (0: 0600). A stale
 * socket file (nobody accepting) is replaced; a live one, or a file that is
 * not a socket, is left alone and refused. Its fd, or -errno (logged).
 */
static int listen_unix(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t mode = srv.unixsocketperm ? (mode_t)srv.unixsocketperm : 0600, old;
	struct stat st;
	int fd, err = 0;

	if (strlen(srv.unixsocket) >= sizeof sa.sun_path) {
		srv_log(LL_WARNING, "unixsocket path too long (at most %zu bytes): %s",
			sizeof sa.sun_path - 1, srv.unixsocket);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, srv.unixsocket);
	if (lstat(srv.unixsocket, &st) == 0) {
		if (!S_ISSOCK(st.st_mode) || unix_in_use(&sa)) {
			srv_log(LL_WARNING, "Could not create server unix socket %s: %s",
				srv.unixsocket, S_ISSOCK(st.st_mode) ? "a server is listening on it"
				: "the path exists and is not a socket");
			return -EADDRINUSE;
		}
		unlink(srv.unixsocket);	/* stale: a server that died left it */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177);	/* created 0600: never wider, even for a moment */
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa))
		err = -errno;
	umask(old);
	if (!err) {
		unix_made = true;
		if (chmod(srv.unixsocket, mode) || listen(fd, (int)srv.tcp_backlog))
			err = -errno;
	}
	if (err) {
		srv_log(LL_WARNING, "Could not create server unix socket %s: %s", srv.unixsocket,
			strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

/* Watch listening socket fd (the loop accepts on it). 0 or -errno. */
static int add_listener(int fd)
{
	listeners[nlisteners].fd = fd;
	if (ep_ctl(EPOLL_CTL_ADD, fd, EPOLLIN, &listeners[nlisteners]))
		return -errno;
	nlisteners++;
	if (srv.lfd < 0)
		srv.lfd = fd;
	return 0;
}

/* Listen on every address of srv.bind (port 0: none). 0 or -errno. */
static int listen_bind_list(void)
{
	char *copy = strdup(srv.bind ? srv.bind : ""), *tok, *save = NULL;
	int r = 0, fd, tried = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, " ", &save); tok && !r; tok = strtok_r(NULL, " ", &save)) {
		bool optional = tok[0] == '-';

		if (nlisteners >= LISTENERS_MAX - 1) {
			srv_log(LL_WARNING, "Too many bind addresses specified (at most 16).");
			r = -EINVAL;
			break;
		}
		tried++;
		fd = listen_tcp(optional ? tok + 1 : tok, optional);
		if (fd < 0 && optional && optional_skip(-fd))
			continue;	/* "-::1" where there is no IPv6 */
		r = fd < 0 ? fd : add_listener(fd);
	}
	free(copy);
	if (!r && !tried) {
		srv_log(LL_WARNING, "bind has no address");
		r = -EINVAL;
	}
	return r;
}

int net_listen(void)
{
	int r = 0, fd;

	srv.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv.epfd < 0)
		return -errno;
	if (srv.port == 0 && !srv.unixsocket[0]) {
		srv_log(LL_WARNING, "Configured to not listen anywhere, exiting.");
		return -EINVAL;
	}
	if (srv.port && (r = listen_bind_list()))
		return r;
	if (srv.unixsocket[0]) {
		if ((fd = listen_unix()) < 0)
			return fd;
		if ((r = add_listener(fd)))
			return r;
	}
	if (srv.sigfd >= 0 && ep_ctl(EPOLL_CTL_ADD, srv.sigfd, EPOLLIN, &tag_signal))
		return -errno;
	if (srv.savefd >= 0 && ep_ctl(EPOLL_CTL_ADD, srv.savefd, EPOLLIN, &tag_save))
		return -errno;
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return 0;
}

void net_close_listeners(void)
{
	for (int i = 0; i < nlisteners; i++)
		close(listeners[i].fd);
	nlisteners = 0;
	srv.lfd = -1;
	if (unix_made)
		unlink(srv.unixsocket);
	unix_made = false;
}

/* ---- clients ------------------------------------------------------------ */

void client_describe(const struct client *c, char *buf, size_t len)
{
	snprintf(buf, len, "id=%llu addr=%s name=%s", (unsigned long long)c->id,
		 c->addr, c->name ? c->name : "");
}

void client_close_async(struct client *c)
{
	if (c->flags & CF_CLOSE_ASAP)
		return;
	blocking_forget(c);	/* a closing client is served nothing more */
	c->flags |= CF_CLOSE_ASAP;
	c->free_next = srv.to_free;
	srv.to_free = c;
}

/* Close c's socket and free it (only from free_closed()). */
static void client_free(struct client *c)
{
	/* issue 13 part B: transactions, blocking, pub/sub, MONITOR */
	multi_reset_client(c);
	blocking_forget(c);
	pubsub_reset_client(c);
	introspect_client_gone(c);
	close(c->fd);	/* also leaves the epoll set */
	if (c->prev)
		c->prev->next = c->next;
	else
		srv.clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv.nclients--;
	reply_free_all(c);
	resp_free(&c->parser);
	free(c->qbuf);
	free(c->argv);
	free(c->name);
	free(c->user);          /* issue 15 */
	free(c);
}

/* Free the clients closed during this turn. */
static void free_closed(void)
{
	while (srv.to_free) {
		struct client *c = srv.to_free;

		srv.to_free = c->free_next;
		client_free(c);
	}
}

/* Register the epoll events c needs now: input unless paused or finished,
 * output while some is pending. */
static void client_update_events(struct client *c)
{
	uint32_t ev = 0;

	if (c->flags & CF_CLOSE_ASAP)
		return;
	if (!(c->flags & (CF_EOF | CF_CLOSE_AFTER_REPLY)) && c->obytes < OBUF_PAUSE)
		ev |= EPOLLIN;
	if (c->obytes)
		ev |= EPOLLOUT;
	if (ev != c->events) {
		if (ep_ctl(EPOLL_CTL_MOD, c->fd, ev, c))
			client_close_async(c);
		c->events = ev;
	}
}

/* The output buffer limits of c's class, as Redis's getClientType(): a
 * client subscribed to a channel, pattern or shard channel (RESP2 or RESP3)
 * is pubsub, any other normal. */
static const struct obuf_limit *client_limits(const struct client *c)
{
	return &srv.obl[(c->flags & CF_PUBSUB) ? OBL_PUBSUB : OBL_NORMAL];
}

void client_check_output(struct client *c)
{
	const struct obuf_limit *l = client_limits(c);
	char who[160];

	if (c->flags & (CF_CLOSE_ASAP | CF_REPLICA))
		return;		/* a replica's RDB is not held to the limits */
	if (l->hard && c->obytes > l->hard)
		goto close;
	if (!l->soft || c->obytes <= l->soft) {
		c->soft_since_ms = 0;
		return;
	}
	if (!c->soft_since_ms) {
		c->soft_since_ms = srv.now_ms;
		return;
	}
	if (srv.now_ms - c->soft_since_ms <= l->soft_secs * 1000)
		return;
close:
	client_describe(c, who, sizeof who);
	srv_log(LL_WARNING, "Client %s scheduled to be closed ASAP for overcoming of "
		"output buffer limits.", who);
	srv.obuf_disconnects++;
	reply_free_all(c);
	client_close_async(c);
}

/* A new connection: a client, or a refusal past maxclients. */
static void client_new(int fd, const struct sockaddr_storage *sa)
{
	struct client *c;
	int one = 1;
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (srv.nclients >= (uint64_t)srv.maxclients) {
		static const char msg[] = "-ERR max number of clients reached\r\n";

		(void)!write(fd, msg, sizeof msg - 1);
		close(fd);
		srv.conns_rejected++;
		return;
	}
	c = calloc(1, sizeof *c);
	if (!c) {
		close(fd);
		srv.conns_rejected++;
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (srv.tcp_keepalive > 0) {
		int idle = (int)srv.tcp_keepalive;

		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	}
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		port = ntohs(in->sin_port);
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		port = ntohs(in6->sin6_port);
	}
	if (sa->ss_family == AF_UNIX)	/* Redis's "path:0" (a long path cut) */
		snprintf(c->addr, sizeof c->addr, "%.*s:0", (int)sizeof c->addr - 3, srv.unixsocket);
	else
		snprintf(c->addr, sizeof c->addr, "%s:%u", host, port);
	c->fd = fd;
	c->id = ++srv.next_client_id;
	c->ctime_ms = c->last_ms = srv.now_ms;
	c->events = EPOLLIN;
	c->authed = !acl_auth_required();       /* issue 15 */
	resp_init(&c->parser);
	if (ep_ctl(EPOLL_CTL_ADD, fd, EPOLLIN, c)) {
		close(fd);
		free(c);
		srv.conns_rejected++;
		return;
	}
	c->next = srv.clients;
	if (srv.clients)
		srv.clients->prev = c;
	srv.clients = c;
	srv.nclients++;
	srv.conns_total++;
}

/* Accept the pending connections (a bounded batch per turn). */
static void accept_clients(const struct listener *l)
{
	for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof sa;
		int fd = accept4(l->fd, (struct sockaddr *)&sa, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			client_new(fd, &sa);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if ((errno == EMFILE || errno == ENFILE) && spare_fd >= 0) {
			/* Out of descriptors: refuse one connection so the
			 * listening socket does not stay readable forever. */
			srv_log(LL_WARNING, "Error accepting a client connection: %s",
				strerror(errno));
			close(spare_fd);
			fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				close(fd);
			srv.conns_rejected++;
			spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		}
		return;
	}
}

/* ---- input -------------------------------------------------------------- */

/* Point c->argv at the arguments of the request just parsed. */
static bool build_argv(struct client *c)
{
	const struct resp_parser *p = &c->parser;

	if (p->argc > c->argv_cap) {
		struct kv_arg *a = realloc(c->argv, p->argc * sizeof *a);

		if (!a)
			return false;
		c->argv = a;
		c->argv_cap = p->argc;
	}
	for (size_t i = 0; i < p->argc; i++) {
		c->argv[i].p = c->qbuf + p->argv[i].off;
		c->argv[i].len = p->argv[i].len;
	}
	c->argc = (int)p->argc;
	return true;
}

/* Run every whole request in c's query buffer, until it pauses. */
static void client_process_input(struct client *c)
{
	size_t used = 0;
	bool more = false;

	while (!(c->flags & (CF_CLOSE_AFTER_REPLY | CF_CLOSE_ASAP)) && !srv.shutdown_asap) {
		int r;

		if (c->flags & (CF_BLOCKED | CF_PAUSED | CF_SYNCING)) {
			/* The rest waits until it is unblocked (or has its
			 * SYNC's RDB); a peer that left will not read the
			 * answer. */
			if (c->flags & CF_EOF)
				client_close_async(c);
			more = true;
			break;
		}
		if (c->obytes >= OBUF_PAUSE) {
			more = true;
			break;
		}
		r = resp_parse(&c->parser, c->qbuf + used, c->qlen - used, limits());
		if (r == RESP_MORE)
			break;
		if (r == RESP_ERROR) {
			char who[160];

			client_describe(c, who, sizeof who);
			srv_log(LL_VERBOSE, "Protocol error (%s) from client: %s",
				c->parser.err, who);
			reply_errorf(c, "ERR %s", c->parser.err);
			c->flags |= CF_CLOSE_AFTER_REPLY;
			break;
		}
		if (c->parser.argc > 0) {
			/* Offsets are relative to the request: rebase them. */
			for (size_t i = 0; i < c->parser.argc; i++)
				c->parser.argv[i].off += used;
			if (!build_argv(c)) {
				client_close_async(c);
				break;
			}
			cmd_call(c);
			client_check_output(c);
		}
		used += c->parser.pos;
		resp_next(&c->parser);
	}
	if (used) {
		memmove(c->qbuf, c->qbuf + used, c->qlen - used);
		c->qlen -= used;
	}
	if (c->qlen == 0 && c->qcap > QBUF_IDLE_MAX) {
		free(c->qbuf);
		c->qbuf = NULL;
		c->qcap = 0;
	}
	if ((c->flags & CF_EOF) && !more)
		c->flags |= CF_CLOSE_AFTER_REPLY;	/* nothing more will come */
	if ((c->flags & CF_CLOSE_AFTER_REPLY) && !(c->flags & CF_PENDING)) {
		c->flags |= CF_PENDING;
		c->pend_next = srv.pending;
		srv.pending = c;
	}
	client_update_events(c);
}

/*
 * Read what c sent (16 KiB, or the rest of a big argument), then run the
 * whole requests. End of input marks c finished; errors close it.
 */
static void client_read(struct client *c)
{
	size_t want = READ_CHUNK;
	ssize_t n;

	if (c->parser.need > c->qlen && c->parser.need - c->qlen > want)
		want = c->parser.need - c->qlen;	/* the rest of a big bulk */
	if (want > READ_MAX)
		want = READ_MAX;
	if (c->qcap - c->qlen < want) {
		size_t cap = c->qlen + want;
		char *q = realloc(c->qbuf, cap);

		if (!q) {
			srv_log(LL_WARNING, "out of memory for a query buffer: closing the client");
			client_close_async(c);
			return;
		}
		c->qbuf = q;
		c->qcap = cap;
	}
	n = read(c->fd, c->qbuf + c->qlen, want);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			client_close_async(c);
		return;
	}
	c->last_ms = srv.now_ms;
	if (n == 0) {
		c->flags |= CF_EOF;
	} else {
		c->qlen += (size_t)n;
		srv.net_in += (uint64_t)n;
		if (srv.query_buf_limit && c->qlen > srv.query_buf_limit) {
			char who[160];

			client_describe(c, who, sizeof who);
			srv_log(LL_WARNING, "Closing client that reached max query buffer "
				"length: %s (qbuf=%zu)", who, c->qlen);
			srv.qbuf_disconnects++;
			client_close_async(c);
			return;
		}
	}
	client_process_input(c);
}

/* ---- output ------------------------------------------------------------- */

/*
 * The pages of a huge output buffer (SYNC's RDB, whose block malloc took
 * from mmap) that bytes [from, to) of its data filled, once written: given
 * back to the kernel now, a turn's worth at a time, so that the final
 * free() of hundreds of MiB does not stall the loop on the unmapping.
 */
static void obuf_drop_sent(struct obuf *b, size_t from, size_t to)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = ((uintptr_t)(b->data + from) + pg - 1) & ~(pg - 1);
	uintptr_t hi = (uintptr_t)(b->data + to) & ~(pg - 1);

	if (b->cap >= OBUF_DROP_MIN && hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/*
 * Write c's pending output (up to WRITE_MAX per turn); close c once all is
 * written if it must close; resume its input when its output drained.
 */
static void client_write(struct client *c)
{
	size_t total = 0;

	while (c->ohead && total < WRITE_MAX) {
		struct iovec iov[64];
		struct msghdr msg = { .msg_iov = iov };
		int k = 0;
		ssize_t n;

		for (struct obuf *b = c->ohead; b && k < 64; b = b->next) {
			if (b->len == b->sent)
				continue;
			iov[k].iov_base = b->data + b->sent;
			iov[k].iov_len = b->len - b->sent;
			k++;
		}
		if (k == 0) {
			reply_free_all(c);
			break;
		}
		msg.msg_iovlen = (size_t)k;
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				client_close_async(c);
			break;
		}
		total += (size_t)n;
		srv.net_out += (uint64_t)n;
		c->obytes -= (size_t)n;
		while (c->ohead) {
			struct obuf *b = c->ohead;
			size_t left = b->len - b->sent;

			if ((size_t)n < left) {
				obuf_drop_sent(b, b->sent, b->sent + (size_t)n);
				b->sent += (size_t)n;
				break;
			}
			n -= (ssize_t)left;
			c->ohead = b->next;
			if (!c->ohead)
				c->otail = NULL;
			free(b);
		}
	}
	if (c->flags & CF_CLOSE_ASAP)
		return;
	if (c->obytes == 0 && (c->flags & CF_CLOSE_AFTER_REPLY)) {
		client_close_async(c);
		return;
	}
	if (c->obytes < OBUF_PAUSE && c->qlen)
		client_process_input(c);	/* resume a paused client */
	client_update_events(c);
}

/* ---- issue 13 part B: clients unblocked during the turn ------------------ */

static struct client *resume_head;

void client_unblocked(struct client *c)
{
	if (c->resume)
		return;
	c->resume = true;
	c->resume_next = resume_head;
	resume_head = c;
}

/* Run the input that unblocked clients sent while they waited (which may
 * unblock more). Before free_closed(): the list names no freed client. */
static void resume_unblocked(void)
{
	while (resume_head) {
		struct client *c = resume_head;

		resume_head = c->resume_next;
		c->resume = false;
		if (!(c->flags & (CF_CLOSE_ASAP | CF_BLOCKED | CF_PAUSED | CF_SYNCING)))
			client_process_input(c);
	}
}

/* Before waiting: write the replies produced during this turn. */
static void write_pending(void)
{
	while (srv.pending) {
		struct client *c = srv.pending;

		srv.pending = c->pend_next;
		c->flags &= ~(unsigned)CF_PENDING;
		if (!(c->flags & CF_CLOSE_ASAP))
			client_write(c);
	}
}

/* Close and free every client (at exit). */
void net_close_all(void)
{
	for (struct client *c = srv.clients; c; c = c->next)
		client_close_async(c);
	resume_head = NULL;
	free_closed();
	srv.pending = NULL;
}

/* ---- the loop ----------------------------------------------------------- */

/* SIGTERM / SIGINT (from the signal fd): shut down after this turn. */
static void handle_signal(void)
{
	struct signalfd_siginfo si;

	while (read(srv.sigfd, &si, sizeof si) == sizeof si) {
		srv_log(LL_WARNING, "Received %s scheduling shutdown...",
			si.ssi_signo == 2 ? "SIGINT" : "SIGTERM");
		srv.shutdown_asap = true;
	}
}

/* Dispatch one epoll event to the listener, a client, or the save. */
static void handle_event(struct epoll_event *ev)
{
	struct client *c;

	if (is_listener(ev->data.ptr)) {
		accept_clients(ev->data.ptr);
		return;
	}
	if (ev->data.ptr == &tag_signal) {
		handle_signal();
		return;
	}
	if (ev->data.ptr == &tag_save) {
		uint64_t v;

		(void)!read(srv.savefd, &v, sizeof v);
		kv_bgsave_poll();
		repl_poll();	/* SYNC's threads share the eventfd */
		return;
	}
	c = ev->data.ptr;
	if (c->flags & CF_CLOSE_ASAP)
		return;
	if ((ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && !(c->flags & CF_EOF))
		client_read(c);
	if ((ev->events & EPOLLOUT) && !(c->flags & CF_CLOSE_ASAP))
		client_write(c);
}

/* Run turns until a shutdown is asked for. 0, or -errno of epoll_wait. */
int net_loop(void)
{
	static struct epoll_event evs[MAX_EVENTS];
	int64_t next_tick = 0;

	while (!srv.shutdown_asap) {
		int64_t now = srv_mono_us() / 1000, bt = blocking_timeouts(), pt = pause_cron();
		int timeout = next_tick > now ? (int)(next_tick - now) : 0;
		int n;

		if (bt >= 0 && bt < timeout)
			timeout = (int)bt;	/* a blocked client's deadline comes first */
		if (pt >= 0 && pt < timeout)
			timeout = (int)pt;	/* so does the end of a CLIENT PAUSE */
		resume_unblocked();
		write_pending();
		n = epoll_wait(srv.epfd, evs, MAX_EVENTS, timeout);

		if (n < 0 && errno != EINTR) {
			srv_log(LL_WARNING, "epoll_wait: %s", strerror(errno));
			return -errno;
		}
		srv.now_ms = srv_unix_ms();
		srv.db.now_ms = srv.now_ms;
		for (int i = 0; i < n; i++)
			handle_event(&evs[i]);
		now = srv_mono_us() / 1000;
		if (now >= next_tick) {
			srv_tick();
			next_tick = now + 1000 / srv.hz;
		}
		blocking_timeouts();
		pause_cron();
		resume_unblocked();
		write_pending();
		free_closed();
	}
	return 0;
}

/* ---- issue 15: serving -BUSY while a script runs (script.c) ---------------- */

/*
 * One non-blocking turn: read and answer other clients (cmd_call replies
 * -BUSY to them), accept connections, write their replies. The running
 * client is neither read nor written (its request is on the stack), no
 * client is freed and the tick does not run until the script ends.
 */
void net_busy_poll(struct client *running)
{
	struct epoll_event evs[64];
	struct client *keep = NULL;
	int n = epoll_wait(srv.epfd, evs, 64, 0);

	for (int i = 0; i < n; i++)
		if (evs[i].data.ptr != running)
			handle_event(&evs[i]);
	while (srv.pending) {
		struct client *c = srv.pending;

		srv.pending = c->pend_next;
		if (c == running) {
			keep = c;
			continue;
		}
		c->flags &= ~(unsigned)CF_PENDING;
		if (!(c->flags & CF_CLOSE_ASAP))
			client_write(c);
	}
	if (keep) {
		keep->pend_next = srv.pending;
		srv.pending = keep;
	}
}
