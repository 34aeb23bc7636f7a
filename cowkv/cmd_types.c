/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_types.c — helpers shared by the commands of part A (types.h): typed
 * lookups, copied string vectors, and numbers as Redis parses and prints
 * them.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "types.h"

struct kv_ent *obj_for_write(struct client *c, int i, enum kv_type t, bool *created)
{
	struct kv_ent *e = lookup_write(c, i);

	*created = false;
	if (!check_type(c, e, t))
		return NULL;
	if (!e) {
		e = kv_add(&srv.db, c->argv[i].p, c->argv[i].len, t);
		if (!e) {
			reply_oom(c);
			return NULL;
		}
		*created = true;
	}
	return e;
}

uint64_t obj_len(struct kv_ent *e)
{
	switch (e->type) {
	case KV_HASH: return hash_len(&srv.db, e);
	case KV_SET: return set_len(&srv.db, e);
	case KV_LIST: return list_len(&srv.db, e);
	case KV_ZSET: return zset_len(&srv.db, e);
	default: return 0;
	}
}

void obj_drop_if_empty(struct kv_ent *e)
{
	if (e->type != KV_STRING && obj_len(e) == 0)
		kv_delete_ent(&srv.db, e);
}

void sv_push(struct strvec *s, const char *p, size_t n, double score)
{
	char *copy;

	if (s->nomem)
		return;
	if (s->len == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct sv_item *v = realloc(s->v, cap * sizeof *v);

		if (!v) {
			s->nomem = true;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	if (!(copy = malloc(n + 1))) {
		s->nomem = true;
		return;
	}
	memcpy(copy, p, n);
	copy[n] = '\0';
	s->v[s->len].p = copy;
	s->v[s->len].n = n;
	s->v[s->len].score = score;
	s->len++;
}

void sv_free(struct strvec *s)
{
	for (size_t i = 0; i < s->len; i++)
		free(s->v[i].p);
	free(s->v);
	memset(s, 0, sizeof *s);
}

bool parse_double(const char *s, size_t n, double *out)
{
	char small[128], *buf = small, *end;
	double v;
	bool ok;

	if (n == 0 || isspace((unsigned char)s[0]))
		return false;
	if (n >= sizeof small && !(buf = malloc(n + 1)))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	v = strtod(buf, &end);
	ok = (size_t)(end - buf) == n && !isnan(v) &&
	     !(errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO));
	if (buf != small)
		free(buf);
	if (ok)
		*out = v;
	return ok;
}

bool arg_double(struct client *c, int i, double *out)
{
	if (parse_double(c->argv[i].p, c->argv[i].len, out))
		return true;
	reply_error(c, "ERR value is not a valid float");
	return false;
}

size_t ld2str(char *buf, size_t len, long double v)
{
	int n;

	if (isinf(v))
		return (size_t)snprintf(buf, len, "%s", v > 0 ? "inf" : "-inf");
	n = snprintf(buf, len, "%.17Lf", v);
	if (n < 0 || (size_t)n >= len)
		return 0;
	if (strchr(buf, '.')) {
		char *p = buf + n - 1;

		while (*p == '0') {
			p--;
			n--;
		}
		if (*p == '.')
			n--;
	}
	if (n == 2 && buf[0] == '-' && buf[1] == '0')
		n = 1, buf[0] = '0';
	buf[n] = '\0';
	return (size_t)n;
}

bool parse_ld(const char *s, size_t n, long double *out)
{
	char buf[5121], *end;
	long double v;

	if (n == 0 || n >= sizeof buf || isspace((unsigned char)s[0]))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	v = strtold(buf, &end);
	if ((size_t)(end - buf) != n || isnan(v) || errno == ERANGE)
		return false;
	*out = v;
	return true;
}
