/*
 * test_store_import.c - preload list import: the three formats, format
 * sniffing, the real 2016 Chromium list, and malformed input that must
 * leave the store unchanged (compared with a dump of every table read
 * with SQLite directly) and name the line.
 */
#include "hsts_index.h"
#include "store.h"
#include "store_preload.h"
#include "store_testutil.h"
#include "testlib.h"

#define NOW      1700000000
#define BIG_LINE (10u << 20) /* a 10 MB line */

/* Comment lines (also inside the array), "//" inside strings, capitals,
 * a pin-only entry with subdomains, one pinning-only coverage, a repeat. */
static const char chromium_small[] =
    "// A comment line before the document.\n"
    "  // \"entries\": [ an indented comment mentioning entries ]\n"
    "\n"
    "{\n"
    "  \"pinsets\": [ { \"name\": \"test\", \"static_spki_hashes\": [\"A\"],\n"
    "                 \"report_uri\": \"https://report.example//x\" } ],\n"
    "  \"entries\": [\n"
    "    // A comment line inside the array.\n"
    "    { \"name\": \"Force.Example\", \"policy\": \"custom\", \"mode\": "
    "\"force-https\", \"include_subdomains\": true },\n"
    "    { \"name\": \"exact.example\", \"mode\": \"force-https\" },\n"
    "    { \"name\": \"pins.example\", \"include_subdomains\": true, "
    "\"pins\": \"test\", \"expect_ct_report_uri\": \"https://r.example/\" },\n"
    "    {\n"
    "      \"name\": \"pinsub.example\", \"include_subdomains_for_pinning\": "
    "true\n"
    "    },\n"
    "    { \"name\": \"sub.pins.example\", \"mode\": \"force-https\", "
    "\"include_subdomains\": false },\n"
    "    { \"name\": \"force.example.\", \"mode\": \"force-https\", "
    "\"include_subdomains\": true }\n"
    "  ],\n"
    "  \"domain_ids\": [\"X\"]\n"
    "}\n";

static const char mozilla_small[] =
    "/* This is an automatically generated file. */\n"
    "#include <stdint.h>\n"
    "const PRTime gPreloadListExpirationTime = INT64_C(1700000000000000);\n"
    "%%\n"
    "moz-sub.example, 1\n"
    "Moz-Exact.example, 0\r\n"
    "%%\n";

static const char text_small[] = "# one host per line\n"
                                 "text-sub.example includeSubDomains\n"
                                 "text-exact.example   # a trailing comment\n"
                                 "\n"
                                 "  Spaced.Example\tincludesubdomains  \n"
                                 "last.example";

struct lookup {
  const char *host;
  int hsts;
  const char *matched; /* winner or covering static entry; NULL: none */
};

/* Looks every row up in the active list; rows end with a NULL host. */
static void check_lookups(struct store *s, const struct lookup *rows)
{
  struct hsts_index *ix;
  struct hsts_result r;
  int i;

  CHECK_INT(store_load_static(s, NULL, &ix, NULL), STORE_OK);
  for (i = 0; rows[i].host != NULL; i++) {
    hsts_lookup(NULL, ix, rows[i].host, NOW, &r);
    CHECK_ROW(r.hsts == rows[i].hsts, i);
    if (rows[i].matched == NULL) {
      CHECK_ROW(!r.has_static, i);
    } else {
      CHECK_ROW(r.has_static, i);
      CHECK_ROW(
          r.has_static && strcmp(r.static_entry.host, rows[i].matched) == 0, i);
    }
    if (r.hsts != rows[i].hsts)
      fprintf(stderr, "  row %d: %s\n", i, rows[i].host);
  }
  hsts_index_free(&ix);
  CHECK(ix == NULL);
}

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

static void test_chromium_small(void)
{
  static const struct lookup rows[] = {
    { "force.example", 1, "force.example" },
    { "a.b.force.example", 1, "force.example" },
    { "exact.example", 1, "exact.example" },
    { "a.exact.example", 0, NULL },
    { "pins.example", 0, "pins.example" },   /* pins only */
    { "a.pins.example", 0, "pins.example" }, /* hidden by the pins */
    { "sub.pins.example", 1, "sub.pins.example" },
    { "x.sub.pins.example", 0, NULL }, /* the most specific decides */
    { "pinsub.example", 0, "pinsub.example" },
    { "a.pinsub.example", 0, "pinsub.example" },
    { "notforce.example", 0, NULL },
    { "example", 0, NULL },
    { NULL, 0, NULL }
  };
  char db[TESTUTIL_PATH_MAX], file[TESTUTIL_PATH_MAX];
  struct store_list_info in;
  struct store *s = open_fresh("chromium-small.db", db);

  testutil_write("small.json", chromium_small, sizeof(chromium_small) - 1,
                 file);
  CHECK_INT(store_preload_import_file(s, file, STORE_FORMAT_AUTO, NOW, &in),
            STORE_OK);
  CHECK_STR(store_errmsg(s), "");
  CHECK_INT(in.format, STORE_FORMAT_CHROMIUM);
  CHECK_STR(in.name, "chromium-2023-11-14"); /* no date: the import's */
  CHECK_STR(in.list_date, "2023-11-14");
  CHECK_STR(in.source, file);
  CHECK_INT(in.entries, 5);
  CHECK_INT(in.duplicates, 1);
  CHECK_INT(in.force_https, 3);
  CHECK_INT(in.with_subdomains, 2);
  CHECK_INT(in.bytes, sizeof(chromium_small) - 1);
  CHECK_INT(in.imported, NOW);
  CHECK_INT(in.builtin, 0);
  CHECK_INT(strlen(in.sha256), 64);
  check_lookups(s, rows);
  store_close(&s);
}

static void test_mozilla_and_text(void)
{
  static const struct lookup moz[] = {
    { "a.moz-sub.example", 1, "moz-sub.example" },
    { "moz-exact.example", 1, "moz-exact.example" },
    { "a.moz-exact.example", 0, NULL },
    { NULL, 0, NULL }
  };
  static const struct lookup text[] = {
    { "a.text-sub.example", 1, "text-sub.example" },
    { "text-exact.example", 1, "text-exact.example" },
    { "a.text-exact.example", 0, NULL },
    { "x.spaced.example", 1, "spaced.example" },
    { "last.example", 1, "last.example" },
    { "moz-sub.example", 0, NULL }, /* replaced: the old list is gone */
    { NULL, 0, NULL }
  };
  char db[TESTUTIL_PATH_MAX], file[TESTUTIL_PATH_MAX];
  struct store_list_info in;
  struct store *s = open_fresh("moz-text.db", db);

  CHECK_INT(store_preload_import_mem(s, mozilla_small,
                                     sizeof(mozilla_small) - 1, "moz.inc",
                                     STORE_FORMAT_AUTO, NOW, &in),
            STORE_OK);
  CHECK_INT(in.format, STORE_FORMAT_MOZILLA);
  CHECK_INT(in.entries, 2);
  CHECK_INT(in.with_subdomains, 1);
  CHECK_INT(in.force_https, 2);
  check_lookups(s, moz);
  testutil_write("list.txt", text_small, sizeof(text_small) - 1, file);
  CHECK_INT(store_preload_import_file(s, file, STORE_FORMAT_AUTO, NOW + 1, &in),
            STORE_OK);
  CHECK_INT(in.format, STORE_FORMAT_TEXT);
  CHECK_STR(in.name, "text-2023-11-14");
  CHECK_INT(in.entries, 4);
  CHECK_INT(in.with_subdomains, 2);
  CHECK_INT(in.imports, 2);
  check_lookups(s, text);
  store_close(&s);
  /* Only the active list's rows are kept; the history keeps both. */
  {
    char *dump = testutil_dump(db);

    CHECK(strstr(dump, "moz-sub.example") == NULL);
    CHECK(strstr(dump, "format=mozilla") != NULL);
    CHECK(strstr(dump, "host=last.example") != NULL);
    free(dump);
  }
}

static int check_builtin_entry(const struct hsts_entry *e, void *arg)
{
  const char **prev = arg;

  CHECK(*prev == NULL || strcmp(*prev, e->host) < 0); /* sorted, distinct */
  CHECK(e->force_https);
  CHECK_INT(e->source, HSTS_SOURCE_BUILTIN);
  CHECK(strcmp(e->host, "1.0.0.1") != 0); /* never applies: left out */
  free((void *)*prev);
  *prev = strdup(e->host);
  return 0;
}

static void test_builtin_until_import(void)
{
  static const struct lookup rows[] = {
    { "dev", 1, "dev" },
    { "www.example.dev", 1, "dev" },
    { "a.b.app", 1, "app" },
    { "paypal.com", 1, "paypal.com" },
    { "www.paypal.com", 1, "www.paypal.com" },
    { "x.paypal.com", 0, NULL },
    { "x.figma.com", 1, "figma.com" },
    { "x.www.figma.com", 0, NULL },
    { "x.xn--cckwcxetd", 1, "xn--cckwcxetd" },
    { "example.com", 0, NULL },
    { "devx", 0, NULL },
    { NULL, 0, NULL }
  };
  char db[TESTUTIL_PATH_MAX];
  struct store_list_info in;
  struct hsts_index *ix;
  struct store *s = open_fresh("builtin.db", db);
  const char *prev = NULL;

  CHECK_INT(store_preload_info(s, &in), STORE_OK);
  CHECK_INT(in.builtin, 1);
  CHECK_STR(in.name, "chromium-2026-06-01");
  CHECK_STR(in.list_date, "2026-06-01");
  CHECK_INT(in.entries, store_builtin_count());
  CHECK_INT(in.entries, 94599);
  CHECK_INT(in.skipped, 1);
  CHECK_INT(in.imports, 0);
  CHECK_INT(store_preload_foreach(s, 1, check_builtin_entry, &prev), 0);
  CHECK_STR(prev, "zzzzz.click");
  free((void *)prev);
  check_lookups(s, rows);
  /* The host-filtered index holds only the host's own chain. */
  CHECK_INT(store_load_static(s, "a.b.dev", &ix, &in), STORE_OK);
  CHECK_INT(hsts_index_count(ix), 1);
  hsts_index_free(&ix);
  CHECK_INT(store_load_static(s, NULL, &ix, &in), STORE_OK);
  CHECK_INT(hsts_index_count(ix), 94599);
  hsts_index_free(&ix);
  store_close(&s);
}

/* Dumps before and after must be equal; the message must name the spot. */
struct bad {
  const char *prefix; /* content = prefix + fill x fill_len + suffix */
  char fill;
  size_t fill_len;
  const char *suffix;
  enum store_format format;
  int expect;
  const char *msg1, *msg2; /* substrings of the message (msg2 may be NULL) */
};

#define J(body) "{\n  \"entries\": [\n" body "\n  ]\n}\n"
#define OK_ENTRY \
  "    { \"name\": \"ok.example\", \"mode\": \"force-https\" },\n"

static const struct bad bads[] = {
  /* Chromium: wrong types, named by entry index, name and line. */
  { J(OK_ENTRY "    { \"name\": \"b.example\", \"include_subdomains\": "
               "\"yes\" }"),
    0, 0, "", STORE_FORMAT_AUTO, STORE_EFORMAT,
    "entry 2 \"b.example\" (line 4)", "\"include_subdomains\" is a string" },
  { J(OK_ENTRY "    { \"name\": 42 }"), 0, 0, "", STORE_FORMAT_CHROMIUM,
    STORE_EFORMAT, "entry 2 (line 4)", "\"name\" is a number" },
  { J(OK_ENTRY "    { \"mode\": \"force-https\" }"), 0, 0, "",
    STORE_FORMAT_AUTO, STORE_EFORMAT, "entry 2 (line 4)",
    "\"name\" is missing" },
  { J(OK_ENTRY "    { \"name\": \"c.example\", "
               "\"include_subdomains_for_pinning\": null }"),
    0, 0, "", STORE_FORMAT_AUTO, STORE_EFORMAT, "entry 2 \"c.example\"",
    "is null" },
  { J(OK_ENTRY "    { \"name\": \"c.example\", \"mode\": \"upgrade\" }"), 0, 0,
    "", STORE_FORMAT_AUTO, STORE_EFORMAT, "entry 2 \"c.example\"",
    "\"mode\" must be \"force-https\"" },
  { J(OK_ENTRY "    { \"name\": \"c.example\", \"mode\": 1 }"), 0, 0, "",
    STORE_FORMAT_AUTO, STORE_EFORMAT, "(line 4)", "\"mode\"" },
  { J("    \"just.a.string\""), 0, 0, "", STORE_FORMAT_AUTO, STORE_EFORMAT,
    "entry 1 (line 3)", "must be an object, not a string" },
  { J(OK_ENTRY "    { \"name\": \"a\\u0000b.example\" }"), 0, 0, "",
    STORE_FORMAT_AUTO, STORE_EFORMAT, "line 4, column 17", "NUL" },
  { J(OK_ENTRY "    { \"name\": \"OK.example\", \"mode\": \"force-https\", "
               "\"include_subdomains\": true }"),
    0, 0, "", STORE_FORMAT_AUTO, STORE_EFORMAT, "entry 2",
    "repeats an earlier entry" },
  /* Chromium: shape and syntax, named by line and column. */
  { "{ \"entries\": { \"a\": 1 } }", 0, 0, "", STORE_FORMAT_AUTO, STORE_EFORMAT,
    "\"entries\" is not an array", NULL },
  { "{ \"pinsets\": [] }", 0, 0, "", STORE_FORMAT_AUTO, STORE_EFORMAT,
    "no \"entries\" member", NULL },
  { "[ 1, 2 ]", 0, 0, "", STORE_FORMAT_CHROMIUM, STORE_EFORMAT, "not an object",
    NULL },
  { J(OK_ENTRY "    { \"name\": \"c.example\" }\n    { \"name\": "
               "\"d.example\" }"),
    0, 0, "", STORE_FORMAT_AUTO, STORE_EFORMAT, "line 5, column 5",
    "expected ',' or ']'" },
  { J(OK_ENTRY "    { \"name\": \"c.example\" } // trailing comment"), 0, 0, "",
    STORE_FORMAT_AUTO, STORE_EFORMAT, "line 4, column", "invalid JSON" },
  { J(OK_ENTRY "    { \"name\": \"c\xff.example\" }"), 0, 0, "",
    STORE_FORMAT_AUTO, STORE_EFORMAT, "line 4", "invalid UTF-8" },
  { J(OK_ENTRY "    { \"name\": \"c.example\", \"name\": \"d.example\" }"), 0,
    0, "", STORE_FORMAT_AUTO, STORE_EFORMAT, "line 4", "repeated key" },
  { "{ \"entries\": [], \"entries\": [] }", 0, 0, "", STORE_FORMAT_AUTO,
    STORE_EFORMAT, "line 1", "repeated key" },
  { "{ \"entries\": [ { \"name\": \"a.example\" } ] } x", 0, 0, "",
    STORE_FORMAT_AUTO, STORE_EFORMAT, "line 1, column 44", "after the end" },
  { "{ \"entries\": [ { \"name\": \"a.example\" ", 0, 0, "", STORE_FORMAT_AUTO,
    STORE_EFORMAT, "line 1", "truncated" },
  { "{ \"entries\": ", '[', 100, "", STORE_FORMAT_AUTO, STORE_EFORMAT, "line 1",
    "nested too deeply" },
  { "{ \"entries\": [ ] }\n", 0, 0, "", STORE_FORMAT_AUTO, STORE_EFORMAT,
    "no entries found", NULL },
  /* Text. */
  { "good.example\nalso.example includeSubDomains\nbad host!.example\n"
    "never.reached.example\n",
    0, 0, "", STORE_FORMAT_AUTO, STORE_EFORMAT,
    "line 3:", "unexpected \"host!.example\"" },
  { "good.example includeSubDomains extra\n", 0, 0, "", STORE_FORMAT_TEXT,
    STORE_EFORMAT, "line 1:", "unexpected \"extra\"" },
  { "good.example\n", 'x', BIG_LINE, "\nmore.example\n", STORE_FORMAT_AUTO,
    STORE_EFORMAT, "line 2:", "longer than 4096 bytes" },
  { "good.example\nbin", '\0', 3, "ary\n", STORE_FORMAT_AUTO, STORE_EFORMAT,
    "line 2:", "NUL byte" },
  { "", 0, 0, "", STORE_FORMAT_AUTO, STORE_EFORMAT, "the file is empty", NULL },
  { "# nothing but comments\n\n   # and blanks\n", 0, 0, "", STORE_FORMAT_AUTO,
    STORE_EFORMAT, "no entries found", NULL },
  /* Mozilla. */
  { "%%\nmoz.example, 1\nmoz2.example, 0\n", 0, 0, "", STORE_FORMAT_AUTO,
    STORE_EFORMAT, "line 3:", "truncated" },
  { "const x = 1;\n%%\nmoz.example, 1\nmoz2.example, 2\n%%\n", 0, 0, "",
    STORE_FORMAT_AUTO, STORE_EFORMAT, "line 4:", "must be 0 or 1" },
  { "%%\nmoz.example, 1\nmoz2.example 1\n%%\n", 0, 0, "", STORE_FORMAT_AUTO,
    STORE_EFORMAT, "line 3:", "expected \"host, 0\"" },
  { "%%\nmoz.example, 1 x\n%%\n", 0, 0, "", STORE_FORMAT_AUTO, STORE_EFORMAT,
    "line 2:", "after the flag" },
  { "%%\n", 'm', BIG_LINE, ", 1\n%%\n", STORE_FORMAT_MOZILLA, STORE_EFORMAT,
    "line 2:", "longer than 4096" },
  { "just.text.example\n", 0, 0, "", STORE_FORMAT_MOZILLA, STORE_EFORMAT,
    "no \"%%\" line", NULL },
  { NULL, 0, 0, NULL, 0, 0, NULL, NULL }
};

static char *build(const struct bad *b, size_t *len)
{
  size_t p = strlen(b->prefix), s = strlen(b->suffix);
  char *buf = malloc(p + b->fill_len + s + 1);

  if (buf == NULL)
    exit(EXIT_FAILURE);
  memcpy(buf, b->prefix, p);
  memset(buf + p, b->fill, b->fill_len);
  memcpy(buf + p + b->fill_len, b->suffix, s + 1);
  *len = p + b->fill_len + s;
  return buf;
}

static void test_malformed_leaves_store_unchanged(void)
{
  char db[TESTUTIL_PATH_MAX], file[TESTUTIL_PATH_MAX];
  struct store *s = open_fresh("malformed.db", db);
  char *before, *after, *data;
  const struct bad *b;
  size_t len;
  int i, err;

  CHECK_INT(store_preload_import_mem(s, chromium_small,
                                     sizeof(chromium_small) - 1, "good",
                                     STORE_FORMAT_AUTO, NOW, NULL),
            STORE_OK);
  before = testutil_dump(db);
  for (i = 0, b = bads; b->prefix != NULL; b++, i++) {
    data = build(b, &len);
    testutil_write("bad-input", data, len, file);
    err = store_preload_import_file(s, file, b->format, NOW + 1, NULL);
    CHECK_ROW(err == b->expect, i);
    CHECK_ROW(strstr(store_errmsg(s), file) != NULL, i);
    CHECK_ROW(strstr(store_errmsg(s), b->msg1) != NULL, i);
    CHECK_ROW(b->msg2 == NULL || strstr(store_errmsg(s), b->msg2) != NULL, i);
    CHECK_ROW(strchr(store_errmsg(s), '\n') == NULL, i);
    CHECK_ROW(strlen(store_errmsg(s)) < STORE_ERRMSG_MAX - 1, i);
    if (err != b->expect || strstr(store_errmsg(s), b->msg1) == NULL ||
        (b->msg2 != NULL && strstr(store_errmsg(s), b->msg2) == NULL))
      fprintf(stderr, "  row %d: %d %s\n", i, err, store_errmsg(s));
    after = testutil_dump(db);
    CHECK_ROW(strcmp(before, after) == 0, i);
    free(after);
    free(data);
  }
  free(before);
  store_close(&s);
}

static void test_unreadable_file(void)
{
  char db[TESTUTIL_PATH_MAX], missing[TESTUTIL_PATH_MAX];
  struct store *s = open_fresh("unreadable.db", db);

  testutil_path("no-such-file.json", missing);
  CHECK_INT(store_preload_import_file(s, missing, STORE_FORMAT_AUTO, NOW, NULL),
            STORE_EIO);
  CHECK(strstr(store_errmsg(s), "No such file") != NULL);
  CHECK_INT(store_preload_import_file(s, testutil_tmpdir(), STORE_FORMAT_AUTO,
                                      NOW, NULL),
            STORE_EIO);
  CHECK(strstr(store_errmsg(s), "directory") != NULL);
  /* Over the size limit: refused before reading (a sparse file). */
  testutil_write("huge.txt", "x", 1, missing);
  CHECK(truncate(missing, (off_t)STORE_IMPORT_MAX_BYTES + 1) == 0);
  CHECK_INT(store_preload_import_file(s, missing, STORE_FORMAT_AUTO, NOW, NULL),
            STORE_EFORMAT);
  CHECK(strstr(store_errmsg(s), "larger than 128 MiB") != NULL);
  unlink(missing);
  store_close(&s);
}

static void test_formats_names(void)
{
  enum store_format f;

  CHECK_INT(store_format_parse("chromium", &f), STORE_OK);
  CHECK_INT(f, STORE_FORMAT_CHROMIUM);
  CHECK_INT(store_format_parse("mozilla", &f), STORE_OK);
  CHECK_INT(f, STORE_FORMAT_MOZILLA);
  CHECK_INT(store_format_parse("text", &f), STORE_OK);
  CHECK_INT(f, STORE_FORMAT_TEXT);
  CHECK_INT(store_format_parse("json", &f), STORE_EINVAL);
  CHECK_STR(store_format_name(STORE_FORMAT_TEXT), "text");
  CHECK_STR(store_format_name((enum store_format)99), "auto");
}

/*
 * The real list of August 2016. Expected counts computed independently
 * with Python's json module after dropping the comment lines:
 *   e = json.loads(text_without_comment_lines)["entries"]
 *   13399 entries, 13398 distinct names after lowercasing ("0xAA55.me" and
 *   "0xaa55.me" are the same host with the same flags), of which 13138 have
 *   "mode": "force-https" and 13145 "include_subdomains": true.
 * tests/integration/test_cli_preload.py recomputes them at run time.
 */
static void test_real_chromium_2016(void)
{
  static const struct lookup rows[] = {
    { "accounts.google.com", 1, "accounts.google.com" },
    { "a.b.accounts.google.com", 1, "accounts.google.com" },
    { "google", 1, "google" },
    { "www.google", 1, "google" },
    { "gmail.com", 1, "gmail.com" }, /* force-https, no subdomains */
    { "mail2.gmail.com", 0, NULL },
    { "googlecode.com", 0, "googlecode.com" }, /* pins only */
    { "foo.googlecode.com", 0, "googlecode.com" },
    { "chart.apis.google.com", 0, "chart.apis.google.com" }, /* pins only */
    { "apis.google.com", 1, "apis.google.com" },
    { "dropboxstatic.com", 0, "dropboxstatic.com" }, /* pinning subdomains */
    { "cdn.dropboxstatic.com", 0, "dropboxstatic.com" },
    { "0xaa55.me", 1, "0xaa55.me" }, /* listed twice, capitals once */
    { "www.0xaa55.me", 1, "0xaa55.me" },
    { "at.search.yahoo.com", 1, "at.search.yahoo.com" },
    { "x.at.search.yahoo.com", 0, NULL }, /* include_subdomains false */
    { "example.com", 0, NULL },
    { NULL, 0, NULL }
  };
  char db[TESTUTIL_PATH_MAX], file[TESTUTIL_PATH_MAX];
  struct store_list_info in;
  struct hsts_index *ix;
  struct store *s = open_fresh("real2016.db", db);

  testutil_shared("data/chromium-preload-2016.json", file);
  CHECK_INT(store_preload_import_file(s, file, STORE_FORMAT_AUTO, NOW, &in),
            STORE_OK);
  CHECK_STR(store_errmsg(s), "");
  CHECK_INT(in.format, STORE_FORMAT_CHROMIUM);
  CHECK_INT(in.entries, 13398);
  CHECK_INT(in.duplicates, 1);
  CHECK_INT(in.force_https, 13138);
  CHECK_INT(in.with_subdomains, 13145);
  CHECK_INT(in.bytes, 1142162);
  /* sha256sum chromium-preload-2016.json */
  CHECK_STR(in.sha256,
            "061a449d57e94c34016c0804f615ed9e61e67062d280446e2e3812778793ceea");
  check_lookups(s, rows);
  CHECK_INT(store_load_static(s, NULL, &ix, &in), STORE_OK);
  CHECK_INT(hsts_index_count(ix), 13398);
  hsts_index_free(&ix);
  /* A second import replaces the first: one list's rows, two histories. */
  CHECK_INT(
      store_preload_import_file(s, file, STORE_FORMAT_CHROMIUM, NOW + 1, &in),
      STORE_OK);
  CHECK_INT(in.imports, 2);
  CHECK_INT(in.imported, NOW + 1);
  store_close(&s);
  CHECK_INT(testutil_sql(db, "SELECT 1") == 0, 1);
  {
    sqlite3 *raw;
    sqlite3_stmt *st;

    CHECK(sqlite3_open(db, &raw) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(raw,
                             "SELECT count(*), count(DISTINCT list_id) "
                             "FROM preload_entry",
                             -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 13398);
    CHECK_INT(sqlite3_column_int(st, 1), 1);
    sqlite3_finalize(st);
    sqlite3_close(raw);
  }
}

/* The real file cut in half: a truncated download. */
static void test_real_truncated(void)
{
  char db[TESTUTIL_PATH_MAX], file[TESTUTIL_PATH_MAX], cut[TESTUTIL_PATH_MAX];
  struct store *s = open_fresh("truncated.db", db);
  char *before, *after, *data;
  size_t len;
  FILE *f;

  testutil_shared("data/chromium-preload-2016.json", file);
  f = fopen(file, "rb");
  CHECK(f != NULL);
  if (f == NULL)
    return;
  data = malloc(2u << 20);
  len = fread(data, 1, 2u << 20, f);
  fclose(f);
  testutil_write("cut.json", data, len / 2, cut);
  before = testutil_dump(db);
  CHECK_INT(store_preload_import_file(s, cut, STORE_FORMAT_AUTO, NOW, NULL),
            STORE_EFORMAT);
  CHECK(strstr(store_errmsg(s), "truncated") != NULL);
  CHECK(strstr(store_errmsg(s), "line ") != NULL);
  after = testutil_dump(db);
  CHECK_STR(after, before);
  free(before);
  free(after);
  free(data);
  store_close(&s);
}

/* Names that can never apply are skipped, counted and named; a UTF-8 BOM
 * before a list is ignored; the list's date comes from its head comment. */
static void test_skipped_bom_date(void)
{
  static const char list[] =
      "\xef\xbb\xbf// A list as of 2026-01-02, with junk names\n"
      "{ \"entries\": [\n"
      "  { \"name\": \"ok.example\", \"mode\": \"force-https\" },\n"
      "  { \"name\": \"1.0.0.1\", \"mode\": \"force-https\" },\n"
      "  { \"name\": \"a..b\" },\n"
      "  { \"name\": \"[::1]\", \"mode\": \"force-https\" }\n"
      "] }\n";
  static const char text[] = "\xef\xbb\xbfgood.example\n192.168.1.1\n"
                             "b!d.example includeSubDomains\n";
  char db[TESTUTIL_PATH_MAX];
  struct store_list_info in;
  struct store *s = open_fresh("skipped.db", db);

  CHECK_INT(store_preload_import_mem(s, list, sizeof(list) - 1, "list",
                                     STORE_FORMAT_AUTO, NOW, &in),
            STORE_OK);
  CHECK_INT(in.format, STORE_FORMAT_CHROMIUM);
  CHECK_INT(in.entries, 1);
  CHECK_INT(in.skipped, 3);
  CHECK_STR(in.skipped_names, "1.0.0.1, a..b, [::1]");
  CHECK_STR(in.list_date, "2026-01-02");
  CHECK_STR(in.name, "chromium-2026-01-02");
  CHECK_INT(store_list_age_days(&in, NOW), 0); /* NOW is before it */
  CHECK_INT(store_list_age_days(&in, 1767312000 + 71 * 86400), 71);
  CHECK_INT(store_list_stale(&in, 1767312000 + 70 * 86400), 0);
  CHECK_INT(store_list_stale(&in, 1767312000 + 71 * 86400), 1);
  CHECK_INT(store_preload_import_mem(s, text, sizeof(text) - 1, "text",
                                     STORE_FORMAT_AUTO, NOW, &in),
            STORE_OK);
  CHECK_INT(in.format, STORE_FORMAT_TEXT);
  CHECK_INT(in.entries, 1);
  CHECK_INT(in.skipped, 2);
  CHECK_STR(in.skipped_names, "192.168.1.1, b!d.example");
  CHECK_INT(store_preload_info(s, &in), STORE_OK);
  CHECK_INT(in.skipped, 2); /* kept in the history; the names are not */
  store_close(&s);
}

/* A reset makes the built-in list active again and is in the history. */
static void test_reset(void)
{
  char db[TESTUTIL_PATH_MAX];
  struct store_list_info in;
  struct store *s = open_fresh("reset.db", db);

  CHECK_INT(store_preload_import_mem(s, chromium_small,
                                     sizeof(chromium_small) - 1, "small",
                                     STORE_FORMAT_AUTO, NOW, &in),
            STORE_OK);
  CHECK_INT(in.builtin, 0);
  CHECK_INT(store_preload_reset(s, NOW + 1, &in), STORE_OK);
  CHECK_INT(in.builtin, 1);
  CHECK_STR(in.name, "chromium-2026-06-01");
  CHECK_INT(in.entries, 94599);
  CHECK_INT(in.imports, 2);
  CHECK_INT(store_preload_info(s, &in), STORE_OK);
  CHECK_INT(in.builtin, 1);
  store_close(&s);
  CHECK(testutil_sql(db, "SELECT 1 WHERE (SELECT count(*) FROM "
                         "preload_entry) = 0 AND (SELECT builtin FROM "
                         "preload_import WHERE id = 2) = 1") == 0);
}

/* The 2026 snapshot as a file: 94,599 entries, the IP literal skipped. */
static void test_real_chromium_2026(void)
{
  char db[TESTUTIL_PATH_MAX], file[TESTUTIL_PATH_MAX];
  struct store_list_info in;
  struct store *s = open_fresh("real2026.db", db);

  testutil_shared("data/chromium-preload-2026-06-01.json", file);
  CHECK_INT(store_preload_import_file(s, file, STORE_FORMAT_AUTO, NOW, &in),
            STORE_OK);
  CHECK_INT(in.entries, 94599);
  CHECK_INT(in.force_https, 94599);
  CHECK_INT(in.with_subdomains, 94350);
  CHECK_INT(in.skipped, 1);
  CHECK_STR(in.skipped_names, "1.0.0.1");
  CHECK_STR(in.name, "chromium-2026-06-01");
  store_close(&s);
}

TEST_MAIN({ "chromium_small", test_chromium_small },
          { "mozilla_and_text", test_mozilla_and_text },
          { "builtin_until_import", test_builtin_until_import },
          { "malformed_leaves_store_unchanged",
            test_malformed_leaves_store_unchanged },
          { "unreadable_file", test_unreadable_file },
          { "formats_names", test_formats_names },
          { "real_chromium_2016", test_real_chromium_2016 },
          { "real_truncated", test_real_truncated },
          { "skipped_bom_date", test_skipped_bom_date },
          { "reset", test_reset },
          { "real_chromium_2026", test_real_chromium_2026 })
