/*
 * proxy_console.h - the console: a web UI and its JSON API, served by the
 * proxy to origin-form requests from clients in --console-allow.
 *
 *   proxy_console.c       routing, the allow list, the CSRF token, the
 *                         embedded pages (console/), GET /api/status
 *   proxy_console_api.c   the API's store work, run on the thread pool:
 *                         hops, policy query/add/delete, the audit report;
 *                         the request body of POST; publishing an edit
 *   proxy_console_feed.c  GET /api/hops/stream: committed hops, fanned out
 *                         by the writer, as Server-Sent Events
 *
 * One struct proxy_console per server (s->console), made before the hop
 * log writer (which feeds it) and freed after the writer is closed.
 */
#ifndef PROXY_CONSOLE_H
#define PROXY_CONSOLE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "hsts_host.h"
#include "proxy.h"

struct proxy_conn;
struct proxy_server;

#define PROXY_CONSOLE_JSON_TYPE "application/json"

/* A policy added (del 0) or deleted on the console, for the main thread. */
struct proxy_console_edit {
  char host[HSTS_HOST_MAX + 1];
  int del;
  int include_subdomains;
  uint32_t max_age;
  int64_t now; /* Unix s */
};

struct proxy_console {
  struct proxy_server *server; /* not owned */
  char token[2 * PROXY_CONSOLE_TOKEN_BYTES + 1];
  atomic_uint_fast64_t local; /* requests for the proxy's own pages */
  atomic_uint streams;        /* open streams; none: the feed keeps nothing */
  uv_mutex_t mu;              /* guards what follows */
  /* The feed: the last PROXY_CONSOLE_FEED_SLOTS committed hops' JSON,
   * hop number `seq` in slot seq % SLOTS; each stream reads on from its
   * own cursor (proxy_console_feed.c). */
  char *feed[PROXY_CONSOLE_FEED_SLOTS]; /* owned, or NULL */
  size_t feed_len[PROXY_CONSOLE_FEED_SLOTS];
  uint64_t feed_next;          /* hops pushed so far */
  atomic_uint_fast64_t pushed; /* the same, read without the lock */
  /* Edits: queued by thread-pool jobs, applied by the main thread. */
  uv_async_t async; /* on the main loop */
  int async_open;
  uv_cond_t applied_cond;
  struct proxy_console_edit edits[PROXY_CONSOLE_EDITS_MAX];
  size_t nedits;
  struct proxy_console_edit work[PROXY_CONSOLE_EDITS_MAX]; /* main's copy */
  uint64_t queued, applied; /* edits so far: tickets */
  uint64_t applied_gen;     /* the snapshot generation after `applied` */
};

/* proxy_console.c: before the writer opens (main thread). */
int proxy__console_open(struct proxy_server *s, struct proxy_error *e);
/* After the main loop is open: the async that publishes edits. */
int proxy__console_start(struct proxy_server *s, struct proxy_error *e);
/* The main loop ends: no more edits are published. */
void proxy__console_stop(struct proxy_server *s);
/* After the writer is closed and the workers joined. */
void proxy__console_close(struct proxy_server *s);
/* Serves path (len bytes, no query) if it is a console path: returns 1
 * when it took the request (answered, or a phase runs it now), else 0. */
int proxy__console_serve(struct proxy_conn *conn, const char *path, size_t len);

/* Shared by the console's files. */
/* A JSON answer (no-store and the console's headers). */
void proxy__console_json(struct proxy_conn *conn, int status, const char *body,
                         size_t len);
/* A JSON error {"error": why} with status. */
void proxy__console_fail(struct proxy_conn *conn, int status, const char *why);
/* The value of query parameter name in the request target into out
 * (percent-decoded, at most size-1 bytes). Returns its length; -1 when
 * it is absent; -2 when it is malformed or too long. */
int proxy__console_param(const struct proxy_conn *conn, const char *name,
                         char *out, size_t size);

/* proxy_console_api.c: each takes the request; answers it later. */
void proxy__console_hops(struct proxy_conn *conn);
void proxy__console_policy(struct proxy_conn *conn);
void proxy__console_audit(struct proxy_conn *conn);
/* The connection closes: its job is detached, its stream counted out. */
void proxy__console_conn_closed(struct proxy_conn *conn);
/* Main thread: applies the queued edits (the async's callback). */
void proxy__console_publish(uv_async_t *a);

/* proxy_console_feed.c */
/* The writer's on_hop: keeps a copy when a stream is open. */
void proxy__console_feed_push(const char *json, size_t len, void *arg);
/* The writer's on_hop_wanted: whether a stream is open (else the writer
 * builds no JSON for the console). */
int proxy__console_feed_wanted(void *arg);
/* GET /api/hops/stream: the connection becomes a stream. */
void proxy__console_stream(struct proxy_conn *conn);
/* A stream's connection closes. */
void proxy__console_stream_closed(struct proxy_conn *conn);
/* Frees what the feed holds (proxy__console_close). */
void proxy__console_feed_free(struct proxy_console *c);

#endif /* PROXY_CONSOLE_H */
