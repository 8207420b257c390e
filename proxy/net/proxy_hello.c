/*
 * proxy_hello.c - the server name of a TLS ClientHello (proxy_hello.h).
 *
 * Two layers, both bounded by what the client actually sent:
 *  1. the record layer: consecutive handshake records (type 22, version
 *     3.x, at most 2^14 bytes each, RFC 8446 section 5.1) whose
 *     fragments are gathered into one handshake message; the first four
 *     bytes (type 1, a 24-bit length) say how much to gather;
 *  2. the ClientHello (section 4.1.2): version, random, session id,
 *     cipher suites, compression methods, then extensions; each length
 *     must fit inside its parent exactly ("reject, don't repair"). The
 *     first server_name extension's first entry (RFC 6066 section 3) is
 *     the name, when it is a host_name.
 * A prefix that is consistent so far is MORE; anything that cannot
 * become a ClientHello is MALFORMED at once, so that a client speaking
 * something else is not kept waiting.
 */
#include "proxy_hello.h"

#include <string.h>

#define RECORD_HEADER    5
#define RECORD_HANDSHAKE 22
#define RECORD_MAJOR     3
#define RECORD_FRAGMENT  16384 /* 2^14 */
#define HS_HEADER        4
#define HS_CLIENT_HELLO  1
#define RANDOM_LEN       32
#define SESSION_ID_MAX   32
#define EXT_SERVER_NAME  0
#define NAME_TYPE_HOST   0
#define BYTE_BITS        8

/* A bounded reader over one message; `bad` once it ran past its end. */
struct rd {
  const unsigned char *p;
  size_t len, off;
  int bad;
};

static size_t rd_int(struct rd *r, size_t n)
{
  size_t v = 0, i;

  if (r->bad || r->len - r->off < n) {
    r->bad = 1;
    return 0;
  }
  for (i = 0; i < n; i++)
    v = v << BYTE_BITS | r->p[r->off + i];
  r->off += n;
  return v;
}

/* A sub-reader over the next n bytes (skipped in r). */
static struct rd rd_sub(struct rd *r, size_t n)
{
  struct rd s = { NULL, 0, 0, 1 };

  if (r->bad || r->len - r->off < n) {
    r->bad = 1;
    return s;
  }
  s.p = r->p + r->off;
  s.len = n;
  s.bad = 0;
  r->off += n;
  return s;
}

/* A vector with an n-byte length prefix. */
static struct rd rd_vec(struct rd *r, size_t n)
{
  return rd_sub(r, rd_int(r, n));
}

static int rd_done(const struct rd *r)
{
  return !r->bad && r->off == r->len;
}

/* The server_name extension's data: its first entry, a host_name. */
static enum proxy_hello_status server_name(struct rd ext, char *name)
{
  struct rd list = rd_vec(&ext, 2), host;
  size_t type;

  if (!rd_done(&ext) || list.len == 0)
    return PROXY_HELLO_MALFORMED;
  type = rd_int(&list, 1);
  host = rd_vec(&list, 2);
  if (list.bad || type != NAME_TYPE_HOST)
    return list.bad ? PROXY_HELLO_MALFORMED : PROXY_HELLO_NO_SNI;
  if (host.len == 0 || host.len >= PROXY_HELLO_NAME_MAX ||
      memchr(host.p, '\0', host.len) != NULL)
    return PROXY_HELLO_MALFORMED;
  memcpy(name, host.p, host.len);
  name[host.len] = '\0';
  return PROXY_HELLO_SNI;
}

/* The ClientHello body (after the handshake header). */
static enum proxy_hello_status client_hello(struct rd m, char *name)
{
  struct rd sid, suites, comp, exts;

  (void)rd_int(&m, 2); /* legacy_version: any */
  (void)rd_sub(&m, RANDOM_LEN);
  sid = rd_vec(&m, 1);
  suites = rd_vec(&m, 2);
  comp = rd_vec(&m, 1);
  if (m.bad || sid.len > SESSION_ID_MAX || suites.len < 2 ||
      suites.len % 2 != 0 || comp.len < 1)
    return PROXY_HELLO_MALFORMED;
  if (m.off == m.len)
    return PROXY_HELLO_NO_SNI; /* no extensions at all (TLS 1.0-1.2) */
  exts = rd_vec(&m, 2);
  if (!rd_done(&m))
    return PROXY_HELLO_MALFORMED;
  while (exts.off < exts.len) {
    size_t type = rd_int(&exts, 2);
    struct rd data = rd_vec(&exts, 2);

    if (exts.bad)
      return PROXY_HELLO_MALFORMED;
    if (type == EXT_SERVER_NAME)
      return server_name(data, name);
  }
  return PROXY_HELLO_NO_SNI;
}

/* The handshake message's whole size (header included) once its header
 * is in, else 0. */
static size_t hs_size(const unsigned char *hs, size_t got)
{
  if (got < HS_HEADER)
    return 0;
  return HS_HEADER + ((size_t)hs[1] << (2 * BYTE_BITS) |
                      (size_t)hs[2] << BYTE_BITS | hs[3]);
}

/* Whether the handshake bytes so far settle the answer: the whole
 * message is in, or its first bytes already rule it out. */
static int decided(const unsigned char *hs, size_t got)
{
  size_t size = hs_size(hs, got);

  return got == PROXY_HELLO_HANDSHAKE_MAX ||
         (got >= 1 && hs[0] != HS_CLIENT_HELLO) ||
         size > PROXY_HELLO_HANDSHAKE_MAX || (size > 0 && got >= size);
}

/* Gathers handshake bytes from the records in p[0..len) into hs (at most
 * PROXY_HELLO_HANDSHAKE_MAX); *got says how many. MORE when the records
 * so far are well formed, else MALFORMED. */
static enum proxy_hello_status gather(const unsigned char *p, size_t len,
                                      unsigned char *hs, size_t *got)
{
  size_t off = 0;

  *got = 0;
  while (off < len) {
    size_t frag, take;

    if (p[off] != RECORD_HANDSHAKE ||
        (len - off > 1 && p[off + 1] != RECORD_MAJOR))
      return PROXY_HELLO_MALFORMED;
    if (len - off < RECORD_HEADER)
      return PROXY_HELLO_MORE;
    frag = (size_t)p[off + 3] << BYTE_BITS | p[off + 4];
    if (frag == 0 || frag > RECORD_FRAGMENT)
      return PROXY_HELLO_MALFORMED;
    off += RECORD_HEADER;
    take = frag < len - off ? frag : len - off;
    if (take > PROXY_HELLO_HANDSHAKE_MAX - *got)
      take = PROXY_HELLO_HANDSHAKE_MAX - *got;
    memcpy(hs + *got, p + off, take);
    *got += take;
    off += frag < len - off ? frag : len - off;
    if (decided(hs, *got))
      break; /* what follows is not ours to check */
  }
  return PROXY_HELLO_MORE;
}

enum proxy_hello_status proxy_hello_sni(const unsigned char *p, size_t len,
                                        char *name)
{
  unsigned char hs[PROXY_HELLO_HANDSHAKE_MAX];
  enum proxy_hello_status st;
  struct rd m;
  size_t got, size;

  st = gather(p, len, hs, &got);
  if (st != PROXY_HELLO_MORE)
    return st;
  if (got >= 1 && hs[0] != HS_CLIENT_HELLO)
    return PROXY_HELLO_MALFORMED;
  if (got < HS_HEADER)
    return PROXY_HELLO_MORE;
  size = hs_size(hs, got);
  if (size > PROXY_HELLO_HANDSHAKE_MAX)
    return PROXY_HELLO_TOO_BIG;
  if (got < size)
    return PROXY_HELLO_MORE;
  m.p = hs + HS_HEADER;
  m.len = size - HS_HEADER;
  m.off = 0;
  m.bad = 0;
  return client_hello(m, name);
}

const char *proxy_hello_strstatus(enum proxy_hello_status st)
{
  switch (st) {
  case PROXY_HELLO_MORE:
    return "incomplete";
  case PROXY_HELLO_SNI:
    return "SNI";
  case PROXY_HELLO_NO_SNI:
    return "no SNI";
  case PROXY_HELLO_MALFORMED:
    return "not a TLS ClientHello";
  case PROXY_HELLO_TOO_BIG:
    return "ClientHello too large";
  }
  return "?";
}
