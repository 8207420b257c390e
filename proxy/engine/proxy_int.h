/*
 * proxy_int.h - the forwarding core's private structures and cross-file
 * functions (double-underscore names; nothing here is public).
 *
 * Threads: the thread calling proxy_run() owns a struct proxy_server and
 * its signal loop; each struct proxy_worker owns one libuv loop, running
 * on its own thread, with its listeners, client connections, idle origin
 * connections and DNS cache. Nothing is shared between workers except the
 * read-only configuration, the atomic counters in struct proxy_stats, the
 * immutable policy snapshots (proxy_hsts.c explains how they are
 * published and freed) and the hop log writer (thread-safe).
 *
 * Lifetimes (libuv's rule: memory is released only in close callbacks):
 * - struct proxy_conn (a client connection) embeds its uv handles; only
 *   proxy__conn_close() closes them, and the last close callback frees it.
 * - struct proxy_upstream (an origin connection) likewise dies only
 *   through proxy__upstream_close(). While attached, conn->up owns it (the
 *   conn closes it or returns it to the pool); in the pool the worker owns
 *   it. up->conn is a plain back pointer, cleared when the conn lets go.
 * - struct proxy_wreq owns the bytes of one uv_write and is freed in its
 *   write callback, which libuv runs (with UV_ECANCELED at the latest)
 *   before the stream's close callback.
 * - struct proxy_dns_query belongs to the resolver until its callback; a
 *   closing conn detaches from it with proxy__dns_detach().
 */
#ifndef PROXY_INT_H
#define PROXY_INT_H

#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <uv.h>

#include "hsts_index.h"
#include "hsts_url.h"
#include "http1.h"
#include "proxy.h"

struct proxy_conn;
struct proxy_hsts;
struct store_writer;
struct proxy_upstream;
struct proxy_worker;
struct proxy_tls_ctx;
struct proxy_learn;
struct proxy_learn_worker;
struct proxy_auth_job;

/* Process-wide counters, updated by every worker (relaxed atomics). */
struct proxy_stats {
  atomic_uint_fast64_t conns_total;  /* client connections accepted */
  atomic_uint_fast64_t conns_active; /* open now (counts against max) */
  atomic_uint_fast64_t requests;     /* request heads parsed */
  atomic_uint_fast64_t errors;       /* error answers and failed exchanges */
  atomic_uint_fast64_t tunnels;      /* CONNECT and WebSocket tunnels */
  atomic_uint_fast64_t upgrades;     /* internal 307 answers */
};

/* An address of any family, small enough to keep arrays of. */
union proxy_sockaddr {
  struct sockaddr sa;
  struct sockaddr_in in;
  struct sockaddr_in6 in6;
};

/* Addresses to try in turn when connecting to an origin. */
struct proxy_addrs {
  size_t n;
  union proxy_sockaddr a[PROXY_DNS_MAX_ADDRS];
};

/* One write and the bytes it owns (freed in the write callback). */
struct proxy_wreq {
  uv_write_t req;
  size_t len; /* bytes used in data */
  char data[];
};

/* ---- proxy_dns.c ---- */

typedef void (*proxy__dns_cb)(void *arg, int status,
                              const struct proxy_addrs *addrs);

struct proxy_dns_entry {
  char host[PROXY_HOST_MAX + 1]; /* "" when the slot is free */
  int status;                    /* 0, or the lookup's libuv error */
  uint64_t expires_ms;           /* uv_now() deadline */
  struct proxy_addrs addrs;
};

struct proxy_dns_query;

struct proxy_dns {
  uv_loop_t *loop;
  struct proxy_dns_query *queries; /* in flight; each owns itself */
  struct proxy_dns_entry entries[PROXY_DNS_CACHE_ENTRIES];
};

void proxy__dns_init(struct proxy_dns *dns, uv_loop_t *loop);
/* Cancels lookups not yet started (their callbacks still run). */
void proxy__dns_cancel_all(struct proxy_dns *dns);

/*
 * Resolves `host` (normalized, no brackets): an IP literal at once, a
 * cached answer at once, else a uv_getaddrinfo on the thread pool.
 * Returns 0 with *out filled, a negative libuv error (a cached failure),
 * or 1 when a lookup was started: cb(arg, status, addrs) then runs later
 * unless proxy__dns_detach(*query) is called first. Ports in the
 * addresses are 0.
 */
int proxy__dns_resolve(struct proxy_dns *dns, const char *host,
                       struct proxy_addrs *out, proxy__dns_cb cb, void *arg,
                       struct proxy_dns_query **query);
/* The waiter goes away: the answer is still cached, cb is not called. */
void proxy__dns_detach(struct proxy_dns_query *q);

/* ---- proxy_worker.c ---- */

struct proxy_server;

struct proxy_listener {
  uv_tcp_t tcp;
  struct proxy_worker *worker;
  int open;   /* tcp initialized (to be closed) */
  int paused; /* at --max-conns: a connection waits, not accepted */
};

#define PROXY_CMD_NONE  0
#define PROXY_CMD_DRAIN 1 /* stop accepting, finish in-flight work */
#define PROXY_CMD_FORCE 2 /* close everything now */

struct proxy_worker {
  struct proxy_server *server; /* not owned */
  size_t index;
  uv_loop_t loop;
  uv_thread_t thread;
  int loop_open, thread_started;
  uv_async_t async;       /* commands from the main thread */
  atomic_int command;     /* PROXY_CMD_* */
  uv_timer_t drain_timer; /* bounds the graceful drain */
  int draining;
  int finished;     /* async and drain timer closed */
  int async_open;   /* guarded by server->lock */
  atomic_int ended; /* the loop has returned */
  struct proxy_listener listeners[PROXY_MAX_LISTEN];
  size_t nlisteners;
  struct proxy_conn *conns; /* live client connections (each owns itself) */
  size_t nconns;
  struct proxy_upstream *idle; /* the pool (owned by the worker) */
  size_t nidle;
  uint64_t next_id;
  struct proxy_dns dns;
  /* proxy_conn.c: retries paused listeners while slots are all taken
   * (a slot may free in another worker); open only while needed. */
  uv_timer_t accept_retry;
  int accept_retry_open;
  char discard[PROXY_DISCARD_BUF]; /* reads thrown away */
  /* proxy_hsts.c: the snapshot this loop reads, without a lock; its
   * generation, published for the main thread (the acknowledgement); and
   * "a newer one is out", set by the main thread before the async. */
  const struct proxy_hsts *hsts; /* not owned: the server's */
  atomic_uint_fast64_t hsts_gen;
  atomic_int hsts_pending;
  uint64_t hops;                    /* request ids handed out (proxy_log.c) */
  char scratch[PROXY_HOP_SCRATCH];  /* a hop's strings, NUL-terminated */
  struct proxy_learn_worker *learn; /* owned: probes in flight, or NULL */
  unsigned auth_jobs;               /* credential checks on the thread pool */
};

/* ---- proxy_hsts.c: policy snapshots ---- */

/* An immutable snapshot of the store's policies: built off the loops,
 * then only read (hsts_index.h: concurrent readers are fine). */
struct proxy_hsts {
  struct hsts_index *static_ix;        /* owned: preload or builtin */
  struct hsts_index *dynamic;          /* owned: learned and manual */
  char list_name[PROXY_LIST_NAME_MAX]; /* "builtin", "chromium", ... */
  size_t list_hosts;                   /* distinct hosts on the list */
  size_t learned;                      /* live dynamic entries */
  uint64_t gen;                        /* 1, 2, ... as published */
  struct proxy_hsts *next;             /* the server's retired list */
  int static_borrowed; /* static_ix is owned by a newer snapshot (a probe
                          update shares it; proxy_learn.c) */
  int stale_days;      /* the list's age past 70 days (stale), else 0 */
};

/* A SIGHUP reload in flight on the thread pool (one at a time). */
struct proxy_hsts_reload {
  uv_work_t req;
  struct proxy_hsts *snap; /* built by the work, then published or freed */
  char err[PROXY_ERROR_TEXT * 2]; /* why the build failed */
  int busy;                       /* queued and not done yet */
  int again;                      /* another SIGHUP came meanwhile */
};

/* proxy_access.c: rate limit of the "refused" stderr lines. */
struct proxy_access_log {
  atomic_uint_fast64_t last_ms;    /* monotonic ms of the last line */
  atomic_uint_fast64_t suppressed; /* refusals not logged since */
};

struct proxy_server {
  const struct proxy_config *cfg; /* not owned */
  struct proxy_access_log deny_log;
  struct proxy_stats stats;
  uint64_t start_ns;                 /* uv_hrtime() at start */
  _Atomic(struct proxy_hsts *) hsts; /* current snapshot (owned) */
  struct proxy_hsts *retired;        /* owned: replaced, perhaps still read */
  uint64_t hsts_gen;                 /* generation of the newest snapshot */
  uv_async_t hsts_ack;               /* a worker moved to a newer snapshot */
  struct proxy_hsts_reload reload;
  struct store_writer *writer;  /* owned: the hop log */
  struct proxy_tls_ctx *tls;    /* owned: probes' TLS client, or NULL */
  struct proxy_learn *learn;    /* owned: probe triggers (proxy_learn.c) */
  uint64_t request_salt;        /* proxy_log.c: request ids of this run */
  struct proxy_worker *workers; /* owned: nworkers entries */
  size_t nworkers;
  uv_loop_t loop; /* the main thread's: signals */
  int loop_open;
  uv_signal_t sigint, sigterm, sighup;
  uv_async_t done; /* a worker's loop has ended */
  uv_mutex_t lock; /* guards every worker's async_open */
  int signals;     /* SIGINT/SIGTERM seen */
  /* owned: the preload list's refresh (proxy_refresh.c), or NULL */
  struct proxy_refresh *refresh;
};

int proxy__worker_open(struct proxy_worker *w, struct proxy_server *s,
                       size_t index, uv_os_sock_t *fds, size_t nfds);
int proxy__worker_start(struct proxy_worker *w);
void proxy__worker_command(struct proxy_worker *w, int cmd);
/* Wakes the worker to adopt the newest policy snapshot. */
void proxy__worker_poke(struct proxy_worker *w);
/* Whether the worker's loop may still read a snapshot (main thread). */
int proxy__worker_alive(struct proxy_worker *w);
/* Joins the thread (if started), closes every handle and the loop. */
void proxy__worker_close(struct proxy_worker *w);
/* A conn was freed: the worker may now finish draining. */
void proxy__worker_conn_gone(struct proxy_worker *w);
/* After a failed uv_accept(): the listener watches for connections again
 * (a failure to is said on stderr). */
void proxy__worker_relisten(struct proxy_listener *l);
void proxy__log(struct proxy_worker *w, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- proxy_hsts.c ---- */

/*
 * CONSTRUCTOR. Opens the store at db_path with store_flags, builds the
 * static and dynamic indexes at the current time, closes the store.
 * Blocking: never on a loop thread. Returns 0 with *out set, or -1 with a
 * one-line cause (naming the file) in err.
 */
int proxy__hsts_load(const char *db_path, unsigned store_flags,
                     struct proxy_hsts **out, char *err, size_t errsz);
/* DESTRUCTOR. NULL accepted; sets *snap to NULL. */
void proxy__hsts_free(struct proxy_hsts **snap);
/* Loads the first snapshot (creating the store); fills *e on failure. */
int proxy__hsts_open(struct proxy_server *s, struct proxy_error *e);
/* Frees every snapshot: the workers have been joined. */
void proxy__hsts_close(struct proxy_server *s);
/* Main thread, SIGHUP: rebuilds on the thread pool, then publishes. */
void proxy__hsts_reload(struct proxy_server *s);
/* Main thread: frees the retired snapshots no worker reads any more. */
void proxy__hsts_sweep(struct proxy_server *s);
/* Main thread: makes snap (owned from now on) the current snapshot with
 * the next generation, retires the old one and pokes every worker. */
void proxy__hsts_publish(struct proxy_server *s, struct proxy_hsts *snap);

/* proxy_refresh.c: the preload list's refresh (--preload-refresh). start
 * arms its timer on the main loop (nothing when off); stop closes it when
 * the workers have ended; free releases it once the loop is closed. */
int proxy__refresh_start(struct proxy_server *s, struct proxy_error *e);
void proxy__refresh_stop(struct proxy_server *s);
void proxy__refresh_free(struct proxy_server *s);
const char *proxy__refresh_url(const struct proxy_config *cfg);
/* Worker thread: moves w->hsts to the newest snapshot and says so. */
void proxy__hsts_adopt(struct proxy_worker *w);
/* The announce and status line counts of a snapshot. */
void proxy__hsts_counts(const struct proxy_hsts *snap,
                        struct proxy_store_counts *out);

/* ---- proxy_learn.c: probes triggered by traffic ---- */

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

/* ---- proxy_access.c ---- */

/* Whether the client at sa may use the proxy: cfg->allow, or loopback
 * when it is empty; IPv4-mapped IPv6 compared as IPv4. Returns 1 or 0. */
int proxy__access_allowed(const struct proxy_config *cfg,
                          const struct sockaddr *sa);
/* Logs a refused client (client: its address text), rate-limited. */
void proxy__access_denied(struct proxy_server *s, const char *client);

/* ---- proxy_auth.c ---- */

#define PROXY_APR1_TEXT 40 /* "$apr1$" salt(8) "$" hash(22), NUL */

/* The auth seam, for a parsed request head: 1 to go on (no --auth-file,
 * a request for the proxy's own pages, or the credentials this connection
 * already proved); 0 when the request was answered (407, or 503 when the
 * worker has PROXY_AUTH_JOBS_MAX checks in flight) or its check went to
 * the thread pool: then conn is in PROXY_PHASE_AUTH, reads nothing, and
 * is routed (proxy__route) or answered 407 from the loop when the check
 * is done. */
int proxy__auth_check(struct proxy_conn *conn);
/* The connection of a check in flight is closing: the check's answer is
 * dropped, and a check still queued is cancelled. */
void proxy__auth_detach(struct proxy_auth_job *job);
/* Main thread, SIGHUP: re-reads the file on loop's thread pool and swaps
 * the users in; a bad file keeps the old ones (said on stderr). NULL a:
 * nothing. */
void proxy__auth_reload(struct proxy_auth *a, uv_loop_t *loop);
/* Whether pw[0..pwlen) matches the stored hash (any accepted kind);
 * constant-time comparison. Pure but for crypt_r's CPU time. */
int proxy__auth_verify(const char *hash, const char *pw, size_t pwlen);
/* Apache's APR1-MD5 of pw with salt (8 characters used at most) into
 * out as "$apr1$salt$hash". Returns 0, or -1 when OpenSSL fails. */
int proxy__auth_apr1(const char *pw, size_t pwlen, const char *salt,
                     size_t slen, char out[PROXY_APR1_TEXT]);

/* ---- proxy_server.c ---- */

/* The announce line: one place, filled by the store later. */
void proxy__announce(FILE *f, const char *const *addrs, size_t naddrs,
                     const struct proxy_store_counts *store);

/* ---- proxy_conn.c: the client connection ---- */

#define PROXY_AUTH_DIGEST 32 /* SHA-256 */

enum proxy_phase {
  PROXY_PHASE_HEAD = 0, /* waiting for, or reading, a request head */
  PROXY_PHASE_AUTH,     /* credentials being checked on the thread pool */
  PROXY_PHASE_CONNECT,  /* resolving and connecting to the origin */
  PROXY_PHASE_FORWARD,  /* request body up, response down */
  PROXY_PHASE_RESPOND,  /* the answer is written; waiting for it to drain */
  PROXY_PHASE_DISCARD,  /* a 307 is written; the request body is dropped */
  PROXY_PHASE_TUNNEL,   /* bytes spliced both ways */
  PROXY_PHASE_LINGER    /* write side shut; discarding input, then close */
};

/* The parsed destination of a forwarded request or a CONNECT. */
struct proxy_target {
  char host[PROXY_HOST_MAX + 1]; /* normalized, IPv6 without brackets */
  int is_ipv6;
  int is_ip; /* an IPv4 or IPv6 literal: never an HSTS host */
  unsigned port;
  const char *path; /* view into conn->in: path and query, may be empty */
  size_t path_len;
  char authority[PROXY_AUTHORITY_MAX]; /* Host value: host[:port] */
  char key[PROXY_KEY_MAX];             /* "host:port": pool key, messages */
};

struct proxy_conn {
  struct proxy_worker *worker;    /* not owned */
  struct proxy_conn *prev, *next; /* worker->conns */
  uint64_t id;
  uv_tcp_t client;
  uv_timer_t timer; /* the one timeout of the current phase */
  uv_shutdown_t shutdown_req;
  int closing;
  int pending_closes;
  enum proxy_phase phase;
  char *in; /* owned: request head, then what follows it */
  size_t in_len, in_cap;
  size_t head_len;          /* the current request's head is in[0..head_len) */
  struct http1_request req; /* views into in */
  struct proxy_target target;
  unsigned requests;
  int64_t req_ms;             /* wall clock (Unix ms): head complete */
  uint64_t req_ns;            /* uv_hrtime() then: hop durations */
  union proxy_sockaddr local; /* where the client connected to */
  char peer[PROXY_ADDR_TEXT];
  char peer_ip[PROXY_ADDR_TEXT]; /* the client's address alone */
  /* proxy_auth.c: the SHA-256 of the Proxy-Authorization value this
   * connection last proved, and the users' generation (0: none). */
  unsigned char auth_digest[PROXY_AUTH_DIGEST];
  uint64_t auth_gen;
  struct proxy_auth_job *auth_job; /* the check in flight, or NULL */
  /* The internal 307 (proxy_upgrade.c): one write at a time, from memory
   * the connection keeps for its life, so steady state allocates nothing. */
  uv_write_t upg_req;
  size_t upg_len; /* bytes of the 307 in flight */
  char *upg_buf;  /* owned: Location and the tail of the head */
  size_t upg_cap;
  uint64_t discarded;           /* request body bytes dropped after a 307 */
  size_t client_wpending;       /* bytes queued to the client */
  uint64_t active_ms;           /* uv_now() of the last bytes moved */
  struct proxy_upstream *up;    /* owned while attached, see above */
  struct proxy_dns_query *dnsq; /* owned by the resolver */
  struct proxy_addrs addrs;     /* connect candidates */
  size_t addr_next;
  unsigned connect_port;
  int connect_err;
  char connect_addr[PROXY_ADDR_TEXT]; /* last address tried */
  struct http1_body req_body;         /* request body framing, live */
  unsigned client_reading : 1;
  unsigned client_eof : 1;
  unsigned req_done : 1;
  unsigned resp_started : 1; /* a final response head went to the client */
  unsigned resp_done : 1;
  unsigned keep_alive : 1; /* the client connection continues */
  unsigned is_tunnel : 1;  /* CONNECT */
  unsigned ws_upgrade : 1; /* a WebSocket upgrade request */
  unsigned retried : 1;    /* already retried on a fresh connection */
  unsigned up_bad : 1;     /* the origin connection must not be reused */
  unsigned tunnel_up_eof : 1;
  unsigned tunnel_shutdowns : 2; /* write sides shut down so far */
  unsigned lingering : 1;
};

void proxy__conn_accept(struct proxy_listener *l);
/* proxy__write() to the client, at once unless a pipelined request
 * waits in conn->in (its answer would recurse); bufs is adjusted. */
int proxy__conn_write_bufs(struct proxy_conn *conn, uv_write_t *req,
                           uv_buf_t *bufs, unsigned nbufs, uv_write_cb cb);
/* The only way a conn dies: idempotent; closes the attached upstream. */
void proxy__conn_close(struct proxy_conn *conn, const char *reason);
/* Closes an idle keep-alive connection (drain); returns 1 if it did. */
int proxy__conn_close_if_idle(struct proxy_conn *conn);
/* Starts or stops reading from the client as the phase wants. */
void proxy__conn_sync_read(struct proxy_conn *conn);
void proxy__conn_timer(struct proxy_conn *conn, uint64_t ms);
/* Bytes moved: the activity timeout of FORWARD, RESPOND and TUNNEL
 * restarts from now. */
void proxy__conn_activity(struct proxy_conn *conn);
/* A write to the client ended (status < 0: failed): len bytes less are
 * queued; the answer may be complete. For writes that are not wreqs. */
void proxy__conn_wrote(struct proxy_conn *conn, size_t len, int status);
/* Queues w to the client; takes ownership of w. */
void proxy__conn_write(struct proxy_conn *conn, struct proxy_wreq *w);
void proxy__conn_write_copy(struct proxy_conn *conn, const char *p, size_t len);
/*
 * The answer is complete on our side: when the client has taken every
 * queued byte, the next request is read (keep_alive) or the connection
 * closes gracefully.
 */
void proxy__conn_answered(struct proxy_conn *conn);
/* Called by the connect machinery: the origin is connected (conn->up) or
 * every address failed (status < 0, conn->connect_* say why). */
void proxy__conn_origin_ready(struct proxy_conn *conn, int status);

/* ---- proxy_buf.c ---- */

struct proxy_wreq *proxy__wreq_new(size_t cap);
struct proxy_wreq *proxy__wreq_of(const char *data); /* data of a wreq */
/*
 * Writes bufs[0..nbufs) (under INT_MAX bytes) to s: with direct set,
 * first at once (uv_try_write, which also refuses while writes are
 * queued, so order is kept): what the socket takes then needs no write
 * callback and no change to what the loop polls (libuv 1.44 re-arms a
 * stream's poll after every uv_write). The rest goes with uv_write(req,
 * ..., cb), bufs adjusted in place. Returns the bytes left to cb (0: all
 * written, cb is not called), or a libuv error (maybe partly written).
 */
int proxy__write(uv_stream_t *s, uv_write_t *req, uv_buf_t *bufs,
                 unsigned nbufs, int direct, uv_write_cb cb);
/* proxy__write() of w's bytes with w->req: 0 when all went at once (w
 * freed), else the bytes left (now w->len), or a libuv error (w not
 * freed). */
int proxy__wreq_send(uv_stream_t *s, struct proxy_wreq *w, int direct,
                     uv_write_cb cb);
void proxy__wreq_free(struct proxy_wreq *w);
/* Grows *buf so that it has room past *len; never beyond max bytes.
 * Returns the room, or 0 when full or out of memory. */
size_t proxy__buf_room(char **buf, size_t *cap, size_t len, size_t max);
/* Gives a head buffer back (kept for reuse by this thread when it has the
 * first size); *buf NULL and *cap 0 afterwards. Worker threads only. */
void proxy__buf_free(char **buf, size_t *cap);
uint64_t proxy__ms(unsigned seconds);

/* ---- proxy_route.c ---- */

/* A request head was parsed: answer it locally, or start forwarding or a
 * tunnel. */
void proxy__route(struct proxy_conn *conn);

/*
 * Whether the Host field value v[0..len) names the same host and port as
 * conn->target (hosts normalized, ports defaulting to 80): RFC 9112
 * section 3.2.2 wants a client to send the target's authority there, and
 * a mismatch is refused (STYLE.md point 8). Returns 1 or 0.
 */
int proxy__host_matches(const char *v, size_t len,
                        const struct proxy_target *t);

/* ---- proxy_upgrade.c: the internal 307 ---- */

/* How the 307 ends its head. */
enum proxy_conn_mode {
  PROXY_CONN_PERSIST = 0, /* HTTP/1.1 default: nothing to say */
  PROXY_CONN_KEEP_ALIVE,  /* HTTP/1.0 keep-alive: say so */
  PROXY_CONN_CLOSE        /* the connection ends after the answer */
};

/* Bytes proxy__upgrade_build() needs for u and an Origin of origin_len. */
size_t proxy__upgrade_need(const struct hsts_url *u, size_t origin_len);

/*
 * Builds the 307 head for the upgraded u into buf (cap bytes, at least
 * proxy__upgrade_need()) and points out[0..PROXY_UPGRADE_BUFS) at it and
 * at static text; origin (may be NULL) is echoed in
 * Access-Control-Allow-Origin. Sets *total to the head's length and
 * *loc, *loc_len to the Location (NUL-terminated, in buf). Returns 0, or
 * -1 when buf is too small. Pure.
 */
int proxy__upgrade_build(const struct hsts_url *u, const char *origin,
                         size_t origin_len, enum proxy_conn_mode mode,
                         char *buf, size_t cap,
                         uv_buf_t out[PROXY_UPGRADE_BUFS], size_t *total,
                         const char **loc, size_t *loc_len);

/*
 * The route_upgrade() seam: when conn->target is an HSTS host per the
 * worker's snapshot, answers the internal 307 (no DNS, no origin), logs
 * the hop, discards the request body, and returns 1. Returns 0: forward.
 */
int proxy__upgrade(struct proxy_conn *conn, const struct hsts_url *u);
void proxy__upgrade_client_read(struct proxy_conn *conn, ssize_t nread);
void proxy__upgrade_timeout(struct proxy_conn *conn);

/* ---- proxy_log.c: hop and traffic records ---- */

/* A random salt for this run's request ids (proxy_server.c, at start). */
uint64_t proxy__request_salt(void);
/* Wall clock, Unix milliseconds. */
int64_t proxy__wall_ms(void);
/* A request id unique across workers and, with the run's salt, runs. */
uint64_t proxy__request_id(struct proxy_worker *w);
/* Submits the hop of an internal upgrade to location (per r's winner). */
void proxy__log_upgrade(struct proxy_conn *conn, const struct hsts_result *r,
                        const char *location);
/* Submits the hop of an origin's 3xx with a Location, if resp is one. */
void proxy__log_redirect(struct proxy_conn *conn,
                         const struct http1_response *resp);
/* Submits a traffic count: a plain-HTTP request, or a CONNECT. */
void proxy__log_traffic(struct proxy_conn *conn, int connect);

/* ---- proxy_local.c ---- */

void proxy__local_serve(struct proxy_conn *conn);
/* A short text/plain error answer naming the cause; closes the
 * connection afterwards when force_close or the request cannot be
 * followed by another. */
void proxy__conn_error(struct proxy_conn *conn, int status, int force_close,
                       const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
const char *proxy__reason(int status);

/* ---- proxy_forward.c: header rewriting ---- */

/* Returns 1 when a Via field names hstsproxy as a recipient. */
int proxy__via_has_us(const struct http1_field *fields, size_t n);
/* Returns 1 for a WebSocket upgrade request. */
int proxy__is_ws_upgrade(const struct http1_request *req);
/* Builds the origin-form request head; NULL when out of memory. */
struct proxy_wreq *proxy__request_head(const struct proxy_conn *conn);
/* Builds the head for the client from the origin's response, in a wreq
 * with room more bytes after it (body bytes sent in the same write). */
struct proxy_wreq *proxy__response_head(const struct http1_response *resp,
                                        int client_minor, int keep_alive,
                                        int upgrade, size_t room);

/* ---- proxy_exchange.c: one forwarded request ---- */

void proxy__forward_start(struct proxy_conn *conn);
void proxy__forward_send(struct proxy_conn *conn);
void proxy__forward_client_read(struct proxy_conn *conn, ssize_t nread,
                                char *base);
void proxy__forward_upstream_read(struct proxy_conn *conn, ssize_t nread,
                                  char *base);
void proxy__forward_timeout(struct proxy_conn *conn);
/* Whether the response head is still awaited (reads go to up->in). */
int proxy__forward_in_head(const struct proxy_conn *conn);

/* ---- proxy_upstream.c: origin connections and the pool ---- */

struct proxy_upstream {
  struct proxy_worker *worker;        /* not owned */
  struct proxy_conn *conn;            /* attached client, or NULL */
  struct proxy_upstream *prev, *next; /* worker->idle while pooled */
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_timer_t timer; /* pool idle timeout */
  uv_shutdown_t shutdown_req;
  int closing;
  int pending_closes;
  unsigned connected : 1;
  unsigned reading : 1;
  unsigned pooled : 1;
  unsigned reused : 1; /* taken from the pool for this request */
  unsigned shut_write : 1;
  unsigned write_failed : 1;  /* later writes are dropped */
  char key[PROXY_KEY_MAX];    /* pool key "host:port" */
  char peer[PROXY_ADDR_TEXT]; /* the address connected to */
  char *in;                   /* owned: the response head */
  size_t in_len, in_cap;
  size_t resp_bytes;          /* bytes received for this request */
  struct http1_response resp; /* views into in */
  size_t wpending;            /* bytes queued to the origin */
};

/* The first --map entry of maps[0..n) for host:port (an entry without a
 * port matches any), as `run` and the probes pick it; NULL when none. */
const struct proxy_map *proxy__map_find(const struct proxy_map *maps, size_t n,
                                        const char *host, unsigned port);
/* Connects conn to conn->target (map, DNS, every address in turn); ends
 * in proxy__conn_origin_ready(). */
void proxy__origin_connect(struct proxy_conn *conn);
void proxy__upstream_close(struct proxy_upstream *up, const char *reason);
void proxy__upstream_write(struct proxy_upstream *up, struct proxy_wreq *w);
void proxy__upstream_write_copy(struct proxy_upstream *up, const char *p,
                                size_t len);
void proxy__upstream_sync_read(struct proxy_upstream *up);
/* Shuts the origin's write side down after the queued writes (tunnel
 * half-close); proxy__tunnel_shutdown_done() follows. */
void proxy__upstream_shutdown(struct proxy_upstream *up);
/* Takes an idle connection for key from the pool, attached to conn. */
struct proxy_upstream *proxy__pool_take(struct proxy_conn *conn);
/* Detaches up from its conn and pools it, or closes it past the caps. */
void proxy__pool_put(struct proxy_upstream *up);
void proxy__pool_close_all(struct proxy_worker *w);

/* ---- proxy_tunnel.c: CONNECT and WebSocket ---- */

/* Splices conn->client and conn->up; bytes already buffered on either
 * side (after the heads) are sent first. */
void proxy__tunnel_start(struct proxy_conn *conn);
void proxy__tunnel_client_read(struct proxy_conn *conn, ssize_t nread,
                               char *base);
void proxy__tunnel_upstream_read(struct proxy_conn *conn, ssize_t nread,
                                 char *base);
void proxy__tunnel_shutdown_done(struct proxy_conn *conn);

#endif /* PROXY_INT_H */
