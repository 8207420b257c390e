/*
 * test_proxy_access.c - --allow CIDR parsing, client matching and the
 * open-proxy refusal (proxy_access.c).
 *
 * Parse rows pin what --allow accepts and rejects (strictly: host bits,
 * prefix bounds, brackets, stray text). Match rows pin, for an allow list
 * (empty: the loopback default), which client addresses are admitted,
 * including IPv4-mapped IPv6 clients compared as IPv4 and prefixes that
 * end inside a byte. Listen rows pin which --listen sets start without
 * --allow. Verify rows pin the htpasswd hash kinds of --auth-file
 * (proxy_auth.c) against hashes made by openssl passwd.
 */
#include "testlib.h"

#include <arpa/inet.h>
#include <string.h>

#include "proxy_auth.h"
#include "proxy_server.h"

#define MAX_NETS 4

struct parse_row {
  const char *arg;
  int ok;
};

static const struct parse_row parse_rows[] = {
  { "10.0.0.0/8", 1 },
  { "10.1.2.3", 1 },
  { "10.1.2.3/32", 1 },
  { "0.0.0.0/0", 1 },
  { "192.168.1.128/25", 1 },
  { "2001:db8::/32", 1 },
  { "::1", 1 },
  { "::/0", 1 },
  { "::ffff:10.0.0.0/104", 1 },
  { "10.0.0.1/8", 0 }, /* host bits set */
  { "192.168.1.129/25", 0 },
  { "10.0.0.0/33", 0 }, /* prefix too long for IPv4 */
  { "::/129", 0 },
  { "10.0.0.0/", 0 },
  { "10.0.0.0/+8", 0 },
  { "10.0.0.0/08x", 0 },
  { "10.0.0.0/8/8", 0 },
  { "/8", 0 },
  { "", 0 },
  { "[::1]", 0 }, /* no brackets */
  { "10.0.0", 0 },
  { "10.0.0.256", 0 },
  { "localhost", 0 }, /* never a name */
  { " 10.0.0.0/8", 0 },
  { "2001:db8::1/32", 0 },
  { NULL, 0 } /* sentinel */
};

static void test_parse(void)
{
  const struct parse_row *r;
  int row = 0;

  for (r = parse_rows; r->arg != NULL; r++, row++) {
    static struct proxy_config cfg;
    const char *why = NULL;
    int rc;

    proxy_config_init(&cfg);
    rc = proxy_config_add_allow(&cfg, r->arg, &why);
    CHECK_ROW(rc == (r->ok ? 0 : -1), row);
    CHECK_ROW(cfg.nallow == (r->ok ? 1u : 0u), row);
    CHECK_ROW(r->ok || (why != NULL && why[0] != '\0'), row);
  }
}

static void test_too_many(void)
{
  static struct proxy_config cfg;
  const char *why = NULL;
  size_t i;

  proxy_config_init(&cfg);
  for (i = 0; i < PROXY_MAX_ALLOW; i++)
    CHECK(proxy_config_add_allow(&cfg, "10.0.0.0/8", &why) == 0);
  CHECK(proxy_config_add_allow(&cfg, "10.0.0.0/8", &why) == -1);
  CHECK(cfg.nallow == PROXY_MAX_ALLOW);
}

struct match_row {
  const char *nets[MAX_NETS]; /* NULL-terminated; none: the default */
  const char *client;
  int allowed;
};

static const struct match_row match_rows[] = {
  { { NULL }, "127.0.0.1", 1 },
  { { NULL }, "127.255.0.9", 1 },
  { { NULL }, "::1", 1 },
  { { NULL }, "::ffff:127.0.0.1", 1 },
  { { NULL }, "10.99.0.1", 0 },
  { { NULL }, "::2", 0 },
  { { NULL }, "::ffff:10.0.0.1", 0 },
  { { NULL }, "128.0.0.1", 0 },
  { { "10.99.0.1/32", NULL }, "10.99.0.1", 1 },
  { { "10.99.0.1/32", NULL }, "10.99.0.2", 0 },
  { { "10.99.0.1/32", NULL }, "127.0.0.1", 0 }, /* --allow replaces */
  { { "10.0.0.0/8", NULL }, "::ffff:10.200.1.1", 1 },
  { { "10.0.0.0/8", NULL }, "11.0.0.1", 0 },
  { { "192.168.1.128/25", NULL }, "192.168.1.128", 1 },
  { { "192.168.1.128/25", NULL }, "192.168.1.255", 1 },
  { { "192.168.1.128/25", NULL }, "192.168.1.127", 0 },
  { { "0.0.0.0/0", NULL }, "203.0.113.9", 1 },
  { { "0.0.0.0/0", NULL }, "2001:db8::1", 0 }, /* families apart */
  { { "::/0", NULL }, "2001:db8::1", 1 },
  { { "::/0", NULL }, "::ffff:10.0.0.1", 0 }, /* mapped is IPv4 */
  { { "2001:db8::/33", NULL }, "2001:db8:7fff::1", 1 },
  { { "2001:db8::/33", NULL }, "2001:db8:8000::1", 0 },
  { { "10.0.0.0/8", "2001:db8::/32", "127.0.0.1", NULL }, "127.0.0.1", 1 },
  { { "10.0.0.0/8", "2001:db8::/32", "127.0.0.1", NULL }, "2001:db8::5", 1 },
  { { "10.0.0.0/8", "2001:db8::/32", "127.0.0.1", NULL }, "127.0.0.2", 0 },
  { { NULL }, NULL, 0 } /* sentinel */
};

static void make_addr(const char *text, union proxy_sockaddr *sa)
{
  memset(sa, 0, sizeof(*sa));
  if (strchr(text, ':') != NULL) {
    sa->in6.sin6_family = AF_INET6;
    CHECK(inet_pton(AF_INET6, text, &sa->in6.sin6_addr) == 1);
  } else {
    sa->in.sin_family = AF_INET;
    CHECK(inet_pton(AF_INET, text, &sa->in.sin_addr) == 1);
  }
}

static void test_match(void)
{
  const struct match_row *r;
  int row = 0;

  for (r = match_rows; r->client != NULL; r++, row++) {
    static struct proxy_config cfg;
    union proxy_sockaddr sa;
    const char *why;
    size_t i;

    proxy_config_init(&cfg);
    for (i = 0; i < MAX_NETS && r->nets[i] != NULL; i++)
      CHECK_ROW(proxy_config_add_allow(&cfg, r->nets[i], &why) == 0, row);
    make_addr(r->client, &sa);
    CHECK_ROW(proxy__access_allowed(&cfg, &sa.sa) == r->allowed, row);
  }
}

struct listen_row {
  const char *label;            /* NULL: the sentinel */
  const char *listen[MAX_NETS]; /* NULL-terminated; none: the default */
  const char *allow;            /* NULL: no --allow */
  const char *what;             /* NULL: starts */
};

static const struct listen_row listen_rows[] = {
  { "default", { NULL }, NULL, NULL },
  { "both loopbacks", { "127.0.0.1:3128", "[::1]:3128", NULL }, NULL, NULL },
  { "127/8", { "127.1.2.3:0", NULL }, NULL, NULL },
  { "any v4", { "0.0.0.0:3128", NULL }, NULL, "--listen 0.0.0.0:3128" },
  { "any v6", { "[::]:3128", NULL }, NULL, "--listen [::]:3128" },
  { "one of two",
    { "127.0.0.1:1", "10.0.0.1:2", NULL },
    NULL,
    "--listen 10.0.0.1:2" },
  { "allowed", { "0.0.0.0:3128", NULL }, "10.0.0.0/8", NULL },
  { NULL, { NULL }, NULL, NULL } /* sentinel */
};

static void test_listen(void)
{
  const struct listen_row *r;
  int row = 0;

  for (r = listen_rows; r->label != NULL; r++, row++) {
    static struct proxy_config cfg;
    struct proxy_error err;
    const char *why;
    size_t i;
    int rc;

    proxy_config_init(&cfg);
    memset(&err, 0, sizeof(err));
    for (i = 0; i < MAX_NETS && r->listen[i] != NULL; i++)
      CHECK_ROW(proxy_config_add_listen(&cfg, r->listen[i], &why) == 0, row);
    if (r->allow != NULL)
      CHECK_ROW(proxy_config_add_allow(&cfg, r->allow, &why) == 0, row);
    rc = proxy_config_check_open(&cfg, &err);
    CHECK_ROW(rc == (r->what == NULL ? 0 : -1), row);
    if (r->what != NULL) {
      CHECK_STR(err.what, r->what);
      CHECK_ROW(strstr(err.why, "--allow") != NULL, row);
    }
  }
}

/* Hashes made by `openssl passwd` (an independent implementation) for
 * the password PW, and by sha1sum | base64 for {SHA}. */
#define PW "p@ss:w0rd \xc3\xa9"

struct verify_row {
  const char *hash;
  const char *pw;
  int ok;
};

static const struct verify_row verify_rows[] = {
  { "$6$saltsalt$E4l60YM5/c33uBfYGku9aEy6u38Y1.sT.qgD.vE.LCmxlt8cjvQ/"
    "fW1DUiBofIBem2m6c8/4klmXBc4KoR7wB0",
    PW, 1 },
  { "$6$saltsalt$E4l60YM5/c33uBfYGku9aEy6u38Y1.sT.qgD.vE.LCmxlt8cjvQ/"
    "fW1DUiBofIBem2m6c8/4klmXBc4KoR7wB0",
    "p@ss:w0rd", 0 },
  { "$5$abc$JThBM61IXqAJza4OmLoOhX6rBlsSp31haLdOWm86fw4", PW, 1 },
  { "$5$abc$JThBM61IXqAJza4OmLoOhX6rBlsSp31haLdOWm86fw4", "", 0 },
  { "$apr1$xyz12345$DEvGON/wD2QeCnZmXBmxn.", PW, 1 },
  { "$apr1$xyz12345$DEvGON/wD2QeCnZmXBmxn.", PW "x", 0 },
  { "$apr1$s$l.O1FBWG9WPr6293ZZ2uB1", PW, 1 },
  { "$apr1$abcdefgh$L.PT565ESX4Tp2bqNs7Ie.", "", 1 },
  { "$apr1$abcdefgh$L.PT565ESX4Tp2bqNs7Ie.", "a", 0 },
  { "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "secret", 1 },
  { "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "Secret", 0 },
  { "{SHA}5en6G6MezRroT3XKqkdPOmY!BfQ=", "secret", 0 }, /* not base64 */
  { "secret", "secret", 0 },        /* plain text is not accepted */
  { "$1$abc$xyz", "secret", 0 },    /* MD5-crypt is not accepted */
  { "$6$salt$short", "secret", 0 }, /* malformed */
  { NULL, NULL, 0 }                 /* sentinel */
};

static void test_verify(void)
{
  const struct verify_row *r;
  int row = 0;

  for (r = verify_rows; r->hash != NULL; r++, row++)
    CHECK_ROW(proxy__auth_verify(r->hash, r->pw, strlen(r->pw)) == r->ok, row);
}

static void test_apr1_text(void)
{
  char out[PROXY_APR1_TEXT];

  CHECK(proxy__auth_apr1(PW, strlen(PW), "xyz12345", 8, out) == 0);
  CHECK_STR(out, "$apr1$xyz12345$DEvGON/wD2QeCnZmXBmxn.");
  /* Apache uses 8 salt characters at most. */
  CHECK(proxy__auth_apr1(PW, strlen(PW), "xyz123456789", 12, out) == 0);
  CHECK_STR(out, "$apr1$xyz12345$DEvGON/wD2QeCnZmXBmxn.");
}

TEST_MAIN({ "parse", test_parse }, { "too_many", test_too_many },
          { "match", test_match }, { "listen", test_listen },
          { "verify", test_verify }, { "apr1_text", test_apr1_text })
