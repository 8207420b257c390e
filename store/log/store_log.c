/*
 * store_log.c - one batch of the hop log, written in one transaction.
 *
 * Used by the writer thread only (store_writer.c). For each hop it cleans
 * the strings (valid UTF-8, so that the hop_json view always yields valid
 * JSON), resolves the Location against the URL (hsts_url_resolve; a
 * Location that cannot be resolved is stored as sent), assigns the chain
 * once (store_log_chain.c), derives scheme_change, same_host and
 * bootstrap, and inserts the rows, HOP_GROUP per statement. Per-host
 * counters of the whole batch (from hops and traffic records) are summed in
 * memory, sorted by host and UTC day of the record's time, and upserted
 * once per (host, day) into host_traffic_day and once per host into
 * host_traffic (schema v4: the audit's windows and trend read the days);
 * then the writer's counters are updated in the same transaction. After
 * the commit the batch's hops are read back from hop_json and appended to
 * the JSON destination: the same text that `hstsproxy log --json` prints.
 * Probe results (store_writer_probe) are applied first, each in its own
 * transaction (store_probe_record), and marked done so that a retried
 * batch does not record them twice.
 *
 * Before each group of rows the thread's CPU time is read (the metrics
 * show it): the read is also where the kernel can end a used-up time
 * slice, so a batch of thousands of rows, with no system call until its
 * commit, yields the CPU on time to the event loops instead of at the
 * next timer tick (proxy_worker.c says more; docs/BENCHMARKS.md measures
 * it).
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "hsts_host.h"
#include "hsts_url.h"
#include "store_audit.h"
#include "store_internal.h"
#include "store_log_int.h"

#define HEX_ID_MAX    17 /* 16 hex digits and the NUL */
#define UTF8_GROWTH   3  /* an invalid byte becomes 3 bytes (U+FFFD) */
#define RESOLVED_MAX  (2 * STORE_HOP_URL_MAX + 1)
#define HOST_TEXT_MAX (STORE_HOP_SHORT_MAX + 1)
#define PORT_MAX      65535u
#define STATUS_NONE   0
#define MS_PER_DAY    STORE_AUDIT_MS_PER_DAY /* host_traffic_day.day */
#define HOP_COLS      27                     /* parameters of one hop row */
#define HOP_GROUP     32                     /* rows of the multi-row INSERT */
#define PARAM_TEXT    8                      /* ", ?NNNN" */
#define INSERT_SQL_MAX \
  (sizeof(sql_insert_hop) + HOP_GROUP * (HOP_COLS * PARAM_TEXT + 4))

/*
 * The writer's connection. Its page cache (negative: KiB) is above
 * SQLite's 2 MB default: the hop log's indexes take inserts all over once
 * they outgrow it, and each miss was a pread (docs/BENCHMARKS.md, "The
 * hop-log writer"). It does not evaluate CHECK constraints: SQLite builds
 * each `x IN (...)` list of the hop table's as a temporary table for every
 * row, which was more than half of the writer's instructions. Every value
 * this connection writes into a checked column comes from C: an enum
 * through a fixed table of names (store_hop_kind_name, hsts_source_name,
 * change_names), 0 or 1, or a probe's learned policy, which
 * store_policy_learn() writes only with a positive max-age. Every other
 * connection still checks.
 */
static const char conn_pragmas[] = "PRAGMA cache_size = -8192;"
                                   "PRAGMA ignore_check_constraints = ON";

enum { CHANGE_NULL = -1, CHANGE_NONE, CHANGE_UP, CHANGE_DOWN };

enum { DERIVED_NONE, DERIVED_URL, DERIVED_BOTH }; /* what derive() parsed */

static const char *const change_names[] = { "none", "up", "down" };

/* Hops are inserted HOP_GROUP rows per statement (the rest of a batch
 * one by one), so that a statement's fixed cost is paid once per group;
 * insert_sql() appends one "(?..)" of HOP_COLS parameters per row. */
static const char sql_insert_hop[] =
    "INSERT INTO hop (time_ms, duration_us, request_id, chain_id, hop,"
    " client, user_agent, method, url, host, http_version, status, reason,"
    " location, kind, policy_source, policy_host, include_subdomains,"
    " expires, upstream_ip, sts_header, scheme_change, same_host, bootstrap,"
    " error, policy_list, via) VALUES ";

static const char sql_upsert_host[] =
    "INSERT INTO host_traffic (host, first_seen, last_seen, http_requests,"
    " upgrades, upstream_redirects, redirects_to_https, connects)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (host) DO UPDATE SET"
    " first_seen = min(first_seen, excluded.first_seen),"
    " last_seen = max(last_seen, excluded.last_seen),"
    " http_requests = http_requests + excluded.http_requests,"
    " upgrades = upgrades + excluded.upgrades,"
    " upstream_redirects = upstream_redirects + excluded.upstream_redirects,"
    " redirects_to_https = redirects_to_https + excluded.redirects_to_https,"
    " connects = connects + excluded.connects";

static const char sql_upsert_day[] =
    "INSERT INTO host_traffic_day (host, day, http_requests, upgrades,"
    " upstream_redirects, redirects_to_https, connects)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (host, day) DO UPDATE SET"
    " http_requests = http_requests + excluded.http_requests,"
    " upgrades = upgrades + excluded.upgrades,"
    " upstream_redirects = upstream_redirects + excluded.upstream_redirects,"
    " redirects_to_https = redirects_to_https + excluded.redirects_to_https,"
    " connects = connects + excluded.connects";

static const char sql_upsert_port[] =
    "INSERT INTO host_connect_port (host, port, count) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (host, port) DO UPDATE SET count = count + excluded.count";

static const char sql_insert_run[] =
    "INSERT INTO writer_stats (pid, started, updated, submitted, written,"
    " dropped, failed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

static const char sql_update_run[] =
    "UPDATE writer_stats SET updated = ?3, submitted = ?4, written = ?5,"
    " dropped = ?6, failed = ?7 WHERE id = ?1"; /* ?2: started, unused */

static const char sql_select_json[] =
    "SELECT json FROM hop_json WHERE id BETWEEN ?1 AND ?2 ORDER BY id";

/* One host's share of a batch's counters. */
struct delta {
  char host[HOST_TEXT_MAX];
  int64_t time_ms; /* the first record's */
  int64_t last_ms; /* the last record's */
  int64_t day;     /* UTC day of time_ms (as SQLite divides: truncated) */
  unsigned port;   /* CONNECT: the port; else 0 */
  uint32_t http, upgrades, redirects, to_https, connects;
};

/* A hop decoded from its record, with what the writer derives; its
 * strings stay valid until its row is inserted (a statement binds them). */
struct hop_view {
  struct store__rec_hop h;
  const char *s[STORE__HS_COUNT]; /* cleaned, in the arena; or NULL */
  const char *location;           /* resolved, or as sent, or NULL */
  char host[HOST_TEXT_MAX];       /* url's host; "" when none */
  int scheme_change;              /* CHANGE_* */
  int same_host;                  /* -1: unknown */
  int bootstrap;
  char rid[HEX_ID_MAX], cid[HEX_ID_MAX]; /* request_id, chain_id as text */
  char resolved[RESOLVED_MAX];
};

enum stmt {
  ST_HOP,  /* one row */
  ST_HOPS, /* HOP_GROUP rows */
  ST_HOST,
  ST_DAY,
  ST_PORT,
  ST_RUN_NEW,
  ST_RUN,
  ST_JSON,
  ST_COUNT
};

struct store__log {
  struct store *s;            /* owned: the writer's own connection */
  FILE *json;                 /* not owned; NULL: none */
  store_writer_hop_cb on_hop; /* the console's feed, or NULL */
  store_writer_hop_wanted_cb on_hop_wanted; /* NULL: every batch */
  void *on_hop_arg;
  int json_failed;              /* the last JSON write failed */
  int json_errno;               /* to report, then 0 */
  struct store__chains *chains; /* owned */
  sqlite3_stmt *st[ST_COUNT];   /* owned; see enum stmt */
  int64_t run_id;               /* writer_stats row; 0 until committed */
  int64_t started;              /* Unix ms */
  char *arena;                  /* owned: cleaned strings of a group */
  size_t arena_cap;
  struct hop_view *views; /* owned: HOP_GROUP, one group's hops */
  struct delta *deltas;   /* owned; at most one per record of the batch */
  struct delta **order;   /* owned: deltas sorted (delta_cmp) */
  size_t deltas_cap;
  uint64_t cpu_ns; /* the thread's CPU time when last read */
  char errmsg[STORE_ERRMSG_MAX];
};

/* NULL: insert_sql() makes it. */
static const char *const stmt_sql[ST_COUNT] = { NULL,
                                                NULL,
                                                sql_upsert_host,
                                                sql_upsert_day,
                                                sql_upsert_port,
                                                sql_insert_run,
                                                sql_update_run,
                                                sql_select_json };

/* sql_insert_hop with rows rows of parameters ?1 .. ?(rows * HOP_COLS). */
static void insert_sql(char *out, unsigned rows)
{
  size_t n = sizeof(sql_insert_hop) - 1;
  unsigned r, c;

  memcpy(out, sql_insert_hop, n);
  for (r = 0; r < rows; r++)
    for (c = 1; c <= HOP_COLS; c++)
      n += (size_t)snprintf(out + n, INSERT_SQL_MAX - n, "%s?%u%s",
                            c == 1 ? (r == 0 ? "(" : ", (") : ", ",
                            r * HOP_COLS + c, c == HOP_COLS ? ")" : "");
}

/* The bytes of arena a hop record of size bytes may need. */
static size_t arena_need(size_t size)
{
  return UTF8_GROWTH * size + STORE__HS_COUNT;
}

static int64_t wall_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int store__log_open(const char *db_path, unsigned busy_ms, FILE *json,
                    struct store__log **out, char *err, size_t errsz)
{
  struct store__log *lg = calloc(1, sizeof(*lg));
  char sql[INSERT_SQL_MAX];
  int rc, i;

  *out = NULL;
  if (lg == NULL)
    goto nomem;
  lg->json = json;
  lg->started = wall_ms();
  lg->arena_cap = HOP_GROUP * arena_need(store__rec_max());
  lg->arena = malloc(lg->arena_cap);
  lg->views = malloc(HOP_GROUP * sizeof(*lg->views));
  lg->chains = store__chains_new(STORE_CHAIN_MAP_MAX);
  if (lg->arena == NULL || lg->views == NULL || lg->chains == NULL)
    goto nomem;
  rc = store_open(db_path, 0, &lg->s);
  if (rc != STORE_OK)
    goto fail;
  sqlite3_busy_timeout(lg->s->db,
                       busy_ms != 0 ? (int)busy_ms : STORE_BUSY_TIMEOUT_MS);
  rc = store__exec(lg->s, conn_pragmas);
  if (rc != STORE_OK)
    goto fail;
  for (i = 0; i < ST_COUNT; i++) {
    if (stmt_sql[i] == NULL)
      insert_sql(sql, i == ST_HOP ? 1 : HOP_GROUP);
    rc = store__prepare(lg->s, stmt_sql[i] != NULL ? stmt_sql[i] : sql,
                        &lg->st[i]);
    if (rc != STORE_OK)
      goto fail;
  }
  *out = lg;
  return STORE_OK;
fail:
  snprintf(err, errsz, "%s", store_errmsg(lg->s));
  store__log_close(&lg);
  return rc;
nomem:
  snprintf(err, errsz, "%s: log writer: out of memory", db_path);
  store__log_close(&lg);
  return STORE_ENOMEM;
}

int store__log_data_version(struct store__log *lg, int64_t *out)
{
  return store_data_version(lg->s, out);
}

void store__log_close(struct store__log **lgp)
{
  struct store__log *lg;
  int i;

  if (lgp == NULL || *lgp == NULL)
    return;
  lg = *lgp;
  for (i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(lg->st[i]);
  store_close(&lg->s);
  store__chains_free(&lg->chains);
  free(lg->arena);
  free(lg->views);
  free(lg->deltas);
  free(lg->order);
  free(lg);
  *lgp = NULL;
}

const char *store__log_errmsg(const struct store__log *lg)
{
  return lg->errmsg;
}

struct store *store__log_store(struct store__log *lg)
{
  return lg->s;
}

void store__log_set_json(struct store__log *lg, FILE *json)
{
  lg->json = json;
  lg->json_failed = 0;
}

int store__log_json_error(struct store__log *lg)
{
  int e = lg->json_errno;

  lg->json_errno = 0;
  return e;
}

/* --- decoding and deriving --- */

static int scheme_is(const struct hsts_url *u, const char *name)
{
  return u->scheme_len == strlen(name) &&
         strncasecmp(u->scheme, name, u->scheme_len) == 0;
}

/* The normalized host of u into out (HOST_TEXT_MAX); 0 when none. */
static int url_host(const struct hsts_url *u, char *out)
{
  enum hsts_host_kind kind;
  size_t i;

  if (hsts_host_normalize(u->host, u->host_len, out, &kind) == HSTS_OK)
    return 1;
  if (u->host_len == 0 || u->host_len >= HOST_TEXT_MAX)
    return 0;
  for (i = 0; i < u->host_len; i++) {
    char c = u->host[i];

    out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
  }
  out[u->host_len] = '\0';
  return 1;
}

/*
 * scheme_change, same_host, bootstrap from url and resolved location.
 * Returns what it parsed (the chain keys reuse it): DERIVED_NONE,
 * DERIVED_URL (into *a) or DERIVED_BOTH (and the location into *b).
 */
static int derive(struct hop_view *v, int resolved, struct hsts_url *a,
                  struct hsts_url *b)
{
  char bhost[HOST_TEXT_MAX];
  const char *url = v->s[STORE__HS_URL];

  v->scheme_change = CHANGE_NULL;
  v->same_host = -1;
  v->bootstrap = 0;
  if (url == NULL || hsts_url_parse(url, strlen(url), a) != HSTS_OK)
    return DERIVED_NONE;
  if (!url_host(a, v->host))
    v->host[0] = '\0';
  if (!resolved ||
      hsts_url_parse(v->location, strcspn(v->location, "#"), b) != HSTS_OK)
    return DERIVED_URL;
  if (scheme_is(a, "http") && scheme_is(b, "https"))
    v->scheme_change = CHANGE_UP;
  else if (scheme_is(a, "https") && scheme_is(b, "http"))
    v->scheme_change = CHANGE_DOWN;
  else
    v->scheme_change = CHANGE_NONE;
  v->same_host =
      url_host(b, bhost) && v->host[0] != '\0' && strcmp(bhost, v->host) == 0;
  v->bootstrap = v->h.kind == STORE_HOP_REDIRECT &&
                 v->scheme_change == CHANGE_UP && v->same_host == 1;
  return DERIVED_BOTH;
}

/* Decodes the hop at rec into v, its strings cleaned into arena
 * (arena_need() of the record's size); returns the bytes of arena used. */
static size_t decode_hop(struct store__log *lg, unsigned char *rec,
                         struct hop_view *v, char *arena)
{
  const char *p = (const char *)rec + sizeof(v->h);
  const char *loc, *url;
  struct hsts_url u, l;
  size_t used = 0;
  int i, parsed, resolved = 0;

  memcpy(&v->h, rec, sizeof(v->h));
  for (i = 0; i < STORE__HS_COUNT; i++) {
    v->s[i] = NULL;
    if (v->h.len[i] == STORE__STR_NULL)
      continue;
    v->s[i] = arena + used;
    used += store__utf8_clean(p, v->h.len[i], arena + used) + 1;
    p += v->h.len[i];
  }
  loc = v->s[STORE__HS_LOCATION];
  url = v->s[STORE__HS_URL];
  v->location = loc;
  v->host[0] = '\0';
  if (loc != NULL && url != NULL &&
      hsts_url_resolve(url, strlen(url), loc, strlen(loc), v->resolved,
                       sizeof(v->resolved)) == HSTS_OK) {
    v->location = v->resolved;
    resolved = 1;
  }
  parsed = derive(v, resolved, &u, &l);
  if (v->h.hop_index == STORE__HOP_UNASSIGNED) {
    store__chains_assign(lg->chains, &v->h, v->s[STORE__HS_CLIENT], url,
                         parsed >= DERIVED_URL ? &u : NULL,
                         resolved ? v->location : NULL,
                         parsed == DERIVED_BOTH ? &l : NULL);
    memcpy(rec, &v->h, sizeof(v->h)); /* kept for a retry */
  }
  return used;
}

/* --- binding --- */

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
  if (s == NULL)
    sqlite3_bind_null(st, i);
  else
    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static void bind_bool(sqlite3_stmt *st, int i, int v)
{
  if (v < 0)
    sqlite3_bind_null(st, i);
  else
    sqlite3_bind_int(st, i, v != 0);
}

static void bind_upgrade(sqlite3_stmt *st, int b, const struct hop_view *v)
{
  if (v->h.kind != STORE_HOP_UPGRADE)
    return; /* b + 16 to b + 19 and b + 26 stay NULL */
  bind_text(st, b + 16, hsts_source_name((enum hsts_source)v->h.policy_source));
  bind_text(st, b + 17, v->s[STORE__HS_POLICY_HOST]);
  bind_text(st, b + 26, v->s[STORE__HS_POLICY_LIST]);
  sqlite3_bind_int(st, b + 18, v->h.include_subdomains != 0);
  if (v->h.expires != 0)
    sqlite3_bind_int64(st, b + 19, v->h.expires);
}

/* id as 16 lowercase hex digits and a NUL (HEX_ID_MAX bytes): what
 * "%016" PRIx64 prints, without printf's cost on every row. */
static void hex_id(uint64_t id, char *out)
{
  static const char digits[] = "0123456789abcdef";
  int i;

  for (i = HEX_ID_MAX - 2; i >= 0; i--, id >>= 4)
    out[i] = digits[id & 0xf];
  out[HEX_ID_MAX - 1] = '\0';
}

/* Parameters b + 1 .. b + HOP_COLS: the hop row of v (the caller
 * cleared the statement's bindings: what is not bound is NULL). */
static void bind_hop(sqlite3_stmt *st, int b, struct hop_view *v)
{
  const char *const *s = v->s;
  int redirect = v->h.kind == STORE_HOP_REDIRECT;

  hex_id(v->h.request_id, v->rid);
  hex_id(v->h.chain_id, v->cid);
  sqlite3_bind_int64(st, b + 1, v->h.time_ms);
  sqlite3_bind_int64(st, b + 2, v->h.duration_us);
  bind_text(st, b + 3, v->rid);
  bind_text(st, b + 4, v->cid);
  sqlite3_bind_int(st, b + 5, v->h.hop_index);
  bind_text(st, b + 6, s[STORE__HS_CLIENT]);
  bind_text(st, b + 7, s[STORE__HS_USER_AGENT]);
  bind_text(st, b + 8, s[STORE__HS_METHOD]);
  bind_text(st, b + 9, s[STORE__HS_URL]);
  bind_text(st, b + 10, v->host[0] != '\0' ? v->host : NULL);
  bind_text(st, b + 11, s[STORE__HS_HTTP_VERSION]);
  if (v->h.status != STATUS_NONE)
    sqlite3_bind_int(st, b + 12, v->h.status);
  bind_text(st, b + 13, s[STORE__HS_REASON]);
  bind_text(st, b + 14, v->location);
  bind_text(st, b + 15, store_hop_kind_name((enum store_hop_kind)v->h.kind));
  bind_upgrade(st, b, v);
  bind_text(st, b + 20, redirect ? s[STORE__HS_UPSTREAM_IP] : NULL);
  bind_text(st, b + 21, redirect ? s[STORE__HS_STS_HEADER] : NULL);
  bind_text(st, b + 22,
            v->scheme_change == CHANGE_NULL ? NULL
                                            : change_names[v->scheme_change]);
  bind_bool(st, b + 23, v->same_host);
  sqlite3_bind_int(st, b + 24, v->bootstrap);
  bind_text(st, b + 25, s[STORE__HS_ERROR]);
  bind_text(st, b + 27, v->h.intercepted ? "intercept" : "proxy");
}

/* --- failures --- */

/* Records the failure of `what` and classifies it. */
static enum store__write fail(struct store__log *lg)
{
  int rc = sqlite3_errcode(lg->s->db) & 0xff;

  snprintf(lg->errmsg, sizeof(lg->errmsg), "%s: cannot write hop log: %s",
           lg->s->path, sqlite3_errmsg(lg->s->db));
  switch (rc) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
  case SQLITE_FULL:
  case SQLITE_READONLY:
  case SQLITE_IOERR:
  case SQLITE_CANTOPEN:
  case SQLITE_NOMEM:
  case SQLITE_PROTOCOL:
  case SQLITE_PERM:
    return STORE__WRITE_RETRY;
  default:
    return STORE__WRITE_GIVEUP;
  }
}

/* Steps a write statement; on failure fills errmsg (before the reset). */
static int step_done(struct store__log *lg, sqlite3_stmt *st,
                     enum store__write *out)
{
  int rc = sqlite3_step(st);

  if (rc != SQLITE_DONE)
    *out = fail(lg);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : -1;
}

/* --- per-host counters --- */

static int reserve_deltas(struct store__log *lg, size_t n)
{
  struct delta *d;
  struct delta **o;

  if (n <= lg->deltas_cap)
    return 0;
  d = realloc(lg->deltas, n * sizeof(*d));
  if (d == NULL)
    return -1;
  lg->deltas = d;
  o = realloc(lg->order, n * sizeof(*o));
  if (o == NULL)
    return -1;
  lg->order = o;
  lg->deltas_cap = n;
  return 0;
}

/*
 * The delta that counts a record of host at time_ms (port: CONNECT's, or
 * 0): the batch's last one when it is for the same host, day and port (a
 * burst from one host then costs one delta and one comparison), else a
 * new one, zeroed. The caller adds its counts.
 */
static struct delta *delta_for(struct store__log *lg, size_t *nd,
                               const char *host, int64_t time_ms, unsigned port)
{
  int64_t day = time_ms / MS_PER_DAY;
  size_t len = strlen(host);
  struct delta *d = *nd > 0 ? &lg->deltas[*nd - 1] : NULL;

  if (d != NULL && d->day == day && d->port == port &&
      strcmp(d->host, host) == 0) {
    d->time_ms = time_ms < d->time_ms ? time_ms : d->time_ms;
    d->last_ms = time_ms > d->last_ms ? time_ms : d->last_ms;
    return d;
  }
  d = &lg->deltas[(*nd)++];
  /* Zeroes what follows the name, not the name's HOST_TEXT_MAX bytes. */
  memset(&d->time_ms, 0, sizeof(*d) - offsetof(struct delta, time_ms));
  memcpy(d->host, host, len + 1); /* host fits: HOST_TEXT_MAX */
  d->time_ms = d->last_ms = time_ms;
  d->day = day;
  d->port = port;
  return d;
}

static void hop_delta(struct store__log *lg, size_t *nd,
                      const struct hop_view *v)
{
  struct delta *d;

  if (v->host[0] == '\0')
    return;
  d = delta_for(lg, nd, v->host, v->h.time_ms, 0);
  if (v->h.kind == STORE_HOP_UPGRADE) {
    d->http++; /* the upgraded request: no traffic record of its own */
    d->upgrades++;
  } else {
    d->redirects++;
    d->to_https += v->scheme_change == CHANGE_UP;
  }
}

/* A traffic host: normalized when it is a name or IP, else lowercased
 * visible ASCII ('?' for other bytes). */
static void traffic_delta(struct store__log *lg, size_t *nd,
                          const unsigned char *rec)
{
  struct store__rec_traffic t;
  char host[HOST_TEXT_MAX];
  enum hsts_host_kind kind;
  const char *p = (const char *)rec + sizeof(t);
  unsigned port;
  size_t i;

  memcpy(&t, rec, sizeof(t));
  if (t.host_len == 0 || t.host_len >= HOST_TEXT_MAX)
    return;
  if (hsts_host_normalize(p, t.host_len, host, &kind) != HSTS_OK) {
    for (i = 0; i < t.host_len; i++) {
      char c = p[i];

      host[i] = c >= 'A' && c <= 'Z'  ? (char)(c - 'A' + 'a')
                : c > ' ' && c < 0x7f ? c
                                      : '?';
    }
    host[t.host_len] = '\0';
  }
  if (t.kind == STORE_TRAFFIC_HTTP) {
    delta_for(lg, nd, host, t.time_ms, 0)->http++;
  } else {
    port = t.port >= 1 && t.port <= PORT_MAX ? t.port : 0;
    delta_for(lg, nd, host, t.time_ms, port)->connects++;
  }
}

/* By host, then day, then port: one run per (host, day), ports within. */
static int delta_cmp(const void *a, const void *b)
{
  const struct delta *x = *(struct delta *const *)a;
  const struct delta *y = *(struct delta *const *)b;
  int c = strcmp(x->host, y->host);

  if (c != 0)
    return c;
  if (x->day != y->day)
    return x->day < y->day ? -1 : 1;
  return (x->port > y->port) - (x->port < y->port);
}

static int upsert_port(struct store__log *lg, const char *host, unsigned port,
                       int64_t count, enum store__write *out)
{
  sqlite3_stmt *st = lg->st[ST_PORT];

  sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, (int)port);
  sqlite3_bind_int64(st, 3, count);
  return step_done(lg, st, out);
}

/* The five counters of sum as parameters first .. first + 4. */
static void bind_counts(sqlite3_stmt *st, int first, const struct delta *sum)
{
  sqlite3_bind_int64(st, first, sum->http);
  sqlite3_bind_int64(st, first + 1, sum->upgrades);
  sqlite3_bind_int64(st, first + 2, sum->redirects);
  sqlite3_bind_int64(st, first + 3, sum->to_https);
  sqlite3_bind_int64(st, first + 4, sum->connects);
}

static int upsert_host(struct store__log *lg, const struct delta *sum,
                       int64_t last, enum store__write *out)
{
  sqlite3_stmt *st = lg->st[ST_HOST];

  sqlite3_bind_text(st, 1, sum->host, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, sum->time_ms);
  sqlite3_bind_int64(st, 3, last);
  bind_counts(st, 4, sum);
  return step_done(lg, st, out);
}

static int upsert_day(struct store__log *lg, const struct delta *sum,
                      enum store__write *out)
{
  sqlite3_stmt *st = lg->st[ST_DAY];

  sqlite3_bind_text(st, 1, sum->host, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, sum->day);
  bind_counts(st, 3, sum);
  return step_done(lg, st, out);
}

/* Adds d (seen from d->time_ms to d_last) to sum (to *last). */
static void add_delta(struct delta *sum, int64_t *last, const struct delta *d,
                      int64_t d_last)
{
  sum->time_ms = d->time_ms < sum->time_ms ? d->time_ms : sum->time_ms;
  *last = d_last > *last ? d_last : *last;
  sum->http += d->http;
  sum->upgrades += d->upgrades;
  sum->redirects += d->redirects;
  sum->to_https += d->to_https;
  sum->connects += d->connects;
}

/*
 * Sums the run of sorted deltas of one (host, day) starting at *i into
 * *sum (seen until *last), upserts its CONNECT ports (one row per port)
 * and its host_traffic_day row, and moves *i past the run.
 */
static int write_day(struct store__log *lg, size_t *i, size_t nd,
                     struct delta *sum, int64_t *last, enum store__write *out)
{
  struct delta *const *o = lg->order;
  size_t k, j;

  *sum = *o[*i];
  *last = sum->last_ms;
  for (j = *i + 1;
       j < nd && o[j]->day == sum->day && strcmp(o[j]->host, sum->host) == 0;
       j++)
    add_delta(sum, last, o[j], o[j]->last_ms);
  for (k = *i; k < j; k++) {
    const struct delta *run = o[k];
    int64_t count;

    if (run->port == 0)
      continue;
    count = run->connects;
    while (k + 1 < j && o[k + 1]->port == run->port)
      count += o[++k]->connects;
    if (upsert_port(lg, sum->host, run->port, count, out) != 0)
      return -1;
  }
  *i = j;
  return upsert_day(lg, sum, out);
}

/* Sums the deltas per (host, day), per host and per CONNECT port, and
 * upserts each sum once (sorting pointers: a delta is 300 bytes). */
static int write_counters(struct store__log *lg, size_t nd,
                          enum store__write *out)
{
  struct delta host, day;
  int64_t host_last, day_last;
  size_t i;

  if (nd == 0) /* order may still be NULL: qsort(NULL, 0) is undefined */
    return STORE_OK;
  for (i = 0; i < nd; i++)
    lg->order[i] = &lg->deltas[i];
  qsort(lg->order, nd, sizeof(*lg->order), delta_cmp);
  i = 0;
  while (i < nd) {
    /* The host's first day, then its other days added to it. */
    if (write_day(lg, &i, nd, &host, &host_last, out) != 0)
      return -1;
    while (i < nd && strcmp(lg->order[i]->host, host.host) == 0) {
      if (write_day(lg, &i, nd, &day, &day_last, out) != 0)
        return -1;
      add_delta(&host, &host_last, &day, day_last);
    }
    if (upsert_host(lg, &host, host_last, out) != 0)
      return -1;
  }
  return 0;
}

/* --- the batch --- */

static int write_stats(struct store__log *lg,
                       const struct store_writer_stats *st,
                       enum store__write *out)
{
  sqlite3_stmt *q = lg->st[lg->run_id == 0 ? ST_RUN_NEW : ST_RUN];

  if (lg->run_id == 0) {
    sqlite3_bind_int64(q, 1, (int64_t)getpid());
    sqlite3_bind_int64(q, 2, lg->started);
  } else {
    sqlite3_bind_int64(q, 1, lg->run_id);
  }
  sqlite3_bind_int64(q, 3, wall_ms());
  sqlite3_bind_int64(q, 4, (int64_t)st->submitted);
  sqlite3_bind_int64(q, 5, (int64_t)st->written);
  sqlite3_bind_int64(q, 6, (int64_t)st->dropped);
  sqlite3_bind_int64(q, 7, (int64_t)st->failed);
  return step_done(lg, q, out);
}

/* The total size of the n records at recs. */
static size_t records_size(const unsigned char *recs, size_t n)
{
  struct store__rec_head head;
  size_t off = 0;

  for (; n > 0; n--) {
    memcpy(&head, recs + off, sizeof(head));
    off += head.size;
  }
  return off;
}

/* Reads the thread's CPU time (see the top of this file for why once a
 * group). */
static void cpu_mark(struct store__log *lg)
{
  struct timespec ts;

  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
    lg->cpu_ns = (uint64_t)ts.tv_sec * HSTS_NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t store__log_cpu_ns(const struct store__log *lg)
{
  return lg->cpu_ns;
}

/* Inserts the rows of views[0..n): HOP_GROUP in one statement, else one
 * at a time; extends the range of hop ids. */
static int insert_hops(struct store__log *lg, size_t n, int64_t ids[2],
                       enum store__write *out)
{
  int group = n == HOP_GROUP;
  sqlite3_stmt *st = lg->st[group ? ST_HOPS : ST_HOP];
  size_t i;

  cpu_mark(lg);
  for (i = 0; i < n; i++) {
    if (!group || i == 0)
      sqlite3_clear_bindings(st);
    bind_hop(st, group ? (int)i * HOP_COLS : 0, &lg->views[i]);
    if (group && i + 1 < n)
      continue; /* one step inserts the whole group */
    if (step_done(lg, st, out) != 0)
      return -1;
    ids[1] = sqlite3_last_insert_rowid(lg->s->db);
    if (ids[0] == 0) /* rowids are consecutive: the writer alone inserts */
      ids[0] = ids[1] - (group ? (int64_t)n - 1 : 0);
  }
  return 0;
}

/* Inserts the records' rows; sets the range of hop ids. A group's hops
 * are decoded into lg->views (their strings into lg->arena) first. */
static int write_records(struct store__log *lg, unsigned char *recs, size_t n,
                         int64_t ids[2], size_t *nd, enum store__write *out)
{
  size_t i, off = 0, used = 0, k = 0;

  for (i = 0; i < n; i++) {
    struct store__rec_head head;

    memcpy(&head, recs + off, sizeof(head));
    if (head.type == STORE__REC_HOP) {
      used += decode_hop(lg, recs + off, &lg->views[k], lg->arena + used);
      hop_delta(lg, nd, &lg->views[k]);
      if (++k == HOP_GROUP) {
        if (insert_hops(lg, k, ids, out) != 0)
          return -1;
        k = used = 0;
      }
    } else if (head.type == STORE__REC_TRAFFIC) {
      traffic_delta(lg, nd, recs + off);
    } /* probes: record_probes(), before the transaction */
    off += head.size;
  }
  return insert_hops(lg, k, ids, out);
}

void store__log_on_hop(struct store__log *lg, store_writer_hop_cb cb,
                       store_writer_hop_wanted_cb wanted, void *arg)
{
  lg->on_hop = cb;
  lg->on_hop_wanted = wanted;
  lg->on_hop_arg = arg;
}

/* Appends the JSON lines of hops first..last and flushes; hands each to
 * the listener too, when it wants this batch. The JSON is built only for
 * one of them: hop_json formats every field, which costs the writer as
 * much as the insert. */
static void write_json(struct store__log *lg, const int64_t ids[2])
{
  sqlite3_stmt *st = lg->st[ST_JSON];
  store_writer_hop_cb feed = lg->on_hop;
  int bad = 0;

  if (feed != NULL && lg->on_hop_wanted != NULL &&
      !lg->on_hop_wanted(lg->on_hop_arg))
    feed = NULL;
  if ((lg->json == NULL && feed == NULL) || ids[0] == 0)
    return;
  sqlite3_bind_int64(st, 1, ids[0]);
  sqlite3_bind_int64(st, 2, ids[1]);
  errno = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *line = (const char *)sqlite3_column_text(st, 0);

    if (line != NULL && feed != NULL)
      feed(line, (size_t)sqlite3_column_bytes(st, 0), lg->on_hop_arg);
    if (line != NULL && lg->json != NULL &&
        (fputs(line, lg->json) == EOF || fputc('\n', lg->json) == EOF))
      bad = 1;
  }
  sqlite3_reset(st);
  if (lg->json == NULL)
    return;
  if (fflush(lg->json) != 0)
    bad = 1;
  if (bad && !lg->json_failed)
    lg->json_errno = errno != 0 ? errno : EIO;
  lg->json_failed = bad;
  clearerr(lg->json);
}

/*
 * Applies the batch's probe results that are not done yet, each in its
 * own transaction (store_probe_record), marking them done. Returns 0, or
 * -1 with *out set when the store failed (the rest is retried later).
 */
static int record_probes(struct store__log *lg, unsigned char *recs, size_t n,
                         enum store__write *out)
{
  struct store__rec_probe r;
  size_t off = 0;
  int rc;

  for (; n > 0; n--, off += r.head.size) {
    memcpy(&r.head, recs + off, sizeof(r.head));
    if (r.head.type != STORE__REC_PROBE)
      continue;
    memcpy(&r, recs + off, sizeof(r));
    if (r.done)
      continue;
    rc = store_probe_record(lg->s, &r.p, NULL);
    if (rc == STORE_EDB || rc == STORE_EREADONLY) {
      /* Rolled back already, so sqlite3_errcode() says nothing more:
       * assume a transient cause (locked, full) and retry. */
      snprintf(lg->errmsg, sizeof(lg->errmsg), "%s", store_errmsg(lg->s));
      *out = STORE__WRITE_RETRY;
      return -1;
    }
    r.done = 1; /* recorded, or refused for good (host, port) */
    memcpy(recs + off, &r, sizeof(r));
  }
  return 0;
}

enum store__write store__log_write(struct store__log *lg, unsigned char *recs,
                                   size_t n, size_t *bytes,
                                   const struct store_writer_stats *st)
{
  enum store__write out = STORE__WRITE_OK;
  int64_t ids[2] = { 0, 0 }, run_id = lg->run_id;
  size_t nd = 0;

  *bytes = records_size(recs, n);
  if (reserve_deltas(lg, n) != 0) {
    snprintf(lg->errmsg, sizeof(lg->errmsg),
             "%s: cannot write hop log: out of memory", lg->s->path);
    return STORE__WRITE_RETRY;
  }
  if (record_probes(lg, recs, n, &out) != 0)
    return out;
  if (sqlite3_exec(lg->s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return fail(lg);
  if (write_records(lg, recs, n, ids, &nd, &out) != 0 ||
      write_counters(lg, nd, &out) != 0 || write_stats(lg, st, &out) != 0)
    goto fail;
  if (lg->run_id == 0)
    lg->run_id = sqlite3_last_insert_rowid(lg->s->db);
  if (sqlite3_exec(lg->s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    out = fail(lg);
    goto fail;
  }
  write_json(lg, ids);
  cpu_mark(lg);
  return STORE__WRITE_OK;
fail:
  store__rollback(lg->s);
  lg->run_id = run_id;
  return out;
}
