/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * notify.c — keyspace notifications (Redis's notify-keyspace-events): a
 * change of key k by event e publishes e on __keyspace@N__:k (flag K) and k
 * on __keyevent@N__:e (flag E), when the class of the event (g $ l s h z x
 * e t m d n) is enabled. Commands call notify_event() where Redis calls
 * notifyKeyspaceEvent(), with Redis's event names; expiry comes through
 * db.c's hook (multi.c), key creation through kv_new_hook below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

int notify_flags;

#define NOTIFY_ALL (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | \
		    NOTIFY_HASH | NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | \
		    NOTIFY_STREAM | NOTIFY_MODULE)

static const struct { char ch; int flag; } letters[] = {
	{ 'g', NOTIFY_GENERIC }, { '$', NOTIFY_STRING }, { 'l', NOTIFY_LIST },
	{ 's', NOTIFY_SET }, { 'h', NOTIFY_HASH }, { 'z', NOTIFY_ZSET },
	{ 'x', NOTIFY_EXPIRED }, { 'e', NOTIFY_EVICTED }, { 't', NOTIFY_STREAM },
	{ 'd', NOTIFY_MODULE }, { 'n', NOTIFY_NEW }, { 'K', NOTIFY_KEYSPACE },
	{ 'E', NOTIFY_KEYEVENT }, { 'm', NOTIFY_KEY_MISS },
};

int notify_parse(const char *s)
{
	int flags = 0;

	for (; *s; s++) {
		size_t i;

		if (*s == 'A') {
			flags |= NOTIFY_ALL;
			continue;
		}
		for (i = 0; i < sizeof letters / sizeof letters[0]; i++)
			if (letters[i].ch == *s)
				break;
		if (i == sizeof letters / sizeof letters[0])
			return -1;
		flags |= letters[i].flag;
	}
	return flags;
}

/* As Redis 7.0 shows them: 'A' or the class letters (n among them, last),
 * then K, E, m. */
void notify_string(char *buf, size_t len)
{
	static const char classes[] = "g$lshzxetdn", after[] = "KEm";
	size_t n = 0;

	if (len == 0)
		return;
	if ((notify_flags & NOTIFY_ALL) == NOTIFY_ALL)
		buf[n++] = 'A';
	for (size_t i = 0; i < sizeof letters / sizeof letters[0] && n + 1 < len; i++) {
		bool is_class = strchr(classes, letters[i].ch) != NULL;

		if (is_class && (notify_flags & NOTIFY_ALL) == NOTIFY_ALL)
			continue;
		if (is_class && (notify_flags & letters[i].flag))
			buf[n++] = letters[i].ch;
	}
	for (size_t i = 0; i < sizeof letters / sizeof letters[0] && n + 1 < len; i++)
		if (strchr(after, letters[i].ch) && (notify_flags & letters[i].flag))
			buf[n++] = letters[i].ch;
	buf[n] = '\0';
}

/* Publish msg on prefix + name. */
static void publish_on(const char *prefix, const char *name, size_t nlen,
		       const char *msg, size_t mlen)
{
	size_t plen = strlen(prefix);
	char small[256], *ch = plen + nlen <= sizeof small ? small : malloc(plen + nlen);

	if (!ch)
		return;
	memcpy(ch, prefix, plen);
	memcpy(ch + plen, name, nlen);
	pubsub_publish(ch, plen + nlen, msg, mlen);
	if (ch != small)
		free(ch);
}

void notify_event(int type, const char *event, const char *key, size_t klen)
{
	if (!(notify_flags & type) || !(notify_flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT)))
		return;
	char pfx[40];

	if (notify_flags & NOTIFY_KEYSPACE) {
		snprintf(pfx, sizeof pfx, "__keyspace@%u__:", srv.db.cur);
		publish_on(pfx, key, klen, event, strlen(event));
	}
	if (notify_flags & NOTIFY_KEYEVENT) {
		snprintf(pfx, sizeof pfx, "__keyevent@%u__:", srv.db.cur);
		publish_on(pfx, event, strlen(event), key, klen);
	}
}

void notify_arg(struct client *c, int type, const char *event, int i)
{
	notify_event(type, event, c->argv[i].p, c->argv[i].len);
}

/* The creation hook (db.c): "new" when a key is added. */
static void on_new(struct kvdb *db, const struct kv_ent *e)
{
	(void)db;
	notify_event(NOTIFY_NEW, "new", e->key, e->klen);
}

__attribute__((constructor)) static void notify_init(void)
{
	kv_new_hook = on_new;
}
