/*
 * proxy_learn.h - probes that `run` starts by itself, and publishing
 * what they teach (proxy_learn.c).
 */
#ifndef PROXY_LEARN_H
#define PROXY_LEARN_H

#include "http1.h"
#include "proxy.h"

struct proxy_conn;
struct proxy_server;
struct proxy_worker;

/*
 * Main thread, after the signal loop is open and before the workers
 * start: builds the shared TLS client context (cfg->ca_file) and the
 * async handle that publishes learned policies. Returns 0, or a negative
 * libuv error with *e filled (what names --ca-file). With --probe off and
 * no --ca-file it only allocates nothing and returns 0.
 */
int proxy__learn_open(struct proxy_server *s, struct proxy_error *e);
/* Main thread: every worker loop has ended; closes the async handle. */
void proxy__learn_stop(struct proxy_server *s);
/* Frees what proxy__learn_open made (loops closed). NULL-safe. */
void proxy__learn_close(struct proxy_server *s);
/* Worker setup and teardown (teardown after its loop is closed). */
int proxy__learn_worker_open(struct proxy_worker *w);
void proxy__learn_worker_close(struct proxy_worker *w);
/* Drain: cancels the worker's probes; no new one starts. */
void proxy__learn_worker_drain(struct proxy_worker *w);
/* Triggers (never delay or fail the request): a CONNECT to conn->target,
 * and an origin's 3xx from http://X to https://X. */
void proxy__learn_connect(struct proxy_conn *conn);
void proxy__learn_redirect(struct proxy_conn *conn,
                           const struct http1_response *resp);

#endif /* PROXY_LEARN_H */
