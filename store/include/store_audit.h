/*
 * store_audit.h - the evidence behind `hstsproxy audit`, read from the
 * store.
 *
 * The audit judges every host seen in a time window from what the store
 * recorded: the per-host traffic counters (the store keeps no row per
 * plain-HTTP request or CONNECT, but counts them per host and per UTC
 * day: host_traffic holds the totals since the host was first seen,
 * host_traffic_day (schema v4) the same counts per day), the hop log (one
 * row per internal upgrade or upstream redirect, so these are counted
 * exactly in the window), and the TLS probes (table probe, schema v3; a
 * store without it is read as "no host probed"). The counters' grain is
 * a UTC day: a window is widened to the whole days it meets for them.
 * A store without host_traffic_day is read as the v4 migration fills it
 * (each host's totals on the day of its last_seen), which is also the
 * one approximation of traffic recorded before v4. Each call runs one
 * query and hands plain rows to a callback, sorted by host, so the
 * caller can merge them without holding SQL state. Strings in a row are
 * valid during the callback only. Nothing here judges: categories,
 * problems and eligibility are the caller's.
 *
 * Works on a store opened read-only while the proxy writes (WAL).
 */
#ifndef STORE_AUDIT_H
#define STORE_AUDIT_H

#include <stdint.h>

#include "store.h"

#define STORE_AUDIT_MS_PER_DAY 86400000 /* day counters, trend: UTC days */

/* The window: [since_ms, until_ms). Zeroed: everything. */
struct store_audit_window {
  int has_since;
  int64_t since_ms; /* Unix ms, inclusive */
  int has_until;
  int64_t until_ms; /* Unix ms, exclusive */
};

/* One host seen in the window, with its counters. */
struct store_audit_host {
  const char *host; /* normalized name, or an IP literal (unbracketed) */
  /*
   * The counters (has_traffic 0: none): with no window, the totals since
   * first seen (host_traffic); with a window, the sums of the UTC days
   * that meet it (host_traffic_day), exact to the day. first_seen_ms and
   * last_seen_ms are the host's first and last sighting ever, which
   * tells whether a partly covered first or last day of the window can
   * hold traffic from outside it.
   */
  int has_traffic;
  int64_t first_seen_ms;
  int64_t last_seen_ms;
  uint64_t http_requests;      /* plain-HTTP requests, upgraded or not */
  uint64_t traffic_upgrades;   /* of those, answered with our 307 */
  uint64_t redirects_to_https; /* origin redirects to https, counted */
  uint64_t connects;           /* CONNECT requests */
  /* The hop log, in the window. */
  uint64_t upgrades;           /* hsts-upgrade hops */
  uint64_t upstream_redirects; /* upstream-redirect hops */
  uint64_t redirects_up;       /* ... from http:// to an https:// Location */
  uint64_t bootstraps;         /* ... of those, with no policy in force */
  uint64_t sts_over_http;      /* ... from http:// carrying an STS header */
  uint64_t downgrades_first;   /* https -> http as the first hop */
  uint64_t downgrades_later;   /* https -> http later in a chain */
  int64_t hop_first_ms;        /* 0 when no hop */
  int64_t hop_last_ms;
  uint64_t intercepted; /* hops of clients redirected to the proxy (via
                           "intercept", run --intercept) */
  /* The proxy's own probes, in the window. */
  uint64_t probes;
  uint64_t probes_failed; /* ok = 0 */
};

/*
 * Calls fn(h, arg) for each host with evidence in *w (NULL: everything):
 * counted traffic on a UTC day that meets the window (with no window: a
 * host_traffic row), a hop in it, or a probe the proxy made in it (never a
 * probe from the command line: it is no traffic); sorted by host (byte
 * order), until fn returns non-zero (which is returned). Returns STORE_OK
 * or STORE_EDB (store_errmsg() says why).
 */
int store_audit_hosts(struct store *s, const struct store_audit_window *w,
                      int (*fn)(const struct store_audit_host *h, void *arg),
                      void *arg);

/*
 * A host's first redirect as hstspreload.org judges it: of the upstream
 * redirects answered to a plain-HTTP URL of the host in the window, the
 * newest one for the root path ("http://host/") if there is one, else the
 * newest one.
 */
struct store_audit_redirect {
  const char *host;
  int64_t time_ms;
  int status;
  const char *url;
  const char *location;      /* resolved; NULL when absent */
  const char *scheme_change; /* "up", "down", "none" or NULL */
  int same_host;             /* -1: unknown */
};

int store_audit_redirects(struct store *s, const struct store_audit_window *w,
                          int (*fn)(const struct store_audit_redirect *r,
                                    void *arg),
                          void *arg);

/* A host's newest internal upgrade in the window, with its policy. */
struct store_audit_upgrade {
  const char *host;
  int64_t time_ms;
  const char *policy_source; /* "preload", "builtin", "learned", "manual" */
  const char *policy_host;   /* the entry that matched */
  int include_subdomains;    /* -1: unknown */
  int64_t expires;           /* Unix s; 0: none */
};

int store_audit_upgrades(struct store *s, const struct store_audit_window *w,
                         int (*fn)(const struct store_audit_upgrade *u,
                                   void *arg),
                         void *arg);

/* One probe row (table probe). Integers: -1 for SQL NULL. */
struct store_audit_probe {
  int64_t id;
  const char *host;
  int port;
  int64_t time; /* Unix seconds */
  int ok;       /* verified TLS and a response head */
  const char *error;
  const char *reason; /* "certificate", "unreachable", ... or NULL */
  const char *tls_version;
  int status;
  const char *sts_header; /* the first value, as kept; NULL: none */
  int sts_count;
  int valid;
  int64_t max_age;
  int include_subdomains;
  int preload;
  const char *outcome; /* "learned", "deleted", "ignored" */
  int manual;          /* made by `hstsproxy probe`, not by the proxy */
};

/*
 * Calls fn for every probe that ended before the window's end (the
 * probes before its start too: they are the baseline that regressions
 * and the latest state are judged from), by host then id. With no probe
 * table, calls nothing and returns STORE_OK.
 */
int store_audit_probes(struct store *s, const struct store_audit_window *w,
                       int (*fn)(const struct store_audit_probe *p, void *arg),
                       void *arg);

/*
 * One UTC day of the trend, for every day that meets the window (whole
 * days: the first and last one count all of their hops and traffic) and
 * has hops or plain-HTTP requests. clear_text is the day's plain-HTTP
 * requests not upgraded (host_traffic_day, per host and day).
 */
struct store_audit_day {
  int64_t day; /* Unix ms / STORE_AUDIT_MS_PER_DAY */
  uint64_t upgrades;
  uint64_t upstream_redirects;
  uint64_t redirects_up;
  uint64_t clear_text;
};

int store_audit_days(struct store *s, const struct store_audit_window *w,
                     int (*fn)(const struct store_audit_day *d, void *arg),
                     void *arg);

/* What the store can say about its own completeness. */
struct store_audit_meta {
  int has_probe_table;  /* schema v3 probe table present */
  uint64_t writer_runs; /* proxy runs whose writer overlapped the window */
  uint64_t submitted;   /* their records: handed to the writer */
  uint64_t written;     /* committed */
  uint64_t dropped;     /* the queue was full */
  uint64_t failed;      /* given up: the store kept failing */
  int64_t first_hop_ms; /* the oldest hop in the store (0: none) */
  int64_t last_hop_ms;  /* the newest */
};

/* Fills *out for the window. Returns STORE_OK or STORE_EDB. */
int store_audit_meta(struct store *s, const struct store_audit_window *w,
                     struct store_audit_meta *out);

#endif /* STORE_AUDIT_H */
