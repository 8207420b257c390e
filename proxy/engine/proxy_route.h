/*
 * proxy_route.h - what runs for a parsed request head (proxy_route.c):
 * an ordered table of handlers, read top to bottom.
 */
#ifndef PROXY_ROUTE_H
#define PROXY_ROUTE_H

#include <stddef.h>

struct proxy_conn;
struct proxy_target;

/* A request head was parsed: runs the handlers from the first. */
void proxy__route(struct proxy_conn *conn);

/*
 * Whether the Host field value v[0..len) names the same host and port as
 * t (hosts normalized, ports defaulting to 80): RFC 9112 section 3.2.2
 * wants a client to send the target's authority there, and a mismatch is
 * refused. Returns 1 or 0.
 */
int proxy__host_matches(const char *v, size_t len,
                        const struct proxy_target *t);

#endif /* PROXY_ROUTE_H */
