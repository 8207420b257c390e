/*
 * test_store_traffic_day.c - the per-host counters per UTC day (schema
 * v4, table host_traffic_day) and what the audit reads from them.
 *
 * Records with explicit times over three days (one a millisecond before
 * midnight, one at midnight) go through a real writer, twice (the second
 * run in small batches), and the rows are read back with SQLite directly;
 * then the audit's per-day trend and per-host counts for windows on and
 * off day boundaries (store_audit_days, store_audit_hosts). Also the
 * migration of a v3 file (its totals backfilled on the day of last_seen,
 * in one transaction that a failure rolls back whole) and a store that
 * lacks the table.
 */
#include <sqlite3.h>

#include "store_audit.h"
#include "store_writer.h"
#include "store_testutil.h"
#include "testlib.h"

#define DAY     ((int64_t)STORE_AUDIT_MS_PER_DAY)
#define DAY0_MS 1764028800000LL /* 2025-11-25T00:00:00Z */
#define DAY0    20417           /* DAY0_MS / DAY */
#define HOUR_MS (3600 * 1000)
#define ERRBUF  512
#define OUT_MAX 4096
/* STORE_SCHEMA_VERSION as SQL text: a current file without the v4 table. */
#define SCHEMA_VERSION_TEXT "9"
_Static_assert(STORE_SCHEMA_VERSION == 9, "update SCHEMA_VERSION_TEXT");

_Static_assert(DAY0_MS / STORE_AUDIT_MS_PER_DAY == DAY0, "DAY0");
_Static_assert(DAY0_MS % STORE_AUDIT_MS_PER_DAY == 0, "DAY0_MS is midnight");

static int db_counter;

static void new_db(char out[TESTUTIL_PATH_MAX])
{
  char name[32];

  snprintf(name, sizeof(name), "day%d.db", ++db_counter);
  testutil_path(name, out);
}

/* Hour h of day d (relative to DAY0), plus ms. */
static int64_t at(int d, int h, int64_t ms)
{
  return DAY0_MS + d * DAY + (int64_t)h * HOUR_MS + ms;
}

/* Rows of a query, one line each, columns joined by '|'; into out. */
static void q_rows(const char *db_path, const char *sql, char out[OUT_MAX])
{
  sqlite3 *db;
  sqlite3_stmt *st;
  size_t n = 0;
  int i;

  out[0] = '\0';
  if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
    exit(EXIT_FAILURE);
  }
  while (sqlite3_step(st) == SQLITE_ROW && n < OUT_MAX - 1) {
    for (i = 0; i < sqlite3_column_count(st); i++) {
      const char *v = (const char *)sqlite3_column_text(st, i);

      n += (size_t)snprintf(out + n, OUT_MAX - n, "%s%s", i > 0 ? "|" : "",
                            v != NULL ? v : "NULL");
      n = n < OUT_MAX ? n : OUT_MAX - 1;
    }
    n += (size_t)snprintf(out + n, OUT_MAX - n, "\n");
    n = n < OUT_MAX ? n : OUT_MAX - 1;
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* --- the writer --- */

static const struct {
  const char *host;
  enum store_traffic_kind kind;
  unsigned port;
  int day, hour;
  int64_t ms;
} traffic[] = {
  { "a.test", STORE_TRAFFIC_HTTP, 0, 0, 10, 0 },
  { "A.test.", STORE_TRAFFIC_HTTP, 0, 0, 11, 0 },
  { "a.test", STORE_TRAFFIC_HTTP, 0, 1, 23, HOUR_MS - 1 }, /* 23:59:59.999 */
  { "a.test", STORE_TRAFFIC_HTTP, 0, 2, 0, 0 },            /* midnight */
  { "a.test", STORE_TRAFFIC_CONNECT, 443, 1, 5, 0 },
  { "a.test", STORE_TRAFFIC_HTTP, 0, 2, 1, 0 }, /* the redirect's */
  { "b.test", STORE_TRAFFIC_CONNECT, 8443, 0, 1, 0 },
  { "b.test", STORE_TRAFFIC_CONNECT, 8443, 2, 1, 0 },
  { "b.test", STORE_TRAFFIC_CONNECT, 443, 2, 2, 0 },
  { NULL, 0, 0, 0, 0, 0 }
};

static struct store_hop hop(uint64_t id, int64_t t, enum store_hop_kind kind,
                            const char *url, const char *loc)
{
  struct store_hop h;

  memset(&h, 0, sizeof(h));
  h.time_ms = t;
  h.request_id = id;
  h.client = "127.0.0.1";
  h.method = "GET";
  h.url = url;
  h.http_version = "HTTP/1.1";
  h.kind = kind;
  h.location = loc;
  h.status = kind == STORE_HOP_UPGRADE ? 307 : 301;
  h.policy_source = HSTS_SOURCE_PRELOAD;
  h.policy_host = "a.test";
  return h;
}

/* One proxy run: the traffic above and two hops, in batches of batch. */
static void write_run(const char *db, unsigned batch, uint64_t id)
{
  struct store_writer_config cfg = { 0 };
  struct store_writer *w = NULL;
  struct store_hop h;
  char err[ERRBUF] = "";
  int i;

  cfg.db_path = db;
  cfg.batch_max = batch;
  if (store_writer_open(&cfg, &w, err, sizeof(err)) != STORE_OK) {
    fprintf(stderr, "store_writer_open: %s\n", err);
    exit(EXIT_FAILURE);
  }
  for (i = 0; traffic[i].host != NULL; i++) {
    struct store_traffic t = {
      at(traffic[i].day, traffic[i].hour, traffic[i].ms), traffic[i].host,
      traffic[i].kind, traffic[i].port
    };

    CHECK_ROW(store_writer_traffic(w, &t) == STORE_OK, i);
  }
  h = hop(id, at(1, 12, 0), STORE_HOP_UPGRADE, "http://a.test/",
          "https://a.test/");
  CHECK_INT(store_writer_hop(w, &h), STORE_OK);
  h = hop(id + 1, at(2, 1, 0), STORE_HOP_REDIRECT, "http://a.test/x",
          "https://a.test/x");
  CHECK_INT(store_writer_hop(w, &h), STORE_OK);
  store_writer_close(&w);
}

/* A store written by two runs (the second in batches of 3). */
static void two_runs(char db[TESTUTIL_PATH_MAX])
{
  new_db(db);
  write_run(db, 0, 1);
  write_run(db, 3, 3);
}

static void test_writer_rows(void)
{
  char db[TESTUTIL_PATH_MAX], got[OUT_MAX];

  two_runs(db);
  q_rows(db,
         "SELECT host, day - 20417, http_requests, upgrades,"
         " upstream_redirects, redirects_to_https, connects"
         " FROM host_traffic_day ORDER BY host, day",
         got);
  CHECK_STR(got, "a.test|0|4|0|0|0|0\n"
                 "a.test|1|4|2|0|0|2\n"
                 "a.test|2|4|0|2|2|0\n"
                 "b.test|0|0|0|0|0|2\n"
                 "b.test|2|0|0|0|0|4\n");
  /* The totals are the days' sums, first and last seen across days. */
  q_rows(db,
         "SELECT t.host, t.first_seen - 1764028800000,"
         " t.last_seen - 1764028800000, t.http_requests = sum(d.http_requests),"
         " t.upgrades = sum(d.upgrades),"
         " t.upstream_redirects = sum(d.upstream_redirects),"
         " t.redirects_to_https = sum(d.redirects_to_https),"
         " t.connects = sum(d.connects), t.http_requests"
         " FROM host_traffic t JOIN host_traffic_day d ON d.host = t.host"
         " GROUP BY t.host ORDER BY t.host",
         got);
  CHECK_STR(got, "a.test|36000000|176400000|1|1|1|1|1|12\n"
                 "b.test|3600000|180000000|1|1|1|1|1|0\n");
  q_rows(db,
         "SELECT host, port, count FROM host_connect_port"
         " ORDER BY host, port",
         got);
  CHECK_STR(got, "a.test|443|2\nb.test|443|2\nb.test|8443|4\n");
}

/* --- the audit --- */

struct collect {
  char out[OUT_MAX];
  size_t n;
};

/* Appends one line: name (when not NULL) and the values, '|' between. */
static void collect_add(struct collect *c, const char *name, const int64_t v[],
                        int nv)
{
  int i;

  if (name != NULL)
    c->n += (size_t)snprintf(c->out + c->n, OUT_MAX - c->n, "%s|", name);
  for (i = 0; i < nv && c->n < OUT_MAX - 1; i++)
    c->n += (size_t)snprintf(c->out + c->n, OUT_MAX - c->n, "%" PRId64 "%s",
                             v[i], i + 1 < nv ? "|" : "\n");
}

static int on_day(const struct store_audit_day *d, void *arg)
{
  int64_t v[] = { d->day - DAY0, (int64_t)d->upgrades,
                  (int64_t)d->upstream_redirects, (int64_t)d->redirects_up,
                  (int64_t)d->clear_text };

  collect_add(arg, NULL, v, 5);
  return 0;
}

static int on_host(const struct store_audit_host *h, void *arg)
{
  int64_t v[] = { h->has_traffic,
                  (int64_t)h->http_requests,
                  (int64_t)h->traffic_upgrades,
                  (int64_t)h->redirects_to_https,
                  (int64_t)h->connects,
                  (int64_t)h->upgrades,
                  (int64_t)h->upstream_redirects };

  collect_add(arg, h->host, v, 7);
  return 0;
}

struct window_case {
  int has_since;
  int64_t since;
  int has_until;
  int64_t until;
  const char *days;  /* day - DAY0|upgrades|redirects|up|clear_text */
  const char *hosts; /* host|traffic|http|upgraded|to_https|connects|hops */
};

static const struct window_case windows[] = {
  /* No window: every day, the totals. */
  { 0, 0, 0, 0, "0|0|0|0|4\n1|2|0|0|2\n2|0|2|2|4\n",
    "a.test|1|12|2|2|2|2|2\nb.test|1|0|0|0|6|0|0\n" },
  /* Day 1, midnight to midnight: neither 23:59:59.999 nor 00:00 lost. */
  { 1, 1764115200000LL, 1, 1764201600000LL, "1|2|0|0|2\n",
    "a.test|1|4|2|0|2|2|0\n" },
  /* Day 2 alone: the day before is left out exactly. */
  { 1, 1764201600000LL, 1, 1764288000000LL, "2|0|2|2|4\n",
    "a.test|1|4|0|2|0|0|2\nb.test|1|0|0|0|4|0|0\n" },
  /* Cut inside day 1 (after the upgrade) and 1 ms into day 2: whole days
   * for the counters and the trend, the hops of the host exactly. */
  { 1, 1764158400001LL, 1, 1764201600001LL, "1|2|0|0|2\n2|0|2|2|4\n",
    "a.test|1|8|2|2|2|0|0\nb.test|1|0|0|0|4|0|0\n" },
  /* Since only: the first day of the window onwards. */
  { 1, 1764115200000LL, 0, 0, "1|2|0|0|2\n2|0|2|2|4\n",
    "a.test|1|8|2|2|2|2|2\nb.test|1|0|0|0|4|0|0\n" },
  /* Until only, before day 1: day 0. */
  { 0, 0, 1, 1764115200000LL, "0|0|0|0|4\n",
    "a.test|1|4|0|0|0|0|0\nb.test|1|0|0|0|2|0|0\n" },
  { 0, 0, 0, 0, NULL, NULL } /* sentinel */
};

_Static_assert(1764115200000LL == DAY0_MS + DAY, "day 1");
_Static_assert(1764158400001LL == DAY0_MS + DAY + 12 * HOUR_MS + 1, "1 12h");

static void check_windows(struct store *s)
{
  const struct window_case *c;
  int i;

  for (i = 0, c = windows; c->days != NULL; c++, i++) {
    struct store_audit_window w = { c->has_since, c->since, c->has_until,
                                    c->until };
    struct collect days = { "", 0 }, hosts = { "", 0 };

    CHECK_ROW(store_audit_days(s, &w, on_day, &days) == STORE_OK, i);
    CHECK_ROW(strcmp(days.out, c->days) == 0, i);
    CHECK_ROW(store_audit_hosts(s, &w, on_host, &hosts) == STORE_OK, i);
    CHECK_ROW(strcmp(hosts.out, c->hosts) == 0, i);
    if (strcmp(days.out, c->days) != 0 || strcmp(hosts.out, c->hosts) != 0)
      fprintf(stderr, "  days:\n%s  hosts:\n%s", days.out, hosts.out);
  }
}

static void test_audit_windows(void)
{
  char db[TESTUTIL_PATH_MAX];
  struct store *s;

  two_runs(db);
  CHECK_INT(store_open(db, STORE_OPEN_READONLY, &s), STORE_OK);
  check_windows(s);
  store_close(&s);
}

/* --- migration --- */

/* A v3 file: a new store less what v4 and v7 added, with host_traffic
 * rows. */
static void make_v3(char db[TESTUTIL_PATH_MAX])
{
  struct store *s;

  new_db(db);
  CHECK_INT(store_open(db, 0, &s), STORE_OK);
  store_close(&s);
  CHECK(testutil_sql(db, "DROP TABLE host_traffic_day;"
                         "ALTER TABLE preload_import DROP COLUMN list_date;"
                         "ALTER TABLE preload_import DROP COLUMN skipped;"
                         "ALTER TABLE preload_import DROP COLUMN builtin;"
                         "DROP VIEW hop_json;"
                         "ALTER TABLE hop DROP COLUMN policy_list;"
                         "ALTER TABLE hop DROP COLUMN via;"
                         "ALTER TABLE probe DROP COLUMN origin;"
                         "PRAGMA user_version = 3") == 0);
  CHECK(testutil_sql(
            db,
            "INSERT INTO host_traffic VALUES"
            " ('x.test', 1764032400000, 1764133200000, 7, 3, 2, 1, 4),"
            " ('y.test', 1764201600000, 1764201600000, 1, 0, 0, 0, 0)") == 0);
}

static const char v3_totals[] =
    "x.test|1764032400000|1764133200000|7|3|2|1|4\n"
    "y.test|1764201600000|1764201600000|1|0|0|0|0\n";

static void test_migrate_v3(void)
{
  char db[TESTUTIL_PATH_MAX], got[OUT_MAX];
  struct store *s;
  struct collect days = { "", 0 };

  make_v3(db);
  /* Read-only cannot migrate, and says how to. */
  CHECK_INT(store_open(db, STORE_OPEN_READONLY, &s), STORE_EVERSION);
  CHECK(strstr(store_errmsg(s), "schema version 3") != NULL);
  store_close(&s);
  CHECK_INT(store_open(db, 0, &s), STORE_OK);
  CHECK_INT(store_schema_version(s), STORE_SCHEMA_VERSION);
  /* Backfilled on the day of last_seen: x.test day 1, y.test day 2. */
  CHECK_INT(store_audit_days(s, NULL, on_day, &days), STORE_OK);
  CHECK_STR(days.out, "1|0|0|0|4\n2|0|0|0|1\n");
  store_close(&s);
  q_rows(db, "SELECT * FROM host_traffic_day ORDER BY host, day", got);
  CHECK_STR(got, "x.test|20418|7|3|2|1|4\ny.test|20419|1|0|0|0|0\n");
  q_rows(db, "SELECT * FROM host_traffic ORDER BY host", got);
  CHECK_STR(got, v3_totals);
}

/* A failing migration leaves the v3 file as it was (one transaction). */
static void test_migrate_v3_rolls_back(void)
{
  char db[TESTUTIL_PATH_MAX], got[OUT_MAX];
  struct store *s;

  make_v3(db);
  CHECK(testutil_sql(db, "CREATE VIEW host_traffic_day AS SELECT 1") == 0);
  CHECK_INT(store_open(db, 0, &s), STORE_EDB);
  CHECK(strstr(store_errmsg(s), "migration to schema version 4 failed") !=
        NULL);
  store_close(&s);
  q_rows(db, "PRAGMA user_version", got);
  CHECK_STR(got, "3\n");
  q_rows(db, "SELECT type FROM sqlite_schema WHERE name = 'host_traffic_day'",
         got);
  CHECK_STR(got, "view\n");
  q_rows(db, "SELECT * FROM host_traffic ORDER BY host", got);
  CHECK_STR(got, v3_totals);
}

/* A migrated store keeps counting on top of the backfill. */
static void test_write_after_migration(void)
{
  char db[TESTUTIL_PATH_MAX], got[OUT_MAX];

  make_v3(db);
  write_run(db, 0, 1);
  q_rows(db,
         "SELECT host, day - 20417, http_requests, connects"
         " FROM host_traffic_day ORDER BY host, day",
         got);
  CHECK_STR(got, "a.test|0|2|0\na.test|1|2|1\na.test|2|2|0\n"
                 "b.test|0|0|1\nb.test|2|0|2\n"
                 "x.test|1|7|4\ny.test|2|1|0\n");
}

/* Without the table the audit reads the totals as the migration would. */
static void test_audit_without_day_table(void)
{
  char db[TESTUTIL_PATH_MAX];
  struct store *s;
  struct store_audit_window day2 = { 1, DAY0_MS + 2 * DAY, 0, 0 };
  struct collect days = { "", 0 }, hosts = { "", 0 };

  make_v3(db);
  CHECK(testutil_sql(db, "ALTER TABLE hop ADD COLUMN via TEXT;" /* v7 */
                         "PRAGMA user_version = " SCHEMA_VERSION_TEXT) == 0);
  CHECK_INT(store_open(db, STORE_OPEN_READONLY, &s), STORE_OK);
  CHECK_INT(store_audit_days(s, NULL, on_day, &days), STORE_OK);
  CHECK_STR(days.out, "1|0|0|0|4\n2|0|0|0|1\n");
  CHECK_INT(store_audit_hosts(s, &day2, on_host, &hosts), STORE_OK);
  CHECK_STR(hosts.out, "y.test|1|1|0|0|0|0|0\n");
  store_close(&s);
}

TEST_MAIN({ "writer_rows", test_writer_rows },
          { "audit_windows", test_audit_windows },
          { "migrate_v3", test_migrate_v3 },
          { "migrate_v3_rolls_back", test_migrate_v3_rolls_back },
          { "write_after_migration", test_write_after_migration },
          { "audit_without_day_table", test_audit_without_day_table })
