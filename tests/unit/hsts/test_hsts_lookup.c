/*
 * test_hsts_lookup.c - the policy index and the Chromium-order lookup.
 *
 * One static index (preload and builtin entries, including pin-only ones
 * modelled on the 2016 Chromium list: appspot.com pins with subdomains,
 * www.makeyourlaws.org under an including parent) and one dynamic index
 * (learned and manual entries, some expired) at a fixed clock. Each row
 * names a host as a client sends it and the full expected answer: upgrade
 * or not, the deciding side and entry, and both sides as net-internals
 * shows them. Further tests drive the index itself: replace, remove with
 * backward shift, growth, compaction and foreach.
 */
#include "testlib.h"

#include "hsts_index.h"

#define NOW  1700000000
#define DAY  86400
#define YEAR 31536000u

struct seed {
  const char *host;
  enum hsts_source source;
  int subdomains, pin_subdomains, force;
  int64_t expires;
};

static const struct seed static_seeds[] = {
  { "example.com", HSTS_SOURCE_PRELOAD, 1, 0, 1, 0 },
  { "exact.test", HSTS_SOURCE_PRELOAD, 0, 0, 1, 0 },
  { "pinned.example.com", HSTS_SOURCE_PRELOAD, 0, 1, 0, 0 },
  { "pinonly.example.com", HSTS_SOURCE_PRELOAD, 0, 0, 0, 0 },
  { "appspot.test", HSTS_SOURCE_PRELOAD, 1, 0, 0, 0 },
  { "app.appspot.test", HSTS_SOURCE_PRELOAD, 0, 0, 1, 0 },
  { "makeyourlaws.test", HSTS_SOURCE_PRELOAD, 1, 0, 1, 0 },
  { "www.makeyourlaws.test", HSTS_SOURCE_PRELOAD, 0, 0, 1, 0 },
  { "dev", HSTS_SOURCE_BUILTIN, 1, 0, 1, 0 },
  { "both.test", HSTS_SOURCE_PRELOAD, 1, 0, 1, 0 },
  { "expired-pre.test", HSTS_SOURCE_PRELOAD, 0, 0, 1, 0 },
  { "pinsub-force.test", HSTS_SOURCE_PRELOAD, 0, 1, 1, 0 },
  { NULL, HSTS_SOURCE_NONE, 0, 0, 0, 0 }
};

static const struct seed dynamic_seeds[] = {
  { "dyn.test", HSTS_SOURCE_LEARNED, 1, 0, 1, NOW + 1000 },
  { "exactdyn.test", HSTS_SOURCE_LEARNED, 0, 0, 1, NOW + 1000 },
  { "expired.test", HSTS_SOURCE_LEARNED, 1, 0, 1, NOW - 1 },
  { "expired-pre.test", HSTS_SOURCE_LEARNED, 0, 0, 1, NOW - DAY },
  { "manual.test", HSTS_SOURCE_MANUAL, 1, 0, 1, 0 },
  { "expires-now.test", HSTS_SOURCE_LEARNED, 0, 0, 1, NOW },
  { "both.test", HSTS_SOURCE_LEARNED, 0, 0, 1, NOW + DAY },
  { "parent.test", HSTS_SOURCE_LEARNED, 1, 0, 1, NOW + DAY },
  { "child.parent.test", HSTS_SOURCE_MANUAL, 0, 0, 1, NOW + DAY },
  { "y.pinned.example.com", HSTS_SOURCE_LEARNED, 0, 0, 1, NOW + DAY },
  { "learned-over-expired.test", HSTS_SOURCE_LEARNED, 1, 0, 1, NOW + DAY },
  { "a.learned-over-expired.test", HSTS_SOURCE_LEARNED, 1, 0, 1, NOW - 5 },
  { NULL, HSTS_SOURCE_NONE, 0, 0, 0, 0 }
};

struct row {
  const char *host;
  int hsts;
  enum hsts_source source;
  const char *winner;       /* NULL when source is NONE */
  const char *static_host;  /* NULL when no static side */
  const char *dynamic_host; /* NULL when no dynamic side */
};

#define PRE HSTS_SOURCE_PRELOAD
#define LRN HSTS_SOURCE_LEARNED
#define MAN HSTS_SOURCE_MANUAL
#define NON HSTS_SOURCE_NONE

static const struct row rows[] = {
  /* Exact and includeSubDomains matches, label boundaries only. */
  { "example.com", 1, PRE, "example.com", "example.com", NULL },
  { "www.example.com", 1, PRE, "example.com", "example.com", NULL },
  { "a.b.example.com", 1, PRE, "example.com", "example.com", NULL },
  { "notexample.com", 0, NON, NULL, NULL, NULL },
  { "example.com.evil.test", 0, NON, NULL, NULL, NULL },
  { "com", 0, NON, NULL, NULL, NULL },
  { "exact.test", 1, PRE, "exact.test", "exact.test", NULL },
  { "sub.exact.test", 0, NON, NULL, NULL, NULL },
  /* Pin-only entries never upgrade and hide a covering parent. */
  { "pinned.example.com", 0, PRE, "pinned.example.com", "pinned.example.com",
    NULL },
  { "x.pinned.example.com", 0, PRE, "pinned.example.com", "pinned.example.com",
    NULL },
  { "pinonly.example.com", 0, PRE, "pinonly.example.com", "pinonly.example.com",
    NULL },
  /* ...and one that does not cover a subdomain hides the parent from it. */
  { "x.pinonly.example.com", 0, NON, NULL, NULL, NULL },
  { "appspot.test", 0, PRE, "appspot.test", "appspot.test", NULL },
  { "x.appspot.test", 0, PRE, "appspot.test", "appspot.test", NULL },
  { "app.appspot.test", 1, PRE, "app.appspot.test", "app.appspot.test", NULL },
  { "x.app.appspot.test", 0, NON, NULL, NULL, NULL },
  /* force-https whose subdomains are covered for pinning only: the host
   * upgrades, its subdomains are covered but never upgraded (Chromium). */
  { "pinsub-force.test", 1, PRE, "pinsub-force.test", "pinsub-force.test",
    NULL },
  { "x.pinsub-force.test", 0, PRE, "pinsub-force.test", "pinsub-force.test",
    NULL },
  /* The most specific entry decides (Chromium's DecodeHSTSPreload): one
   * that does not cover the host hides the parent's include_subdomains
   * (the 2026 list: x.www.figma.com is not upgraded, x.figma.com is). */
  { "www.makeyourlaws.test", 1, PRE, "www.makeyourlaws.test",
    "www.makeyourlaws.test", NULL },
  { "x.www.makeyourlaws.test", 0, NON, NULL, NULL, NULL },
  { "x.makeyourlaws.test", 1, PRE, "makeyourlaws.test", "makeyourlaws.test",
    NULL },
  /* Builtin top-level domain. */
  { "dev", 1, HSTS_SOURCE_BUILTIN, "dev", "dev", NULL },
  { "foo.bar.dev", 1, HSTS_SOURCE_BUILTIN, "dev", "dev", NULL },
  { "dev.test", 0, NON, NULL, NULL, NULL },
  /* Dynamic entries. */
  { "dyn.test", 1, LRN, "dyn.test", NULL, "dyn.test" },
  { "a.b.dyn.test", 1, LRN, "dyn.test", NULL, "dyn.test" },
  { "notdyn.test", 0, NON, NULL, NULL, NULL },
  { "exactdyn.test", 1, LRN, "exactdyn.test", NULL, "exactdyn.test" },
  { "sub.exactdyn.test", 0, NON, NULL, NULL, NULL },
  { "expired.test", 0, NON, NULL, NULL, NULL },
  { "sub.expired.test", 0, NON, NULL, NULL, NULL },
  { "expired-pre.test", 1, PRE, "expired-pre.test", "expired-pre.test", NULL },
  { "manual.test", 1, MAN, "manual.test", NULL, "manual.test" },
  { "expires-now.test", 1, LRN, "expires-now.test", NULL, "expires-now.test" },
  { "x.child.parent.test", 1, LRN, "parent.test", NULL, "parent.test" },
  { "child.parent.test", 1, MAN, "child.parent.test", NULL,
    "child.parent.test" },
  { "b.a.learned-over-expired.test", 1, LRN, "learned-over-expired.test", NULL,
    "learned-over-expired.test" },
  /* Learned and preloaded add up; dynamic decides when it covers. */
  { "both.test", 1, LRN, "both.test", "both.test", "both.test" },
  { "sub.both.test", 1, PRE, "both.test", "both.test", NULL },
  { "y.pinned.example.com", 1, LRN, "y.pinned.example.com",
    "pinned.example.com", "y.pinned.example.com" },
  { "", 0, NON, NULL, NULL, NULL },
  { NULL, 0, NON, NULL, NULL, NULL }
};

static struct hsts_index *build(const struct seed *seeds)
{
  struct hsts_index *ix = NULL;
  int i;

  if (hsts_index_new(4, &ix) != HSTS_OK) {
    return NULL;
  }
  for (i = 0; seeds[i].host != NULL; i++) {
    struct hsts_entry e;

    memset(&e, 0, sizeof(e));
    e.host = seeds[i].host;
    e.source = seeds[i].source;
    e.include_subdomains = seeds[i].subdomains != 0;
    e.include_subdomains_for_pinning = seeds[i].pin_subdomains != 0;
    e.force_https = seeds[i].force != 0;
    e.expires = seeds[i].expires;
    if (e.expires != 0) {
      e.max_age = YEAR;
      e.observed = e.expires - YEAR;
    }
    CHECK_ROW(hsts_index_put(ix, &e) == HSTS_OK, i);
  }
  return ix;
}

static int same_host(const char *got, const char *want)
{
  return got != NULL && want != NULL && strcmp(got, want) == 0;
}

static void check_row(int i, const struct row *r, const struct hsts_result *res,
                      int rc)
{
  CHECK_ROW(rc == r->hsts && res->hsts == r->hsts, i);
  CHECK_ROW(res->source == r->source, i);
  if (r->winner != NULL) {
    CHECK_ROW(same_host(res->winner.host, r->winner), i);
  }
  CHECK_ROW(res->has_static == (r->static_host != NULL), i);
  if (r->static_host != NULL) {
    CHECK_ROW(same_host(res->static_entry.host, r->static_host), i);
  }
  CHECK_ROW(res->has_dynamic == (r->dynamic_host != NULL), i);
  if (r->dynamic_host != NULL) {
    CHECK_ROW(same_host(res->dynamic_entry.host, r->dynamic_host), i);
  }
}

static void test_rows(void)
{
  struct hsts_index *st = build(static_seeds), *dyn = build(dynamic_seeds);
  struct hsts_result res;
  int i;

  if (!CHECK(st != NULL && dyn != NULL)) {
    goto done;
  }
  for (i = 0; rows[i].host != NULL; i++) {
    int rc = hsts_lookup(dyn, st, rows[i].host, NOW, &res);

    if (res.hsts != rows[i].hsts) {
      fprintf(stderr, "    host %s: hsts %d\n", rows[i].host, res.hsts);
    }
    check_row(i, &rows[i], &res, rc);
  }
  CHECK(i >= 30);
done:
  hsts_index_free(&st);
  hsts_index_free(&dyn);
  CHECK(st == NULL && dyn == NULL);
}

/* The host as a client sends it: normalize first, then look up. */
static void test_normalized_lookup(void)
{
  static const struct {
    const char *sent;
    int hsts;
  } cases[] = { { "WWW.Example.COM.", 1 }, { "example.com.", 1 },
                { "EXACT.test", 1 },       { "Sub.Exact.Test.", 0 },
                { "DYN.TEST.", 1 },        { NULL, 0 } };
  struct hsts_index *st = build(static_seeds), *dyn = build(dynamic_seeds);
  char host[HSTS_HOST_MAX + 1];
  enum hsts_host_kind kind;
  struct hsts_result res;
  int i;

  for (i = 0; cases[i].sent != NULL; i++) {
    CHECK_ROW(hsts_host_normalize(cases[i].sent, strlen(cases[i].sent), host,
                                  &kind) == HSTS_OK,
              i);
    CHECK_ROW(hsts_lookup(dyn, st, host, NOW, &res) == cases[i].hsts, i);
  }
  hsts_index_free(&st);
  hsts_index_free(&dyn);
}

/* Either side may be absent; entry fields come back intact. */
static void test_sides_and_fields(void)
{
  struct hsts_index *st = build(static_seeds), *dyn = build(dynamic_seeds);
  struct hsts_result res;

  CHECK_INT(hsts_lookup(NULL, st, "www.example.com", NOW, &res), 1);
  CHECK_INT(hsts_lookup(dyn, NULL, "www.example.com", NOW, &res), 0);
  CHECK_INT(hsts_lookup(NULL, NULL, "dyn.test", NOW, &res), 0);
  CHECK_INT(hsts_lookup(dyn, NULL, "dyn.test", NOW, &res), 1);
  CHECK_INT(res.winner.max_age, YEAR);
  CHECK_INT(res.winner.expires, NOW + 1000);
  CHECK_INT(res.winner.observed, NOW + 1000 - (int64_t)YEAR);
  CHECK_INT(res.winner.include_subdomains, 1);
  /* The same dynamic entry expires once the clock passes it. */
  CHECK_INT(hsts_lookup(dyn, NULL, "dyn.test", NOW + 1000, &res), 1);
  CHECK_INT(hsts_lookup(dyn, NULL, "dyn.test", NOW + 1001, &res), 0);
  CHECK_INT(hsts_lookup(NULL, st, "pinned.example.com", NOW, &res), 0);
  CHECK_INT(res.winner.force_https, 0);
  CHECK_INT(res.winner.include_subdomains_for_pinning, 1);
  CHECK_INT(res.static_entry.expires, 0);
  CHECK_INT(hsts_lookup(dyn, st, NULL, NOW, &res), 0);
  hsts_index_free(&st);
  hsts_index_free(&dyn);
  hsts_index_free(&st); /* NULL accepted */
  hsts_index_free(NULL);
}

static void test_put_get_remove(void)
{
  struct hsts_index *ix = build(static_seeds);
  struct hsts_entry e, got;
  size_t n = hsts_index_count(ix);

  CHECK_INT(n, 12);
  CHECK_INT(hsts_index_get(ix, "exact.test", 10, &got), 1);
  CHECK_STR(got.host, "exact.test");
  CHECK_INT(got.include_subdomains, 0);
  CHECK_INT(hsts_index_get(ix, "exact.testX", 10, &got), 1);
  CHECK_INT(hsts_index_get(ix, "exact.tes", 9, &got), 0);
  /* Replace in place, then with a different shape (times added). */
  memset(&e, 0, sizeof(e));
  e.host = "exact.test";
  e.source = HSTS_SOURCE_PRELOAD;
  e.include_subdomains = 1;
  e.force_https = 1;
  CHECK_INT(hsts_index_put(ix, &e), HSTS_OK);
  CHECK_INT(hsts_index_count(ix), n);
  CHECK_INT(hsts_index_get(ix, "exact.test", 10, &got), 1);
  CHECK_INT(got.include_subdomains, 1);
  e.source = HSTS_SOURCE_MANUAL;
  e.max_age = 7;
  e.observed = 100;
  e.expires = 107;
  CHECK_INT(hsts_index_put(ix, &e), HSTS_OK);
  CHECK_INT(hsts_index_count(ix), n);
  CHECK_INT(hsts_index_get(ix, "exact.test", 10, &got), 1);
  CHECK_INT(got.source, HSTS_SOURCE_MANUAL);
  CHECK_INT(got.max_age, 7);
  CHECK_INT(got.observed, 100);
  CHECK_INT(got.expires, 107);
  CHECK_INT(hsts_index_remove(ix, "exact.test"), HSTS_OK);
  CHECK_INT(hsts_index_remove(ix, "exact.test"), HSTS_ENOTFOUND);
  CHECK_INT(hsts_index_get(ix, "exact.test", 10, &got), 0);
  CHECK_INT(hsts_index_count(ix), n - 1);
  e.host = "";
  CHECK_INT(hsts_index_put(ix, &e), HSTS_EHOST_EMPTY);
  CHECK(hsts_index_bytes(ix) > 0);
  hsts_index_free(&ix);
}

static int count_cb(const struct hsts_entry *e, void *arg)
{
  size_t *n = arg;

  (*n)++;
  return e->host[0] == '\0' ? 1 : 0;
}

static int stop_cb(const struct hsts_entry *e, void *arg)
{
  (void)e;
  (void)arg;
  return 42;
}

/* Many entries: growth, backward-shift removal, compaction, foreach. */
static void test_bulk(void)
{
  enum { N = 40000 };
  struct hsts_index *ix = NULL;
  struct hsts_entry e, got;
  char host[64];
  size_t seen = 0, bytes;
  int i, misses = 0, wrong = 0;

  CHECK_INT(hsts_index_new(0, &ix), HSTS_OK);
  memset(&e, 0, sizeof(e));
  e.host = host;
  e.source = HSTS_SOURCE_LEARNED;
  e.force_https = 1;
  for (i = 0; i < N; i++) {
    snprintf(host, sizeof(host), "host%d.example%d.test", i, i % 97);
    e.max_age = (uint32_t)i;
    e.expires = i % 3 == 0 ? 0 : NOW + i;
    CHECK(hsts_index_put(ix, &e) == HSTS_OK);
  }
  CHECK_INT(hsts_index_count(ix), N);
  bytes = hsts_index_bytes(ix);
  /* Remove three in four: enough garbage to force arena compaction. */
  for (i = 0; i < N; i++) {
    snprintf(host, sizeof(host), "host%d.example%d.test", i, i % 97);
    if (i % 4 != 1 && hsts_index_remove(ix, host) != HSTS_OK) {
      misses++;
    }
  }
  for (i = 0; i < N; i++) {
    snprintf(host, sizeof(host), "host%d.example%d.test", i, i % 97);
    if (hsts_index_get(ix, host, strlen(host), &got) != (i % 4 == 1)) {
      misses++;
    } else if (i % 4 == 1 &&
               (got.max_age != (uint32_t)i || strcmp(got.host, host) != 0)) {
      wrong++;
    }
  }
  CHECK_INT(misses, 0);
  CHECK_INT(wrong, 0);
  CHECK_INT(hsts_index_count(ix), N / 4);
  CHECK(hsts_index_bytes(ix) < bytes); /* the arena was compacted */
  CHECK_INT(hsts_index_foreach(ix, count_cb, &seen), 0);
  CHECK_INT(seen, N / 4);
  CHECK_INT(hsts_index_foreach(ix, stop_cb, NULL), 42);
  hsts_index_free(&ix);
}

TEST_MAIN({ "rows", test_rows }, { "normalized", test_normalized_lookup },
          { "sides_and_fields", test_sides_and_fields },
          { "put_get_remove", test_put_get_remove }, { "bulk", test_bulk })
