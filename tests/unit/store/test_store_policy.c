/*
 * test_store_policy.c - learned and manual policies: learning from
 * headers (upsert, max-age=0, precedence of manual entries, refusals),
 * expiry and pruning, deletion (a preloaded host is refused), loading the
 * dynamic index, and curl's --hsts cache format both ways.
 */
#include "hsts_header.h"
#include "hsts_index.h"
#include "store.h"
#include "store_policy.h"
#include "store_preload.h"
#include "store_testutil.h"
#include "testlib.h"

#define NOW 1700000000 /* 2023-11-14T22:13:20Z */

static struct store *open_fresh(const char *name, char *path)
{
  struct store *s;

  testutil_path(name, path);
  if (store_open(path, 0, &s) != STORE_OK) {
    fprintf(stderr, "open %s: %s\n", path, store_errmsg(s));
    exit(EXIT_FAILURE);
  }
  return s;
}

/* One step of a learning scenario, applied in order, then checked. */
struct step {
  const char *host;
  const char *header;
  int64_t at;
  enum store_learn outcome;
  const char *why;        /* substring of *why, or NULL when recorded */
  const char *check_host; /* the host whose stored state is checked */
  int present;            /* a live policy for check_host afterwards */
  enum hsts_source source;
  int sub;
  int64_t expires;
};

static const struct step steps[] = {
  { "Example.COM.", "max-age=3600; includeSubDomains", NOW,
    STORE_LEARN_RECORDED, NULL, "example.com", 1, HSTS_SOURCE_LEARNED, 1,
    NOW + 3600 },
  /* Refreshed: the newest header wins, subdomains dropped. */
  { "example.com", "max-age=7200", NOW + 10, STORE_LEARN_RECORDED, NULL,
    "example.com", 1, HSTS_SOURCE_LEARNED, 0, NOW + 10 + 7200 },
  /* Invalid headers change nothing. */
  { "example.com", "max-age=1; max-age=2", NOW + 20, STORE_LEARN_IGNORED,
    "invalid", "example.com", 1, HSTS_SOURCE_LEARNED, 0, NOW + 10 + 7200 },
  { "example.com", "includeSubDomains", NOW + 20, STORE_LEARN_IGNORED,
    "invalid", "example.com", 1, HSTS_SOURCE_LEARNED, 0, NOW + 10 + 7200 },
  /* max-age=0 forgets the learned entry; a second time, nothing to do. */
  { "example.com", "max-age=0", NOW + 30, STORE_LEARN_DELETED, NULL,
    "example.com", 0, HSTS_SOURCE_NONE, 0, 0 },
  { "example.com", "max-age=0", NOW + 31, STORE_LEARN_IGNORED,
    "nothing learned", "example.com", 0, HSTS_SOURCE_NONE, 0, 0 },
  /* Capped at one year, as Chromium does. */
  { "big.example", "max-age=999999999999", NOW, STORE_LEARN_RECORDED, NULL,
    "big.example", 1, HSTS_SOURCE_LEARNED, 0, NOW + HSTS_MAX_AGE_CAP },
  /* Never for IP literals or localhost. */
  { "10.1.2.3", "max-age=3600", NOW, STORE_LEARN_IGNORED, "IP literal",
    "10.1.2.3", 0, HSTS_SOURCE_NONE, 0, 0 },
  { "[::1]", "max-age=3600", NOW, STORE_LEARN_IGNORED, "IP literal", "::1", 0,
    HSTS_SOURCE_NONE, 0, 0 },
  { "localhost", "max-age=3600", NOW, STORE_LEARN_IGNORED, "localhost",
    "localhost", 0, HSTS_SOURCE_NONE, 0, 0 },
  { "app.LOCALHOST", "max-age=3600", NOW, STORE_LEARN_IGNORED, "localhost",
    "app.localhost", 0, HSTS_SOURCE_NONE, 0, 0 },
  { "bad..host", "max-age=3600", NOW, STORE_LEARN_IGNORED, "empty label",
    "bad..host", 0, HSTS_SOURCE_NONE, 0, 0 },
  /* A manual entry wins: learning neither replaces nor deletes it. */
  { "manual.example", "max-age=60", NOW, STORE_LEARN_IGNORED, "manual",
    "manual.example", 1, HSTS_SOURCE_MANUAL, 1, NOW + 86400 },
  { "manual.example", "max-age=0", NOW, STORE_LEARN_IGNORED, "nothing learned",
    "manual.example", 1, HSTS_SOURCE_MANUAL, 1, NOW + 86400 },
  { NULL, NULL, 0, 0, NULL, NULL, 0, 0, 0, 0 }
};

static void test_learning(void)
{
  char db[TESTUTIL_PATH_MAX];
  struct store *s = open_fresh("learn.db", db);
  struct hsts_header h;
  struct store_policy p, out;
  enum store_learn outcome;
  const char *why;
  int i, err;

  CHECK_INT(store_policy_add(s, "manual.example", 1, 86400, "cli", NOW, NULL),
            STORE_OK);
  for (i = 0; steps[i].host != NULL; i++) {
    const struct step *t = &steps[i];

    hsts_header_parse(t->header, strlen(t->header), &h);
    memset(&out, 0, sizeof(out));
    CHECK_ROW(store_policy_learn(s, t->host, &h, t->header, "probe", t->at,
                                 &outcome, &why, &out) == STORE_OK,
              i);
    CHECK_ROW(outcome == t->outcome, i);
    CHECK_ROW(why != NULL, i);
    if (t->why != NULL)
      CHECK_ROW(strstr(why, t->why) != NULL, i);
    else
      CHECK_ROW(why[0] == '\0', i);
    if (outcome == STORE_LEARN_RECORDED) {
      CHECK_ROW(strcmp(out.host, t->check_host) == 0, i);
      CHECK_ROW(out.expires == t->expires, i);
    }
    err = store_policy_get(s, t->check_host, t->at, &p);
    CHECK_ROW((err == STORE_OK) == t->present, i);
    if (err == STORE_OK && t->present) {
      CHECK_ROW(p.source == t->source, i);
      CHECK_ROW(p.include_subdomains == t->sub, i);
      CHECK_ROW(p.expires == t->expires, i);
      if (t->source == HSTS_SOURCE_MANUAL)
        CHECK_ROW(p.observed == NOW, i);
      if (outcome == STORE_LEARN_RECORDED) {
        CHECK_ROW(p.observed == t->at, i);
        CHECK_ROW(strcmp(p.raw_header, t->header) == 0, i);
        CHECK_ROW(strcmp(p.how, "probe") == 0, i);
      }
    }
  }
  /* An over-long raw header is not recorded. */
  {
    char raw[STORE_RAW_HEADER_MAX + 64];

    memset(raw, ' ', sizeof(raw));
    memcpy(raw, "max-age=60;", 11);
    raw[sizeof(raw) - 1] = '\0';
    hsts_header_parse(raw, strlen(raw), &h);
    CHECK_INT(store_policy_learn(s, "long.example", &h, raw, "proxy", NOW,
                                 &outcome, &why, NULL),
              STORE_OK);
    CHECK_INT(outcome, STORE_LEARN_IGNORED);
    CHECK_INT(store_policy_get(s, "long.example", NOW, &p), STORE_ENOTFOUND);
  }
  store_close(&s);
}

static int count_cb(const struct store_policy *p, void *arg)
{
  (void)p;
  (*(int *)arg)++;
  return 0;
}

static void test_expiry_and_prune(void)
{
  char db[TESTUTIL_PATH_MAX];
  struct store *s = open_fresh("expiry.db", db);
  struct hsts_header h;
  struct store_policy p;
  struct hsts_index *ix;
  enum store_learn outcome;
  const char *why;
  size_t pruned = 99;
  int n = 0;

  hsts_header_parse("max-age=100", 11, &h);
  CHECK_INT(store_policy_learn(s, "short.example", &h, "max-age=100", "proxy",
                               NOW, &outcome, &why, NULL),
            STORE_OK);
  CHECK_INT(store_policy_add(s, "long.example", 0, 1000, "cli", NOW, NULL),
            STORE_OK);
  /* Live through its expiry second (as hsts_lookup), gone after. */
  CHECK_INT(store_policy_get(s, "short.example", NOW + 100, &p), STORE_OK);
  CHECK_INT(store_policy_get(s, "short.example", NOW + 101, &p),
            STORE_ENOTFOUND);
  CHECK_INT(store_policy_foreach(s, HSTS_SOURCE_NONE, NOW + 101, count_cb, &n),
            STORE_OK);
  CHECK_INT(n, 1);
  CHECK_INT(store_load_dynamic(s, NULL, NOW + 101, &ix), STORE_OK);
  CHECK_INT(hsts_index_count(ix), 1);
  hsts_index_free(&ix);
  CHECK_INT(store_policy_prune(s, NOW + 100, &pruned), STORE_OK);
  CHECK_INT(pruned, 0);
  CHECK_INT(store_policy_prune(s, NOW + 101, &pruned), STORE_OK);
  CHECK_INT(pruned, 1);
  store_close(&s);
  {
    char *dump = testutil_dump(db);

    CHECK(strstr(dump, "short.example") == NULL);
    CHECK(strstr(dump, "long.example") != NULL);
    free(dump);
  }
}

static void test_add_and_delete(void)
{
  static const char list[] = "preloaded.example includeSubDomains\n";
  char db[TESTUTIL_PATH_MAX];
  struct store *s = open_fresh("delete.db", db);
  struct store_policy p;

  /* Refusals of add. */
  CHECK_INT(store_policy_add(s, "x.example", 0, 0, "cli", NOW, NULL),
            STORE_EINVAL);
  CHECK_INT(store_policy_add(s, "192.0.2.1", 0, 60, "cli", NOW, NULL),
            STORE_EHOST);
  CHECK(strstr(store_errmsg(s), "IP literal") != NULL);
  CHECK_INT(store_policy_add(s, "localhost", 0, 60, "cli", NOW, NULL),
            STORE_EHOST);
  CHECK_INT(store_policy_add(s, "a\nb", 0, 60, "cli", NOW, NULL), STORE_EHOST);
  CHECK(strchr(store_errmsg(s), '\n') == NULL);
  CHECK(strstr(store_errmsg(s), "a\\x0ab") != NULL);
  /* Max-age at the top of its range. */
  CHECK_INT(store_policy_add(s, "far.example", 1, UINT32_MAX, "cli", NOW, &p),
            STORE_OK);
  CHECK_INT(p.expires, (int64_t)NOW + UINT32_MAX);
  /* Delete: manual, then nothing left, builtin and imported refusals. */
  CHECK_INT(store_policy_delete(s, "FAR.example", &p), STORE_OK);
  CHECK_STR(p.host, "far.example");
  CHECK_INT(p.source, HSTS_SOURCE_MANUAL);
  CHECK_INT(store_policy_delete(s, "far.example", NULL), STORE_ENOTFOUND);
  CHECK(strstr(store_errmsg(s), "no learned or manual policy") != NULL);
  CHECK_INT(store_policy_delete(s, "Dev.", NULL), STORE_EPRELOADED);
  CHECK(strstr(store_errmsg(s), "chromium-2026-06-01") != NULL);
  CHECK_INT(store_policy_delete(s, "www.example.dev", NULL), STORE_ENOTFOUND);
  CHECK_INT(store_policy_delete(s, "1.2.3.4", NULL), STORE_EHOST);
  CHECK_INT(store_preload_import_mem(s, list, sizeof(list) - 1, "list",
                                     STORE_FORMAT_TEXT, NOW, NULL),
            STORE_OK);
  CHECK_INT(store_policy_delete(s, "preloaded.example", NULL),
            STORE_EPRELOADED);
  CHECK(strstr(store_errmsg(s), "preloaded (list text-") != NULL);
  CHECK_INT(store_policy_delete(s, "dev", NULL), STORE_ENOTFOUND);
  /* Preloaded and learned: the learned part can go, the list stays. */
  CHECK_INT(store_policy_add(s, "preloaded.example", 0, 60, "cli", NOW, NULL),
            STORE_OK);
  CHECK_INT(store_policy_delete(s, "preloaded.example", NULL), STORE_OK);
  CHECK_INT(store_policy_delete(s, "preloaded.example", NULL),
            STORE_EPRELOADED);
  store_close(&s);
}

static void test_dynamic_lookup(void)
{
  char db[TESTUTIL_PATH_MAX];
  struct store *s = open_fresh("lookup.db", db);
  struct hsts_index *dy, *st;
  struct hsts_result r;

  CHECK_INT(store_policy_add(s, "example.com", 0, 600, "cli", NOW, NULL),
            STORE_OK);
  CHECK_INT(store_policy_add(s, "sub.example.org", 1, 600, "cli", NOW, NULL),
            STORE_OK);
  CHECK_INT(store_policy_add(s, "other.test", 1, 600, "cli", NOW, NULL),
            STORE_OK);
  CHECK_INT(store_load_dynamic(s, NULL, NOW, &dy), STORE_OK);
  CHECK_INT(store_load_static(s, NULL, &st, NULL), STORE_OK);
  CHECK_INT(hsts_index_count(dy), 3);
  CHECK_INT(hsts_lookup(dy, st, "example.com", NOW, &r), 1);
  CHECK_INT(r.source, HSTS_SOURCE_MANUAL);
  CHECK_INT(r.winner.expires, NOW + 600);
  CHECK_INT(hsts_lookup(dy, st, "a.example.com", NOW, &r), 0);
  CHECK_INT(hsts_lookup(dy, st, "a.b.sub.example.org", NOW, &r), 1);
  CHECK_INT(hsts_lookup(dy, st, "example.org", NOW, &r), 0);
  CHECK_INT(hsts_lookup(dy, st, "x.dev", NOW, &r), 1);
  CHECK_INT(r.source, HSTS_SOURCE_BUILTIN);
  CHECK_INT(hsts_lookup(dy, st, "sub.example.org", NOW + 601, &r), 0);
  hsts_index_free(&dy);
  hsts_index_free(&st);
  /* Filtered: only the host and its parents. */
  CHECK_INT(store_load_dynamic(s, "a.sub.example.org", NOW, &dy), STORE_OK);
  CHECK_INT(hsts_index_count(dy), 1);
  hsts_index_free(&dy);
  CHECK_INT(store_load_dynamic(s, "notexample.com", NOW, &dy), STORE_OK);
  CHECK_INT(hsts_index_count(dy), 0);
  hsts_index_free(&dy);
  store_close(&s);
}

struct collected {
  char text[4096];
};

static int collect_cb(const struct store_policy *p, void *arg)
{
  struct collected *c = arg;
  size_t n = strlen(c->text);

  snprintf(c->text + n, sizeof(c->text) - n, "%s %d %lld\n", p->host,
           p->include_subdomains, (long long)p->expires);
  return 0;
}

static void test_curl_round_trip(void)
{
  static const char expected[] = ".example.com \"20231115 22:13:20\"\n"
                                 "forever.example \"unlimited\"\n"
                                 "plain.example \"20231114 23:13:20\"\n";
  static const char input[] = "# a comment\n"
                              "\n"
                              "forever.example \"unlimited\"\n"
                              "   # an indented comment\n"
                              ".old.example \"20000101 00:00:00\"\n";
  char db1[TESTUTIL_PATH_MAX], db2[TESTUTIL_PATH_MAX], file[TESTUTIL_PATH_MAX],
      exported[TESTUTIL_PATH_MAX];
  struct store *a = open_fresh("curl-a.db", db1);
  struct store *b = open_fresh("curl-b.db", db2);
  struct collected ca, cb;
  size_t imported = 0, expired = 0, n;
  char buf[4096];
  FILE *f;

  testutil_write("in.curl", input, sizeof(input) - 1, file);
  CHECK_INT(store_policy_import_curl(a, file, NOW, &imported, &expired),
            STORE_OK);
  CHECK_INT(imported, 1);
  CHECK_INT(expired, 1);
  CHECK_INT(store_policy_add(a, "example.com", 1, 86400, "cli", NOW, NULL),
            STORE_OK);
  CHECK_INT(store_policy_add(a, "plain.example", 0, 3600, "cli", NOW, NULL),
            STORE_OK);
  testutil_path("out.curl", exported);
  f = fopen(exported, "w");
  CHECK(f != NULL);
  CHECK_INT(store_policy_export_curl(a, f, NOW), STORE_OK);
  fclose(f);
  f = fopen(exported, "r");
  n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  CHECK(buf[0] == '#');
  CHECK(strstr(buf, expected) != NULL);
  if (strstr(buf, expected) == NULL)
    fprintf(stderr, "exported:\n%s", buf);
  CHECK_INT(store_policy_import_curl(b, exported, NOW, &imported, &expired),
            STORE_OK);
  CHECK_INT(imported, 3);
  CHECK_INT(expired, 0);
  memset(&ca, 0, sizeof(ca));
  memset(&cb, 0, sizeof(cb));
  store_policy_foreach(a, HSTS_SOURCE_NONE, NOW, collect_cb, &ca);
  store_policy_foreach(b, HSTS_SOURCE_NONE, NOW, collect_cb, &cb);
  CHECK_STR(cb.text, ca.text);
  store_close(&a);
  store_close(&b);
}

struct bad_curl {
  const char *content;
  const char *message; /* substring, with the line */
};

static const struct bad_curl bad_curls[] = {
  { "ok.example \"unlimited\"\nbad.example 20240101 00:00:00\n",
    "line 2: expected a host" },
  { "ok.example \"unlimited\"\n\nbad.example \"20240101 00:00:00\n",
    "line 3: the expiry date's closing quote" },
  { "bad.example \"20241301 00:00:00\"\n", "line 1: the expiry is neither" },
  { "bad.example \"20240230 00:00:00\"\n", "line 1: the expiry" },
  { "bad.example \"2024-01-01 00:00:00\"\n", "line 1: the expiry" },
  { "bad.example \"20240101 24:00:00\"\n", "line 1: the expiry" },
  { "bad.example \"forever\"\n", "line 1: the expiry" },
  { "bad.example \"unlimited\" trailing\n", "line 1: unexpected text" },
  { "10.0.0.1 \"unlimited\"\n", "line 1: \"10.0.0.1\": an IP literal" },
  { ".localhost \"unlimited\"\n", "line 1: \".localhost\": localhost" },
  { "bad..example \"unlimited\"\n", "line 1: \"bad..example\"" },
  { "ok.example \"unlimited\"\nbi\x01n \"unlimited\"\n", "line 2:" },
  { NULL, NULL }
};

static void test_curl_malformed(void)
{
  char db[TESTUTIL_PATH_MAX], file[TESTUTIL_PATH_MAX];
  struct store *s = open_fresh("curl-bad.db", db);
  char *before, *after;
  int i;

  CHECK_INT(store_policy_add(s, "kept.example", 1, 600, "cli", NOW, NULL),
            STORE_OK);
  before = testutil_dump(db);
  for (i = 0; bad_curls[i].content != NULL; i++) {
    testutil_write("bad.curl", bad_curls[i].content,
                   strlen(bad_curls[i].content), file);
    CHECK_ROW(
        store_policy_import_curl(s, file, NOW, NULL, NULL) == STORE_EFORMAT, i);
    CHECK_ROW(strstr(store_errmsg(s), bad_curls[i].message) != NULL, i);
    if (strstr(store_errmsg(s), bad_curls[i].message) == NULL)
      fprintf(stderr, "  row %d: %s\n", i, store_errmsg(s));
    after = testutil_dump(db);
    CHECK_ROW(strcmp(before, after) == 0, i);
    free(after);
  }
  /* Binary: a NUL byte. */
  testutil_write("nul.curl", "a.example \"unlimited\"\n\0x", 24, file);
  CHECK_INT(store_policy_import_curl(s, file, NOW, NULL, NULL), STORE_EFORMAT);
  CHECK(strstr(store_errmsg(s), "line 2: NUL byte") != NULL);
  after = testutil_dump(db);
  CHECK_STR(after, before);
  free(after);
  free(before);
  store_close(&s);
}

TEST_MAIN({ "learning", test_learning },
          { "expiry_and_prune", test_expiry_and_prune },
          { "add_and_delete", test_add_and_delete },
          { "dynamic_lookup", test_dynamic_lookup },
          { "curl_round_trip", test_curl_round_trip },
          { "curl_malformed", test_curl_malformed })
