/*
 * test_store_log_rows.c - what the hop log writer stores (store_writer.h).
 *
 * Chains assembled across hops (per client, within the window, Location
 * resolved and compared as a browser would request it), the derived
 * scheme_change / same_host / bootstrap, kind-specific fields, the JSON
 * lines against the hop_json view (and one golden line), and the per-host
 * counters summed across batches. Each case runs hops through a real
 * writer, closes it, and reads the rows back with SQLite directly.
 */
#include <inttypes.h>
#include <sqlite3.h>

#include "store_writer.h"
#include "store_testutil.h"
#include "testlib.h"

#define T0_MS     1764097200000LL /* 2025-11-25T19:00:00Z */
#define MINUTE_MS (60 * 1000)
#define ERRBUF    512
#define LINE_MAX_ 4096

static int db_counter;

static void new_db(char out[TESTUTIL_PATH_MAX])
{
  char name[32];

  snprintf(name, sizeof(name), "rows%d.db", ++db_counter);
  testutil_path(name, out);
}

/* Rows of a query, one line each, columns joined by '|'. Caller frees. */
static char *q_rows(const char *db_path, const char *sql)
{
  sqlite3 *db;
  sqlite3_stmt *st;
  size_t cap = 1 << 16, n = 0;
  char *out = calloc(1, cap);
  int i;

  if (out == NULL ||
      sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    exit(EXIT_FAILURE);
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
    exit(EXIT_FAILURE);
  }
  while (sqlite3_step(st) == SQLITE_ROW) {
    for (i = 0; i < sqlite3_column_count(st); i++) {
      const char *v = (const char *)sqlite3_column_text(st, i);
      size_t need = n + (v != NULL ? strlen(v) : 4) + 2;

      if (need >= cap) {
        cap = 2 * need;
        out = realloc(out, cap);
        if (out == NULL)
          exit(EXIT_FAILURE);
      }
      n += (size_t)snprintf(out + n, cap - n, "%s%s", i > 0 ? "|" : "",
                            v != NULL ? v : "NULL");
    }
    out[n++] = '\n';
    out[n] = '\0';
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

/* The whole file, NUL-terminated. Caller frees. */
static char *read_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;

  if (f == NULL || fseek(f, 0, SEEK_END) != 0)
    exit(EXIT_FAILURE);
  n = ftell(f);
  if (n < 0)
    exit(EXIT_FAILURE);
  rewind(f);
  buf = calloc(1, (size_t)n + 1);
  if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
    exit(EXIT_FAILURE);
  fclose(f);
  return buf;
}

static struct store_writer *open_writer(const char *db, const char *json,
                                        unsigned batch_max)
{
  struct store_writer_config cfg = { 0 };
  struct store_writer *w = NULL;
  char err[ERRBUF] = "";

  cfg.db_path = db;
  cfg.json_path = json;
  cfg.batch_max = batch_max;
  if (store_writer_open(&cfg, &w, err, sizeof(err)) != STORE_OK) {
    fprintf(stderr, "store_writer_open: %s\n", err);
    exit(EXIT_FAILURE);
  }
  return w;
}

static struct store_hop hop(uint64_t id, int64_t t, const char *client,
                            enum store_hop_kind kind, const char *url,
                            const char *loc)
{
  struct store_hop h;

  memset(&h, 0, sizeof(h));
  h.time_ms = t;
  h.request_id = id;
  h.client = client;
  h.method = "GET";
  h.url = url;
  h.http_version = "HTTP/1.1";
  h.kind = kind;
  h.location = loc;
  h.status = kind == STORE_HOP_UPGRADE ? 307 : 301;
  h.reason =
      kind == STORE_HOP_UPGRADE ? "Internal Redirect" : "Moved Permanently";
  return h;
}

/* --- chains --- */

#define UP STORE_HOP_UPGRADE
#define RE STORE_HOP_REDIRECT

static void test_chains(void)
{
  static const struct {
    const char *client, *url, *location;
    enum store_hop_kind kind;
    int64_t dt_ms;
    uint64_t chain; /* request id (row number) that started the chain */
    int hop;
  } rows[] = {
    { "10.0.0.1", "http://a.test/", "http://www.a.test/", RE, 0, 1, 0 },
    { "10.0.0.1", "http://www.a.test/", "https://www.a.test/", UP, 5, 1, 1 },
    /* another client: its own chain */
    { "10.0.0.2", "http://a.test/", "/login", RE, 10, 3, 0 },
    /* compared as requested: host case and :80 do not matter */
    { "10.0.0.2", "http://A.TEST:80/login", "https://a.test/login#top", UP, 20,
      3, 1 },
    /* a Location is consumed: a second visit starts its own chain */
    { "10.0.0.1", "http://www.a.test/", "https://www.a.test/", UP, 30, 5, 0 },
    { "10.0.0.2", "http://b.test/", "http://c.test/", RE, 40, 6, 0 },
    /* past the window: a new chain */
    { "10.0.0.2", "http://c.test/", NULL, RE, 40 + 11 * MINUTE_MS, 7, 0 },
    /* a loop keeps counting */
    { "::1", "http://x.test/", "http://y.test/", RE, 50, 8, 0 },
    { "::1", "http://y.test/", "http://x.test/", RE, 60, 8, 1 },
    { "::1", "http://x.test/", "https://x.test/", UP, 70, 8, 2 },
    { NULL, NULL, NULL, 0, 0, 0, 0 }
  };
  char db[TESTUTIL_PATH_MAX], want[LINE_MAX_];
  struct store_writer *w;
  char *got, *line;
  int i;

  new_db(db);
  w = open_writer(db, NULL, 2); /* chains span batches */
  for (i = 0; rows[i].client != NULL; i++) {
    struct store_hop h =
        hop((uint64_t)i + 1, T0_MS + rows[i].dt_ms, rows[i].client,
            rows[i].kind, rows[i].url, rows[i].location);

    CHECK_INT(store_writer_hop(w, &h), STORE_OK);
  }
  store_writer_close(&w);
  got = q_rows(db, "SELECT request_id, chain_id, hop FROM hop ORDER BY id");
  line = got;
  for (i = 0; rows[i].client != NULL; i++) {
    size_t n = (size_t)snprintf(want, sizeof(want),
                                "%016" PRIx64 "|%016" PRIx64 "|%d\n",
                                (uint64_t)i + 1, rows[i].chain, rows[i].hop);

    if (!CHECK_ROW(strncmp(line, want, n) == 0, i))
      fprintf(stderr, "  got %.40s  want %s", line, want);
    line = strchr(line, '\n');
    if (line == NULL)
      break;
    line++;
  }
  free(got);
}

/* One client requesting one URL over and over: the map keeps one entry for
 * the key (the newest), so the next hop to its Location continues the
 * newest chain, and a second visit finds nothing left to continue. */
static void test_chains_repeated_key(void)
{
  enum { REPEATS = 3 * STORE_CHAIN_MAP_MAX / 2 };
  char db[TESTUTIL_PATH_MAX], want[LINE_MAX_];
  struct store_writer *w;
  struct store_hop h;
  char *got;
  uint64_t id;

  new_db(db);
  w = open_writer(db, NULL, 0);
  for (id = 1; id <= REPEATS; id++) {
    h = hop(id, T0_MS + (int64_t)id, "10.0.0.9", RE, "http://a.test/",
            "http://b.test/");
    CHECK_INT(store_writer_hop(w, &h), STORE_OK);
  }
  h = hop(id, T0_MS + (int64_t)id, "10.0.0.9", RE, "http://b.test/",
          "http://c.test/");
  CHECK_INT(store_writer_hop(w, &h), STORE_OK);
  id++;
  h = hop(id, T0_MS + (int64_t)id, "10.0.0.9", RE, "http://b.test/",
          "http://c.test/");
  CHECK_INT(store_writer_hop(w, &h), STORE_OK);
  store_writer_close(&w);

  got = q_rows(db, "SELECT request_id, chain_id, hop FROM hop WHERE id > "
                   "(SELECT max(id) - 2 FROM hop) ORDER BY id");
  snprintf(want, sizeof(want),
           "%016" PRIx64 "|%016" PRIx64 "|1\n%016" PRIx64 "|%016" PRIx64 "|0\n",
           (uint64_t)REPEATS + 1, (uint64_t)REPEATS, (uint64_t)REPEATS + 2,
           (uint64_t)REPEATS + 2);
  CHECK_STR(got, want);
  free(got);
}

/* --- derived fields --- */

static void test_derived(void)
{
  static const struct {
    enum store_hop_kind kind;
    const char *url, *location;
    const char *want; /* location|scheme_change|same_host|bootstrap|host */
  } rows[] = {
    { RE, "http://x.test/", "https://x.test/",
      "https://x.test/|up|1|1|x.test" },
    { RE, "http://x.test/a/b", "../c", "http://x.test/c|none|1|0|x.test" },
    { RE, "http://x.test/", "https://www.x.test/",
      "https://www.x.test/|up|0|0|x.test" },
    { RE, "http://x.test/", "//y.test/p", "http://y.test/p|none|0|0|x.test" },
    { RE, "http://X.Test./", "https://x.test/",
      "https://x.test/|up|1|1|x.test" },
    { RE, "https://x.test/", "http://x.test/",
      "http://x.test/|down|1|0|x.test" },
    /* ours: an upgrade is never a bootstrap */
    { UP, "http://x.test:8080/q?a", "https://x.test:8080/q?a",
      "https://x.test:8080/q?a|up|1|0|x.test" },
    { RE, "http://x.test/", NULL, "NULL|NULL|NULL|0|x.test" },
    /* unresolvable: kept as sent, nothing derived */
    { RE, "http://x.test/", "http://bad host/",
      "http://bad host/|NULL|NULL|0|x.test" },
    { RE, "http://[::1]:8080/", "https://[::1]/", "https://[::1]/|up|1|1|::1" },
    { RE, "http://10.1.2.3/", "https://10.1.2.3/x",
      "https://10.1.2.3/x|up|1|1|10.1.2.3" },
    { 0, NULL, NULL, NULL }
  };
  char db[TESTUTIL_PATH_MAX];
  struct store_writer *w;
  char *got, *line;
  int i;

  new_db(db);
  w = open_writer(db, NULL, 0);
  for (i = 0; rows[i].url != NULL; i++) {
    struct store_hop h = hop((uint64_t)i + 1, T0_MS, "127.0.0.1", rows[i].kind,
                             rows[i].url, rows[i].location);

    CHECK_INT(store_writer_hop(w, &h), STORE_OK);
  }
  store_writer_close(&w);
  got = q_rows(db, "SELECT location, scheme_change, same_host, bootstrap,"
                   " host FROM hop ORDER BY id");
  line = strtok(got, "\n");
  for (i = 0; rows[i].url != NULL; i++) {
    if (!CHECK_ROW(line != NULL && strcmp(line, rows[i].want) == 0, i))
      fprintf(stderr, "  got %s\n  want %s\n", line ? line : "(none)",
              rows[i].want);
    line = strtok(NULL, "\n");
  }
  free(got);
}

/* --- kind-specific fields, text cleaning --- */

static void test_kind_fields(void)
{
  char db[TESTUTIL_PATH_MAX];
  struct store_writer *w;
  struct store_hop a, b;
  char *got;

  new_db(db);
  w = open_writer(db, NULL, 0);
  a = hop(1, T0_MS, "127.0.0.1", UP, "http://a.test/", "https://a.test/");
  a.policy_source = HSTS_SOURCE_LEARNED;
  a.policy_host = "a.test";
  a.include_subdomains = 1;
  a.expires = T0_MS / 1000 + 3600;
  a.upstream_ip = "192.0.2.1"; /* not for an upgrade: ignored */
  a.sts_header = "max-age=1";  /* likewise */
  a.user_agent = "bad \xff\xfe utf-8 \xe2\x82"; /* one U+FFFD a byte */
  b = hop(2, T0_MS, "127.0.0.1", RE, "http://b.test/", "https://b.test/");
  b.policy_source = HSTS_SOURCE_PRELOAD; /* not for a redirect: ignored */
  b.policy_host = "b.test";
  b.upstream_ip = "192.0.2.2";
  b.sts_header = "max-age=31536000";
  b.error = "upstream reset";
  b.status = 0;
  CHECK_INT(store_writer_hop(w, &a), STORE_OK);
  CHECK_INT(store_writer_hop(w, &b), STORE_OK);
  b.kind = 0;
  CHECK_INT(store_writer_hop(w, &b), STORE_EINVAL);
  store_writer_close(&w);
  got = q_rows(db, "SELECT kind, policy_source, policy_host,"
                   " include_subdomains, expires, upstream_ip, sts_header,"
                   " status, error, user_agent FROM hop ORDER BY id");
  CHECK_STR(got,
            "hsts-upgrade|learned|a.test|1|1764100800|NULL|NULL|307|"
            "NULL|bad \xef\xbf\xbd\xef\xbf\xbd utf-8 \xef\xbf\xbd\xef\xbf\xbd\n"
            "upstream-redirect|NULL|NULL|NULL|NULL|192.0.2.2|"
            "max-age=31536000|NULL|upstream reset|NULL\n");
  free(got);
}

/* --- JSON lines --- */

static const char golden[] =
    "{\"time\":\"2025-11-25T19:00:00.042Z\",\"duration_ms\":1.5,"
    "\"request_id\":\"00000000000000ff\",\"chain_id\":\"00000000000000ff\","
    "\"hop\":0,\"client\":\"127.0.0.1\",\"user_agent\":\"a\\u0001b\","
    "\"method\":\"GET\",\"url\":\"http://a.test/\","
    "\"http_version\":\"HTTP/1.1\",\"status\":307,"
    "\"reason\":\"Internal Redirect\",\"location\":\"https://a.test/\","
    "\"kind\":\"hsts-upgrade\",\"policy_source\":\"preload\","
    "\"policy_host\":\"a.test\",\"policy_list\":\"chromium-2026-06-01\","
    "\"include_subdomains\":true,"
    "\"expires\":null,\"upstream_ip\":null,\"sts_header\":null,"
    "\"scheme_change\":\"up\",\"same_host\":true,\"bootstrap\":false,"
    "\"error\":null,\"via\":\"proxy\"}\n";

static void test_json_lines(void)
{
  char db[TESTUTIL_PATH_MAX], json[TESTUTIL_PATH_MAX], *file, *rows;
  struct store_writer *w;
  struct store_hop h;
  int i;

  new_db(db);
  testutil_path("hops.json", json);
  w = open_writer(db, json, 3);
  h = hop(0xff, T0_MS + 42, "127.0.0.1", UP, "http://a.test/",
          "https://a.test/");
  h.duration_us = 1500;
  h.user_agent = "a\001b";
  h.policy_source = HSTS_SOURCE_PRELOAD;
  h.policy_host = "a.test";
  h.policy_list = "chromium-2026-06-01";
  h.include_subdomains = 1;
  CHECK_INT(store_writer_hop(w, &h), STORE_OK);
  for (i = 0; i < 10; i++) {
    h = hop((uint64_t)i + 1000, T0_MS + i, "10.0.0.9", i % 2 ? UP : RE,
            "http://b.test/", i % 3 ? "https://b.test/" : "/x");
    h.sts_header = "max-age=\"1\"";
    CHECK_INT(store_writer_hop(w, &h), STORE_OK);
  }
  store_writer_close(&w);
  /* a second run appends */
  w = open_writer(db, json, 0);
  h = hop(2000, T0_MS, "10.0.0.9", RE, "http://c.test/", NULL);
  CHECK_INT(store_writer_hop(w, &h), STORE_OK);
  store_writer_close(&w);
  file = read_file(json);
  rows = q_rows(db, "SELECT json FROM hop_json ORDER BY id");
  CHECK_STR(file, rows);
  CHECK(strncmp(file, golden, sizeof(golden) - 1) == 0);
  if (strncmp(file, golden, sizeof(golden) - 1) != 0)
    fprintf(stderr, "got  %.*s\nwant %s", (int)(sizeof(golden) - 1), file,
            golden);
  free(file);
  free(rows);
}

/* --- rows inserted in groups --- */

#define GROUP_HOPS 75 /* two multi-row statements and 11 single rows */

/* GROUP_HOPS varied hops (kinds, NULL fields, clients, hosts) to w. */
static void submit_varied(struct store_writer *w)
{
  char url[64], loc[64];
  struct store_hop h;
  int i;

  for (i = 0; i < GROUP_HOPS; i++) {
    snprintf(url, sizeof(url), "http://h%d.test/p%d", i % 4, i);
    snprintf(loc, sizeof(loc), i % 5 ? "https://h%d.test/p%d" : "/rel%d%d",
             i % 4, i);
    h = hop((uint64_t)i + 1, T0_MS + i, i % 3 ? "10.0.0.1" : "10.0.0.2",
            i % 2 ? UP : RE, url, i % 7 ? loc : NULL);
    h.duration_us = (uint64_t)i * 10;
    h.user_agent = i % 6 ? "ua" : NULL;
    h.policy_source = HSTS_SOURCE_LEARNED;
    h.policy_host = "h.test";
    h.policy_list = i % 4 ? NULL : "list";
    h.include_subdomains = i % 3 == 0;
    h.expires = i % 2 ? T0_MS / 1000 + i : 0;
    h.upstream_ip = "192.0.2.9";
    h.sts_header = i % 3 ? "max-age=5" : NULL;
    h.error = i % 11 ? NULL : "reset";
    h.status = i % 13 ? h.status : 0;
    h.intercepted = i % 9 == 0;
    CHECK_INT(store_writer_hop(w, &h), STORE_OK);
  }
}

/* Hops in one batch go in multi-row statements; one hop per batch, one
 * row at a time: the rows, their order, the JSON lines and the counters
 * must not differ. */
static void test_groups(void)
{
  static const char rows_sql[] =
      "SELECT time_ms, duration_us, request_id, chain_id, hop, client,"
      " user_agent, method, url, host, http_version, status, reason,"
      " location, kind, policy_source, policy_host, include_subdomains,"
      " expires, upstream_ip, sts_header, scheme_change, same_host,"
      " bootstrap, error, policy_list, via FROM hop ORDER BY id";
  static const char counts_sql[] = "SELECT * FROM host_traffic ORDER BY host";
  char db1[TESTUTIL_PATH_MAX], db2[TESTUTIL_PATH_MAX];
  char json[TESTUTIL_PATH_MAX], *one, *grouped, *file, *lines;
  struct store_writer *w;

  new_db(db1);
  new_db(db2);
  testutil_path("groups.json", json);
  w = open_writer(db1, NULL, 1);
  submit_varied(w);
  store_writer_close(&w);
  w = open_writer(db2, json, GROUP_HOPS);
  submit_varied(w);
  store_writer_close(&w);
  one = q_rows(db1, rows_sql);
  grouped = q_rows(db2, rows_sql);
  CHECK_STR(grouped, one);
  free(one);
  free(grouped);
  one = q_rows(db1, counts_sql);
  grouped = q_rows(db2, counts_sql);
  CHECK_STR(grouped, one);
  free(one);
  free(grouped);
  file = read_file(json);
  lines = q_rows(db2, "SELECT json FROM hop_json ORDER BY id");
  CHECK_STR(file, lines);
  free(file);
  free(lines);
  lines = q_rows(db2, "SELECT count(*), min(id), max(id),"
                      " sum(request_id = printf('%016x', id)) FROM hop");
  CHECK_STR(lines, "75|1|75|75\n");
  free(lines);
}

/* --- per-host counters --- */

static void submit_counters(struct store_writer *w)
{
  static const struct {
    const char *host;
    enum store_traffic_kind kind;
    unsigned port;
    int64_t dt;
  } traffic[] = { { "a.test", STORE_TRAFFIC_HTTP, 0, 5 },
                  { "A.test.", STORE_TRAFFIC_HTTP, 0, 0 },
                  { "a.test", STORE_TRAFFIC_HTTP, 0, 10 },
                  { "a.test", STORE_TRAFFIC_CONNECT, 443, 1 },
                  { "a.test", STORE_TRAFFIC_CONNECT, 8443, 2 },
                  { "a.test", STORE_TRAFFIC_CONNECT, 443, 3 },
                  { "B.Test", STORE_TRAFFIC_CONNECT, 443, 4 },
                  { "[::1]", STORE_TRAFFIC_HTTP, 0, 7 },
                  { NULL, 0, 0, 0 } };
  struct store_hop h;
  int i;

  for (i = 0; traffic[i].host != NULL; i++) {
    struct store_traffic t = { T0_MS + traffic[i].dt, traffic[i].host,
                               traffic[i].kind, traffic[i].port };

    CHECK_INT(store_writer_traffic(w, &t), STORE_OK);
  }
  h = hop(1, T0_MS + 20, "127.0.0.1", UP, "http://a.test/", "https://a.test/");
  CHECK_INT(store_writer_hop(w, &h), STORE_OK);
  h = hop(2, T0_MS, "127.0.0.1", RE, "http://a.test/x", "https://a.test/x");
  CHECK_INT(store_writer_hop(w, &h), STORE_OK);
  h = hop(3, T0_MS, "127.0.0.1", RE, "http://a.test/", "http://b.test/");
  CHECK_INT(store_writer_hop(w, &h), STORE_OK);
}

static void test_counters(void)
{
  char db[TESTUTIL_PATH_MAX];
  struct store_writer *w;
  char *got;

  new_db(db);
  w = open_writer(db, NULL, 3); /* several batches */
  submit_counters(w);
  store_writer_close(&w);
  w = open_writer(db, NULL, 0); /* a second run adds up */
  submit_counters(w);
  store_writer_close(&w);
  got = q_rows(db, "SELECT host, first_seen - 1764097200000,"
                   " last_seen - 1764097200000, http_requests, upgrades,"
                   " upstream_redirects, redirects_to_https, connects"
                   " FROM host_traffic ORDER BY host");
  /* a.test: 3 plain-HTTP traffic records and the upgrade hop (which
   * counts its own request) per run. */
  CHECK_STR(got, "::1|7|7|2|0|0|0|0\n"
                 "a.test|0|20|8|2|4|2|6\n"
                 "b.test|4|4|0|0|0|0|2\n");
  free(got);
  got = q_rows(db, "SELECT host, port, count FROM host_connect_port"
                   " ORDER BY host, port");
  CHECK_STR(got, "a.test|443|4\na.test|8443|2\nb.test|443|2\n");
  free(got);
  got = q_rows(db, "SELECT count(*), sum(submitted), sum(written),"
                   " sum(dropped), sum(failed) FROM writer_stats");
  CHECK_STR(got, "2|22|22|0|0\n");
  free(got);
}

TEST_MAIN({ "chains", test_chains },
          { "chains_repeated_key", test_chains_repeated_key },
          { "derived", test_derived }, { "kind_fields", test_kind_fields },
          { "json_lines", test_json_lines }, { "groups", test_groups },
          { "counters", test_counters })
