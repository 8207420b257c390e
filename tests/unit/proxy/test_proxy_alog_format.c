/*
 * test_proxy_alog_format.c - the access log's three line formats
 * (proxy_alog_format.c).
 *
 * Rows pin whole lines: Squid's fields (time.ms, elapsed, action/code,
 * HIER_DIRECT with the origin's address or HIER_NONE/-, "-" for what is
 * absent, %XX for blanks, controls and '%' inside a field); combined (the
 * UTC date, the request line, \xHH for '"', '\' and bytes outside
 * printable ASCII); JSON (every field, null when absent, escapes, invalid
 * UTF-8 as U+FFFD). A line that does not fit the buffer is cut but still
 * ends with a newline; the format names parse and nothing else does.
 */
#include "testlib.h"

#include <string.h>

#include "proxy_alog.h"

#define OUT_MAX 2048
#define T0      INT64_C(1733472000123) /* 2024-12-06T08:00:00.123Z */

struct row {
  enum proxy_alog_format f;
  enum proxy_alog_action action;
  int status;
  const char *client, *method, *url, *user, *peer, *type, *referer, *agent;
  const char *line;
};

static const struct row rows[] = {
  { PROXY_ALOG_SQUID, PROXY_ALOG_UPGRADE, 307, "127.0.0.1", "GET",
    "http://a.test/x", NULL, NULL, NULL, NULL, NULL,
    "1733472000.123      5 127.0.0.1 TCP_HSTS_UPGRADE/307 215 GET "
    "http://a.test/x - HIER_NONE/- -\n" },
  { PROXY_ALOG_SQUID, PROXY_ALOG_MISS, 200, "::1", "GET", "http://a.test/%",
    "bob", "192.0.2.1", "text/html; charset=utf-8", NULL, NULL,
    "1733472000.123      5 ::1 TCP_MISS/200 215 GET http://a.test/%25 bob "
    "HIER_DIRECT/192.0.2.1 text/html;%20charset=utf-8\n" },
  { PROXY_ALOG_SQUID, PROXY_ALOG_NONE_ABORTED, 0, "127.0.0.1", "", NULL, NULL,
    NULL, NULL, NULL, NULL,
    "1733472000.123      5 127.0.0.1 NONE_ABORTED/000 215 - - - HIER_NONE/- "
    "-\n" },
  { PROXY_ALOG_COMBINED, PROXY_ALOG_MISS, 404, "127.0.0.1", "GET",
    "http://a.test/", NULL, "192.0.2.1", NULL, "http://r.test/",
    "ua \"q\" \\ \x01\xc3\xa9",
    "127.0.0.1 - - [06/Dec/2024:08:00:00 +0000] \"GET http://a.test/ "
    "HTTP/1.1\" 404 215 \"http://r.test/\" \"ua \\x22q\\x22 \\x5C \\x01"
    "\\xC3\\xA9\"\n" },
  { PROXY_ALOG_JSON, PROXY_ALOG_TUNNEL, 200, "127.0.0.1", "CONNECT",
    "a.test:443", NULL, "192.0.2.1", NULL, NULL, "\"\xff\n",
    "{\"time\":\"2024-12-06T08:00:00.123Z\",\"time_ms\":1733472000123,"
    "\"elapsed_ms\":5,\"client\":\"127.0.0.1\",\"action\":\"TCP_TUNNEL\","
    "\"status\":200,\"bytes\":215,\"method\":\"CONNECT\",\"url\":"
    "\"a.test:443\",\"http_version\":\"HTTP/1.1\",\"user\":null,"
    "\"hierarchy\":\"HIER_DIRECT\",\"peer\":\"192.0.2.1\",\"type\":null,"
    "\"referer\":null,\"user_agent\":\"\\\"\\ufffd\\u000A\"}\n" },
  { PROXY_ALOG_SQUID, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL } /* sentinel */
};

static void fill(struct proxy_alog_rec *r, const struct row *w)
{
  const char *s[PROXY_ALOG_STR_COUNT] = { w->client,  w->method, w->url,
                                          w->user,    w->peer,   w->type,
                                          w->referer, w->agent };
  int i;

  memset(r, 0, sizeof(*r));
  r->time_ms = T0;
  r->elapsed_ms = 5;
  r->bytes = 215;
  r->status = w->status;
  r->action = w->action;
  r->http_minor = 1;
  for (i = 0; i < PROXY_ALOG_STR_COUNT; i++) {
    r->s[i] = s[i];
    r->len[i] = s[i] != NULL ? strlen(s[i]) : 0;
  }
}

static void test_rows(void)
{
  const struct row *w;
  struct proxy_alog_rec r;
  char out[OUT_MAX];

  for (w = rows; w->line != NULL; w++) {
    size_t n;

    fill(&r, w);
    n = proxy_alog_format_line(w->f, &r, out, sizeof(out));
    CHECK_ROW(n == strlen(w->line) && strcmp(out, w->line) == 0,
              (int)(w - rows));
  }
}

static void test_cut(void)
{
  struct proxy_alog_rec r;
  char out[32];
  size_t n;

  fill(&r, &rows[0]);
  n = proxy_alog_format_line(PROXY_ALOG_SQUID, &r, out, sizeof(out));
  CHECK(n == sizeof(out) - 1);
  CHECK(out[n - 1] == '\n' && out[n] == '\0');
  CHECK(strncmp(out, rows[0].line, n - 1) == 0);
}

static void test_names(void)
{
  enum proxy_alog_format f = PROXY_ALOG_SQUID;

  CHECK(proxy_alog_format_parse("json", &f) == 0 && f == PROXY_ALOG_JSON);
  CHECK(proxy_alog_format_parse("combined", &f) == 0 &&
        f == PROXY_ALOG_COMBINED);
  CHECK(proxy_alog_format_parse("squid", &f) == 0 && f == PROXY_ALOG_SQUID);
  CHECK(proxy_alog_format_parse("Squid", &f) == -1);
  CHECK(proxy_alog_format_parse("", &f) == -1);
  CHECK(strcmp(proxy_alog_action_name(PROXY_ALOG_UPGRADE),
               "TCP_HSTS_UPGRADE") == 0);
  CHECK(strcmp(proxy_alog_action_name(PROXY_ALOG_ACTION_COUNT), "NONE") == 0);
}

TEST_MAIN({ "rows", test_rows }, { "cut", test_cut }, { "names", test_names })
