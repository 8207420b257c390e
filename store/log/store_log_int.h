/*
 * store_log_int.h - what the hop log writer's files share (module-private).
 *
 * store_writer.c owns the thread, the ring and the pending buffer; it
 * serializes each record into the wire format below. store_log.c turns a
 * run of records into one transaction (hop rows, per-host counters, the
 * writer's counters) and writes the JSON lines. store_log_chain.c keeps
 * the map of recent Locations that assigns chains, and the URL and UTF-8
 * helpers.
 *
 * Wire format: a record is a fixed head (store__rec_hop,
 * store__rec_traffic or store__rec_probe) followed by its strings' bytes,
 * back to back, with no NUL (a probe has none); its size is rounded up
 * to STORE__REC_ALIGN so that every head in the writer's (malloc'ed,
 * linear) pending buffer is aligned.
 */
#ifndef STORE_LOG_INT_H
#define STORE_LOG_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store_writer.h"
#include "store_probe.h"

#define STORE__REC_ALIGN      8u
#define STORE__REC_HOP        1u
#define STORE__REC_TRAFFIC    2u
#define STORE__REC_PROBE      3u
#define STORE__STR_NULL       UINT32_MAX /* a NULL string's length */
#define STORE__HOP_UNASSIGNED (-1)       /* hop_index before chain assignment */

/* The strings of a hop, in wire order. */
enum store__hop_str {
  STORE__HS_CLIENT = 0,
  STORE__HS_USER_AGENT,
  STORE__HS_METHOD,
  STORE__HS_URL,
  STORE__HS_HTTP_VERSION,
  STORE__HS_REASON,
  STORE__HS_LOCATION,
  STORE__HS_POLICY_HOST,
  STORE__HS_UPSTREAM_IP,
  STORE__HS_STS_HEADER,
  STORE__HS_ERROR,
  STORE__HS_POLICY_LIST,
  STORE__HS_COUNT
};

struct store__rec_head {
  uint32_t size; /* whole record, a multiple of STORE__REC_ALIGN */
  uint32_t type; /* STORE__REC_* */
};

struct store__rec_hop {
  struct store__rec_head head;
  int64_t time_ms;
  int64_t duration_us;
  int64_t expires;
  uint64_t request_id;
  uint64_t chain_id; /* set once by the writer thread */
  int32_t hop_index; /* STORE__HOP_UNASSIGNED until then */
  int32_t status;
  int32_t kind;
  int32_t policy_source;
  int32_t include_subdomains;
  int32_t intercepted;
  uint32_t len[STORE__HS_COUNT]; /* STORE__STR_NULL for NULL */
};

struct store__rec_traffic {
  struct store__rec_head head;
  int64_t time_ms;
  uint32_t kind;
  uint32_t port;
  uint32_t host_len;
  uint32_t pad;
};

/* A probe result (store_writer_probe): the value struct copied whole (it
 * holds no pointers but static problem codes); `done` is set once
 * store_probe_record() has taken it, so that a retried batch does not
 * record it twice. */
struct store__rec_probe {
  struct store__rec_head head;
  uint32_t done;
  uint32_t pad;
  struct store_probe p;
};

/* The longest value kept for string `i` of a hop. */
size_t store__hop_str_max(enum store__hop_str i);

/* The largest record store_writer_hop() can produce. */
size_t store__rec_max(void);

/* Outcome of store__log_write(). */
enum store__write {
  STORE__WRITE_OK = 0,
  STORE__WRITE_RETRY, /* transient (locked, full, read-only, I/O) */
  STORE__WRITE_GIVEUP /* retrying cannot help: the records are lost */
};

struct store__log;

/*
 * CONSTRUCTOR. Opens (creating and migrating) the store at db_path with
 * the given busy timeout, prepares the statements. `json` (may be NULL)
 * receives the JSON lines; not owned. On failure returns an error with a
 * message in err.
 */
int store__log_open(const char *db_path, unsigned busy_ms, FILE *json,
                    struct store__log **out, char *err, size_t errsz);

/* DESTRUCTOR. NULL accepted; sets *lg to NULL. */
void store__log_close(struct store__log **lg);

/* store_data_version() on the writer's connection (its thread only). */
int store__log_data_version(struct store__log *lg, int64_t *out);
/* Each committed hop's JSON text also goes to cb (NULL: none), for the
 * batches wanted() asks for (NULL: all). */
void store__log_on_hop(struct store__log *lg, store_writer_hop_cb cb,
                       store_writer_hop_wanted_cb wanted, void *arg);

/*
 * Writes the `n` records at `recs` (linear, aligned) in one transaction,
 * with the writer's counters `st`. Assigns chains to hops that have none
 * first (once: a retry keeps them). Sets *bytes to the records' total
 * size. n may be 0 (only the counters). On failure, the message is in
 * store__log_errmsg(). After a commit, appends the hops' JSON lines.
 */
enum store__write store__log_write(struct store__log *lg, unsigned char *recs,
                                   size_t n, size_t *bytes,
                                   const struct store_writer_stats *st);

/* "<path>: cannot write hop log: <cause>" for the last failure. */
const char *store__log_errmsg(const struct store__log *lg);

/* The writer's own connection (for the retention steps). */
struct store *store__log_store(struct store__log *lg);

/* Points the JSON lines at json from the next batch on (a reopen). */
void store__log_set_json(struct store__log *lg, FILE *json);

/* The JSON destination's last write error (errno), or 0; then cleared. */
int store__log_json_error(struct store__log *lg);

/* The writer thread's CPU time (ns) as of its last group of rows. */
uint64_t store__log_cpu_ns(const struct store__log *lg);

/* --- store_log_chain.c --- */

struct store__chains;
struct hsts_url;

/* CONSTRUCTOR / DESTRUCTOR of the map of recent Locations. */
struct store__chains *store__chains_new(size_t capacity);
void store__chains_free(struct store__chains **c);

/*
 * Assigns h->chain_id and h->hop_index: continues the newest chain whose
 * remembered Location (for the same client, within STORE_CHAIN_WINDOW_MS)
 * is this hop's URL, consuming it, or starts a chain named by
 * h->request_id; then remembers this hop's resolved Location. client,
 * url and resolved (the resolved Location) may be NULL when absent.
 * url_parsed and resolved_parsed are url and resolved as hsts_url_parse()
 * split them (without the fragment), when the caller did; NULL: split
 * here.
 */
void store__chains_assign(struct store__chains *c, struct store__rec_hop *h,
                          const char *client, const char *url,
                          const struct hsts_url *url_parsed,
                          const char *resolved,
                          const struct hsts_url *resolved_parsed);

/*
 * Writes the comparison form of the absolute URL `url` into out: scheme
 * and host lowercased, default port and fragment dropped, "/" for an
 * empty path. Copies it unchanged when it does not parse. Returns the
 * length, or 0 when it does not fit. store__url_key_of() does the same
 * for a URL already split by hsts_url_parse().
 */
size_t store__url_key(const char *url, char *out, size_t outsz);
size_t store__url_key_of(const struct hsts_url *u, char *out, size_t outsz);

/*
 * Copies `len` bytes of `in` to out as valid UTF-8 (each invalid sequence
 * as U+FFFD). out needs 3 * len + 1 bytes; NUL-terminated. Returns the
 * length written.
 */
size_t store__utf8_clean(const char *in, size_t len, char *out);

#endif /* STORE_LOG_INT_H */
