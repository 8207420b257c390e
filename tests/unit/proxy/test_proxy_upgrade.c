/*
 * test_proxy_upgrade.c - the pure parts of the internal upgrade and of
 * request routing.
 *
 * Build rows pin the exact 307 head (golden text) for a request URL, an
 * Origin and a connection mode: the header order, the port rule, the
 * byte-for-byte path and query, the CORS echo and the Connection line;
 * and that it goes out as PROXY_UPGRADE_BUFS buffers (libuv copies a
 * longer array into malloc'd memory) that add up to the announced total.
 * Host rows pin the comparison of a Host value with the absolute-form
 * target: hosts normalized, ports defaulting to 80, brackets only around
 * IPv6.
 */
#include "testlib.h"

#include "proxy_conn.h"
#include "proxy_route.h"
#include "proxy_upgrade.h"

#define HEAD_MAX 2048

#define H307 "HTTP/1.1 307 Internal Redirect\r\nLocation: "
#define MIDDLE                             \
  "\r\nNon-Authoritative-Reason: HSTS\r\n" \
  "Cross-Origin-Resource-Policy: Cross-Origin\r\nContent-Length: 0\r\n"

struct build_row {
  const char *url;
  const char *origin; /* NULL: none */
  enum proxy_conn_mode mode;
  const char *location;
  const char *head;
};

static const struct build_row build_rows[] = {
  { "http://example.com/", NULL, PROXY_CONN_PERSIST, "https://example.com/",
    H307 "https://example.com/" MIDDLE "\r\n" },
  { "http://Example.COM:80/a%2Fb?q=%00&x", NULL, PROXY_CONN_PERSIST,
    "https://example.com/a%2Fb?q=%00&x",
    H307 "https://example.com/a%2Fb?q=%00&x" MIDDLE "\r\n" },
  { "http://example.com:8080/p", NULL, PROXY_CONN_CLOSE,
    "https://example.com:8080/p",
    H307 "https://example.com:8080/p" MIDDLE "Connection: close\r\n\r\n" },
  { "http://example.com:443/", NULL, PROXY_CONN_KEEP_ALIVE,
    "https://example.com/",
    H307 "https://example.com/" MIDDLE "Connection: keep-alive\r\n\r\n" },
  { "http://example.com?only=query", "https://app.example", PROXY_CONN_PERSIST,
    "https://example.com/?only=query",
    H307 "https://example.com/?only=query" MIDDLE
         "Access-Control-Allow-Origin: https://app.example\r\n"
         "Access-Control-Allow-Credentials: true\r\n\r\n" },
  { "http://a.b.example.com/x", "null", PROXY_CONN_CLOSE,
    "https://a.b.example.com/x",
    H307 "https://a.b.example.com/x" MIDDLE
         "Access-Control-Allow-Origin: null\r\n"
         "Access-Control-Allow-Credentials: true\r\n"
         "Connection: close\r\n\r\n" },
  { "http://user:pw@example.com/u", NULL, PROXY_CONN_PERSIST,
    "https://example.com/u", H307 "https://example.com/u" MIDDLE "\r\n" },
  { NULL, NULL, PROXY_CONN_PERSIST, NULL, NULL } /* sentinel */
};

/* Joins the buffers; returns the length. */
static size_t join(const uv_buf_t *bufs, size_t n, char *out, size_t cap)
{
  size_t len = 0, i;

  for (i = 0; i < n; i++) {
    if (len + bufs[i].len >= cap)
      return 0;
    memcpy(out + len, bufs[i].base, bufs[i].len);
    len += bufs[i].len;
  }
  out[len] = '\0';
  return len;
}

static void test_build(void)
{
  const struct build_row *r;

  for (r = build_rows; r->url != NULL; r++) {
    int row = (int)(r - build_rows);
    char buf[HEAD_MAX], head[HEAD_MAX];
    uv_buf_t bufs[PROXY_UPGRADE_BUFS];
    struct hsts_url u;
    const char *loc = NULL;
    size_t total = 0, loc_len = 0, olen;
    size_t need;

    CHECK_ROW(hsts_url_parse(r->url, strlen(r->url), &u) == HSTS_OK, row);
    olen = r->origin != NULL ? strlen(r->origin) : 0;
    need = proxy__upgrade_need(&u, olen);
    CHECK_ROW(need <= sizeof(buf), row);
    CHECK_ROW(proxy__upgrade_build(&u, r->origin, olen, r->mode, buf, need,
                                   bufs, &total, &loc, &loc_len) == 0,
              row);
    CHECK_ROW(join(bufs, PROXY_UPGRADE_BUFS, head, sizeof(head)) == total, row);
    CHECK_STR(head, r->head);
    CHECK_STR(loc, r->location);
    CHECK_ROW(loc_len == strlen(r->location), row);
    /* the Location and the tail live in buf; the rest is static text */
    CHECK_ROW(bufs[1].base == buf && bufs[3].base > buf &&
                  bufs[3].base + bufs[3].len <= buf + need,
              row);
    /* one byte short of the bound is refused, never overrun */
    CHECK_ROW(proxy__upgrade_build(&u, r->origin, olen, r->mode, buf, need - 1,
                                   bufs, &total, &loc, &loc_len) == -1,
              row);
  }
}

static void test_long_url_and_origin(void)
{
  static char url[HTTP1_MAX_REQUEST_LINE], origin[HTTP1_MAX_HEAD / 2];
  static char buf[HTTP1_MAX_REQUEST_LINE + HTTP1_MAX_HEAD];
  uv_buf_t bufs[PROXY_UPGRADE_BUFS];
  struct hsts_url u;
  const char *loc;
  size_t total, loc_len, n;

  n = (size_t)snprintf(url, sizeof(url), "http://example.com:81/");
  memset(url + n, 'a', sizeof(url) - n - 1);
  memset(origin, 'o', sizeof(origin) - 1);
  CHECK(hsts_url_parse(url, strlen(url), &u) == HSTS_OK);
  CHECK(proxy__upgrade_need(&u, strlen(origin)) <= sizeof(buf));
  CHECK(proxy__upgrade_build(&u, origin, strlen(origin), PROXY_CONN_CLOSE, buf,
                             sizeof(buf), bufs, &total, &loc, &loc_len) == 0);
  CHECK_INT(loc_len, strlen(url) + 1); /* "http" -> "https" */
  CHECK(strncmp(loc, "https://example.com:81/aaa", 26) == 0);
  CHECK_INT(total, bufs[0].len + bufs[1].len + bufs[2].len + bufs[3].len);
}

struct host_row {
  const char *value; /* the Host field value */
  const char *host;  /* the target, normalized */
  unsigned port;
  int match;
};

static const struct host_row host_rows[] = {
  { "example.com", "example.com", 80, 1 },
  { "example.com:80", "example.com", 80, 1 },
  { "example.com:", "example.com", 80, 1 },
  { "EXAMPLE.com.", "example.com", 80, 1 },
  { "example.com:8080", "example.com", 8080, 1 },
  { "example.com", "example.com", 8080, 0 },
  { "example.com:8080", "example.com", 80, 0 },
  { "example.com:080", "example.com", 80, 1 },
  { "other.com", "example.com", 80, 0 },
  { "www.example.com", "example.com", 80, 0 },
  { "[::1]:3128", "::1", 3128, 1 },
  { "[::1]", "::1", 80, 1 },
  { "[0:0::1]", "::1", 80, 0 }, /* compared as normalized text */
  { "[::1]x", "::1", 80, 0 },
  { "[::1", "::1", 80, 0 },
  { "127.0.0.1:8080", "127.0.0.1", 8080, 1 },
  { "127.0.0.1", "127.0.0.2", 80, 0 },
  { "example.com:65536", "example.com", 80, 0 },
  { "example.com:0", "example.com", 80, 0 },
  { "example.com:8o", "example.com", 80, 0 },
  { "", "example.com", 80, 0 },
  { "a..b", "a..b", 80, 0 },
  { NULL, NULL, 0, 0 } /* sentinel */
};

static void test_host_matches(void)
{
  const struct host_row *r;

  for (r = host_rows; r->value != NULL; r++) {
    struct proxy_target t;

    memset(&t, 0, sizeof(t));
    snprintf(t.host, sizeof(t.host), "%s", r->host);
    t.port = r->port;
    CHECK_ROW(proxy__host_matches(r->value, strlen(r->value), &t) == r->match,
              r - host_rows);
  }
}

TEST_MAIN({ "build", test_build },
          { "long_url_and_origin", test_long_url_and_origin },
          { "host_matches", test_host_matches })
