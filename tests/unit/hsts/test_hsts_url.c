/*
 * test_hsts_url.c - absolute-form parsing, CONNECT authorities, the https
 * upgrade and reference resolution.
 *
 * Parse rows give every component a proxy reads; upgrade rows pin the port
 * rule (none and 80 vanish, 443 is https's default, others stay) and the
 * byte-for-byte path and query; resolve rows are RFC 3986 section 5.4's
 * examples against its base "http://a/b/c/d;p?q", plus Location values a
 * proxy meets.
 */
#include "testlib.h"

#include "hsts_url.h"

#define OUT_MAX 512

struct parse_row {
  const char *url;
  int err;
  const char *scheme, *userinfo, *host;
  int is_ipv6;
  unsigned port;
  const char *path;
};

static const struct parse_row parse_rows[] = {
  { "http://example.com/", HSTS_OK, "http", NULL, "example.com", 0, 0, "/" },
  { "http://example.com", HSTS_OK, "http", NULL, "example.com", 0, 0, "" },
  { "HTTP://Example.COM:8080/a?b=c", HSTS_OK, "HTTP", NULL, "Example.COM", 0,
    8080, "/a?b=c" },
  { "http://user:pa%20ss@example.com/x", HSTS_OK, "http", "user:pa%20ss",
    "example.com", 0, 0, "/x" },
  { "http://@example.com/", HSTS_OK, "http", "", "example.com", 0, 0, "/" },
  { "http://[::1]:8080/", HSTS_OK, "http", NULL, "::1", 1, 8080, "/" },
  { "http://[2001:DB8::1]/p", HSTS_OK, "http", NULL, "2001:DB8::1", 1, 0,
    "/p" },
  { "http://example.com?q=1", HSTS_OK, "http", NULL, "example.com", 0, 0,
    "?q=1" },
  { "http://example.com/%7Efoo?a=%ZZ&b=|{}^", HSTS_OK, "http", NULL,
    "example.com", 0, 0, "/%7Efoo?a=%ZZ&b=|{}^" },
  { "ftp://example.com/f", HSTS_OK, "ftp", NULL, "example.com", 0, 0, "/f" },
  { "http://example.com:65535/", HSTS_OK, "http", NULL, "example.com", 0, 65535,
    "/" },
  { "http://example.com:080/", HSTS_OK, "http", NULL, "example.com", 0, 80,
    "/" },
  { "http://127.0.0.1:3128/", HSTS_OK, "http", NULL, "127.0.0.1", 0, 3128,
    "/" },
  /* Refused. */
  { "http://example.com:65536/", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://example.com:0/", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://example.com:/", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://example.com:80a/", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://example.com:123456/", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://example.com:-1/", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://example.com/a#frag", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://example.com/a b", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://example.com/\x01", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://example.com/\x7f", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://example.com/\xc3\xa9", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http:///path", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http:example.com", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http:/example.com", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "example.com/path", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "/path", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "://x", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "1http://x/", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://exa mple.com/", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://a@b@c/", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://us er@c/", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://[::1/", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://[::1]x/", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://[v1.x]/", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://[fe80::1%25eth0]/", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://[127.0.0.1]/", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://ex%zzample.com/", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { "http://example.com%/", HSTS_EURL, NULL, NULL, NULL, 0, 0, NULL },
  { NULL, 0, NULL, NULL, NULL, 0, 0, NULL }
};

static int view_is(const char *p, size_t n, const char *want)
{
  if (want == NULL) {
    return p == NULL;
  }
  return p != NULL && strlen(want) == n && memcmp(p, want, n) == 0;
}

static void test_parse(void)
{
  int i;

  for (i = 0; parse_rows[i].url != NULL; i++) {
    const struct parse_row *r = &parse_rows[i];
    struct hsts_url u;
    int err = hsts_url_parse(r->url, strlen(r->url), &u);

    if (!CHECK_ROW(err == r->err, i)) {
      fprintf(stderr, "    [%s]\n", r->url);
    }
    if (err != HSTS_OK || r->err != HSTS_OK) {
      continue;
    }
    CHECK_ROW(view_is(u.scheme, u.scheme_len, r->scheme), i);
    CHECK_ROW(view_is(u.userinfo, u.userinfo_len, r->userinfo), i);
    CHECK_ROW(view_is(u.host, u.host_len, r->host), i);
    CHECK_ROW(u.is_ipv6 == r->is_ipv6, i);
    CHECK_ROW(u.port == r->port, i);
    CHECK_ROW(view_is(u.path, u.path_len, r->path), i);
  }
}

static void test_authority(void)
{
  static const struct {
    const char *in;
    int err;
    const char *host;
    int is_ipv6;
    unsigned port;
  } rows[] = { { "example.com:443", HSTS_OK, "example.com", 0, 443 },
               { "Example.COM:8443", HSTS_OK, "Example.COM", 0, 8443 },
               { "[::1]:443", HSTS_OK, "::1", 1, 443 },
               { "127.0.0.1:1", HSTS_OK, "127.0.0.1", 0, 1 },
               { "example.com", HSTS_EURL, NULL, 0, 0 },
               { "example.com:", HSTS_EURL, NULL, 0, 0 },
               { ":443", HSTS_EURL, NULL, 0, 0 },
               { "[::1]", HSTS_EURL, NULL, 0, 0 },
               { "::1:443", HSTS_EURL, NULL, 0, 0 },
               { "user@example.com:443", HSTS_EURL, NULL, 0, 0 },
               { "example.com:443/", HSTS_EURL, NULL, 0, 0 },
               { "example.com:99999", HSTS_EURL, NULL, 0, 0 },
               { "exa mple.com:443", HSTS_EURL, NULL, 0, 0 },
               { NULL, 0, NULL, 0, 0 } };
  int i;

  for (i = 0; rows[i].in != NULL; i++) {
    struct hsts_url u;
    int err = hsts_authority_parse(rows[i].in, strlen(rows[i].in), &u);

    CHECK_ROW(err == rows[i].err, i);
    if (err == HSTS_OK && rows[i].err == HSTS_OK) {
      CHECK_ROW(view_is(u.host, u.host_len, rows[i].host), i);
      CHECK_ROW(u.is_ipv6 == rows[i].is_ipv6, i);
      CHECK_ROW(u.port == rows[i].port, i);
      CHECK_ROW(u.scheme == NULL && u.path_len == 0, i);
    }
  }
}

static void test_default_port(void)
{
  static const struct {
    const char *url;
    unsigned port;
  } rows[] = { { "http://h/", 80 },
               { "HTTP://h/", 80 },
               { "https://h/", 443 },
               { "HttpS://h:8443/", 443 },
               { "ftp://h/", 0 },
               { "httpx://h/", 0 },
               { NULL, 0 } };
  int i;

  for (i = 0; rows[i].url != NULL; i++) {
    struct hsts_url u;

    CHECK_ROW(hsts_url_parse(rows[i].url, strlen(rows[i].url), &u) == HSTS_OK,
              i);
    CHECK_ROW(hsts_url_default_port(&u) == rows[i].port, i);
  }
}

static void test_upgrade(void)
{
  static const struct {
    const char *url, *want;
  } rows[] = { { "http://example.com/", "https://example.com/" },
               { "http://example.com", "https://example.com/" },
               { "http://example.com:80/a", "https://example.com/a" },
               { "http://example.com:8080/a", "https://example.com:8080/a" },
               { "http://example.com:443/a", "https://example.com/a" },
               { "http://example.com:8443", "https://example.com:8443/" },
               { "http://Example.COM/Path?Q=A",
                 "https://example.com/Path?Q=A" },
               { "http://user:pw@example.com/x", "https://example.com/x" },
               { "http://[::1]:8080/x", "https://[::1]:8080/x" },
               { "http://[2001:DB8::1]/", "https://[2001:db8::1]/" },
               { "http://[::1]:80/", "https://[::1]/" },
               { "http://example.com?q", "https://example.com/?q" },
               { "http://example.com/a%2Fb%zz?x=%20&y=a+b&&z==|",
                 "https://example.com/a%2Fb%zz?x=%20&y=a+b&&z==|" },
               { "http://example.com//double//slash/./x/../y?",
                 "https://example.com//double//slash/./x/../y?" },
               { "http://example.com/?%E2%9C%93=1;a=b",
                 "https://example.com/?%E2%9C%93=1;a=b" },
               { NULL, NULL } };
  char out[OUT_MAX];
  int i;

  for (i = 0; rows[i].url != NULL; i++) {
    struct hsts_url u;
    size_t n = 0;

    CHECK_ROW(hsts_url_parse(rows[i].url, strlen(rows[i].url), &u) == HSTS_OK,
              i);
    CHECK_ROW(hsts_url_upgrade(&u, out, sizeof(out), &n) == HSTS_OK, i);
    if (!CHECK_ROW(strcmp(out, rows[i].want) == 0, i)) {
      fprintf(stderr, "    got %s\n", out);
    }
    CHECK_ROW(n == strlen(rows[i].want), i);
  }
}

static void test_upgrade_nospace(void)
{
  const char *url = "http://example.com:8080/abc";
  const char *want = "https://example.com:8080/abc";
  size_t need = strlen(want) + 1, n;
  struct hsts_url u;
  char out[64];

  CHECK_INT(hsts_url_parse(url, strlen(url), &u), HSTS_OK);
  CHECK_INT(hsts_url_upgrade(&u, out, need, &n), HSTS_OK);
  CHECK_STR(out, want);
  CHECK_INT(hsts_url_upgrade(&u, out, need - 1, &n), HSTS_ENOSPC);
  CHECK_STR(out, "");
  CHECK_INT(hsts_url_upgrade(&u, out, 0, &n), HSTS_ENOSPC);
}

#define RFC_BASE "http://a/b/c/d;p?q"

static const struct {
  const char *base, *ref, *want;
} resolve_rows[] = {
  /* RFC 3986 section 5.4.1, normal examples. */
  { RFC_BASE, "g:h", "g:h" },
  { RFC_BASE, "g", "http://a/b/c/g" },
  { RFC_BASE, "./g", "http://a/b/c/g" },
  { RFC_BASE, "g/", "http://a/b/c/g/" },
  { RFC_BASE, "/g", "http://a/g" },
  { RFC_BASE, "//g", "http://g" },
  { RFC_BASE, "?y", "http://a/b/c/d;p?y" },
  { RFC_BASE, "g?y", "http://a/b/c/g?y" },
  { RFC_BASE, "#s", "http://a/b/c/d;p?q#s" },
  { RFC_BASE, "g#s", "http://a/b/c/g#s" },
  { RFC_BASE, "g?y#s", "http://a/b/c/g?y#s" },
  { RFC_BASE, ";x", "http://a/b/c/;x" },
  { RFC_BASE, "g;x", "http://a/b/c/g;x" },
  { RFC_BASE, "g;x?y#s", "http://a/b/c/g;x?y#s" },
  { RFC_BASE, "", "http://a/b/c/d;p?q" },
  { RFC_BASE, ".", "http://a/b/c/" },
  { RFC_BASE, "./", "http://a/b/c/" },
  { RFC_BASE, "..", "http://a/b/" },
  { RFC_BASE, "../", "http://a/b/" },
  { RFC_BASE, "../g", "http://a/b/g" },
  { RFC_BASE, "../..", "http://a/" },
  { RFC_BASE, "../../", "http://a/" },
  { RFC_BASE, "../../g", "http://a/g" },
  /* Section 5.4.2, abnormal examples. */
  { RFC_BASE, "../../../g", "http://a/g" },
  { RFC_BASE, "../../../../g", "http://a/g" },
  { RFC_BASE, "/./g", "http://a/g" },
  { RFC_BASE, "/../g", "http://a/g" },
  { RFC_BASE, "g.", "http://a/b/c/g." },
  { RFC_BASE, ".g", "http://a/b/c/.g" },
  { RFC_BASE, "g..", "http://a/b/c/g.." },
  { RFC_BASE, "..g", "http://a/b/c/..g" },
  { RFC_BASE, "./../g", "http://a/b/g" },
  { RFC_BASE, "./g/.", "http://a/b/c/g/" },
  { RFC_BASE, "g/./h", "http://a/b/c/g/h" },
  { RFC_BASE, "g/../h", "http://a/b/c/h" },
  { RFC_BASE, "g;x=1/./y", "http://a/b/c/g;x=1/y" },
  { RFC_BASE, "g;x=1/../y", "http://a/b/c/y" },
  { RFC_BASE, "g?y/./x", "http://a/b/c/g?y/./x" },
  { RFC_BASE, "g?y/../x", "http://a/b/c/g?y/../x" },
  { RFC_BASE, "g#s/./x", "http://a/b/c/g#s/./x" },
  { RFC_BASE, "g#s/../x", "http://a/b/c/g#s/../x" },
  { RFC_BASE, "http:g", "http:g" },
  /* Location values a proxy meets. */
  { "http://example.com", "/x", "http://example.com/x" },
  { "http://example.com", "x", "http://example.com/x" },
  { "http://example.com:8080/a/b", "https://example.com/",
    "https://example.com/" },
  { "http://example.com/a/b?q", "//cdn.test/c?d", "http://cdn.test/c?d" },
  { "http://example.com/a/b", "HTTPS://Example.com/./a/../c",
    "HTTPS://Example.com/c" },
  { "https://example.com/a/", "b%20c?x=%2F#top",
    "https://example.com/a/b%20c?x=%2F#top" },
  { NULL, NULL, NULL }
};

static void test_resolve(void)
{
  char out[OUT_MAX];
  int i;

  for (i = 0; resolve_rows[i].base != NULL; i++) {
    const char *b = resolve_rows[i].base, *r = resolve_rows[i].ref;
    int err = hsts_url_resolve(b, strlen(b), r, strlen(r), out, sizeof(out));

    CHECK_ROW(err == HSTS_OK, i);
    if (!CHECK_ROW(strcmp(out, resolve_rows[i].want) == 0, i)) {
      fprintf(stderr, "    %s + %s -> %s\n", b, r, out);
    }
  }
  CHECK(i >= 45);
}

static void test_resolve_errors(void)
{
  char out[OUT_MAX];
  const char *base = "http://example.com/a";

  CHECK_INT(hsts_url_resolve(base, strlen(base), "/a b", 4, out, sizeof(out)),
            HSTS_EURL);
  CHECK_INT(
      hsts_url_resolve(base, strlen(base), "/\xc3\xa9", 3, out, sizeof(out)),
      HSTS_EURL);
  CHECK_INT(hsts_url_resolve("/rel", 4, "x", 1, out, sizeof(out)), HSTS_EURL);
  CHECK_INT(hsts_url_resolve(base, strlen(base), "/abcdef", 7, out, 26),
            HSTS_OK);
  CHECK_STR(out, "http://example.com/abcdef");
  CHECK_INT(hsts_url_resolve(base, strlen(base), "/abcdefg", 8, out, 26),
            HSTS_ENOSPC);
  CHECK_INT(hsts_url_resolve(base, strlen(base), "/x", 2, out, 0), HSTS_ENOSPC);
}

TEST_MAIN({ "parse", test_parse }, { "authority", test_authority },
          { "default_port", test_default_port }, { "upgrade", test_upgrade },
          { "upgrade_nospace", test_upgrade_nospace },
          { "resolve", test_resolve },
          { "resolve_errors", test_resolve_errors })
