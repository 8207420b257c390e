/*
 * store_audit.c - the audit's queries (see store_audit.h).
 *
 * Each query is a fixed SQL text with named parameters for the window:
 * :since and :until (Unix ms; the whole range of int64 when open), and
 * the whole UTC days that meet it, :first_day and :last_day (day
 * numbers, for host_traffic_day) and :days_since and :days_until (the
 * same days in Unix ms, for hops). It runs to the end with one row
 * struct filled per step and handed to the caller's callback. Per-host
 * aggregates are computed by SQLite (GROUP BY, window functions) so that
 * a store with millions of hops costs the caller one row per host.
 *
 * Tables a store may lack are looked up in sqlite_schema first. Without
 * the probe table (schema v3) the host query leaves probes out and the
 * probe query returns nothing. Without host_traffic_day (schema v4) the
 * day counters are read as the v4 migration would have made them: each
 * host's totals on the day of its last_seen.
 */
#include <stdio.h>
#include <string.h>

#include "store_audit.h"
#include "store_internal.h"

#define SQL_MAX 4096

/* The day counters (schema v4), or the v4 backfill of the totals. */
static const char sql_htd_table[] =
    " htd AS (SELECT host, day, http_requests, upgrades, redirects_to_https,"
    "  connects FROM host_traffic_day)";

static const char sql_htd_backfill[] =
    " htd AS (SELECT host, last_seen / 86400000 AS day, http_requests,"
    "  upgrades, redirects_to_https, connects FROM host_traffic)";

/* Per-host counters: with no window the totals (host_traffic) ... */
static const char sql_ht_totals[] =
    " ht AS (SELECT host, first_seen, last_seen, http_requests,"
    "  upgrades, redirects_to_https, connects FROM host_traffic"
    "  WHERE last_seen >= :since AND first_seen < :until)";

/* ... with one, the sums of the days that meet it (after htd). */
static const char sql_ht_days[] =
    " ht AS (SELECT d.host, t.first_seen, t.last_seen,"
    "  sum(d.http_requests) AS http_requests, sum(d.upgrades) AS upgrades,"
    "  sum(d.redirects_to_https) AS redirects_to_https,"
    "  sum(d.connects) AS connects"
    "  FROM htd AS d JOIN host_traffic AS t ON t.host = d.host"
    "  WHERE d.day BETWEEN :first_day AND :last_day GROUP BY d.host)";

/* The host union: traffic meeting the window, hops and probes in it. */
static const char sql_hosts_hops[] =
    " hp AS (SELECT host,"
    "  sum(kind = 'hsts-upgrade') AS up,"
    "  sum(kind = 'upstream-redirect') AS rd,"
    "  sum(kind = 'upstream-redirect' AND scheme_change = 'up') AS rd_up,"
    "  sum(kind = 'upstream-redirect' AND bootstrap = 1) AS boot,"
    "  sum(kind = 'upstream-redirect' AND sts_header IS NOT NULL"
    "      AND lower(substr(url, 1, 7)) = 'http://') AS sts_http,"
    "  sum(scheme_change = 'down' AND hop = 0) AS down_first,"
    "  sum(scheme_change = 'down' AND hop > 0) AS down_later,"
    "  min(time_ms) AS t0, max(time_ms) AS t1,"
    "  sum(via = 'intercept') AS icp"
    "  FROM hop WHERE host IS NOT NULL"
    "  AND time_ms >= :since AND time_ms < :until GROUP BY host)";

/* The proxy's own probes (%s: which; schema v7 tells the CLI's apart). */
static const char sql_hosts_probes[] =
    " pr AS (SELECT host, count(*) AS n, sum(ok = 0) AS failed FROM probe"
    "  WHERE %s"
    "  AND time * 1000 >= :since AND time * 1000 < :until GROUP BY host)";

static const char sql_hosts_no_probes[] =
    " pr AS (SELECT '' AS host, 0 AS n, 0 AS failed WHERE 0)";

static const char sql_hosts_tail[] =
    " hosts AS (SELECT host FROM ht UNION SELECT host FROM hp"
    "  UNION SELECT host FROM pr)"
    " SELECT hosts.host, ht.host IS NOT NULL, ht.first_seen, ht.last_seen,"
    "  ht.http_requests, ht.upgrades, ht.redirects_to_https, ht.connects,"
    "  hp.up, hp.rd, hp.rd_up, hp.boot, hp.sts_http, hp.down_first,"
    "  hp.down_later, hp.t0, hp.t1, pr.n, pr.failed, hp.icp"
    " FROM hosts LEFT JOIN ht ON ht.host = hosts.host"
    " LEFT JOIN hp ON hp.host = hosts.host"
    " LEFT JOIN pr ON pr.host = hosts.host ORDER BY hosts.host";

static const char sql_redirects[] =
    "SELECT host, time_ms, status, url, location, scheme_change, same_host"
    " FROM (SELECT host, time_ms, status, url, location, scheme_change,"
    "  same_host, row_number() OVER (PARTITION BY host ORDER BY"
    "   lower(url) IN ('http://' || host || '/', 'http://' || host) DESC,"
    "   id DESC) AS rn"
    "  FROM hop WHERE kind = 'upstream-redirect' AND host IS NOT NULL"
    "  AND lower(substr(url, 1, 7)) = 'http://'"
    "  AND time_ms >= :since AND time_ms < :until)"
    " WHERE rn = 1 ORDER BY host";

static const char sql_upgrades[] =
    "SELECT host, time_ms, policy_source, policy_host, include_subdomains,"
    " expires FROM (SELECT host, time_ms, policy_source, policy_host,"
    "  include_subdomains, expires, row_number() OVER (PARTITION BY host"
    "  ORDER BY id DESC) AS rn FROM hop"
    "  WHERE kind = 'hsts-upgrade' AND host IS NOT NULL"
    "  AND time_ms >= :since AND time_ms < :until)"
    " WHERE rn = 1 ORDER BY host";

static const char sql_probes[] =
    "SELECT id, host, port, time, ok, error, reason, tls_version, status,"
    " sts_header, sts_count, valid, max_age, include_subdomains, preload,"
    " outcome, %s FROM probe WHERE time * 1000 < :until ORDER BY host, id";

/* Before schema v7 every probe counts as the proxy's own. */
static const char sql_origin_run[] = "origin = 'run'";
static const char sql_origin_cli[] = "origin = 'cli'";

static const char sql_has_column[] =
    "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2";

/* The trend, after htd: whole UTC days, hops and day counters alike. */
static const char sql_days[] =
    " SELECT day, sum(up), sum(rd), sum(rd_up), sum(clear) FROM ("
    " SELECT time_ms / 86400000 AS day, kind = 'hsts-upgrade' AS up,"
    "  kind = 'upstream-redirect' AS rd,"
    "  kind = 'upstream-redirect' AND scheme_change = 'up' AS rd_up,"
    "  0 AS clear FROM hop"
    "  WHERE time_ms >= :days_since AND time_ms < :days_until"
    " UNION ALL"
    " SELECT day, 0, 0, 0, max(http_requests - upgrades, 0) FROM htd"
    "  WHERE http_requests > 0 AND day BETWEEN :first_day AND :last_day"
    ") GROUP BY day ORDER BY day";

_Static_assert(STORE_AUDIT_MS_PER_DAY == 86400000, "the SQL above says so");

static const char sql_has_table[] =
    "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1";

static const char sql_writer[] =
    "SELECT count(*), coalesce(sum(submitted), 0), coalesce(sum(written), 0),"
    " coalesce(sum(dropped), 0), coalesce(sum(failed), 0) FROM writer_stats"
    " WHERE updated >= :since AND started < :until";

static const char sql_hop_span[] =
    "SELECT coalesce(min(time_ms), 0), coalesce(max(time_ms), 0) FROM hop";

static void bind_named(sqlite3_stmt *st, const char *name, int64_t v)
{
  int i = sqlite3_bind_parameter_index(st, name);

  if (i > 0)
    sqlite3_bind_int64(st, i, v);
}

/*
 * The window, and the whole UTC days that meet it: day numbers as the
 * store computes them (Unix ms / STORE_AUDIT_MS_PER_DAY, truncated as
 * SQLite and C divide) and the same days in Unix ms. An open side is the
 * end of the int64 range.
 */
static void bind_window(sqlite3_stmt *st, const struct store_audit_window *w)
{
  const int64_t day = STORE_AUDIT_MS_PER_DAY;
  int64_t first = INT64_MIN, last = INT64_MAX;
  int64_t from = INT64_MIN, to = INT64_MAX;

  if (w->has_since) {
    first = w->since_ms / day;
    from = first > INT64_MIN / day ? first * day : INT64_MIN;
  }
  if (w->has_until && w->until_ms > INT64_MIN) {
    last = (w->until_ms - 1) / day;
    to = last < INT64_MAX / day - 1 ? (last + 1) * day : INT64_MAX;
  }
  bind_named(st, ":since", w->has_since ? w->since_ms : INT64_MIN);
  bind_named(st, ":until", w->has_until ? w->until_ms : INT64_MAX);
  bind_named(st, ":first_day", first);
  bind_named(st, ":last_day", last);
  bind_named(st, ":days_since", from);
  bind_named(st, ":days_until", to);
}

static const char *text(sqlite3_stmt *st, int col)
{
  return (const char *)sqlite3_column_text(st, col);
}

/* A count column: NULL (no rows aggregated) and negatives read as 0. */
static uint64_t count(sqlite3_stmt *st, int col)
{
  int64_t v = sqlite3_column_int64(st, col);

  return v > 0 ? (uint64_t)v : 0;
}

static int int_or(sqlite3_stmt *st, int col, int null_value)
{
  if (sqlite3_column_type(st, col) == SQLITE_NULL)
    return null_value;
  return sqlite3_column_int(st, col);
}

/*
 * Prepares sql, binds the window, and calls row(st, ctx) for each row
 * (it reads the row and hands it to the caller's callback) until it
 * returns non-zero, which is then returned.
 */
static int run(struct store *s, const char *sql,
               const struct store_audit_window *w,
               int (*row)(sqlite3_stmt *st, void *ctx), void *ctx,
               const char *what)
{
  static const struct store_audit_window all = { 0, 0, 0, 0 };
  sqlite3_stmt *st;
  int err, rc, stop = 0;

  err = store__prepare(s, sql, &st);
  if (err != STORE_OK)
    return err;
  bind_window(st, w != NULL ? w : &all);
  for (;;) {
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
      break;
    stop = row(st, ctx);
    if (stop != 0)
      break;
  }
  if (stop == 0 && rc != SQLITE_DONE)
    err = store__dbfail(s, what);
  sqlite3_finalize(st);
  return err != STORE_OK ? err : stop;
}

/* *out: does the store have the table `name`? */
static int has_table(struct store *s, const char *name, int *out)
{
  char what[64];
  sqlite3_stmt *st;
  int err = store__prepare(s, sql_has_table, &st);

  if (err != STORE_OK)
    return err;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_ROW) {
    snprintf(what, sizeof(what), "cannot look for the %s table", name);
    err = store__dbfail(s, what);
  } else {
    *out = sqlite3_column_int(st, 0) > 0;
  }
  sqlite3_finalize(st);
  return err;
}

/* *out: does the probe table have the origin column (schema v7)? */
static int has_origin(struct store *s, int *out)
{
  sqlite3_stmt *st;
  int err = store__prepare(s, sql_has_column, &st);

  if (err != STORE_OK)
    return err;
  sqlite3_bind_text(st, 1, "probe", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, "origin", -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_ROW)
    err = store__dbfail(s, "cannot look for the probe origin");
  else
    *out = sqlite3_column_int(st, 0) > 0;
  sqlite3_finalize(st);
  return err;
}

/* The htd CTE for this store: its day counters, or the v4 backfill. */
static int htd_cte(struct store *s, const char **out)
{
  int days = 0;
  int err = has_table(s, "host_traffic_day", &days);

  *out = days ? sql_htd_table : sql_htd_backfill;
  return err;
}

static int windowed(const struct store_audit_window *w)
{
  return w != NULL && (w->has_since || w->has_until);
}

struct host_ctx {
  int (*fn)(const struct store_audit_host *row, void *arg);
  void *arg;
};

static int host_row(sqlite3_stmt *st, void *ctx)
{
  struct host_ctx *c = ctx;
  struct store_audit_host h;

  memset(&h, 0, sizeof(h));
  h.host = text(st, 0);
  h.has_traffic = sqlite3_column_int(st, 1);
  h.first_seen_ms = sqlite3_column_int64(st, 2);
  h.last_seen_ms = sqlite3_column_int64(st, 3);
  h.http_requests = count(st, 4);
  h.traffic_upgrades = count(st, 5);
  h.redirects_to_https = count(st, 6);
  h.connects = count(st, 7);
  h.upgrades = count(st, 8);
  h.upstream_redirects = count(st, 9);
  h.redirects_up = count(st, 10);
  h.bootstraps = count(st, 11);
  h.sts_over_http = count(st, 12);
  h.downgrades_first = count(st, 13);
  h.downgrades_later = count(st, 14);
  h.hop_first_ms = sqlite3_column_int64(st, 15);
  h.hop_last_ms = sqlite3_column_int64(st, 16);
  h.probes = count(st, 17);
  h.probes_failed = count(st, 18);
  h.intercepted = count(st, 19);
  if (h.host == NULL)
    return 0; /* cannot happen: the union has no NULL host */
  return c->fn(&h, c->arg);
}

int store_audit_hosts(struct store *s, const struct store_audit_window *w,
                      int (*fn)(const struct store_audit_host *h, void *arg),
                      void *arg)
{
  struct host_ctx c = { fn, arg };
  char sql[2 * SQL_MAX], traffic[SQL_MAX / 2], pr[SQL_MAX / 4];
  const char *htd = NULL;
  int probes = 0, origin = 0;
  int err = has_table(s, "probe", &probes);

  if (err == STORE_OK && probes)
    err = has_origin(s, &origin);
  if (err == STORE_OK && windowed(w))
    err = htd_cte(s, &htd);
  if (err != STORE_OK)
    return err;
  if (htd != NULL)
    snprintf(traffic, sizeof(traffic), "%s,%s", htd, sql_ht_days);
  else
    snprintf(traffic, sizeof(traffic), "%s", sql_ht_totals);
  snprintf(pr, sizeof(pr), sql_hosts_probes, origin ? sql_origin_run : "1");
  snprintf(sql, sizeof(sql), "WITH%s,%s,%s,%s", traffic, sql_hosts_hops,
           probes ? pr : sql_hosts_no_probes, sql_hosts_tail);
  return run(s, sql, w, host_row, &c, "cannot read the hosts seen");
}

struct redirect_ctx {
  int (*fn)(const struct store_audit_redirect *row, void *arg);
  void *arg;
};

static int redirect_row(sqlite3_stmt *st, void *ctx)
{
  struct redirect_ctx *c = ctx;
  struct store_audit_redirect r;

  r.host = text(st, 0);
  r.time_ms = sqlite3_column_int64(st, 1);
  r.status = int_or(st, 2, 0);
  r.url = text(st, 3);
  r.location = text(st, 4);
  r.scheme_change = text(st, 5);
  r.same_host = int_or(st, 6, -1);
  return c->fn(&r, c->arg);
}

int store_audit_redirects(struct store *s, const struct store_audit_window *w,
                          int (*fn)(const struct store_audit_redirect *r,
                                    void *arg),
                          void *arg)
{
  struct redirect_ctx c = { fn, arg };

  return run(s, sql_redirects, w, redirect_row, &c,
             "cannot read the redirects");
}

struct upgrade_ctx {
  int (*fn)(const struct store_audit_upgrade *row, void *arg);
  void *arg;
};

static int upgrade_row(sqlite3_stmt *st, void *ctx)
{
  struct upgrade_ctx *c = ctx;
  struct store_audit_upgrade u;

  u.host = text(st, 0);
  u.time_ms = sqlite3_column_int64(st, 1);
  u.policy_source = text(st, 2);
  u.policy_host = text(st, 3);
  u.include_subdomains = int_or(st, 4, -1);
  u.expires = sqlite3_column_int64(st, 5);
  return c->fn(&u, c->arg);
}

int store_audit_upgrades(struct store *s, const struct store_audit_window *w,
                         int (*fn)(const struct store_audit_upgrade *u,
                                   void *arg),
                         void *arg)
{
  struct upgrade_ctx c = { fn, arg };

  return run(s, sql_upgrades, w, upgrade_row, &c, "cannot read the upgrades");
}

struct probe_ctx {
  int (*fn)(const struct store_audit_probe *row, void *arg);
  void *arg;
};

static int probe_row(sqlite3_stmt *st, void *ctx)
{
  struct probe_ctx *c = ctx;
  struct store_audit_probe p;

  p.id = sqlite3_column_int64(st, 0);
  p.host = text(st, 1);
  p.port = sqlite3_column_int(st, 2);
  p.time = sqlite3_column_int64(st, 3);
  p.ok = sqlite3_column_int(st, 4);
  p.error = text(st, 5);
  p.reason = text(st, 6);
  p.tls_version = text(st, 7);
  p.status = int_or(st, 8, -1);
  p.sts_header = text(st, 9);
  p.sts_count = sqlite3_column_int(st, 10);
  p.valid = int_or(st, 11, -1);
  p.max_age = sqlite3_column_type(st, 12) == SQLITE_NULL
                  ? -1
                  : sqlite3_column_int64(st, 12);
  p.include_subdomains = int_or(st, 13, -1);
  p.preload = int_or(st, 14, -1);
  p.outcome = text(st, 15);
  p.manual = sqlite3_column_int(st, 16);
  return c->fn(&p, c->arg);
}

int store_audit_probes(struct store *s, const struct store_audit_window *w,
                       int (*fn)(const struct store_audit_probe *p, void *arg),
                       void *arg)
{
  struct probe_ctx c = { fn, arg };
  char sql[SQL_MAX];
  int probes = 0, origin = 0;
  int err = has_table(s, "probe", &probes);

  if (err == STORE_OK && probes)
    err = has_origin(s, &origin);
  if (err != STORE_OK || !probes)
    return err;
  snprintf(sql, sizeof(sql), sql_probes, origin ? sql_origin_cli : "0");
  return run(s, sql, w, probe_row, &c, "cannot read the probes");
}

struct day_ctx {
  int (*fn)(const struct store_audit_day *row, void *arg);
  void *arg;
};

static int day_row(sqlite3_stmt *st, void *ctx)
{
  struct day_ctx *c = ctx;
  struct store_audit_day d;

  d.day = sqlite3_column_int64(st, 0);
  d.upgrades = count(st, 1);
  d.upstream_redirects = count(st, 2);
  d.redirects_up = count(st, 3);
  d.clear_text = count(st, 4);
  return c->fn(&d, c->arg);
}

int store_audit_days(struct store *s, const struct store_audit_window *w,
                     int (*fn)(const struct store_audit_day *d, void *arg),
                     void *arg)
{
  struct day_ctx c = { fn, arg };
  char sql[SQL_MAX];
  const char *htd;
  int err = htd_cte(s, &htd);

  if (err != STORE_OK)
    return err;
  snprintf(sql, sizeof(sql), "WITH%s%s", htd, sql_days);
  return run(s, sql, w, day_row, &c, "cannot read the per-day trend");
}

static int writer_row(sqlite3_stmt *st, void *ctx)
{
  struct store_audit_meta *m = ctx;

  m->writer_runs = count(st, 0);
  m->submitted = count(st, 1);
  m->written = count(st, 2);
  m->dropped = count(st, 3);
  m->failed = count(st, 4);
  return 0;
}

static int span_row(sqlite3_stmt *st, void *ctx)
{
  struct store_audit_meta *m = ctx;

  m->first_hop_ms = sqlite3_column_int64(st, 0);
  m->last_hop_ms = sqlite3_column_int64(st, 1);
  return 0;
}

int store_audit_meta(struct store *s, const struct store_audit_window *w,
                     struct store_audit_meta *out)
{
  int err;

  memset(out, 0, sizeof(*out));
  err = has_table(s, "probe", &out->has_probe_table);
  if (err == STORE_OK)
    err = run(s, sql_writer, w, writer_row, out,
              "cannot read the log writer's counters");
  if (err == STORE_OK)
    err = run(s, sql_hop_span, NULL, span_row, out,
              "cannot read the hop log's span");
  return err;
}
