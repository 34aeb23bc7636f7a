/*
 * acl.c — authentication: AUTH, HELLO ... AUTH, requirepass, the NOAUTH
 * gate before authentication, ACL WHOAMI, and protected mode.
 *
 * One user exists, "default", whose password is requirepass (none: every
 * connection is authenticated as it arrives). Passwords are compared as
 * SHA-256 digests with a constant-time comparison, so the time taken says
 * nothing about how much of a guess was right; the configured password's
 * digest is what the comparison keeps (recomputed when requirepass
 * changes). ACL users, categories and key patterns are not implemented
 * (ACL SETUSER and the others answer an error saying so).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "server.h"
#include "acl.h"

char *acl_requirepass;          /* CONFIG requirepass ("" or NULL: none) */
char *acl_protected_mode;       /* CONFIG protected-mode: "yes" or "no" */

static unsigned char pass_digest[32];   /* SHA-256 of acl_requirepass */
static char *digest_of;                 /* the string pass_digest was made from */

static void sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 0;

	if (!EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) || len != 32)
		memset(out, 0xff, 32);
}

bool acl_auth_required(void)
{
	return acl_requirepass && acl_requirepass[0];
}

/* The digest of the configured password, refreshed when it changed. */
static const unsigned char *configured_digest(void)
{
	if (digest_of != acl_requirepass) {
		sha256(acl_requirepass, strlen(acl_requirepass), pass_digest);
		digest_of = acl_requirepass;
	}
	return pass_digest;
}

bool acl_auth(struct client *c, const struct kv_arg *user, const struct kv_arg *pass)
{
	unsigned char d[32];
	bool user_ok = user->len == 7 && !memcmp(user->p, "default", 7);
	bool ok;

	if (!acl_auth_required()) {
		/* "default" has nopass: any password, as Redis */
		if (user_ok) {
			c->authed = true;
			return true;
		}
		reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
		return false;
	}
	sha256(pass->p, pass->len, d);
	ok = CRYPTO_memcmp(d, configured_digest(), 32) == 0;
	if (ok && user_ok) {
		c->authed = true;
		return true;
	}
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

bool acl_gate(struct client *c)
{
	static const char *const open_cmds[] = { "auth", "hello", "quit", "reset" };

	if (c->authed || (c->flags & CF_FAKE) || !acl_auth_required())
		return false;
	for (size_t i = 0; i < sizeof open_cmds / sizeof open_cmds[0]; i++)
		if (arg_is(c, 0, open_cmds[i]))
			return false;
	reply_error(c, "NOAUTH Authentication required.");
	return true;
}

void cmd_acl(struct client *c)
{
	if (arg_is(c, 1, "whoami") && c->argc == 2) {
		reply_bulk_str(c, "default");
	} else if (arg_is(c, 1, "users") && c->argc == 2) {
		reply_array(c, 1);
		reply_bulk_str(c, "default");
	} else if (arg_is(c, 1, "list") && c->argc == 2) {
		char line[160];

		snprintf(line, sizeof line, "user default on %s ~* &* +@all",
			 acl_auth_required() ? "#<sha256>" : "nopass");
		if (acl_auth_required()) {
			const unsigned char *d = configured_digest();
			char hex[65];

			for (int i = 0; i < 32; i++)
				snprintf(hex + 2 * i, 3, "%02x", d[i]);
			snprintf(line, sizeof line, "user default on #%s ~* &* +@all", hex);
		}
		reply_array(c, 1);
		reply_bulk_str(c, line);
	} else {
		reply_errorf(c, "ERR ACL %.32s is not supported by cowkv (one user, "
			     "\"default\", with requirepass)", c->argc > 1 ? c->argv[1].p : "");
	}
}

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
	if (acl_protected_mode && !strcasecmp(acl_protected_mode, "no"))
		return 0;
	if (acl_auth_required() || loopback_only(srv.bind))
		return 0;
	srv_log(LL_WARNING, "Protected mode: refusing to start bound to '%s' without a "
		"password. Set requirepass, bind to a loopback address, or start with "
		"--protected-mode no.", srv.bind);
	return -1;
}
