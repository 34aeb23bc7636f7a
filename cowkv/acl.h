/*
 * acl.h — authentication (acl.c): AUTH, requirepass, the NOAUTH gate,
 * protected mode.
 */
#ifndef COWKV_ACL_H
#define COWKV_ACL_H

#include <stdbool.h>

struct client;
struct kv_arg;

extern char *acl_requirepass;
extern char *acl_protected_mode;

/* A password is configured: connections start unauthenticated. */
bool acl_auth_required(void);
/* Check user/pass; true and c authenticated, or false after replying
 * WRONGPASS. */
bool acl_auth(struct client *c, const struct kv_arg *user, const struct kv_arg *pass);
/* Before a command: true after replying NOAUTH to an unauthenticated c. */
bool acl_gate(struct client *c);
/* At start: 0, or -1 (logged) when bound beyond loopback without a
 * password in protected mode. */
int acl_protected_mode_check(void);

#endif
