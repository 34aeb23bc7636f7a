/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * acl.h — authentication and ACL users (acl.c): AUTH, requirepass, the
 * NOAUTH/NOPERM gate, ACL files, protected mode.
 */
#ifndef COWKV_ACL_H
#define COWKV_ACL_H

#include <stdbool.h>
#include <stddef.h>

struct client;
struct kv_arg;

extern char *acl_requirepass;
extern char *acl_protected_mode;
extern char *acl_file;          /* CONFIG aclfile */

/* A password is configured: connections start unauthenticated. */
bool acl_auth_required(void);
/* Check user/pass; true and c authenticated, or false after replying
 * WRONGPASS. */
bool acl_auth(struct client *c, const struct kv_arg *user, const struct kv_arg *pass);
struct kv_cmd;
/* Before command cmd runs for c: true after replying NOAUTH (c not
 * authenticated) or NOPERM (its user may not run it or touch its keys). */
bool acl_gate(struct client *c, const struct kv_cmd *cmd);
/* At start: 0, or -1 (logged) when bound beyond loopback without a
 * password in protected mode. */
int acl_protected_mode_check(void);

/* At start: load the aclfile if set. 0 or -1 (logged). */
int acl_start(void);
/* May caller run argv? 1 yes, 0 no, -1 unknown command (redis.acl_check_cmd). */
int acl_check_argv(struct client *caller, int argc, const struct kv_arg *argv);

/* Is there a user called name[n]? (CLIENT KILL USER) */
bool acl_user_exists(const char *name, size_t n);

/* Pub/sub hook: may c use channel ch (is_pattern: a PSUBSCRIBE pattern)?
 * false means reply "NOPERM this user has no permissions to access one of
 * the channels used as arguments" (the denial is logged). */
bool acl_channel_allowed(struct client *c, const char *ch, size_t n, bool is_pattern);
/* May c's user read every key (a key pattern "*" with read access)? What
 * SORT's BY and GET patterns need, as in Redis: they name keys the ACL
 * check before the command cannot see. */
bool acl_all_keys_readable(struct client *c);


#endif
