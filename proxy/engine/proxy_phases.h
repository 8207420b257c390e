/*
 * proxy_phases.h - where the route hands a request over: the entry of
 * each phase that runs a request to its end (proxy_route.c's handlers
 * call these; each is defined by the file that owns the phase).
 */
#ifndef PROXY_PHASES_H
#define PROXY_PHASES_H

struct proxy_conn;

/* proxy_local.c: the proxy's own pages (status page, PAC file). */
void proxy__local_serve(struct proxy_conn *conn);
/* proxy_exchange.c: forwards the request (pooled or fresh connection). */
void proxy__forward_start(struct proxy_conn *conn);
/* proxy_tunnel.c: CONNECT: connects, answers 200, then splices. */
void proxy__tunnel_connect(struct proxy_conn *conn);
/* proxy_tunnel.c: splices conn->client and conn->up (after a 101); bytes
 * already buffered on either side (after the heads) are sent first. */
void proxy__tunnel_start(struct proxy_conn *conn);

#endif /* PROXY_PHASES_H */
