/*
 * store_log_read.h - reading the hop log (for `hstsproxy log`).
 *
 * Hops are read in the order the writer committed them (id order: oldest
 * first), filtered by time, host (subdomains included), kind and client;
 * or grouped by chain, each chain in the order of its first hop. Each row
 * comes with its columns and, on request, its `hop_json` object: the very
 * text the proxy's --log-json writes. Works on a store opened read-only
 * while the proxy writes (WAL); each call sees the latest commit. With
 * stores attached (store_attach), the hops of all are read as one, in
 * time order (then by store), each naming its store (row->store, and
 * "store" in its JSON); chains are per store; ids are per store.
 */
#ifndef STORE_LOG_READ_H
#define STORE_LOG_READ_H

#include <stdint.h>

#include "store.h"

/* What to read. Zeroed fields mean "no filter". */
struct store_log_filter {
  int has_since;
  int64_t since_ms; /* time_ms >= since_ms */
  int has_until;
  int64_t until_ms;   /* time_ms < until_ms */
  const char *host;   /* normalized: the host and its subdomains */
  const char *kind;   /* "hsts-upgrade" or "upstream-redirect" */
  const char *client; /* exactly this client address */
  uint64_t limit;     /* the newest `limit` matching hops; 0: all */
  int64_t after_id;   /* only hops with a larger id (following) */
};

/* store_log_foreach() flags. */
#define STORE_LOG_JSON   0x1u /* fill row->json */
#define STORE_LOG_CHAINS 0x2u /* grouped by chain; fills chain_hops */

/*
 * One hop. Strings are NULL for SQL NULL and valid only during the
 * callback. Integers use the sentinels noted for NULL.
 */
struct store_log_row {
  int64_t id;
  int64_t time_ms;
  int64_t duration_us;
  const char *request_id;
  const char *chain_id;
  int hop;
  const char *client;
  const char *user_agent;
  const char *method;
  const char *url;
  const char *host;
  const char *http_version;
  int status; /* 0: none */
  const char *reason;
  const char *location;
  const char *kind;
  const char *policy_source;
  const char *policy_host;
  int include_subdomains; /* -1: null */
  int64_t expires;        /* Unix s; 0: null */
  const char *upstream_ip;
  const char *sts_header;
  const char *scheme_change; /* "up", "down", "none" or NULL */
  int same_host;             /* -1: null */
  int bootstrap;
  const char *error;
  const char *via;    /* "proxy", "intercept"; NULL before schema 7 */
  const char *json;   /* with STORE_LOG_JSON: the hop_json object */
  int64_t chain_hops; /* with STORE_LOG_CHAINS: hops of this chain shown */
  const char *store;  /* several stores (store_attach): the hop's store's
                         path (also "store" in json); else NULL */
};

/*
 * Calls fn(row, arg) for each hop matching *f, oldest first (with
 * STORE_LOG_CHAINS: chain by chain, each in hop order), until fn returns
 * non-zero, which is returned. Returns STORE_OK, or STORE_EDB with the
 * message in store_errmsg(s).
 */
int store_log_foreach(struct store *s, const struct store_log_filter *f,
                      unsigned flags,
                      int (*fn)(const struct store_log_row *row, void *arg),
                      void *arg);

/* The largest hop id (0 when the log is empty) into *out. */
int store_log_max_id(struct store *s, int64_t *out);

#endif /* STORE_LOG_READ_H */
