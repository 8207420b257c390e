/*
 * proxy_server.h - the server and its workers: threads, loops, listeners,
 * admission, shared counters (proxy_server.c, proxy_worker.c,
 * proxy_access.c).
 *
 * Threads: the thread calling proxy_run() owns a struct proxy_server and
 * its signal loop; each struct proxy_worker owns one libuv loop, running
 * on its own thread, with its listeners, client connections, idle origin
 * connections and DNS cache. Nothing is shared between workers except the
 * read-only configuration, the atomic counters in struct proxy_stats, the
 * immutable policy snapshots (proxy_hsts.h) and the hop log writer
 * (thread-safe).
 */
#ifndef PROXY_SERVER_H
#define PROXY_SERVER_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "proxy.h"
#include "proxy_hsts.h"
#include "proxy_net.h"

struct proxy_conn;
struct proxy_console;
struct proxy_upstream;
struct proxy_learn;
struct proxy_learn_worker;
struct proxy_tls_ctx;
struct store_writer;
struct proxy_alog;

/* How a probe ended, for hstsproxy_probes_total{result=...}. */
enum proxy_probe_result {
  PROXY_PROBE_LEARNED = 0, /* a header that teaches (or max-age=0) */
  PROXY_PROBE_NO_HEADER,   /* verified, no Strict-Transport-Security */
  PROXY_PROBE_IGNORED,     /* verified, a header that teaches nothing */
  PROXY_PROBE_CERTIFICATE, /* the chain or the name did not verify */
  PROXY_PROBE_UNREACHABLE, /* DNS, connect, TLS, timeout, bad HTTP */
  PROXY_PROBE_RESULTS
};

/* Process-wide counters, updated by every worker (relaxed atomics). */
struct proxy_stats {
  atomic_uint_fast64_t conns_total;  /* client connections accepted */
  atomic_uint_fast64_t conns_active; /* open now (counts against max) */
  atomic_uint_fast64_t requests;     /* request heads parsed */
  atomic_uint_fast64_t errors;       /* error answers and failed exchanges */
  atomic_uint_fast64_t tunnels;      /* CONNECT and WebSocket tunnels */
  atomic_uint_fast64_t upgrades;     /* internal 307 answers */
  /* /metrics (proxy_metrics.c): what the counters above do not split. */
  atomic_uint_fast64_t forwards; /* requests sent on to an origin */
  atomic_uint_fast64_t locals;   /* the proxy's own pages answered */
  atomic_uint_fast64_t probes[PROXY_PROBE_RESULTS]; /* by result */
  /* proxy_splice.c: bulk phases that moved their bytes through pipes,
   * those where splice() was refused (copied instead), and the bytes. */
  atomic_uint_fast64_t spliced;
  atomic_uint_fast64_t splice_refused;
  atomic_uint_fast64_t spliced_bytes;
};

/* What a listener accepts (proxy_intercept.c: the two whole-network
 * kinds). */
enum proxy_listen_kind {
  PROXY_LISTEN_PROXY = 0,     /* --listen: clients configured to use us */
  PROXY_LISTEN_INTERCEPT,     /* --intercept: redirected plain HTTP */
  PROXY_LISTEN_INTERCEPT_TLS, /* --intercept-tls: redirected TLS */
};

struct proxy_listener {
  uv_tcp_t tcp;
  enum proxy_listen_kind kind;
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
  uv_async_t async;            /* commands from the main thread */
  atomic_int command;          /* PROXY_CMD_* */
  uv_timer_t drain_timer;      /* bounds the graceful drain */
  uv_check_t cpu_check;        /* each iteration: the thread's CPU time */
  atomic_uint_fast64_t cpu_ns; /* for the metrics; written by the loop */
  int draining;
  int finished;     /* async, drain timer and cpu_check closed */
  int async_open;   /* guarded by server->lock */
  atomic_int ended; /* the loop has returned */
  struct proxy_listener listeners[PROXY_MAX_LISTENERS];
  size_t nlisteners;
  struct proxy_conn *conns; /* live client connections (each owns itself) */
  size_t nconns;
  struct proxy_upstream *idle; /* the pool (owned by the worker) */
  size_t nidle;
  uint64_t next_id;
  struct proxy_dns dns;
  /* Admission: retries paused listeners while slots are all taken (a
   * slot may free in another worker); open only while needed. */
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
  struct store_writer *writer; /* owned: the hop log */
  struct proxy_alog *alog;     /* owned: --access-log, or NULL */
  struct proxy_tls_ctx *tls;   /* owned: probes' TLS client, or NULL */
  struct proxy_learn *learn;   /* owned: probe triggers (proxy_learn.c) */
  uint64_t request_salt;       /* proxy_log.c: request ids of this run */
  /* Whole networks: each listener's kind (by index, as the workers'
   * listeners), and the SO_MARK of outgoing connections (0: none). */
  enum proxy_listen_kind kinds[PROXY_MAX_LISTENERS];
  unsigned mark;
  struct proxy_worker *workers; /* owned: nworkers entries */
  size_t nworkers;
  uv_loop_t loop; /* the main thread's: signals */
  int loop_open;
  uv_signal_t sigint, sigterm, sighup;
  uv_signal_t sigusr1; /* reopen the log files (logrotate) */
  uv_async_t done;     /* a worker's loop has ended */
  uv_mutex_t lock;     /* guards every worker's async_open */
  int signals;         /* SIGINT/SIGTERM seen */
  /* owned: the preload list's refresh (proxy_refresh.c), or NULL */
  struct proxy_refresh *refresh;
  /* The store watch: the writer thread sends store_changed when another
   * process committed to the store; open while watch_open (s->lock). */
  uv_async_t store_changed;
  int watch_open;
  /* --pid-file: written after listening, removed at exit. */
  int pid_written;
  /* owned: the console's token, live feed and edits (proxy_console.h) */
  struct proxy_console *console;
};

/* ---- proxy_worker.c ---- */

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
/* A conn was freed: its --max-conns slot is given back (a paused
 * listener may accept again) and the worker may finish draining. */
void proxy__worker_conn_gone(struct proxy_worker *w);

/* ---- proxy_server.c ---- */

/* The announce line: one place, filled by the store later. */
void proxy__announce(FILE *f, const char *const *addrs, size_t naddrs,
                     const struct proxy_store_counts *store);

/* ---- proxy_metrics.c ---- */

/* GET /metrics: the Prometheus text exposition of the counters. */
void proxy__metrics_serve(struct proxy_conn *conn);
/* Counts a finished probe under its result (any thread). */
void proxy__metrics_probe(struct proxy_server *s, enum proxy_probe_result r);

/* ---- proxy_pidfile.c ---- */

/* Writes getpid() and a newline to path (created, truncated). Returns 0,
 * or -1 with *e filled (and no file left). */
int proxy__pid_write(const char *path, struct proxy_error *e);
/* Removes the pid file written above. */
void proxy__pid_remove(const char *path);

/* ---- proxy_access.c ---- */

/* Whether the client at sa may use the proxy: cfg->allow, or loopback
 * when it is empty; IPv4-mapped IPv6 compared as IPv4. Returns 1 or 0. */
int proxy__access_allowed(const struct proxy_config *cfg,
                          const struct sockaddr *sa);
/* Parses "ADDR[/N]" strictly (host bits zero) into *out: 0, or -1 with
 * *why. */
int proxy__cidr_parse(const char *arg, struct proxy_cidr *out,
                      const char **why);
/* Whether sa is in one of the n networks (IPv4-mapped as IPv4). */
int proxy__cidr_match(const struct proxy_cidr *list, size_t n,
                      const struct sockaddr *sa);
/* The same rule for any CIDR list (none: loopback only). */
int proxy__cidr_allowed(const struct proxy_cidr *list, size_t n,
                        const struct sockaddr *sa);
/* Logs a refused client (client: its address text), rate-limited. */
void proxy__access_denied(struct proxy_server *s, const char *client);

#endif /* PROXY_SERVER_H */
