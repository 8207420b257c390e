/*
 * test_store_log_writer.c - the hop log writer (store_writer.h).
 *
 * Concurrency (many producers, exact row counts), the bounded queue (drops
 * counted exactly, producers never wait), batching and close, a locked
 * store (reported once, caught up afterwards), the JSON lines against the
 * rows, and the per-host counters. Rows are read back with SQLite directly.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include "store_writer.h"
#include "store_testutil.h"
#include "testlib.h"

#define THREADS        4
#define PER_THREAD     2500
#define T0_MS          1764097200000LL /* 2025-11-25T19:00:00Z */
#define FAST_MS        50              /* busy timeout and retry in tests */
#define WAIT_STEP_MS   10
#define WAIT_MAX_MS    20000
#define LONG_URL_BYTES 1000
#define TINY_SUBMITS   2000
#define SUBMIT_MAX_MS  2000 /* all TINY_SUBMITS, generous for sanitizers */
#define ERRBUF         512

static char db_counter;

/* A fresh store path per test. */
static void new_db(char out[TESTUTIL_PATH_MAX])
{
  char name[32];

  snprintf(name, sizeof(name), "log%d.db", ++db_counter);
  testutil_path(name, out);
}

static int64_t now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

  nanosleep(&ts, NULL);
}

/* One integer from the store (-1 on error). */
static int64_t q_int(const char *db_path, const char *sql)
{
  sqlite3 *db;
  sqlite3_stmt *st;
  int64_t v = -1;

  if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    return -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
    if (sqlite3_step(st) == SQLITE_ROW)
      v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  } else {
    fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
  }
  sqlite3_close(db);
  return v;
}

static struct store_writer *open_writer(const char *db, const char *json,
                                        size_t queue, FILE *errors)
{
  struct store_writer_config cfg = { 0 };
  struct store_writer *w = NULL;
  char err[ERRBUF] = "";
  int rc;

  cfg.db_path = db;
  cfg.json_path = json;
  cfg.queue_bytes = queue;
  cfg.busy_ms = FAST_MS;
  cfg.retry_ms = FAST_MS;
  cfg.errors = errors;
  rc = store_writer_open(&cfg, &w, err, sizeof(err));
  CHECK_INT(rc, STORE_OK);
  if (rc != STORE_OK) {
    fprintf(stderr, "store_writer_open: %s\n", err);
    exit(EXIT_FAILURE);
  }
  return w;
}

static struct store_hop upgrade(uint64_t id, const char *url, const char *loc)
{
  struct store_hop h;

  memset(&h, 0, sizeof(h));
  h.time_ms = T0_MS + (int64_t)(id & 0xffff);
  h.duration_us = 12;
  h.request_id = id;
  h.client = "127.0.0.1";
  h.user_agent = "curl/8.0";
  h.method = "GET";
  h.url = url;
  h.http_version = "HTTP/1.1";
  h.status = 307;
  h.reason = "Internal Redirect";
  h.location = loc;
  h.kind = STORE_HOP_UPGRADE;
  h.policy_source = HSTS_SOURCE_PRELOAD;
  h.policy_host = "a.test";
  h.include_subdomains = 1;
  return h;
}

/* --- many producers --- */

struct producer {
  struct store_writer *w;
  unsigned index;
  unsigned ok, full;
};

static void *produce(void *arg)
{
  struct producer *p = arg;
  char url[64], host[32];
  unsigned i;

  snprintf(host, sizeof(host), "t%u.test", p->index);
  for (i = 0; i < PER_THREAD; i++) {
    uint64_t id = ((uint64_t)p->index << 32) | i;
    struct store_hop h;
    struct store_traffic t = { T0_MS, host, STORE_TRAFFIC_HTTP, 0 };

    snprintf(url, sizeof(url), "http://%s/%u", host, i);
    h = upgrade(id, url, NULL);
    if (store_writer_hop(p->w, &h) == STORE_OK)
      p->ok++;
    else
      p->full++;
    if (store_writer_traffic(p->w, &t) == STORE_OK)
      p->ok++;
    else
      p->full++;
  }
  return NULL;
}

static void test_concurrent_producers(void)
{
  char db[TESTUTIL_PATH_MAX];
  struct producer p[THREADS];
  pthread_t th[THREADS];
  struct store_writer_stats st;
  struct store_writer *w;
  unsigned i;

  new_db(db);
  w = open_writer(db, NULL, 0, NULL);
  for (i = 0; i < THREADS; i++) {
    p[i] = (struct producer){ w, i, 0, 0 };
    CHECK(pthread_create(&th[i], NULL, produce, &p[i]) == 0);
  }
  for (i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    CHECK_INT(p[i].ok, 2 * PER_THREAD);
    CHECK_INT(p[i].full, 0);
  }
  store_writer_stats(w, &st);
  CHECK_INT(st.submitted, 2 * THREADS * PER_THREAD);
  CHECK_INT(st.hops_submitted, THREADS * PER_THREAD);
  CHECK_INT(st.dropped, 0);
  store_writer_close_stats(&w, &st);
  CHECK(w == NULL);
  /* Every record committed; the hop counters count the hops alone. */
  CHECK_INT(st.written, 2 * THREADS * PER_THREAD);
  CHECK_INT(st.hops_written, THREADS * PER_THREAD);
  CHECK_INT(st.queued + st.hops_queued + st.hops_failed, 0);
  CHECK_INT(q_int(db, "SELECT count(*) FROM hop"), THREADS * PER_THREAD);
  CHECK_INT(q_int(db, "SELECT count(DISTINCT request_id) FROM hop"),
            THREADS * PER_THREAD);
  /* Each upgrade hop counts its request, each traffic record one more
   * (a request that was not upgraded). */
  CHECK_INT(q_int(db, "SELECT sum(http_requests) FROM host_traffic"),
            2 * THREADS * PER_THREAD);
  CHECK_INT(q_int(db, "SELECT sum(upgrades) FROM host_traffic"),
            THREADS * PER_THREAD);
  CHECK_INT(q_int(db, "SELECT count(*) FROM host_traffic"), THREADS);
  CHECK_INT(q_int(db, "SELECT written FROM writer_stats"),
            2 * THREADS * PER_THREAD);
  CHECK_INT(q_int(db, "SELECT dropped + failed FROM writer_stats"), 0);
}

/* --- a locked store --- */

static sqlite3 *lock_store(const char *db_path)
{
  sqlite3 *db;

  CHECK(sqlite3_open(db_path, &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK);
  return db;
}

static void unlock_store(sqlite3 *db)
{
  CHECK(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
  sqlite3_close(db);
}

/* Waits until the writer says it is failing (or not); 1 when it did. */
static int wait_failing(struct store_writer *w, int failing)
{
  struct store_writer_stats st;
  int64_t end = now_ms() + WAIT_MAX_MS;

  do {
    store_writer_stats(w, &st);
    if (st.failing == failing)
      return 1;
    sleep_ms(WAIT_STEP_MS);
  } while (now_ms() < end);
  return 0;
}

/* The lines written to an error stream so far. Caller frees. */
static char *read_all(FILE *f)
{
  long n;
  char *buf;

  fflush(f);
  n = ftell(f);
  buf = calloc(1, (size_t)n + 1);
  if (buf == NULL)
    exit(EXIT_FAILURE);
  rewind(f);
  if (fread(buf, 1, (size_t)n, f) != (size_t)n)
    exit(EXIT_FAILURE);
  return buf;
}

static int count_lines(const char *s)
{
  int n = 0;

  for (; *s != '\0'; s++)
    n += *s == '\n';
  return n;
}

static void test_locked_store_catches_up(void)
{
  char db[TESTUTIL_PATH_MAX], expect[TESTUTIL_PATH_MAX + 64];
  FILE *errors = tmpfile();
  struct store_writer *w;
  struct store_hop h;
  sqlite3 *lock;
  char *text;
  int i;

  new_db(db);
  w = open_writer(db, NULL, 0, errors);
  lock = lock_store(db);
  for (i = 0; i < 100; i++) {
    h = upgrade((uint64_t)i + 1, "http://a.test/", "https://a.test/");
    CHECK_INT(store_writer_hop(w, &h), STORE_OK);
  }
  CHECK(wait_failing(w, 1));
  sleep_ms(4 * FAST_MS); /* several retries fail meanwhile */
  text = read_all(errors);
  snprintf(expect, sizeof(expect),
           "hstsproxy: store %s: cannot write hop log: database is locked\n",
           db);
  CHECK_STR(text, expect); /* reported once */
  free(text);
  CHECK_INT(q_int(db, "SELECT count(*) FROM hop"), 0);
  unlock_store(lock);
  CHECK(wait_failing(w, 0));
  store_writer_close(&w);
  CHECK_INT(q_int(db, "SELECT count(*) FROM hop"), 100);
  CHECK_INT(q_int(db, "SELECT failed + dropped FROM writer_stats"), 0);
  text = read_all(errors);
  CHECK_INT(count_lines(text), 2);
  CHECK(strstr(text, "hop log: writing again\n") != NULL);
  free(text);
  fclose(errors);
}

/* --- the bounded queue --- */

static void test_tiny_queue_drops_exactly(void)
{
  char db[TESTUTIL_PATH_MAX], url[LONG_URL_BYTES + 32];
  FILE *errors = tmpfile();
  struct store_writer_stats st;
  struct store_writer *w;
  unsigned ok = 0, full = 0, i;
  int64_t start, took;
  sqlite3 *lock;

  new_db(db);
  w = open_writer(db, NULL, STORE_WRITER_QUEUE_MIN, errors);
  lock = lock_store(db);
  memset(url, 'x', sizeof(url));
  memcpy(url, "http://a.test/", 14);
  url[LONG_URL_BYTES] = '\0';
  start = now_ms();
  for (i = 0; i < TINY_SUBMITS; i++) {
    struct store_hop h = upgrade(i + 1, url, NULL);
    int rc = store_writer_hop(w, &h);

    CHECK(rc == STORE_OK || rc == STORE_EFULL);
    if (rc == STORE_OK)
      ok++;
    else
      full++;
  }
  took = now_ms() - start;
  CHECK(took < SUBMIT_MAX_MS); /* never waited for the locked store */
  CHECK(full > 0);
  CHECK(ok > 0);
  store_writer_stats(w, &st);
  CHECK_INT(st.submitted, TINY_SUBMITS);
  CHECK_INT(st.dropped, full);
  CHECK_INT(st.queued, ok);
  CHECK_INT(st.hops_dropped, full);
  CHECK_INT(st.hops_queued, ok);
  unlock_store(lock);
  store_writer_close(&w);
  CHECK_INT(q_int(db, "SELECT count(*) FROM hop"), ok);
  CHECK_INT(q_int(db, "SELECT dropped FROM writer_stats"), full);
  CHECK_INT(q_int(db, "SELECT written FROM writer_stats"), ok);
  CHECK_INT(q_int(db, "SELECT failed FROM writer_stats"), 0);
  fclose(errors);
}

/* --- close --- */

static void test_close_flushes_everything(void)
{
  char db[TESTUTIL_PATH_MAX];
  struct store_writer_config cfg = { 0 };
  struct store_writer *w = NULL;
  char err[ERRBUF];
  int i;

  new_db(db);
  cfg.db_path = db;
  cfg.batch_ms = 3600 * 1000; /* only close commits */
  cfg.batch_max = 1000;
  CHECK_INT(store_writer_open(&cfg, &w, err, sizeof(err)), STORE_OK);
  for (i = 0; i < 100; i++) {
    struct store_hop h = upgrade((uint64_t)i + 1, "http://a.test/", NULL);

    CHECK_INT(store_writer_hop(w, &h), STORE_OK);
  }
  sleep_ms(FAST_MS);
  CHECK_INT(q_int(db, "SELECT count(*) FROM hop"), 0);
  store_writer_close(&w);
  store_writer_close(&w); /* NULL-safe */
  store_writer_close(NULL);
  CHECK_INT(q_int(db, "SELECT count(*) FROM hop"), 100);
  CHECK_INT(q_int(db, "SELECT written FROM writer_stats"), 100);
}

static void test_close_gives_up_on_locked_store(void)
{
  char db[TESTUTIL_PATH_MAX];
  FILE *errors = tmpfile();
  struct store_writer *w;
  sqlite3 *lock;
  char *text;
  int i;

  new_db(db);
  w = open_writer(db, NULL, 0, errors);
  lock = lock_store(db);
  for (i = 0; i < 10; i++) {
    struct store_hop h = upgrade((uint64_t)i + 1, "http://a.test/", NULL);

    CHECK_INT(store_writer_hop(w, &h), STORE_OK);
  }
  store_writer_close(&w); /* returns, having given up */
  unlock_store(lock);
  CHECK_INT(q_int(db, "SELECT count(*) FROM hop"), 0);
  text = read_all(errors);
  CHECK_INT(count_lines(text), 2); /* the failure, then what was lost */
  CHECK(strstr(text, "database is locked") != NULL);
  CHECK(strstr(text, ": gave up 10 hop-log records: the store still fails\n") !=
        NULL);
  free(text);
  fclose(errors);
}

static void test_open_errors(void)
{
  static const struct {
    const char *db, *json;
    size_t queue;
    int rc;
    const char *msg; /* a part of the message */
  } rows[] = { { "ok.db", NULL, STORE_WRITER_QUEUE_MIN - 1, STORE_EINVAL,
                 "minimum" },
               { "ok.db", "/nonexistent/dir/log.json", 0, STORE_EIO,
                 "/nonexistent/dir/log.json: cannot open for appending" },
               { "afile/x.db", NULL, 0, STORE_EIO, "afile is not a directory" },
               { NULL, NULL, 0, 0, NULL } };
  char file[TESTUTIL_PATH_MAX];
  int i;

  testutil_write("afile", "x", 1, file); /* not a directory */
  for (i = 0; rows[i].db != NULL; i++) {
    struct store_writer_config cfg = { 0 };
    struct store_writer *w = (struct store_writer *)&cfg;
    char path[TESTUTIL_PATH_MAX], err[ERRBUF] = "";

    testutil_path(rows[i].db, path);
    cfg.db_path = path;
    cfg.json_path = rows[i].json;
    cfg.queue_bytes = rows[i].queue;
    CHECK_ROW(store_writer_open(&cfg, &w, err, sizeof(err)) == rows[i].rc, i);
    CHECK_ROW(w == NULL, i);
    if (w != NULL && w != (struct store_writer *)&cfg)
      store_writer_close(&w);
    if (!CHECK_ROW(strstr(err, rows[i].msg) != NULL, i))
      fprintf(stderr, "  message: %s\n", err);
  }
}

/* --- the hop listener: JSON only for the batches it wants --- */

struct listener {
  int want;      /* what on_hop_wanted answers */
  int asked;     /* times it was asked */
  int got;       /* hops handed out */
  char last[64]; /* the start of the last one */
};

static int listener_wants(void *arg)
{
  struct listener *l = arg;

  l->asked++;
  return l->want;
}

static void listener_hop(const char *json, size_t len, void *arg)
{
  struct listener *l = arg;

  l->got++;
  snprintf(l->last, sizeof(l->last), "%.*s", (int)len, json);
}

/* Submits n hops and closes the writer (everything committed). */
static void run_listener(struct listener *l, int n)
{
  char db[TESTUTIL_PATH_MAX], err[ERRBUF];
  struct store_writer_config cfg = { 0 };
  struct store_writer *w = NULL;
  int i;

  new_db(db);
  cfg.db_path = db;
  cfg.on_hop = listener_hop;
  cfg.on_hop_wanted = listener_wants;
  cfg.on_hop_arg = l;
  CHECK_INT(store_writer_open(&cfg, &w, err, sizeof(err)), STORE_OK);
  for (i = 0; i < n; i++) {
    struct store_hop h = upgrade((uint64_t)i + 1, "http://a.test/", NULL);

    CHECK_INT(store_writer_hop(w, &h), STORE_OK);
  }
  store_writer_close(&w);
  CHECK_INT(q_int(db, "SELECT count(*) FROM hop"), n);
}

static void test_hop_listener_only_when_wanted(void)
{
  struct listener off = { 0, 0, 0, "" }, on = { 1, 0, 0, "" };

  run_listener(&off, 20);
  CHECK(off.asked > 0);
  CHECK_INT(off.got, 0); /* no JSON built for it */
  run_listener(&on, 20);
  CHECK(on.asked > 0);
  CHECK_INT(on.got, 20);
  CHECK(strncmp(on.last, "{\"time\":", 8) == 0);
}

TEST_MAIN({ "concurrent_producers", test_concurrent_producers },
          { "locked_store_catches_up", test_locked_store_catches_up },
          { "tiny_queue_drops_exactly", test_tiny_queue_drops_exactly },
          { "close_flushes_everything", test_close_flushes_everything },
          { "close_gives_up_on_locked_store",
            test_close_gives_up_on_locked_store },
          { "open_errors", test_open_errors },
          { "hop_listener_only_when_wanted",
            test_hop_listener_only_when_wanted })
