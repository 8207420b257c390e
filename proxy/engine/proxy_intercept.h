/*
 * proxy_intercept.h - whole networks: connections the network redirected
 * to the proxy (proxy_intercept.c).
 */
#ifndef PROXY_INTERCEPT_H
#define PROXY_INTERCEPT_H

#include <stdio.h>

#include "proxy.h"

struct proxy_conn;
struct proxy_server;

/* Main thread, before the workers start: the mark of outgoing
 * connections (s->mark): --outgoing-mark, or the default when
 * interception is on; checked on a socket. Returns 0, or a negative
 * libuv error with *e filled when a mark given explicitly cannot be set
 * (no CAP_NET_ADMIN or CAP_NET_RAW); the default only warns on stderr and runs
 * unmarked. */
int proxy__intercept_open(struct proxy_server *s, struct proxy_error *e);
/* The "hstsproxy: intercepting ..." line for the intercepting listeners
 * among names[0..n) (by s->kinds), if any. */
void proxy__intercept_announce(FILE *f, const struct proxy_server *s,
                               const char *const *names, size_t n);
/* An intercepting listener accepted conn (access already checked): reads
 * its original destination, then the head phase (plain HTTP) or the
 * hello phase (TLS). */
void proxy__intercept_accepted(struct proxy_conn *conn);

#endif /* PROXY_INTERCEPT_H */
