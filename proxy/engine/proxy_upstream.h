/*
 * proxy_upstream.h - connections to origins: connecting
 * (proxy_connect.c), writing, reading for the phase that runs, and the
 * pool of idle ones (proxy_upstream.c).
 *
 * Lifetimes: a struct proxy_upstream dies only through
 * proxy__upstream_close(), and its last close callback frees it. While
 * attached, conn->up owns it (the conn closes it or returns it to the
 * pool); in the pool the worker owns it. up->conn is a plain back
 * pointer, cleared when the conn lets go.
 */
#ifndef PROXY_UPSTREAM_H
#define PROXY_UPSTREAM_H

#include <stddef.h>
#include <uv.h>

#include "http1.h"
#include "proxy.h"
#include "proxy_conn.h"
#include "proxy_net.h"

struct proxy_worker;

struct proxy_upstream {
  struct proxy_worker *worker;        /* not owned */
  struct proxy_conn *conn;            /* attached client, or NULL */
  struct proxy_upstream *prev, *next; /* worker->idle while pooled */
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_timer_t timer; /* pool idle timeout */
  uv_shutdown_t shutdown_req;
  proxy__conn_cb shut; /* proxy__upstream_shutdown's continuation */
  int closing;
  int pending_closes;
  unsigned connected : 1;
  unsigned reading : 1;
  unsigned pooled : 1;
  unsigned reused : 1; /* taken from the pool for this request */
  unsigned shut_write : 1;
  unsigned write_failed : 1;       /* later writes are dropped */
  char key[PROXY_PARENT_NAME_MAX]; /* pool key: proxy__upstream_name() */
  char peer[PROXY_ADDR_TEXT];      /* the address connected to */
  char *in;                        /* owned: the response head */
  size_t in_len, in_cap;
  size_t resp_bytes;          /* bytes received for this request */
  struct http1_response resp; /* views into in */
  size_t wpending;            /* bytes queued to the origin */
  uv_poll_t poll;             /* proxy_splice.c: initialized once */
  unsigned char poll_ev;      /* the events it is started for */
  unsigned poll_open : 1;
};

/* ---- proxy_connect.c: the connect phase ---- */

/* Connects conn to conn->target (--map, DNS, every address in turn) in
 * the connect phase (--timeout-connect): then cb(conn) with conn->up
 * connected. A failure or the timeout is answered (502, 504) here. */
void proxy__origin_connect(struct proxy_conn *conn, proxy__conn_cb cb);

/* ---- proxy_parent.c: --upstream-proxy ---- */

/* The parent proxy conn's request goes through, or NULL: none given, or
 * the target is in --upstream-no-proxy. */
const struct proxy_parent *proxy__parent_of(const struct proxy_conn *conn);
/* Who conn's upstream connection is with, for messages and the pool:
 * "parent proxy HOST:PORT", or the target's "host:port". */
const char *proxy__upstream_name(const struct proxy_conn *conn);
/* A 407 from the parent: answered 502 naming it; returns 1 (else 0). */
int proxy__parent_refused(struct proxy_conn *conn,
                          const struct http1_response *resp);
/* CONNECT through the parent: connects to it (the connect phase), sends
 * CONNECT host:port and runs cb(conn) on its 2xx, with conn->up the
 * tunnel (bytes after the answer's head still in up->in). A refusal, a
 * bad answer or silence past --timeout-connect is answered 502/504. */
void proxy__parent_tunnel(struct proxy_conn *conn, proxy__conn_cb cb);

/* ---- proxy_upstream.c ---- */

/* CONSTRUCTOR: a new, unconnected origin connection for conn's target;
 * NULL when out of memory. */
struct proxy_upstream *proxy__upstream_new(struct proxy_conn *conn);
void proxy__upstream_close(struct proxy_upstream *up, const char *reason);
void proxy__upstream_write(struct proxy_upstream *up, struct proxy_wreq *w);
void proxy__upstream_write_copy(struct proxy_upstream *up, const char *p,
                                size_t len);
/* Starts or stops reading from the origin as the conn's phase wants. */
void proxy__upstream_sync_read(struct proxy_upstream *up);
/* Shuts the origin's write side down after the queued writes (tunnel
 * half-close); then cb(up->conn), or the conn closes on failure. */
void proxy__upstream_shutdown(struct proxy_upstream *up, proxy__conn_cb cb);
/* Takes an idle connection for key from the pool, attached to conn. */
struct proxy_upstream *proxy__pool_take(struct proxy_conn *conn);
/* Detaches up from its conn and pools it, or closes it past the caps. */
void proxy__pool_put(struct proxy_upstream *up);
void proxy__pool_close_all(struct proxy_worker *w);

#endif /* PROXY_UPSTREAM_H */
