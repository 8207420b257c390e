/*
 * test_cli_json.c - the CLI's JSON writer and time formats.
 *
 * cli_json.c and cli_time.c are linked from the hstsproxy_cli library.
 * Output goes to a memory stream and is compared byte for byte.
 */
#include "cli_json.h"
#include "cli_time.h"

#include "testlib.h"

#define OUT_MAX 1024

struct mem {
  char *buf;
  size_t len;
  FILE *f;
};

static void mem_open(struct mem *m)
{
  m->buf = NULL;
  m->len = 0;
  m->f = open_memstream(&m->buf, &m->len);
}

static const char *mem_text(struct mem *m)
{
  fflush(m->f);
  return m->buf;
}

static void mem_close(struct mem *m)
{
  fclose(m->f);
  free(m->buf);
}

struct escape_row {
  const char *in;
  size_t len; /* 0: strlen */
  const char *out;
};

static const struct escape_row escapes[] = {
  { "plain", 0, "\"plain\"" },
  { "q\"b\\s/", 0, "\"q\\\"b\\\\s/\"" },
  { "\n\r\t\b\f", 0, "\"\\n\\r\\t\\b\\f\"" },
  { "\x01\x1f\x7f", 0, "\"\\u0001\\u001f\\u007f\"" },
  { "nul\0x", 5, "\"nul\\u0000x\"" },
  { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0,
    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
  { "bad\xff", 0, "\"bad\xef\xbf\xbd\"" },           /* stray byte */
  { "\xc3", 0, "\"\xef\xbf\xbd\"" },                 /* cut short */
  { "\xc0\xaf", 0, "\"\xef\xbf\xbd\xef\xbf\xbd\"" }, /* overlong */
  { "\xed\xa0\x80", 0, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" }, /* D800 */
  { "\xf4\x90\x80\x80", 0,
    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" }, /* > 10FFFF */
  { "a\xe2\x80\xa8"
    "b\xe2\x80\xa9",
    0, "\"a\\u2028b\\u2029\"" },
  { "", 0, "\"\"" },
  { NULL, 0, NULL }
};

static void test_escaping(void)
{
  struct cli_json j;
  struct mem m;
  char want[OUT_MAX];
  int i;

  for (i = 0; escapes[i].in != NULL; i++) {
    mem_open(&m);
    cli_json_init(&j, m.f);
    cli_json_string_len(&j, escapes[i].in,
                        escapes[i].len ? escapes[i].len
                                       : strlen(escapes[i].in));
    snprintf(want, sizeof(want), "%s\n", escapes[i].out);
    CHECK_ROW(strcmp(mem_text(&m), want) == 0, i);
    CHECK_ROW(!j.failed, i);
    mem_close(&m);
  }
}

static void test_structure(void)
{
  struct cli_json j;
  struct mem m;

  mem_open(&m);
  cli_json_init(&j, m.f);
  cli_json_object_begin(&j);
  cli_json_kstring(&j, "s", "x");
  cli_json_kstring(&j, "n", NULL);
  cli_json_kint(&j, "i", -42);
  cli_json_kuint(&j, "u", UINT64_MAX);
  cli_json_kbool(&j, "t", 1);
  cli_json_kbool(&j, "f", 0);
  cli_json_knull(&j, "z");
  cli_json_key(&j, "a");
  cli_json_array_begin(&j);
  cli_json_int(&j, 1);
  cli_json_object_begin(&j);
  cli_json_object_end(&j);
  cli_json_array_begin(&j);
  cli_json_array_end(&j);
  cli_json_string(&j, "q");
  cli_json_array_end(&j);
  cli_json_key(&j, "o");
  cli_json_object_begin(&j);
  cli_json_kint(&j, "k", 0);
  cli_json_object_end(&j);
  cli_json_object_end(&j);
  /* A second top-level value: JSON Lines. */
  cli_json_array_begin(&j);
  cli_json_array_end(&j);
  CHECK_STR(mem_text(&m),
            "{\"s\":\"x\",\"n\":null,\"i\":-42,\"u\":18446744073709551615,"
            "\"t\":true,\"f\":false,\"z\":null,\"a\":[1,{},[],\"q\"],"
            "\"o\":{\"k\":0}}\n[]\n");
  CHECK(!j.failed);
  CHECK_INT(j.depth, 0);
  mem_close(&m);
}

/* Each misuse sets `failed` and stops the output. */
static void test_misuse(void)
{
  struct cli_json j;
  struct mem m;
  int i;

  mem_open(&m);
  cli_json_init(&j, m.f);
  cli_json_object_begin(&j);
  cli_json_int(&j, 1); /* a value where a key is due */
  CHECK(j.failed);
  cli_json_object_end(&j);
  CHECK_STR(mem_text(&m), "{");
  mem_close(&m);

  mem_open(&m);
  cli_json_init(&j, m.f);
  cli_json_array_begin(&j);
  cli_json_object_end(&j); /* unbalanced */
  CHECK(j.failed);
  mem_close(&m);

  mem_open(&m);
  cli_json_init(&j, m.f);
  cli_json_key(&j, "k"); /* a key outside an object */
  CHECK(j.failed);
  mem_close(&m);

  mem_open(&m);
  cli_json_init(&j, m.f);
  for (i = 0; i <= CLI_JSON_DEPTH_MAX; i++)
    cli_json_array_begin(&j);
  CHECK(j.failed);
  CHECK_INT(j.depth, CLI_JSON_DEPTH_MAX);
  mem_close(&m);

  mem_open(&m);
  cli_json_init(&j, m.f);
  cli_json_object_begin(&j);
  cli_json_key(&j, "k");
  cli_json_object_end(&j); /* the key's value is missing */
  CHECK(j.failed);
  mem_close(&m);
}

struct time_row {
  int64_t t;
  const char *rfc3339;
};

static const struct time_row times[] = {
  { 0, "1970-01-01T00:00:00Z" },
  { 1700000000, "2023-11-14T22:13:20Z" },
  { 951782400, "2000-02-29T00:00:00Z" },
  { -1, "1969-12-31T23:59:59Z" },
  { 253402300799LL, "9999-12-31T23:59:59Z" },
  { INT64_MAX, "9999-12-31T23:59:59Z" }, /* clamped */
  { INT64_MIN, "0000-01-01T00:00:00Z" }, /* clamped */
  { 0, NULL }
};

struct rel_row {
  int64_t delta; /* t - now */
  const char *text;
};

static const struct rel_row rels[] = { { 0, "now" },
                                       { 1, "in 1 s" },
                                       { 119, "in 119 s" },
                                       { 120, "in 2 min" },
                                       { 7199, "in 119 min" },
                                       { 7200, "in 2 h" },
                                       { 172799, "in 47 h" },
                                       { 172800, "in 2 d" },
                                       { 293 * 86400 + 5, "in 293 d" },
                                       { -90, "90 s ago" },
                                       { -3 * 3600, "3 h ago" },
                                       { -400 * 86400LL, "400 d ago" },
                                       { 0, NULL } };

static void test_times(void)
{
  char out[CLI_TIME_MAX];
  int i;

  for (i = 0; times[i].rfc3339 != NULL; i++) {
    cli_time_rfc3339(times[i].t, out);
    CHECK_ROW(strcmp(out, times[i].rfc3339) == 0, i);
  }
  for (i = 0; rels[i].text != NULL; i++) {
    cli_time_relative(1700000000 + rels[i].delta, 1700000000, out);
    CHECK_ROW(strcmp(out, rels[i].text) == 0, i);
    if (strcmp(out, rels[i].text) != 0)
      fprintf(stderr, "  row %d: %s\n", i, out);
  }
  cli_time_duration(31536000, out);
  CHECK_STR(out, "365 d");
  cli_time_duration(UINT64_MAX, out);
  CHECK_STR(out, "213503982334601 d");
}

TEST_MAIN({ "escaping", test_escaping }, { "structure", test_structure },
          { "misuse", test_misuse }, { "times", test_times })
