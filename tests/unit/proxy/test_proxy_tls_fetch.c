/*
 * test_proxy_tls_fetch.c - the pure parts of `preload update`'s download:
 * recognizing and decoding base64 bodies, decoding a chunked body once
 * http1_body_feed has validated it, checking URLs, and the TLS context's
 * refusal of a bad --ca-file. proxy_fetch.c is included so that its
 * static dechunk() can be tested (docs/ARCHITECTURE.md,
 * "Conventions": tests).
 */
#include "../../../proxy/tls/proxy_fetch.c"

#include <unistd.h>

#include "testlib.h"

struct b64_row {
  const char *in;
  int is_b64;
  const char *decoded; /* NULL: decoding fails (when is_b64 is 0) */
};

static const struct b64_row b64_rows[] = {
  { "QUJD", 1, "ABC" },
  { "QUJDRA==", 1, "ABCD" },
  { "QUJDREU=", 1, "ABCDE" },
  { "QUJD\nREVG\n", 1, "ABCDEF" },
  { "QUJD\r\nREVG\r\n", 1, "ABCDEF" },
  { "\n\nQUJD", 1, "ABC" },
  { "", 0, NULL },
  { "\n\n", 0, NULL },
  { "{\"entries\": []}", 0, NULL },
  { "  {QUJD", 0, NULL },
  { "QUJ", 0, NULL },           /* not a multiple of 4 */
  { "QU=D", 0, NULL },          /* data after padding */
  { "Q===", 0, NULL },          /* three pad characters */
  { "QUJD REVG", 0, NULL },     /* a space inside */
  { "// Copyright", 0, NULL },  /* Chromium's raw JSON starts so */
  { "example.com\n", 0, NULL }, /* a text list */
  { "dev\napp\n", 0, NULL },    /* 6 characters */
  { "QU-D", 0, NULL },          /* base64url is not accepted */
  { NULL, 0, NULL }             /* sentinel */
};

static void test_base64(void)
{
  const struct b64_row *r;
  char *out;
  size_t n;

  for (r = b64_rows; r->in != NULL; r++) {
    int row = (int)(r - b64_rows);

    CHECK_ROW(proxy_fetch_is_base64(r->in, strlen(r->in)) == r->is_b64, row);
    if (r->decoded == NULL)
      continue;
    CHECK_ROW(proxy_fetch_base64_decode(r->in, strlen(r->in), &out, &n) == 0,
              row);
    CHECK_ROW(out != NULL && n == strlen(r->decoded) &&
                  memcmp(out, r->decoded, n) == 0 && out[n] == '\0',
              row);
    free(out);
  }
  CHECK(proxy_fetch_base64_decode("QU!D", 4, &out, &n) == -1);
  CHECK(out == NULL);
}

struct chunk_row {
  const char *raw;     /* a complete chunked body */
  const char *decoded; /* its content */
};

static const struct chunk_row chunk_rows[] = {
  { "3\r\nabc\r\n0\r\n\r\n", "abc" },
  { "0\r\n\r\n", "" },
  { "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n", "abcde" },
  { "A\r\n0123456789\r\n1 ; a=\"q\"\r\n!\r\n0\r\n\r\n", "0123456789!" },
  { "a\r\n\r\n\r\n\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n\r\n\r\n\r\n" },
  { NULL, NULL } /* sentinel */
};

static void test_dechunk(void)
{
  const struct chunk_row *r;
  char buf[256];

  for (r = chunk_rows; r->raw != NULL; r++) {
    struct http1_body b;
    int row = (int)(r - chunk_rows), done = 0;
    size_t len = strlen(r->raw), n;

    memset(&b, 0, sizeof(b));
    b.kind = HTTP1_BODY_CHUNKED;
    /* The precondition: the framing is valid and complete. */
    CHECK_ROW(http1_body_feed(&b, r->raw, len, &done) == (ssize_t)len, row);
    CHECK_ROW(done == 1, row);
    memcpy(buf, r->raw, len);
    n = dechunk(buf, len);
    CHECK_ROW(n == strlen(r->decoded) && memcmp(buf, r->decoded, n) == 0, row);
  }
}

struct url_row {
  const char *url;
  int ok;
  const char *authority, *target; /* when ok */
};

static const struct url_row url_rows[] = {
  { "https://example.com/x?format=TEXT", 1, "example.com", "/x?format=TEXT" },
  { "https://EXAMPLE.com.:8443", 1, "example.com:8443", "/" },
  { "HTTPS://127.0.0.1:443/a", 1, "127.0.0.1", "/a" },
  { "https://[::1]:4433/l", 1, "[::1]:4433", "/l" },
  { "https://h.test?q", 1, "h.test", "/?q" },
  { "http://example.com/", 0, NULL, NULL },
  { "https://user:pw@example.com/", 0, NULL, NULL },
  { "https://a..b/", 0, NULL, NULL },
  { "https://example.com/#frag", 0, NULL, NULL },
  { "example.com/list", 0, NULL, NULL },
  { "https://example.com:0/", 0, NULL, NULL },
  { NULL, 0, NULL, NULL } /* sentinel */
};

static void test_urls(void)
{
  const struct url_row *r;

  for (r = url_rows; r->url != NULL; r++) {
    static struct fetch f;
    const char *why = NULL;
    int row = (int)(r - url_rows);

    memset(&f, 0, sizeof(f));
    CHECK_ROW((parse_url(&f, r->url, &why) == 0) == r->ok, row);
    CHECK_ROW((proxy_fetch_url_check(r->url, &why) == 0) == r->ok, row);
    if (!r->ok) {
      CHECK_ROW(why != NULL && why[0] != '\0', row);
      continue;
    }
    CHECK_ROW(strcmp(f.authority, r->authority) == 0, row);
    CHECK_ROW(strcmp(f.target, r->target) == 0, row);
  }
}

static void test_ca_file_errors(void)
{
  char path[] = "/tmp/hstsproxy-tls-XXXXXX", err[PROXY_TLS_ERROR_MAX];
  struct proxy_tls_ctx *ctx = NULL;
  int fd;

  CHECK(proxy_tls_ctx_new("/nonexistent/ca.pem", &ctx, err, sizeof(err)) == -1);
  CHECK(ctx == NULL);
  CHECK(strstr(err, "/nonexistent/ca.pem: No such file") == err);
  fd = mkstemp(path);
  CHECK(fd >= 0);
  CHECK(write(fd, "not a certificate\n", 18) == 18);
  close(fd);
  CHECK(proxy_tls_ctx_new(path, &ctx, err, sizeof(err)) == -1);
  CHECK(ctx == NULL);
  CHECK(strncmp(err, path, strlen(path)) == 0);
  CHECK(strstr(err, "cannot load CA certificates: ") != NULL);
  unlink(path);
  CHECK(proxy_tls_ctx_new(NULL, &ctx, err, sizeof(err)) == 0);
  CHECK(ctx != NULL);
  proxy_tls_ctx_free(&ctx);
  CHECK(ctx == NULL);
  proxy_tls_ctx_free(&ctx); /* NULL accepted */
}

TEST_MAIN({ "base64", test_base64 }, { "dechunk", test_dechunk },
          { "urls", test_urls }, { "ca_file_errors", test_ca_file_errors })
