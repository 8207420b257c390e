/*
 * store_writer.h - the hop log writer: redirect hops and traffic counters.
 *
 * The proxy's event loops describe each internal 307 upgrade and each
 * upstream redirect (a "hop") and each plain-HTTP request or CONNECT
 * ("traffic"), and each TLS probe result (store_probe.h) with a value
 * struct, and hand it to the writer. Submitting
 * never touches the disk: the record is copied into a preallocated,
 * bounded byte ring under a mutex held only for that copy (no allocation
 * per record); when the ring is full the record is dropped and counted.
 * One writer thread, with its own SQLite connection, commits the records
 * in batches (every batch_ms or batch_max records, one transaction each),
 * assigns chains (a hop whose client and URL match a recent hop's
 * resolved Location continues that chain), derives scheme_change,
 * same_host and bootstrap, adds per-host counters, and then appends the
 * batch's hops as JSON lines (the `hop_json` view, the very shape of
 * `hstsproxy log --json`) to the --log-json destination.
 *
 * A failed write (disk full, read-only, locked beyond the busy timeout) is
 * reported once on the error stream with its cause; the writer keeps what
 * it could not write (at most queue_bytes more) and retries every
 * retry_ms, catching up when the store is writable again. Records it has
 * to give up (the store still failing at close) are counted as failed.
 * Counters are also kept in the store (table writer_stats) for `audit`.
 */
#ifndef STORE_WRITER_H
#define STORE_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hsts.h"
#include "store.h"

#define STORE_WRITER_QUEUE_DEFAULT (4u << 20) /* bytes of the ring */
#define STORE_WRITER_QUEUE_MIN     (64u << 10)
#define STORE_WRITER_BATCH_MAX     8192u /* records per transaction */
#define STORE_WRITER_BATCH_MS      100u  /* longest wait before a commit */
#define STORE_WRITER_RETRY_MS      1000u /* after a failed write */
#define STORE_CHAIN_WINDOW_MS      (10 * 60 * 1000) /* chains continue */
#define STORE_CHAIN_MAP_MAX        4096u            /* Locations remembered */

/* Longest string kept per field (bytes; longer values are truncated). */
#define STORE_HOP_URL_MAX   8192u /* url, location */
#define STORE_HOP_TEXT_MAX  1024u /* user_agent, sts_header, error */
#define STORE_HOP_SHORT_MAX 256u  /* the other strings */

enum store_hop_kind {
  STORE_HOP_UPGRADE = 1, /* "hsts-upgrade": our internal 307 */
  STORE_HOP_REDIRECT     /* "upstream-redirect": a 3xx from the origin */
};

/* "hsts-upgrade", "upstream-redirect"; NULL for anything else. */
const char *store_hop_kind_name(enum store_hop_kind kind);

/*
 * One hop, filled by the caller. Strings may be NULL (stored as null) and
 * are copied by store_writer_hop(): the caller keeps ownership. Bytes that
 * are not UTF-8 are stored as U+FFFD.
 */
struct store_hop {
  int64_t time_ms;     /* Unix ms: when the request head was complete */
  int64_t duration_us; /* request head to response head (about 0 ours) */
  uint64_t request_id; /* unique in the store's life, across restarts */
  const char *client;  /* client IP as text, e.g. "127.0.0.1", "::1" */
  const char *user_agent;
  const char *method;
  const char *url;          /* absolute request URL */
  const char *http_version; /* "HTTP/1.1" */
  int status;               /* 307 for ours; 0 when no response */
  const char *reason;       /* "Internal Redirect" for ours */
  const char *location;     /* as sent: resolved against url by the writer */
  enum store_hop_kind kind;
  /* STORE_HOP_UPGRADE only (ignored otherwise): the matched entry. */
  enum hsts_source policy_source;
  const char *policy_host;
  int include_subdomains;
  int64_t expires;         /* Unix s; 0: none (preload, builtin) */
  const char *policy_list; /* a static entry's list: "chromium-2026-06-01" */
  /* STORE_HOP_REDIRECT only (ignored otherwise). */
  const char *upstream_ip;
  const char *sts_header; /* the raw Strict-Transport-Security, or NULL */
  const char *error;      /* what failed, or NULL */
  /* How the client reached the proxy: 1 redirected by the network
   * (--intercept, via "intercept"), 0 configured to use it ("proxy"). */
  int intercepted;
};

enum store_traffic_kind {
  STORE_TRAFFIC_HTTP = 1, /* a plain-HTTP request, forwarded or upgraded */
  STORE_TRAFFIC_CONNECT   /* a CONNECT (tunnel) request, with its port */
};

/*
 * One request for the per-host counters. The writer counts upgrades,
 * upstream redirects and redirects to https from the hops, and an
 * internal upgrade's hop also counts as its plain-HTTP request: submit one
 * STORE_TRAFFIC_HTTP per plain-HTTP request that is not upgraded (one
 * ring record per request on the proxy's hottest path, not two).
 */
struct store_traffic {
  int64_t time_ms;
  const char *host; /* normalized name or IP literal (no brackets); copied */
  enum store_traffic_kind kind;
  unsigned port; /* CONNECT: the port asked for; else ignored */
};

/* A listener of committed hops (store_writer_config.on_hop): called on
 * the writer thread, after each commit, once per hop with its `hop_json`
 * text (NUL-terminated, valid during the call). It must not block. */
typedef void (*store_writer_hop_cb)(const char *json, size_t len, void *arg);
/* Whether the listener wants the batch about to be handed out (the
 * writer builds the hops' JSON only then, or for --log-json); called on
 * the writer thread once per batch. It must not block. */
typedef int (*store_writer_hop_wanted_cb)(void *arg);

struct store_writer_config {
  const char *db_path;   /* the store (opened, created and migrated) */
  const char *json_path; /* NULL: none; "-": stdout; else appended to */
  size_t queue_bytes;    /* 0: STORE_WRITER_QUEUE_DEFAULT; >= _MIN */
  unsigned batch_max;    /* 0: STORE_WRITER_BATCH_MAX */
  unsigned batch_ms;     /* 0: STORE_WRITER_BATCH_MS */
  unsigned busy_ms;      /* 0: STORE_BUSY_TIMEOUT_MS */
  unsigned retry_ms;     /* 0: STORE_WRITER_RETRY_MS */
  FILE *errors;          /* NULL: stderr; where write failures are reported */
  /* Watching the store for other processes' commits: every watch_ms
   * (0: never) the writer thread reads PRAGMA data_version on its own
   * connection (its own commits do not change it) and calls
   * on_change(change_arg) on its thread when another connection has
   * committed since the last look. on_change must not block. */
  unsigned watch_ms;
  void (*on_change)(void *arg);
  void *change_arg;
  /* --retain: hops, probes and per-day rows older than this (ms) are
   * deleted by the writer between its batches, one small step at a time
   * (store_retain.h); 0 keeps everything. */
  int64_t retain_ms;
  store_writer_hop_cb on_hop; /* NULL: none; the console's live feed */
  store_writer_hop_wanted_cb on_hop_wanted; /* NULL: always wanted */
  void *on_hop_arg;
};

struct store_writer_stats {
  uint64_t submitted; /* calls to store_writer_hop()/_traffic() */
  uint64_t written;   /* records committed */
  uint64_t dropped;   /* refused with STORE_EFULL */
  uint64_t failed;    /* accepted, then given up (store failing) */
  uint64_t queued;    /* accepted, not yet committed */
  int failing;        /* 1 while writes fail (retrying) */
  /* The same five for hop records alone (the counts above also hold the
   * per-host traffic counts and the probe results). */
  uint64_t hops_submitted, hops_written, hops_dropped, hops_failed;
  uint64_t hops_queued;
  uint64_t pruned; /* rows deleted by --retain (hops, probes, days) */
  /* The store as the writer last measured it (every minute): bytes of
   * the file and its -wal, the oldest hop (Unix ms; 0: none). */
  int64_t store_bytes;
  int64_t oldest_hop_ms;
  uint64_t cpu_ns; /* the writer thread's CPU time, as of its last batch */
};

struct store_writer;
struct store_probe; /* store_probe.h */

/*
 * CONSTRUCTOR. Opens its own connection to cfg->db_path (creating and
 * migrating it), opens cfg->json_path for appending, allocates the ring
 * and starts the writer thread. Returns STORE_OK with *out set, or an
 * error (*out NULL) with a one-line message naming the file and the
 * cause in err (errsz bytes). Call from any thread, not a loop thread.
 */
int store_writer_open(const struct store_writer_config *cfg,
                      struct store_writer **out, char *err, size_t errsz);

/*
 * DESTRUCTOR. Commits everything queued (retrying a failing store a few
 * times, then counting the rest as failed), writes its JSON lines, joins
 * the thread, closes and frees; sets *w to NULL. NULL and *w NULL are
 * accepted. No submit may run concurrently or afterwards.
 */
void store_writer_close(struct store_writer **w);

/* The same, filling *out (may be NULL) with the final counters: what the
 * writer committed, dropped and gave up over its whole life. */
void store_writer_close_stats(struct store_writer **w,
                              struct store_writer_stats *out);

/*
 * Queues a copy of *h (or *t). Safe from any thread; never blocks on I/O
 * (only on the ring's mutex, held for a memcpy). Returns STORE_OK, or
 * STORE_EFULL when the ring is full (the record is dropped and counted),
 * or STORE_EINVAL for an unknown kind.
 */
int store_writer_hop(struct store_writer *w, const struct store_hop *h);
int store_writer_traffic(struct store_writer *w, const struct store_traffic *t);

/*
 * Queues a copy of the probe result *p (its first part, as the prober
 * fills it), like store_writer_hop(). The writer thread applies it with
 * store_probe_record() on its own connection just before the batch's
 * transaction (a probe is its own transaction there), so what it teaches
 * reaches the store within a batch period. Same returns as above.
 */
int store_writer_probe(struct store_writer *w, const struct store_probe *p);

/*
 * Asks the writer thread to reopen cfg->json_path by its name before its
 * next batch (SIGUSR1, SIGHUP: after logrotate moved it, or it was
 * removed, it is created again). Lines already written stay where they
 * went; none is lost. A failure to reopen is said on the error stream and
 * the old file is kept. NULL w accepted. Safe from any thread.
 */
void store_writer_reopen(struct store_writer *w);

/* A consistent snapshot of the counters. Safe from any thread. */
void store_writer_stats(struct store_writer *w, struct store_writer_stats *out);

#endif /* STORE_WRITER_H */
