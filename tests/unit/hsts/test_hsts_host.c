/*
 * test_hsts_host.c - host name normalization and IP literal detection.
 *
 * Rows give an input, its length (0: strlen), the expected error, and on
 * success the normalized name and its kind. Lengths are exercised with
 * generated labels and names at and just past the RFC 1035 limits.
 */
#include "testlib.h"

#include "hsts_host.h"

struct row {
  const char *in;
  size_t len;
  int err;
  const char *out;
  enum hsts_host_kind kind;
};

static const struct row rows[] = {
  /* Names: lowercase, one trailing dot dropped. */
  { "example.com", 0, HSTS_OK, "example.com", HSTS_HOST_NAME },
  { "Example.COM", 0, HSTS_OK, "example.com", HSTS_HOST_NAME },
  { "example.com.", 0, HSTS_OK, "example.com", HSTS_HOST_NAME },
  { "WWW.Example.Com.", 0, HSTS_OK, "www.example.com", HSTS_HOST_NAME },
  { "localhost", 0, HSTS_OK, "localhost", HSTS_HOST_NAME },
  { "com", 0, HSTS_OK, "com", HSTS_HOST_NAME },
  { "xn--bcher-kva.example", 0, HSTS_OK, "xn--bcher-kva.example",
    HSTS_HOST_NAME },
  { "_dmarc.Example.com", 0, HSTS_OK, "_dmarc.example.com", HSTS_HOST_NAME },
  { "a-b.example", 0, HSTS_OK, "a-b.example", HSTS_HOST_NAME },
  { "1e100.net", 0, HSTS_OK, "1e100.net", HSTS_HOST_NAME },
  { "1.2.3.com", 0, HSTS_OK, "1.2.3.com", HSTS_HOST_NAME },
  { "example.comXYZ", 11, HSTS_OK, "example.com", HSTS_HOST_NAME },
  /* Rejections. */
  { "", 0, HSTS_EHOST_EMPTY, "", HSTS_HOST_NAME },
  { ".", 0, HSTS_EHOST_EMPTY, "", HSTS_HOST_NAME },
  { "example.com..", 0, HSTS_ELABEL_EMPTY, "", HSTS_HOST_NAME },
  { ".example.com", 0, HSTS_ELABEL_EMPTY, "", HSTS_HOST_NAME },
  { "a..b", 0, HSTS_ELABEL_EMPTY, "", HSTS_HOST_NAME },
  { "exa mple.com", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { "exa%41mple.com", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { "b\xc3\xbc"
    "cher.de",
    0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { "a\0b.com", 7, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { "example.com/", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { "user@example.com", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  /* IPv4: strict dotted quads; numeric shorthands refused. */
  { "127.0.0.1", 0, HSTS_OK, "127.0.0.1", HSTS_HOST_IPV4 },
  { "127.0.0.1.", 0, HSTS_OK, "127.0.0.1", HSTS_HOST_IPV4 },
  { "255.255.255.255", 0, HSTS_OK, "255.255.255.255", HSTS_HOST_IPV4 },
  { "0.0.0.0", 0, HSTS_OK, "0.0.0.0", HSTS_HOST_IPV4 },
  { "256.1.1.1", 0, HSTS_EHOST_IP, "", HSTS_HOST_NAME },
  { "127.1", 0, HSTS_EHOST_IP, "", HSTS_HOST_NAME },
  { "2130706433", 0, HSTS_EHOST_IP, "", HSTS_HOST_NAME },
  { "0x7f.0.0.1", 0, HSTS_EHOST_IP, "", HSTS_HOST_NAME },
  { "127.0.0.0x1", 0, HSTS_EHOST_IP, "", HSTS_HOST_NAME },
  { "010.0.0.1", 0, HSTS_EHOST_IP, "", HSTS_HOST_NAME },
  { "1.2.3.4.5", 0, HSTS_EHOST_IP, "", HSTS_HOST_NAME },
  { "example.123", 0, HSTS_EHOST_IP, "", HSTS_HOST_NAME },
  /* IPv6, with or without brackets; written without them, lowercased. */
  { "::1", 0, HSTS_OK, "::1", HSTS_HOST_IPV6 },
  { "[::1]", 0, HSTS_OK, "::1", HSTS_HOST_IPV6 },
  { "::", 0, HSTS_OK, "::", HSTS_HOST_IPV6 },
  { "[2001:DB8::A]", 0, HSTS_OK, "2001:db8::a", HSTS_HOST_IPV6 },
  { "1:2:3:4:5:6:7:8", 0, HSTS_OK, "1:2:3:4:5:6:7:8", HSTS_HOST_IPV6 },
  { "1:2:3:4:5:6:7::", 0, HSTS_OK, "1:2:3:4:5:6:7::", HSTS_HOST_IPV6 },
  { "1::", 0, HSTS_OK, "1::", HSTS_HOST_IPV6 },
  { "::ffff:192.0.2.1", 0, HSTS_OK, "::ffff:192.0.2.1", HSTS_HOST_IPV6 },
  { "[64:ff9b::192.0.2.33]", 0, HSTS_OK, "64:ff9b::192.0.2.33",
    HSTS_HOST_IPV6 },
  { "1:2:3:4:5:6:7:8:9", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { "1:2:3:4:5:6:7:8::", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { "1:2:3:4:5:6:7", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { "1::2::3", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { ":::", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { ":1", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { "1:", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { "12345::", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { "::ffff:1.2.3", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { "::1.2.3.4:5", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { "fe80::1%eth0", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { "[::1", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { "[example.com]", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { "[]", 0, HSTS_EHOST_EMPTY, "", HSTS_HOST_NAME },
  { "example.com:80", 0, HSTS_EHOST_CHAR, "", HSTS_HOST_NAME },
  { NULL, 0, 0, NULL, HSTS_HOST_NAME }
};

static void test_rows(void)
{
  int i;

  for (i = 0; rows[i].in != NULL; i++) {
    const struct row *r = &rows[i];
    size_t len = r->len != 0 ? r->len : strlen(r->in);
    char out[HSTS_HOST_MAX + 1];
    enum hsts_host_kind kind = HSTS_HOST_IPV6;
    int err = hsts_host_normalize(r->in, len, out, &kind);

    if (!CHECK_ROW(err == r->err, i)) {
      fprintf(stderr, "    [%s] -> %s\n", r->in, hsts_strerror(err));
    }
    if (err == HSTS_OK) {
      CHECK_ROW(strcmp(out, r->out) == 0, i);
      CHECK_ROW(kind == r->kind, i);
    }
  }
  CHECK(i >= 40);
}

/* Fills buf with `labels` labels of `size` 'a's joined by dots. */
static size_t make_name(char *buf, int labels, int size)
{
  size_t n = 0;
  int l, c;

  for (l = 0; l < labels; l++) {
    if (l > 0) {
      buf[n++] = '.';
    }
    for (c = 0; c < size; c++) {
      buf[n++] = (char)('a' + (l % 26));
    }
  }
  buf[n] = '\0';
  return n;
}

static void test_lengths(void)
{
  char in[600], out[HSTS_HOST_MAX + 1];
  enum hsts_host_kind kind;
  size_t n;

  n = make_name(in, 2, HSTS_LABEL_MAX);
  CHECK_INT(hsts_host_normalize(in, n, out, &kind), HSTS_OK);
  n = make_name(in, 2, HSTS_LABEL_MAX + 1);
  CHECK_INT(hsts_host_normalize(in, n, out, &kind), HSTS_ELABEL_TOO_LONG);
  /* 4 labels of 62 + 3 dots = 251; then a fifth label "b": 253. */
  n = make_name(in, 4, 62);
  CHECK_INT(n, 251);
  memcpy(in + n, ".b", 3);
  n += 2;
  CHECK_INT(hsts_host_normalize(in, n, out, &kind), HSTS_OK);
  CHECK_INT(strlen(out), HSTS_HOST_MAX);
  memcpy(in + n, ".", 2); /* 253 plus the root dot is still fine */
  CHECK_INT(hsts_host_normalize(in, n + 1, out, &kind), HSTS_OK);
  CHECK_INT(strlen(out), HSTS_HOST_MAX);
  memcpy(in + n, "b", 2);
  CHECK_INT(hsts_host_normalize(in, n + 1, out, &kind), HSTS_EHOST_TOO_LONG);
  n = make_name(in, 8, 63);
  CHECK_INT(hsts_host_normalize(in, n, out, &kind), HSTS_EHOST_TOO_LONG);
}

static void test_localhost(void)
{
  static const struct {
    const char *host;
    int want;
  } cases[] = { { "localhost", 1 },
                { "a.localhost", 1 },
                { "a.b.localhost", 1 },
                { "localhost.example", 0 },
                { "notlocalhost", 0 },
                { "mylocalhost.com", 0 },
                { "localhost.localhost", 1 },
                { "", 0 },
                { NULL, 0 } };
  int i;

  for (i = 0; cases[i].host != NULL; i++) {
    CHECK_ROW(hsts_host_is_localhost(cases[i].host) == cases[i].want, i);
  }
  CHECK_INT(hsts_host_is_localhost(NULL), 0);
}

static void test_strerror(void)
{
  int err;

  for (err = HSTS_OK; err <= HSTS_ENOTFOUND; err++) {
    const char *s = hsts_strerror(err);

    CHECK_ROW(s != NULL && strlen(s) > 5, err);
    CHECK_ROW(strcmp(s, hsts_strerror(-1)) != 0, err);
  }
  CHECK_STR(hsts_strerror(HSTS_EHOST_IP),
            "the host is an IP address, which never has an HSTS policy");
}

static void test_sources(void)
{
  static const char *const names[] = { "none",    "builtin", "preload",
                                       "learned", "manual",  NULL };
  int i;

  for (i = 0; names[i] != NULL; i++) {
    CHECK_STR(hsts_source_name((enum hsts_source)i), names[i]);
    CHECK_INT(hsts_source_parse(names[i]), i);
  }
  CHECK_INT(hsts_source_parse("Preload"), HSTS_SOURCE_NONE);
  CHECK_INT(hsts_source_parse(""), HSTS_SOURCE_NONE);
  CHECK_INT(hsts_source_parse(NULL), HSTS_SOURCE_NONE);
  CHECK_STR(hsts_source_name((enum hsts_source)42), "none");
}

TEST_MAIN({ "rows", test_rows }, { "lengths", test_lengths },
          { "localhost", test_localhost }, { "strerror", test_strerror },
          { "sources", test_sources })
