/*
 * test_proxy_hello.c - the ClientHello reader behind --intercept-tls
 * (proxy_hello.c).
 *
 * Hellos are built here field by field (RFC 8446 section 4.1.2, RFC 6066
 * section 3), then each row changes one thing: where the records split,
 * an extension, a length. Rows pin the status and the name; every strict
 * prefix of a well-formed hello is MORE (the bytes arrive in pieces), and
 * bytes that cannot start a hello are MALFORMED from the first one.
 * (tests/integration/test_intercept.py feeds it a real client's hello.)
 */
#include "testlib.h"

#include <string.h>

#include "proxy_hello.h"

#define BUF_MAX (2 * PROXY_HELLO_HANDSHAKE_MAX)

/* A hello under construction. */
struct build {
  unsigned char b[BUF_MAX];
  size_t n;
};

static void put(struct build *h, const void *p, size_t n)
{
  memcpy(h->b + h->n, p, n);
  h->n += n;
}

static void put_int(struct build *h, size_t v, size_t bytes)
{
  while (bytes-- > 0)
    h->b[h->n++] = (unsigned char)(v >> (8 * bytes));
}

/* What a row changes in the hello. */
struct shape {
  const char *sni;    /* NULL: no server_name extension */
  int name_type;      /* 0 host_name */
  int no_exts;        /* no extensions block at all */
  int ext_overrun;    /* the extension's length runs past its block */
  size_t pad;         /* an extension of this many bytes before SNI */
  size_t record_size; /* fragment size per record; 0: one record */
  unsigned char record_type;
  unsigned char hs_type;
  const char *trailer; /* bytes after the records */
};

/* The ClientHello handshake message (header included). */
static void message(struct build *m, const struct shape *s)
{
  struct build body = { { 0 }, 0 };
  struct build ext = { { 0 }, 0 };
  unsigned char random[32] = { 0 };

  put_int(&body, 0x0303, 2);
  put(&body, random, sizeof(random));
  put_int(&body, 0, 1); /* session id */
  put_int(&body, 2, 2); /* one cipher suite */
  put_int(&body, 0x1301, 2);
  put_int(&body, 1, 1); /* one compression method */
  put_int(&body, 0, 1);
  if (s->pad > 0) {
    put_int(&ext, 21, 2); /* padding */
    put_int(&ext, s->pad, 2);
    memset(ext.b + ext.n, 0, s->pad);
    ext.n += s->pad;
  }
  if (s->sni != NULL) {
    size_t len = strlen(s->sni);

    put_int(&ext, 0, 2);
    put_int(&ext, len + 5 + (s->ext_overrun ? 9 : 0), 2);
    put_int(&ext, len + 3, 2);
    put_int(&ext, (size_t)s->name_type, 1);
    put_int(&ext, len, 2);
    put(&ext, s->sni, len);
  }
  if (!s->no_exts) {
    put_int(&body, ext.n, 2);
    put(&body, ext.b, ext.n);
  }
  put_int(m, s->hs_type != 0 ? s->hs_type : 1, 1);
  put_int(m, body.n, 3);
  put(m, body.b, body.n);
}

/* The message in records of s->record_size bytes. */
static void hello(struct build *h, const struct shape *s)
{
  struct build m = { { 0 }, 0 };
  size_t off = 0, step;

  message(&m, s);
  h->n = 0;
  step = s->record_size != 0 ? s->record_size : m.n;
  while (off < m.n) {
    size_t n = m.n - off < step ? m.n - off : step;

    put_int(h, s->record_type != 0 ? s->record_type : 22, 1);
    put_int(h, 0x0301, 2);
    put_int(h, n, 2);
    put(h, m.b + off, n);
    off += n;
  }
  if (s->trailer != NULL)
    put(h, s->trailer, strlen(s->trailer));
}

struct row {
  struct shape s;
  enum proxy_hello_status want;
  const char *name;
};

static const struct row rows[] = {
  { { .sni = "secure.test" }, PROXY_HELLO_SNI, "secure.test" },
  { { .sni = "Secure.Test." }, PROXY_HELLO_SNI, "Secure.Test." }, /* as sent */
  { { .sni = "a.test", .record_size = 7 }, PROXY_HELLO_SNI, "a.test" },
  { { .sni = "a.test", .record_size = 1 }, PROXY_HELLO_SNI, "a.test" },
  { { .sni = "a.test", .pad = 300 }, PROXY_HELLO_SNI, "a.test" },
  { { .sni = "a.test", .trailer = "\x17\x03\x03\x00\x01x" },
    PROXY_HELLO_SNI,
    "a.test" }, /* early data after it: not ours to check */
  { { .sni = NULL }, PROXY_HELLO_NO_SNI, NULL },
  { { .no_exts = 1 }, PROXY_HELLO_NO_SNI, NULL },
  { { .sni = "a.test", .name_type = 1 }, PROXY_HELLO_NO_SNI, NULL },
  { { .sni = "" }, PROXY_HELLO_MALFORMED, NULL },
  { { .sni = "a.test", .ext_overrun = 1 }, PROXY_HELLO_MALFORMED, NULL },
  { { .sni = "a.test", .record_type = 23 }, PROXY_HELLO_MALFORMED, NULL },
  { { .sni = "a.test", .hs_type = 2 }, PROXY_HELLO_MALFORMED, NULL },
  { { .sni = "a.test", .pad = PROXY_HELLO_HANDSHAKE_MAX, .record_size = 16384 },
    PROXY_HELLO_TOO_BIG,
    NULL },
  { { NULL }, PROXY_HELLO_MORE, NULL } /* sentinel */
};

static void test_rows(void)
{
  const struct row *r;

  for (r = rows; r->want != PROXY_HELLO_MORE; r++) {
    int row = (int)(r - rows);
    struct build h;
    char name[PROXY_HELLO_NAME_MAX];

    hello(&h, &r->s);
    memset(name, 0, sizeof(name));
    CHECK_ROW(proxy_hello_sni(h.b, h.n, name) == r->want, row);
    if (r->name != NULL)
      CHECK_ROW(strcmp(name, r->name) == 0, row);
  }
}

/* Every strict prefix of a hello is MORE, split anywhere. */
static void test_prefixes(void)
{
  const struct shape shapes[] = { { .sni = "secure.test" },
                                  { .sni = "secure.test", .record_size = 5 } };
  char name[PROXY_HELLO_NAME_MAX];
  struct build h;
  size_t i, n;

  for (i = 0; i < sizeof(shapes) / sizeof(*shapes); i++) {
    hello(&h, &shapes[i]);
    for (n = 0; n < h.n; n++)
      CHECK_ROW(proxy_hello_sni(h.b, n, name) == PROXY_HELLO_MORE, (int)n);
    CHECK(proxy_hello_sni(h.b, h.n, name) == PROXY_HELLO_SNI);
  }
}

/* Not TLS at all: refused from the first byte, not waited for. */
static void test_not_tls_at_once(void)
{
  static const struct {
    const char *in;
    size_t len;
  } inputs[] = { { "G", 1 },
                 { "GET / HTTP/1.1\r\n", 16 },
                 { "\x16\x02", 2 },                 /* not version 3.x */
                 { "\x16\x03\x01\x00\x00", 5 },     /* an empty record */
                 { "\x16\x03\x01\x00\x01\x02", 6 }, /* not a ClientHello */
                 { NULL, 0 } };
  char name[PROXY_HELLO_NAME_MAX];
  size_t i;

  for (i = 0; inputs[i].in != NULL; i++)
    CHECK_ROW(proxy_hello_sni((const unsigned char *)inputs[i].in,
                              inputs[i].len, name) == PROXY_HELLO_MALFORMED,
              (int)i);
}

static void test_strstatus(void)
{
  CHECK_STR(proxy_hello_strstatus(PROXY_HELLO_NO_SNI), "no SNI");
  CHECK_STR(proxy_hello_strstatus(PROXY_HELLO_MALFORMED),
            "not a TLS ClientHello");
}

TEST_MAIN({ "rows", test_rows }, { "prefixes", test_prefixes },
          { "not_tls_at_once", test_not_tls_at_once },
          { "strstatus", test_strstatus })
