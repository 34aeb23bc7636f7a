/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * acl.c — authentication and access control as Redis 7.0 has it: users
 * (ACL SETUSER/GETUSER/DELUSER/LIST/USERS/WHOAMI/CAT/DRYRUN/LOG/GENPASS/
 * LOAD/SAVE), AUTH and HELLO AUTH, requirepass (the default user's
 * password), the NOAUTH and NOPERM checks before a command runs, and
 * protected mode.
 *
 * A user: on/off, a set of password digests (SHA-256; "nopass" accepts
 * any), the commands it may run (a bit per command of the table, plus
 * allowed and denied "command|subcommand" pairs), the key patterns it may
 * read (%R~), write (%W~) or both (~), the channel patterns (&) it may use.
 * Passwords are only kept as digests and compared in constant time.
 *
 * Categories come from the command table: @read, @write, @fast, @slow,
 * @admin, @dangerous, the command's group (@string, @hash, @list,
 * @keyspace, @connection, @server, @scripting...), @all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "server.h"
#include "acl.h"
#include "types.h"	/* geo_store_keys */

char *acl_requirepass;
char *acl_protected_mode;
char *acl_file;

#define MAX_CMDS 512
#define ACL_LOG_MAX 128

struct pattern {
	char *pat;
	unsigned rw;            /* 1 read, 2 write */
};

struct user {
	char *name;
	bool on;
	bool nopass;
	unsigned char (*pw)[32];
	int npw;
	unsigned char allowed[MAX_CMDS];        /* by table index */
	char **sub_allow;       /* "config|get" */
	int nsub_allow;
	char **sub_deny;
	int nsub_deny;
	struct pattern *keys;
	int nkeys;
	char **chans;
	int nchans;
	bool allchannels;
	char *cmd_rules;        /* the command rules as ACL GETUSER shows them */
	struct user *next;
};

static struct user *users;
static const char *seen_requirepass;    /* the requirepass applied last */

struct log_entry {
	uint64_t count;
	char reason[16];
	char context[16];
	char object[128];
	char username[64];
	int64_t created_ms, updated_ms;
	char client[512];
};
static struct log_entry acl_log[ACL_LOG_MAX];
static int nlog;

/* ---- helpers -------------------------------------------------------------------- */

static void sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 0;

	if (!EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) || len != 32)
		memset(out, 0xff, 32);
}

static void hex32(const unsigned char d[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Append s to the malloc'd string *dst with a space. */
static void str_append(char **dst, const char *s)
{
	size_t a = *dst ? strlen(*dst) : 0, b = strlen(s);
	char *n = realloc(*dst, a + b + 2);

	if (!n)
		return;
	if (a)
		n[a++] = ' ';
	memcpy(n + a, s, b + 1);
	*dst = n;
}

static void strv_add(char ***v, int *n, const char *s)
{
	char **g = realloc(*v, (size_t)(*n + 1) * sizeof *g);

	if (!g)
		return;
	*v = g;
	g[*n] = strdup(s);
	if (g[*n])
		(*n)++;
}

static void strv_free(char ***v, int *n)
{
	for (int i = 0; i < *n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

/* Remove every entry equal (case-insensitive) to s. */
static void strv_del(char **v, int *n, const char *s)
{
	for (int i = 0; i < *n;)
		if (!strcasecmp(v[i], s)) {
			free(v[i]);
			v[i] = v[--*n];
		} else {
			i++;
		}
}

/* ---- categories ------------------------------------------------------------------ */

static const char *const categories[] = {
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
	"bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
	"blocking", "dangerous", "connection", "transaction", "scripting",
};

/* Commands Redis counts as @dangerous besides the admin ones. */
static bool dangerous(const struct kv_cmd *cmd)
{
	static const char *const names[] = {
		"flushdb", "flushall", "swapdb", "keys", "sort", "info", "client", "config",
		"shutdown", "save", "bgsave", "debug", "rollback", "snapshot",
		"acl", "migrate", "restore", "monitor", "role",
	};

	if (cmd->flags & CMD_ADMIN)
		return true;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(cmd->name, names[i]))
			return true;
	return false;
}

static bool in_category(const struct kv_cmd *cmd, const char *cat)
{
	if (!strcasecmp(cat, "all"))
		return true;
	if (!strcasecmp(cat, "read"))
		return cmd->flags & CMD_READONLY;
	if (!strcasecmp(cat, "write"))
		return cmd->flags & CMD_WRITE;
	if (!strcasecmp(cat, "fast"))
		return cmd->flags & CMD_FAST;
	if (!strcasecmp(cat, "slow"))
		return !(cmd->flags & CMD_FAST);
	if (!strcasecmp(cat, "admin"))
		return cmd->flags & CMD_ADMIN;
	if (!strcasecmp(cat, "dangerous"))
		return dangerous(cmd);
	if (!strcasecmp(cat, "blocking"))
		return cmd->name[0] == 'b' && strstr(cmd->name, "pop");
	if (!strcasecmp(cat, "transaction"))
		return !strcmp(cmd->name, "multi") || !strcmp(cmd->name, "exec") ||
		       !strcmp(cmd->name, "discard") || !strcmp(cmd->name, "watch") ||
		       !strcmp(cmd->name, "unwatch");
	return cmd->group && !strcasecmp(cmd->group, cat);
}

static bool known_category(const char *cat)
{
	if (!strcasecmp(cat, "all"))
		return true;
	for (size_t i = 0; i < sizeof categories / sizeof categories[0]; i++)
		if (!strcasecmp(categories[i], cat))
			return true;
	return false;
}

/* ---- users ----------------------------------------------------------------------- */

static struct user *user_find(const char *name, size_t n)
{
	for (struct user *u = users; u; u = u->next)
		if (strlen(u->name) == n && !memcmp(u->name, name, n))
			return u;
	return NULL;
}

/* Is there a user called name[n]? (CLIENT KILL USER, see acl.h) */
bool acl_user_exists(const char *name, size_t n)
{
	return user_find(name, n) != NULL;
}

static void user_reset_perms(struct user *u)
{
	memset(u->allowed, 0, sizeof u->allowed);
	strv_free(&u->sub_allow, &u->nsub_allow);
	strv_free(&u->sub_deny, &u->nsub_deny);
	free(u->cmd_rules);
	u->cmd_rules = strdup("-@all");
}

static void user_reset_keys(struct user *u)
{
	for (int i = 0; i < u->nkeys; i++)
		free(u->keys[i].pat);
	free(u->keys);
	u->keys = NULL;
	u->nkeys = 0;
}

static void user_free(struct user *u)
{
	free(u->name);
	free(u->pw);
	user_reset_perms(u);
	free(u->cmd_rules);
	user_reset_keys(u);
	strv_free(&u->chans, &u->nchans);
	free(u);
}

static struct user *user_new(const char *name, size_t n)
{
	struct user *u = calloc(1, sizeof *u);

	if (!u || !(u->name = strndup(name, n))) {
		free(u);
		return NULL;
	}
	u->cmd_rules = strdup("-@all");
	u->next = users;
	users = u;
	return u;
}

static void user_unlink(struct user *u)
{
	for (struct user **pp = &users; *pp; pp = &(*pp)->next)
		if (*pp == u) {
			*pp = u->next;
			return;
		}
}

/* The default user, made at first use as Redis starts it: on, nopass,
 * every key, channel and command. */
static struct user *default_user(void)
{
	struct user *u = user_find("default", 7);

	if (!u && (u = user_new("default", 7))) {
		u->on = true;
		u->nopass = true;
		memset(u->allowed, 1, sizeof u->allowed);
		free(u->cmd_rules);
		u->cmd_rules = strdup("+@all");
		u->keys = calloc(1, sizeof *u->keys);
		if (u->keys) {
			u->keys[0].pat = strdup("*");
			u->keys[0].rw = 3;
			u->nkeys = 1;
		}
		u->allchannels = true;
	}
	return u;
}

/* requirepass changed (CONFIG SET, command line): it becomes the default
 * user's only password, or nopass when empty. */
static void sync_requirepass(void)
{
	struct user *d;

	if (seen_requirepass == acl_requirepass)
		return;
	seen_requirepass = acl_requirepass;
	if (!(d = default_user()))
		return;
	free(d->pw);
	d->pw = NULL;
	d->npw = 0;
	if (acl_requirepass && acl_requirepass[0]) {
		d->pw = malloc(32);
		if (d->pw) {
			sha256(acl_requirepass, strlen(acl_requirepass), d->pw[0]);
			d->npw = 1;
		}
		d->nopass = false;
	} else {
		d->nopass = true;
	}
}

static struct user *client_user(const struct client *c)
{
	struct user *u = c->user ? user_find(c->user, strlen(c->user)) : NULL;

	return u ? u : default_user();
}

/* ---- rules ----------------------------------------------------------------------- */

/* Allow or deny (+/-) a command, a "cmd|sub" or a category. NULL or an error. */
static const char *rule_command(struct user *u, const char *r)
{
	bool add = r[0] == '+';
	size_t n;
	struct kv_cmd *t = cmd_table(&n);
	const char *bar;

	if (r[1] == '@') {
		if (!known_category(r + 2))
			return "Unknown command or category name in ACL";
		for (size_t i = 0; i < n && i < MAX_CMDS; i++)
			if (in_category(&t[i], r + 2)) {
				u->allowed[i] = add;
				if (!add)
					strv_del(u->sub_allow, &u->nsub_allow, t[i].name);
			}
		if (!strcasecmp(r + 2, "all")) {
			free(u->cmd_rules);
			u->cmd_rules = NULL;
			strv_free(&u->sub_allow, &u->nsub_allow);
			strv_free(&u->sub_deny, &u->nsub_deny);
		}
		str_append(&u->cmd_rules, r);
		return NULL;
	}
	bar = strchr(r + 1, '|');
	if (bar) {
		const struct kv_cmd *cmd = cmd_lookup(r + 1, (size_t)(bar - r - 1));

		if (!cmd || !bar[1])
			return "Unknown command or category name in ACL";
		if (strchr(bar + 1, '|'))
			return "Allowing first-arg of a subcommand is not supported";
		if (add) {
			strv_del(u->sub_deny, &u->nsub_deny, r + 1);
			strv_add(&u->sub_allow, &u->nsub_allow, r + 1);
		} else {
			strv_del(u->sub_allow, &u->nsub_allow, r + 1);
			strv_add(&u->sub_deny, &u->nsub_deny, r + 1);
		}
		str_append(&u->cmd_rules, r);
		return NULL;
	}
	for (size_t i = 0; i < n && i < MAX_CMDS; i++)
		if (!strcasecmp(t[i].name, r + 1)) {
			u->allowed[i] = add;
			/* a whole-command rule overrides earlier subcommand rules */
			for (int k = 0; k < u->nsub_allow;) {
				size_t l = strlen(t[i].name);

				if (!strncasecmp(u->sub_allow[k], t[i].name, l) && u->sub_allow[k][l] == '|') {
					free(u->sub_allow[k]);
					u->sub_allow[k] = u->sub_allow[--u->nsub_allow];
				} else {
					k++;
				}
			}
			for (int k = 0; k < u->nsub_deny;) {
				size_t l = strlen(t[i].name);

				if (!strncasecmp(u->sub_deny[k], t[i].name, l) && u->sub_deny[k][l] == '|') {
					free(u->sub_deny[k]);
					u->sub_deny[k] = u->sub_deny[--u->nsub_deny];
				} else {
					k++;
				}
			}
			str_append(&u->cmd_rules, r);
			return NULL;
		}
	return "Unknown command or category name in ACL";
}

/* Do a and b allow the same commands and subcommands? */
static bool same_perms(const struct user *a, const struct user *b)
{
	if (memcmp(a->allowed, b->allowed, sizeof a->allowed) ||
	    a->nsub_allow != b->nsub_allow || a->nsub_deny != b->nsub_deny)
		return false;
	for (int i = 0; i < a->nsub_allow; i++) {
		int k = 0;

		while (k < b->nsub_allow && strcasecmp(a->sub_allow[i], b->sub_allow[k]))
			k++;
		if (k == b->nsub_allow)
			return false;
	}
	for (int i = 0; i < a->nsub_deny; i++) {
		int k = 0;

		while (k < b->nsub_deny && strcasecmp(a->sub_deny[i], b->sub_deny[k]))
			k++;
		if (k == b->nsub_deny)
			return false;
	}
	return true;
}

/* Does replaying the rules tok[0..n) but those marked in drop[] give u's
 * permissions? (tok[0] is the "+@all" or "-@all" they start with.) */
static bool rules_give(const struct user *u, char **tok, int n, const bool *drop)
{
	struct user t;
	bool same;

	memset(&t, 0, sizeof t);
	for (int i = 0; i < n; i++)
		if (!drop[i])
			(void)rule_command(&t, tok[i]);
	same = same_perms(&t, u);
	strv_free(&t.sub_allow, &t.nsub_allow);
	strv_free(&t.sub_deny, &t.nsub_deny);
	free(t.cmd_rules);
	return same;
}

/*
 * Drop from u's command rules each rule that changes nothing (in order,
 * the first first), as Redis 7.0 shows them: "-@all +@hash -@geo" is
 * "-@all +@hash", "-@all +get -get" is "-@all". The rules left give the
 * same permissions. Out of memory: the rules stay as they are.
 */
static void prune_rules(struct user *u)
{
	char *copy = u->cmd_rules ? strdup(u->cmd_rules) : NULL, **tok = NULL, *out = NULL;
	bool *drop = NULL;
	int n = 0;

	if (!copy)
		return;
	for (char *sp, *w = strtok_r(copy, " ", &sp); w; w = strtok_r(NULL, " ", &sp)) {
		char **g = realloc(tok, (size_t)(n + 1) * sizeof *g);

		if (!g)
			goto done;
		tok = g;
		tok[n++] = w;
	}
	if (n < 2 || !(drop = calloc((size_t)n, sizeof *drop)))
		goto done;
	for (int k = 1; k < n; k++) {
		drop[k] = true;
		drop[k] = rules_give(u, tok, n, drop);
	}
	for (int i = 0; i < n; i++)
		if (!drop[i])
			str_append(&out, tok[i]);
	if (out) {
		free(u->cmd_rules);
		u->cmd_rules = out;
	}
done:
	free(drop);
	free(tok);
	free(copy);
}

static bool hex_digest(const char *s, unsigned char out[32])
{
	if (strlen(s) != 64)
		return false;
	for (int i = 0; i < 32; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1 ||
		    !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
			return false;
		out[i] = (unsigned char)v;
	}
	return true;
}

static void pw_add(struct user *u, const unsigned char d[32])
{
	unsigned char (*g)[32];

	for (int i = 0; i < u->npw; i++)
		if (!memcmp(u->pw[i], d, 32))
			return;
	g = realloc(u->pw, (size_t)(u->npw + 1) * 32);
	if (!g)
		return;
	u->pw = g;
	memcpy(g[u->npw++], d, 32);
	u->nopass = false;
}

static int pw_del(struct user *u, const unsigned char d[32])
{
	for (int i = 0; i < u->npw; i++)
		if (!memcmp(u->pw[i], d, 32)) {
			memmove(u->pw[i], u->pw[i + 1], (size_t)(u->npw - i - 1) * 32);
			u->npw--;
			return 0;
		}
	return -1;
}

/* Apply one ACL rule to u. NULL, or the error text. */
static const char *rule_apply(struct user *u, const char *r)
{
	unsigned char d[32];

	if (!strcasecmp(r, "on")) {
		u->on = true;
	} else if (!strcasecmp(r, "off")) {
		u->on = false;
	} else if (!strcasecmp(r, "nopass")) {
		free(u->pw);
		u->pw = NULL;
		u->npw = 0;
		u->nopass = true;
	} else if (!strcasecmp(r, "resetpass")) {
		free(u->pw);
		u->pw = NULL;
		u->npw = 0;
		u->nopass = false;
	} else if (r[0] == '>') {
		sha256(r + 1, strlen(r + 1), d);
		pw_add(u, d);
	} else if (r[0] == '#') {
		if (!hex_digest(r + 1, d))
			return "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
		pw_add(u, d);
	} else if (r[0] == '<') {
		sha256(r + 1, strlen(r + 1), d);
		if (pw_del(u, d))
			return "The password you are trying to remove from the user does not exist";
	} else if (r[0] == '!') {
		if (!hex_digest(r + 1, d))
			return "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
		if (pw_del(u, d))
			return "The password you are trying to remove from the user does not exist";
	} else if (!strcasecmp(r, "allkeys") || !strcmp(r, "~*")) {
		user_reset_keys(u);
		return rule_apply(u, "%RW~*");
	} else if (!strcasecmp(r, "resetkeys")) {
		user_reset_keys(u);
	} else if (r[0] == '~' || r[0] == '%') {
		unsigned rw = 3;
		const char *pat = r + 1;
		struct pattern *g;

		if (r[0] == '%') {
			const char *tilde = strchr(r, '~');

			if (!tilde || tilde == r + 1)
				return "Syntax error";
			rw = 0;
			for (const char *p = r + 1; p < tilde; p++) {
				if (*p == 'R' || *p == 'r')
					rw |= 1;
				else if (*p == 'W' || *p == 'w')
					rw |= 2;
				else
					return "Syntax error";
			}
			pat = tilde + 1;
		}
		g = realloc(u->keys, (size_t)(u->nkeys + 1) * sizeof *g);
		if (!g)
			return "out of memory";
		u->keys = g;
		g[u->nkeys].pat = strdup(pat);
		g[u->nkeys].rw = rw;
		if (g[u->nkeys].pat)
			u->nkeys++;
	} else if (!strcasecmp(r, "allchannels") || !strcmp(r, "&*")) {
		strv_free(&u->chans, &u->nchans);
		u->allchannels = true;
	} else if (!strcasecmp(r, "resetchannels")) {
		strv_free(&u->chans, &u->nchans);
		u->allchannels = false;
	} else if (r[0] == '&') {
		if (u->allchannels)
			return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";
		strv_add(&u->chans, &u->nchans, r + 1);
	} else if (!strcasecmp(r, "allcommands")) {
		return rule_command(u, "+@all");
	} else if (!strcasecmp(r, "nocommands")) {
		return rule_command(u, "-@all");
	} else if (r[0] == '+' || r[0] == '-') {
		return rule_command(u, r);
	} else if (!strcasecmp(r, "reset")) {
		rule_apply(u, "resetpass");
		rule_apply(u, "resetkeys");
		rule_apply(u, "resetchannels");
		rule_apply(u, "off");
		rule_command(u, "-@all");
	} else {
		return "Syntax error";
	}
	return NULL;
}

/* Apply rules to a copy of u (or a new user called name), replacing it
 * only when all apply. NULL, or the error (*bad is the failing rule). */
static const char *setuser(const char *name, size_t nlen, int nrules,
			   const struct kv_arg *rules, int *bad)
{
	struct user *old = user_find(name, nlen), *u = calloc(1, sizeof *u);
	const char *err = NULL;

	if (!u)
		return "out of memory";
	if (memchr(name, ' ', nlen) || memchr(name, '\0', nlen)) {
		free(u);
		return "Usernames can't contain spaces or null characters";
	}
	u->name = strndup(name, nlen);
	if (old) {
		/* deep copy */
		u->on = old->on;
		u->nopass = old->nopass;
		if (old->npw && (u->pw = malloc((size_t)old->npw * 32))) {
			memcpy(u->pw, old->pw, (size_t)old->npw * 32);
			u->npw = old->npw;
		}
		memcpy(u->allowed, old->allowed, sizeof u->allowed);
		for (int i = 0; i < old->nsub_allow; i++)
			strv_add(&u->sub_allow, &u->nsub_allow, old->sub_allow[i]);
		for (int i = 0; i < old->nsub_deny; i++)
			strv_add(&u->sub_deny, &u->nsub_deny, old->sub_deny[i]);
		for (int i = 0; i < old->nkeys; i++) {
			struct pattern *g = realloc(u->keys, (size_t)(u->nkeys + 1) * sizeof *g);

			if (!g)
				break;
			u->keys = g;
			g[u->nkeys].pat = strdup(old->keys[i].pat);
			g[u->nkeys++].rw = old->keys[i].rw;
		}
		for (int i = 0; i < old->nchans; i++)
			strv_add(&u->chans, &u->nchans, old->chans[i]);
		u->allchannels = old->allchannels;
		u->cmd_rules = old->cmd_rules ? strdup(old->cmd_rules) : NULL;
	} else {
		u->cmd_rules = strdup("-@all");
	}
	for (int i = 0; i < nrules && !err; i++) {
		err = rule_apply(u, rules[i].p);
		if (err)
			*bad = i;
	}
	if (err) {
		user_free(u);
		return err;
	}
	prune_rules(u);
	if (old) {
		user_unlink(old);
		user_free(old);
	}
	u->next = users;
	users = u;
	return NULL;
}

/* ---- checks ------------------------------------------------------------------------ */

bool acl_auth_required(void)
{
	struct user *d;

	sync_requirepass();
	d = default_user();
	return !d || !d->on || !d->nopass;
}

static bool user_password_ok(const struct user *u, const struct kv_arg *pass)
{
	unsigned char d[32];
	int ok = 0;

	if (u->nopass)
		return true;
	sha256(pass->p, pass->len, d);
	for (int i = 0; i < u->npw; i++)
		ok |= CRYPTO_memcmp(d, u->pw[i], 32) == 0;
	return ok;
}

static void log_event(struct client *c, const char *reason, const char *context,
		      const char *object, const char *username);

bool acl_auth(struct client *c, const struct kv_arg *user, const struct kv_arg *pass)
{
	struct user *u;

	sync_requirepass();
	default_user();
	u = user_find(user->p, user->len);
	if (u && u->on && user_password_ok(u, pass)) {
		free(c->user);
		c->user = strcmp(u->name, "default") ? strdup(u->name) : NULL;
		c->authed = true;
		return true;
	}
	log_event(c, "auth", "toplevel", "AUTH", user->p);
	reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
	return false;
}

void cmd_auth(struct client *c)
{
	struct kv_arg def = { (char *)"default", 7 };

	if (c->argc > 3) {
		reply_syntax(c);
		return;
	}
	if (c->argc == 2 && !acl_auth_required()) {
		reply_error(c, "ERR AUTH <password> called without any password configured "
			    "for the default user. Are you sure your configuration is correct?");
		return;
	}
	if (acl_auth(c, c->argc == 3 ? &c->argv[1] : &def, &c->argv[c->argc - 1]))
		reply_ok(c);
}

/* May u run argv (command cmd)? */
static bool command_ok(const struct user *u, const struct kv_cmd *cmd, int argc,
		       const struct kv_arg *argv)
{
	size_t n;
	struct kv_cmd *t = cmd_table(&n);
	size_t idx = (size_t)(cmd - t);
	char sub[96];

	if (argc >= 2) {
		snprintf(sub, sizeof sub, "%s|%s", cmd->name, argv[1].p);
		for (int i = 0; i < u->nsub_deny; i++)
			if (!strcasecmp(u->sub_deny[i], sub))
				return false;
	}
	if (idx < MAX_CMDS && u->allowed[idx])
		return true;
	if (argc >= 2)
		for (int i = 0; i < u->nsub_allow; i++)
			if (!strcasecmp(u->sub_allow[i], sub))
				return true;
	return false;
}

static bool key_ok(const struct user *u, const char *k, size_t n, unsigned need)
{
	for (int i = 0; i < u->nkeys; i++)
		if ((u->keys[i].rw & need) == need &&
		    glob_match(u->keys[i].pat, strlen(u->keys[i].pat), k, n, false))
			return true;
	return false;
}

/*
 * The first key of argv u may not touch, or -1 if all are fine. Each key
 * needs what cmd_key_args says (a destination write, its sources read),
 * else what the command does. A bad key count names no key: the command
 * then fails on its own arguments.
 */
static int keys_check(const struct user *u, const struct kv_cmd *cmd, int argc,
		      const struct kv_arg *argv)
{
	unsigned need = (cmd->flags & CMD_WRITE) ? 2 : (cmd->flags & CMD_READONLY) ? 1 : 3;
	int small_idx[64], *idx = small_idx, n = 0, bad = -1;
	unsigned char small_access[64], *access = small_access;

	for (int i = 0; i < u->nkeys; i++)	/* every key, read and write: nothing to find */
		if (u->keys[i].rw == 3 && !strcmp(u->keys[i].pat, "*"))
			return -1;
	if ((size_t)argc + 3 > sizeof small_idx / sizeof small_idx[0]) {
		idx = malloc(sizeof *idx * ((size_t)argc + 3));
		access = malloc((size_t)argc + 3);
	}
	if (idx && access)
		n = cmd_key_args(cmd, argc, argv, idx, access);
	for (int k = 0; k < n && bad < 0; k++)
		if (!key_ok(u, argv[idx[k]].p, argv[idx[k]].len,
			    access[k] == CMD_KEY_WRITE ? 2 : access[k] == CMD_KEY_READ ? 1 : need))
			bad = idx[k];
	if (idx != small_idx) {
		free(idx);
		free(access);
	}
	return bad;
}

static void log_event(struct client *c, const char *reason, const char *context,
		      const char *object, const char *username)
{
	struct log_entry *e = NULL;
	int64_t now = srv_unix_ms();

	for (int i = 0; i < nlog; i++)
		if (!strcmp(acl_log[i].reason, reason) && !strcmp(acl_log[i].context, context) &&
		    !strncmp(acl_log[i].object, object, sizeof acl_log[i].object - 1) &&
		    !strncmp(acl_log[i].username, username, sizeof acl_log[i].username - 1) &&
		    now - acl_log[i].updated_ms < 60000) {
			e = &acl_log[i];
			break;
		}
	if (!e) {
		if (nlog == ACL_LOG_MAX)
			nlog--;
		memmove(&acl_log[1], &acl_log[0], (size_t)nlog * sizeof acl_log[0]);
		nlog++;
		e = &acl_log[0];
		memset(e, 0, sizeof *e);
		snprintf(e->reason, sizeof e->reason, "%s", reason);
		snprintf(e->context, sizeof e->context, "%s", context);
		snprintf(e->object, sizeof e->object, "%s", object);
		snprintf(e->username, sizeof e->username, "%s", username);
		e->created_ms = now;
	}
	e->count++;
	e->updated_ms = now;
	client_info_line(c, e->client, sizeof e->client);	/* CLIENT LIST's, as Redis */
}

bool acl_gate(struct client *c, const struct kv_cmd *cmd)
{
	static const char *const open_cmds[] = { "auth", "hello", "quit", "reset" };
	const struct user *u;
	int k;

	sync_requirepass();
	if (!c->authed && !(c->flags & CF_FAKE) && acl_auth_required()) {
		for (size_t i = 0; i < sizeof open_cmds / sizeof open_cmds[0]; i++)
			if (arg_is(c, 0, open_cmds[i]))
				return false;
		reply_error(c, "NOAUTH Authentication required.");
		return true;
	}
	if (!strcmp(cmd->name, "auth") || !strcmp(cmd->name, "hello") ||
	    !strcmp(cmd->name, "quit") || !strcmp(cmd->name, "reset"))
		return false;
	u = client_user(c);
	if (!command_ok(u, cmd, c->argc, c->argv)) {
		log_event(c, "command", (c->flags & CF_FAKE) ? "lua" : "toplevel", cmd->name,
			  u->name);
		if (c->flags & CF_FAKE)
			reply_error(c, "NOPERM The user executing the script can't run this command or subcommand");
		else
			reply_errorf(c, "NOPERM this user has no permissions to run the '%s' command",
				     cmd->name);
		return true;
	}
	if ((k = keys_check(u, cmd, c->argc, c->argv)) >= 0) {
		log_event(c, "key", (c->flags & CF_FAKE) ? "lua" : "toplevel", c->argv[k].p,
			  u->name);
		if (c->flags & CF_FAKE)
			reply_error(c, "NOPERM The user executing the script can't access at least one of the keys mentioned in the command");
		else
			reply_error(c, "NOPERM this user has no permissions to access one of the keys used as arguments");
		return true;
	}
	return false;
}

/* ---- ACL ---------------------------------------------------------------------------- */

/* The user's rules as ACL LIST writes them. */
static void describe(const struct user *u, char **out)
{
	char buf[256];

	*out = NULL;
	snprintf(buf, sizeof buf, "user %s %s", u->name, u->on ? "on" : "off");
	str_append(out, buf);
	if (u->nopass)
		str_append(out, "nopass");
	for (int i = 0; i < u->npw; i++) {
		char hex[65];

		hex32(u->pw[i], hex);
		snprintf(buf, sizeof buf, "#%s", hex);
		str_append(out, buf);
	}
	for (int i = 0; i < u->nkeys; i++) {
		if (u->keys[i].rw == 3)
			snprintf(buf, sizeof buf, "~%s", u->keys[i].pat);
		else
			snprintf(buf, sizeof buf, "%%%s~%s", u->keys[i].rw == 1 ? "R" : "W",
				 u->keys[i].pat);
		str_append(out, buf);
	}
	if (u->allchannels) {
		str_append(out, "&*");
	} else {
		str_append(out, "resetchannels");
		for (int i = 0; i < u->nchans; i++) {
			snprintf(buf, sizeof buf, "&%s", u->chans[i]);
			str_append(out, buf);
		}
	}
	str_append(out, u->cmd_rules ? u->cmd_rules : "-@all");
}

static void acl_getuser(struct client *c)
{
	struct user *u = user_find(c->argv[2].p, c->argv[2].len);
	char *keys = NULL, *chans = NULL, buf[256];
	int nflags;

	if (!u) {
		reply_nil(c);
		return;
	}
	nflags = 1 + u->nopass;
	reply_map_len(c, 6);
	reply_bulk_str(c, "flags");
	reply_set_len(c, nflags);
	reply_bulk_str(c, u->on ? "on" : "off");
	if (u->nopass)
		reply_bulk_str(c, "nopass");
	reply_bulk_str(c, "passwords");
	reply_array(c, u->npw);
	for (int i = 0; i < u->npw; i++) {
		char hex[65];

		hex32(u->pw[i], hex);
		reply_bulk_str(c, hex);
	}
	reply_bulk_str(c, "commands");
	reply_bulk_str(c, u->cmd_rules ? u->cmd_rules : "-@all");
	for (int i = 0; i < u->nkeys; i++) {
		if (u->keys[i].rw == 3)
			snprintf(buf, sizeof buf, "~%s", u->keys[i].pat);
		else
			snprintf(buf, sizeof buf, "%%%s~%s", u->keys[i].rw == 1 ? "R" : "W",
				 u->keys[i].pat);
		str_append(&keys, buf);
	}
	if (u->allchannels)
		str_append(&chans, "&*");
	for (int i = 0; !u->allchannels && i < u->nchans; i++) {
		snprintf(buf, sizeof buf, "&%s", u->chans[i]);
		str_append(&chans, buf);
	}
	reply_bulk_str(c, "keys");
	reply_bulk_str(c, keys ? keys : "");
	reply_bulk_str(c, "channels");
	reply_bulk_str(c, chans ? chans : "");
	reply_bulk_str(c, "selectors");
	reply_array(c, 0);
	free(keys);
	free(chans);
}

static void acl_log_cmd(struct client *c)
{
	long long n = nlog;

	if (c->argc == 3 && arg_is(c, 2, "reset")) {
		nlog = 0;
		reply_ok(c);
		return;
	}
	if (c->argc == 3 && (!resp_str2ll(c->argv[2].p, c->argv[2].len, &n) || n < 0)) {
		reply_error(c, "ERR value is out of range, must be positive");
		return;
	}
	if (n > nlog)
		n = nlog;
	reply_array(c, n);
	for (long long i = 0; i < n; i++) {
		struct log_entry *e = &acl_log[i];

		reply_map_len(c, 7);
		reply_bulk_str(c, "count");
		reply_int(c, (long long)e->count);
		reply_bulk_str(c, "reason");
		reply_bulk_str(c, e->reason);
		reply_bulk_str(c, "context");
		reply_bulk_str(c, e->context);
		reply_bulk_str(c, "object");
		reply_bulk_str(c, e->object);
		reply_bulk_str(c, "username");
		reply_bulk_str(c, e->username);
		reply_bulk_str(c, "age-seconds");
		reply_double(c, (double)(srv_unix_ms() - e->created_ms) / 1000.0);
		reply_bulk_str(c, "client-info");
		reply_bulk_str(c, e->client);
	}
}

/* Write every user's rules to the aclfile (0600, temp file, rename). */
static int acl_save(char *err, size_t errlen)
{
	char tmp[4096];
	FILE *f;
	int fd;

	if (!acl_file || !acl_file[0]) {
		snprintf(err, errlen, "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.");
		return -1;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp-%d", acl_file, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "ERR There was an error trying to save the ACLs. Please check the server logs for more information");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (struct user *u = users; u; u = u->next) {
		char *line;

		describe(u, &line);
		fprintf(f, "%s\n", line ? line : "");
		free(line);
	}
	if (fflush(f) || fsync(fileno(f)) || fclose(f) || rename(tmp, acl_file)) {
		unlink(tmp);
		snprintf(err, errlen, "ERR There was an error trying to save the ACLs. Please check the server logs for more information");
		return -1;
	}
	return 0;
}

/* Split line into words (spaces); returns how many (at most max). */
static int split_words(char *line, struct kv_arg *w, int max)
{
	int n = 0;

	for (char *t = strtok(line, " \t\r\n"); t && n < max; t = strtok(NULL, " \t\r\n")) {
		w[n].p = t;
		w[n].len = strlen(t);
		n++;
	}
	return n;
}

/* Replace every user by the aclfile's: all or nothing. */
static int acl_load(char *err, size_t errlen)
{
	struct user *saved = users;
	char line[8192];
	FILE *f;
	int lineno = 0;

	if (!acl_file || !acl_file[0]) {
		snprintf(err, errlen, "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.");
		return -1;
	}
	if (!(f = fopen(acl_file, "r"))) {
		snprintf(err, errlen, "ERR Error loading ACLs, opening file '%s': %s", acl_file,
			 strerror(errno));
		return -1;
	}
	users = NULL;
	while (fgets(line, sizeof line, f)) {
		struct kv_arg w[256];
		int n, bad = 0;
		const char *e;

		lineno++;
		n = split_words(line, w, 256);
		if (n == 0 || w[0].p[0] == '#')
			continue;
		if (strcmp(w[0].p, "user") || n < 2) {
			snprintf(err, errlen, "ERR %s:%d should start with user keyword", acl_file, lineno);
			goto fail;
		}
		if (user_find(w[1].p, w[1].len)) {
			snprintf(err, errlen, "ERR %s:%d: Duplicate user '%s' found", acl_file, lineno,
				 w[1].p);
			goto fail;
		}
		if ((e = setuser(w[1].p, w[1].len, n - 2, w + 2, &bad))) {
			snprintf(err, errlen, "ERR %s:%d: %s. ", acl_file, lineno, e);
			goto fail;
		}
	}
	fclose(f);
	if (!user_find("default", 7)) {
		struct user *d = default_user();

		(void)d;
	}
	while (saved) {
		struct user *n = saved->next;

		user_free(saved);
		saved = n;
	}
	/* clients of users that no longer exist go back to needing AUTH */
	for (struct client *c = srv.clients; c; c = c->next)
		if (c->user && !user_find(c->user, strlen(c->user)))
			client_close_async(c);
	return 0;
fail:
	fclose(f);
	while (users) {
		struct user *n = users->next;

		user_free(users);
		users = n;
	}
	users = saved;
	return -1;
}

static void acl_dryrun(struct client *c)
{
	struct user *u = user_find(c->argv[2].p, c->argv[2].len);
	const struct kv_cmd *cmd;
	int k;

	if (!u) {
		reply_errorf(c, "ERR User '%s' not found", c->argv[2].p);
		return;
	}
	cmd = cmd_lookup(c->argv[3].p, c->argv[3].len);
	if (!cmd) {
		reply_errorf(c, "ERR Command '%s' not found", c->argv[3].p);
		return;
	}
	if ((cmd->arity > 0 && c->argc - 3 != cmd->arity) ||
	    (cmd->arity < 0 && c->argc - 3 < -cmd->arity)) {
		reply_errorf(c, "ERR wrong number of arguments for '%s' command", cmd->name);
		return;
	}
	if (!command_ok(u, cmd, c->argc - 3, c->argv + 3)) {
		reply_bulk_str(c, "This user has no permissions to run the command");
		return;
	}
	if ((k = keys_check(u, cmd, c->argc - 3, c->argv + 3)) >= 0) {
		char msg[256];

		snprintf(msg, sizeof msg, "This user has no permissions to access the '%s' key",
			 c->argv[3 + k].p);
		reply_bulk_str(c, msg);
		return;
	}
	reply_ok(c);
}

void cmd_acl(struct client *c)
{
	char err[1024];

	sync_requirepass();
	default_user();
	if (arg_is(c, 1, "whoami") && c->argc == 2) {
		reply_bulk_str(c, c->user ? c->user : "default");
	} else if (arg_is(c, 1, "users") && c->argc == 2) {
		long long n = 0;

		for (struct user *u = users; u; u = u->next)
			n++;
		reply_array(c, n);
		for (struct user *u = users; u; u = u->next)
			reply_bulk_str(c, u->name);
	} else if (arg_is(c, 1, "list") && c->argc == 2) {
		long long n = 0;

		for (struct user *u = users; u; u = u->next)
			n++;
		reply_array(c, n);
		for (struct user *u = users; u; u = u->next) {
			char *line;

			describe(u, &line);
			reply_bulk_str(c, line ? line : "");
			free(line);
		}
	} else if (arg_is(c, 1, "setuser") && c->argc >= 3) {
		int bad = 0;
		const char *e = setuser(c->argv[2].p, c->argv[2].len, c->argc - 3, c->argv + 3, &bad);

		if (e)
			reply_errorf(c, "ERR Error in ACL SETUSER modifier '%s': %s",
				     c->argv[3 + bad].p, e);
		else
			reply_ok(c);
	} else if (arg_is(c, 1, "getuser") && c->argc == 3) {
		acl_getuser(c);
	} else if (arg_is(c, 1, "deluser") && c->argc >= 3) {
		long long n = 0;

		for (int i = 2; i < c->argc; i++)
			if (arg_is(c, i, "default")) {
				reply_error(c, "ERR The 'default' user cannot be removed");
				return;
			}
		for (int i = 2; i < c->argc; i++) {
			struct user *u = user_find(c->argv[i].p, c->argv[i].len);

			if (!u)
				continue;
			for (struct client *o = srv.clients; o; o = o->next)
				if (o->user && !strcmp(o->user, u->name))
					client_close_async(o);
			user_unlink(u);
			user_free(u);
			n++;
		}
		reply_int(c, n);
	} else if (arg_is(c, 1, "cat") && c->argc <= 3) {
		if (c->argc == 2) {
			reply_array(c, sizeof categories / sizeof categories[0]);
			for (size_t i = 0; i < sizeof categories / sizeof categories[0]; i++)
				reply_bulk_str(c, categories[i]);
		} else {
			size_t n;
			struct kv_cmd *t = cmd_table(&n);
			struct obuf *h;
			long long k = 0;

			if (!known_category(c->argv[2].p)) {
				reply_errorf(c, "ERR Unknown category '%.128s'", c->argv[2].p);
				return;
			}
			h = reply_defer(c);
			for (size_t i = 0; i < n; i++)
				if (in_category(&t[i], c->argv[2].p)) {
					reply_bulk_str(c, t[i].name);
					k++;
				}
			reply_defer_set(c, h, k);
		}
	} else if (arg_is(c, 1, "dryrun") && c->argc >= 4) {
		acl_dryrun(c);
	} else if (arg_is(c, 1, "log") && c->argc <= 3) {
		acl_log_cmd(c);
	} else if (arg_is(c, 1, "genpass") && c->argc <= 3) {
		long long bits = 256;
		unsigned char rnd[128];
		char hex[257];
		size_t chars;

		if (c->argc == 3 && (!resp_str2ll(c->argv[2].p, c->argv[2].len, &bits) ||
				     bits <= 0 || bits > 1024)) {
			reply_error(c, "ERR ACL GENPASS argument must be the number of bits for "
				    "the output password, a positive number up to 1024");
			return;
		}
		chars = (size_t)(bits + 3) / 4;
		if (getrandom(rnd, (chars + 1) / 2, 0) != (ssize_t)((chars + 1) / 2)) {
			reply_error(c, "ERR no randomness available");
			return;
		}
		for (size_t i = 0; i < (chars + 1) / 2; i++)
			snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
		reply_bulk(c, hex, chars);
	} else if (arg_is(c, 1, "save") && c->argc == 2) {
		if (acl_save(err, sizeof err))
			reply_error(c, err);
		else
			reply_ok(c);
	} else if (arg_is(c, 1, "load") && c->argc == 2) {
		if (acl_load(err, sizeof err))
			reply_error(c, err);
		else
			reply_ok(c);
	} else if (arg_is(c, 1, "help") && c->argc == 2) {
		static const char *help[] = {
			"ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"CAT [<category>]", "DELUSER <username> [<username> ...]",
			"DRYRUN <username> <command> [<arg> ...]", "GETUSER <username>",
			"LIST", "USERS", "LOAD", "SAVE", "SETUSER <username> <attribs> ...",
			"WHOAMI", "LOG [<count> | RESET]", "GENPASS [<bits>]", "HELP",
		};

		reply_array(c, sizeof help / sizeof help[0]);
		for (size_t i = 0; i < sizeof help / sizeof help[0]; i++)
			reply_status(c, help[i]);
	} else {
		reply_subcommand(c, "ACL");
	}
}

/* redis.acl_check_cmd for script.c: may the script's caller run argv?
 * 1 yes, 0 no, -1 unknown command. */
int acl_check_argv(struct client *caller, int argc, const struct kv_arg *argv)
{
	const struct kv_cmd *cmd = cmd_lookup(argv[0].p, argv[0].len);
	const struct user *u;

	if (!cmd)
		return -1;
	u = client_user(caller);
	return command_ok(u, cmd, argc, argv) && keys_check(u, cmd, argc, argv) < 0;
}

/* For pub/sub (another branch): may c's user use channel ch (a literal
 * channel, or a pattern given to PSUBSCRIBE when is_pattern: then only an
 * identical pattern of the user's matches, as in Redis)? Logs a denial. */
bool acl_all_keys_readable(struct client *c)
{
	const struct user *u = client_user(c);

	for (int i = 0; i < u->nkeys; i++)
		if ((u->keys[i].rw & 1) && !strcmp(u->keys[i].pat, "*"))
			return true;
	return false;
}

bool acl_channel_allowed(struct client *c, const char *ch, size_t n, bool is_pattern)
{
	const struct user *u = client_user(c);

	if (u->allchannels)
		return true;
	for (int i = 0; i < u->nchans; i++) {
		size_t pl = strlen(u->chans[i]);

		if (is_pattern ? (pl == n && !memcmp(u->chans[i], ch, n)) :
		    glob_match(u->chans[i], pl, ch, n, false))
			return true;
	}
	{
		char obj[128];

		snprintf(obj, sizeof obj, "%.*s", (int)(n > 120 ? 120 : n), ch);
		log_event(c, "channel", (c->flags & CF_FAKE) ? "lua" : "toplevel", obj, u->name);
	}
	return false;
}

/* ---- protected mode --------------------------------------------------------------- */

/* A bind address that only this machine reaches. */
static bool loopback_only(const char *bind)
{
	char *copy = strdup(bind ? bind : ""), *tok, *save = NULL;
	bool only = copy != NULL;

	for (tok = copy ? strtok_r(copy, " ", &save) : NULL; tok;
	     tok = strtok_r(NULL, " ", &save)) {
		const char *t = tok[0] == '-' ? tok + 1 : tok;

		if (strncmp(t, "127.", 4) && strcmp(t, "::1") && strcasecmp(t, "localhost"))
			only = false;
	}
	free(copy);
	return only;
}

int acl_protected_mode_check(void)
{
	if (acl_protected_mode && strcasecmp(acl_protected_mode, "yes") &&
	    strcasecmp(acl_protected_mode, "no")) {
		srv_log(LL_WARNING, "protected-mode must be yes or no, not '%s'",
			acl_protected_mode);
		return -1;
	}
	if (acl_protected_mode && !strcasecmp(acl_protected_mode, "no"))
		return 0;
	if (acl_auth_required() || loopback_only(srv.bind))
		return 0;
	srv_log(LL_WARNING, "Protected mode: refusing to start bound to '%s' without a "
		"password. Set requirepass, bind to a loopback address, or start with "
		"--protected-mode no.", srv.bind);
	return -1;
}

/* At start: load the aclfile if one is configured. 0 or -1 (logged). */
int acl_start(void)
{
	char err[1024];

	if (!acl_file || !acl_file[0])
		return 0;
	if (acl_load(err, sizeof err)) {
		srv_log(LL_WARNING, "Aborting: %s", err);
		return -1;
	}
	return 0;
}
