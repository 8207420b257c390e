/*
 * hsts_url.c - absolute URLs as a forward proxy sees them (RFC 3986, RFC
 * 9112 section 3.2), the https upgrade (RFC 6797 section 8.3) and
 * reference resolution for the hop log (RFC 3986 section 5.2).
 *
 * Parsing is strict and never repairs: a URL either splits cleanly into
 * views of the input or is refused with HSTS_EURL. A request target may
 * hold any visible ASCII byte except '#' in its path and query (browsers
 * send '|', '{', '^' raw), so those are passed on byte for byte; space,
 * controls, DEL and non-ASCII bytes are refused. Hosts are checked against
 * the RFC 3986 reg-name and IP-literal grammar only; callers normalize
 * them with hsts_host_normalize().
 */
#include <stdio.h>
#include <string.h>

#include "hsts_host.h"
#include "hsts_url.h"

#define PORT_MAX        65535u
#define PORT_DIGITS_MAX 5
#define HTTP_PORT       80u
#define HTTPS_PORT      443u
#define DECIMAL_BASE    10u
#define HTTPS_PREFIX    "https://"
#define PORT_TEXT_MAX   8 /* ":65535" and a NUL */
#define ASCII_DEL       0x7f

static int is_alpha(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
  return c >= '0' && c <= '9';
}

static int is_hex(unsigned char c)
{
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* unreserved / sub-delims (RFC 3986 section 2). */
static int is_reg_char(unsigned char c)
{
  return is_alpha(c) || is_digit(c) ||
         (c != '\0' && strchr("-._~!$&'()*+,;=", c) != NULL);
}

/* A byte that may appear in a path, query or fragment as sent. */
static int is_target_char(unsigned char c)
{
  return c > ' ' && c < ASCII_DEL;
}

static int ascii_eq_nocase(const char *a, size_t alen, const char *b)
{
  size_t i;

  if (alen != strlen(b)) {
    return 0;
  }
  for (i = 0; i < alen; i++) {
    unsigned char c = (unsigned char)a[i];

    if (c >= 'A' && c <= 'Z') {
      c = (unsigned char)(c - 'A' + 'a');
    }
    if (c != (unsigned char)b[i]) {
      return 0;
    }
  }
  return 1;
}

/* Length of a scheme ending in ':' at s, or 0 when s has none. */
static size_t scheme_len(const char *s, size_t len)
{
  size_t i;

  if (len == 0 || !is_alpha((unsigned char)s[0])) {
    return 0;
  }
  for (i = 1; i < len; i++) {
    unsigned char c = (unsigned char)s[i];

    if (c == ':') {
      return i;
    }
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') {
      return 0;
    }
  }
  return 0;
}

/* reg-name or userinfo characters, with valid %XX escapes. */
static int chars_ok(const char *s, size_t n, int colon_ok)
{
  size_t i;

  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];

    if (c == '%') {
      if (i + 2 >= n) {
        return 0;
      }
      if (!is_hex((unsigned char)s[i + 1]) ||
          !is_hex((unsigned char)s[i + 2])) {
        return 0;
      }
      i += 2;
    } else if (!is_reg_char(c) && !(colon_ok && c == ':')) {
      return 0;
    }
  }
  return 1;
}

/* 1-5 digits, 1-65535. */
static int parse_port(const char *s, size_t n, unsigned *port)
{
  unsigned value = 0;
  size_t i;

  if (n == 0 || n > PORT_DIGITS_MAX) {
    return HSTS_EURL;
  }
  for (i = 0; i < n; i++) {
    if (!is_digit((unsigned char)s[i])) {
      return HSTS_EURL;
    }
    value = value * DECIMAL_BASE + (unsigned)(s[i] - '0');
  }
  if (value == 0 || value > PORT_MAX) {
    return HSTS_EURL;
  }
  *port = value;
  return HSTS_OK;
}

/* Splits "host[:port]" (host may be "[v6]") into out. */
static int parse_host_port(const char *s, size_t n, int port_required,
                           struct hsts_url *out)
{
  char scratch[HSTS_HOST_MAX + 1];
  enum hsts_host_kind kind;
  size_t host_end;

  if (n > 0 && s[0] == '[') {
    const char *close = memchr(s, ']', n);

    if (close == NULL) {
      return HSTS_EURL;
    }
    out->host = s + 1;
    out->host_len = (size_t)(close - s) - 1;
    out->is_ipv6 = 1;
    if (hsts_host_normalize(out->host, out->host_len, scratch, &kind) !=
            HSTS_OK ||
        kind != HSTS_HOST_IPV6) {
      return HSTS_EURL;
    }
    host_end = (size_t)(close - s) + 1;
    if (host_end < n && s[host_end] != ':') {
      return HSTS_EURL;
    }
  } else {
    const char *colon = memchr(s, ':', n);

    host_end = colon == NULL ? n : (size_t)(colon - s);
    out->host = s;
    out->host_len = host_end;
    if (host_end == 0 || !chars_ok(s, host_end, 0)) {
      return HSTS_EURL;
    }
  }
  if (host_end == n) {
    return port_required ? HSTS_EURL : HSTS_OK;
  }
  return parse_port(s + host_end + 1, n - host_end - 1, &out->port);
}

int hsts_url_parse(const char *url, size_t len, struct hsts_url *out)
{
  size_t i, auth, auth_end;
  const char *at;

  memset(out, 0, sizeof(*out));
  out->scheme_len = scheme_len(url, len);
  if (out->scheme_len == 0) {
    return HSTS_EURL;
  }
  out->scheme = url;
  for (i = 0; i < len; i++) {
    if (!is_target_char((unsigned char)url[i]) || url[i] == '#') {
      return HSTS_EURL; /* also refuses any fragment */
    }
  }
  auth = out->scheme_len + 1;
  if (len - auth < 2 || url[auth] != '/' || url[auth + 1] != '/') {
    return HSTS_EURL;
  }
  auth += 2;
  auth_end = auth;
  while (auth_end < len && url[auth_end] != '/' && url[auth_end] != '?') {
    auth_end++;
  }
  at = memchr(url + auth, '@', auth_end - auth);
  if (at != NULL) {
    out->userinfo = url + auth;
    out->userinfo_len = (size_t)(at - out->userinfo);
    if (!chars_ok(out->userinfo, out->userinfo_len, 1)) {
      return HSTS_EURL;
    }
    auth = (size_t)(at - url) + 1;
  }
  if (parse_host_port(url + auth, auth_end - auth, 0, out) != HSTS_OK) {
    return HSTS_EURL;
  }
  out->path = url + auth_end;
  out->path_len = len - auth_end;
  return HSTS_OK;
}

int hsts_authority_parse(const char *s, size_t len, struct hsts_url *out)
{
  size_t i;

  memset(out, 0, sizeof(*out));
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];

    if (!is_target_char(c) || c == '@' || c == '/' || c == '?' || c == '#') {
      return HSTS_EURL;
    }
  }
  return parse_host_port(s, len, 1, out);
}

unsigned hsts_url_default_port(const struct hsts_url *u)
{
  if (u->scheme == NULL) {
    return 0;
  }
  if (ascii_eq_nocase(u->scheme, u->scheme_len, "http")) {
    return HTTP_PORT;
  }
  if (ascii_eq_nocase(u->scheme, u->scheme_len, "https")) {
    return HTTPS_PORT;
  }
  return 0;
}

/* A bounded output buffer that remembers overflow. */
struct writer {
  char *buf;
  size_t cap; /* bytes available for text; one more for the NUL */
  size_t len;
  int overflow;
};

static void writer_init(struct writer *w, char *buf, size_t size)
{
  w->buf = buf;
  w->cap = size - 1;
  w->len = 0;
  w->overflow = 0;
}

static void put(struct writer *w, const char *s, size_t n)
{
  if (n == 0 || w->overflow) {
    return;
  }
  if (n > w->cap - w->len) {
    w->overflow = 1;
    return;
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
}

static int finish(struct writer *w, size_t *outlen)
{
  if (w->overflow) {
    w->buf[0] = '\0';
    return HSTS_ENOSPC;
  }
  w->buf[w->len] = '\0';
  if (outlen != NULL) {
    *outlen = w->len;
  }
  return HSTS_OK;
}

int hsts_url_upgrade(const struct hsts_url *u, char *out, size_t outsz,
                     size_t *outlen)
{
  struct writer w;
  char port[PORT_TEXT_MAX];
  size_t i;

  if (outsz == 0) {
    return HSTS_ENOSPC;
  }
  writer_init(&w, out, outsz);
  put(&w, HTTPS_PREFIX, sizeof(HTTPS_PREFIX) - 1);
  if (u->is_ipv6) {
    put(&w, "[", 1);
  }
  for (i = 0; i < u->host_len; i++) {
    char c = u->host[i];

    c = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    put(&w, &c, 1);
  }
  if (u->is_ipv6) {
    put(&w, "]", 1);
  }
  /* 80 is http's default and 443 https's: both leave no explicit port. */
  if (u->port != 0 && u->port != HTTP_PORT && u->port != HTTPS_PORT) {
    int n = snprintf(port, sizeof(port), ":%u", u->port);

    put(&w, port, (size_t)n);
  }
  if (u->path_len == 0 || u->path[0] != '/') {
    put(&w, "/", 1); /* "http://h" and "http://h?q" */
  }
  put(&w, u->path, u->path_len);
  return finish(&w, outlen);
}

/* A URI reference split as in RFC 3986 appendix B. */
struct parts {
  const char *scheme, *auth, *path, *query, *frag;
  size_t scheme_len, auth_len, path_len, query_len, frag_len;
  int has_scheme, has_auth, has_query, has_frag;
};

static int split(const char *s, size_t n, struct parts *p)
{
  size_t i = 0, start;

  memset(p, 0, sizeof(*p));
  for (i = 0; i < n; i++) {
    if (!is_target_char((unsigned char)s[i])) {
      return HSTS_EURL;
    }
  }
  i = 0;
  p->scheme_len = scheme_len(s, n);
  if (p->scheme_len > 0) {
    p->has_scheme = 1;
    p->scheme = s;
    i = p->scheme_len + 1;
  }
  if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
    start = i += 2;
    while (i < n && s[i] != '/' && s[i] != '?' && s[i] != '#') {
      i++;
    }
    p->has_auth = 1;
    p->auth = s + start;
    p->auth_len = i - start;
  }
  start = i;
  while (i < n && s[i] != '?' && s[i] != '#') {
    i++;
  }
  p->path = s + start;
  p->path_len = i - start;
  if (i < n && s[i] == '?') {
    start = ++i;
    while (i < n && s[i] != '#') {
      i++;
    }
    p->has_query = 1;
    p->query = s + start;
    p->query_len = i - start;
  }
  if (i < n) {
    p->has_frag = 1;
    p->frag = s + i + 1;
    p->frag_len = n - i - 1;
  }
  return HSTS_OK;
}

/* Drops the last segment and its '/' from buf[start..w); returns new w. */
static size_t pop_segment(const char *buf, size_t start, size_t w)
{
  while (w > start && buf[w - 1] != '/') {
    w--;
  }
  return w > start ? w - 1 : w;
}

static int starts(const char *in, size_t rem, const char *lit)
{
  size_t n = strlen(lit);

  return rem >= n && memcmp(in, lit, n) == 0;
}

/* RFC 3986 section 5.2.4 in place on buf[start..end); returns new end.
 * The output never outruns the input, so writing behind reading is safe. */
static size_t remove_dot_segments(char *buf, size_t start, size_t end)
{
  size_t r = start, w = start;

  while (r < end) {
    const char *in = buf + r;
    size_t rem = end - r;

    if (starts(in, rem, "../")) {
      r += 3;
    } else if (starts(in, rem, "./") || starts(in, rem, "/./")) {
      r += 2;
    } else if (rem == 2 && starts(in, rem, "/.")) {
      buf[w++] = '/';
      r = end;
    } else if (starts(in, rem, "/../")) {
      r += 3;
      w = pop_segment(buf, start, w);
    } else if (rem == 3 && starts(in, rem, "/..")) {
      w = pop_segment(buf, start, w);
      buf[w++] = '/';
      r = end;
    } else if ((rem == 1 && in[0] == '.') ||
               (rem == 2 && starts(in, 2, ".."))) {
      r = end;
    } else {
      if (buf[r] == '/') {
        buf[w++] = buf[r++];
      }
      while (r < end && buf[r] != '/') {
        buf[w++] = buf[r++];
      }
    }
  }
  return w;
}

/* Writes T.path: R's path, or R's path merged with B's (section 5.2.3),
 * then removes dot segments. */
static void put_path(struct writer *w, const struct parts *b,
                     const struct parts *r)
{
  size_t start = w->len;

  if (r->path_len > 0 && r->path[0] != '/' && !r->has_scheme && !r->has_auth) {
    if (b->has_auth && b->path_len == 0) {
      put(w, "/", 1);
    } else {
      size_t keep = b->path_len;

      while (keep > 0 && b->path[keep - 1] != '/') {
        keep--;
      }
      put(w, b->path, keep);
    }
  }
  put(w, r->path, r->path_len);
  if (!w->overflow) {
    w->len = remove_dot_segments(w->buf, start, w->len);
  }
}

int hsts_url_resolve(const char *base, size_t base_len, const char *ref,
                     size_t ref_len, char *out, size_t outsz)
{
  struct parts b, r;
  const struct parts *auth_from, *query_from;
  struct writer w;

  if (outsz == 0) {
    return HSTS_ENOSPC;
  }
  out[0] = '\0';
  if (split(base, base_len, &b) != HSTS_OK || !b.has_scheme ||
      split(ref, ref_len, &r) != HSTS_OK) {
    return HSTS_EURL;
  }
  writer_init(&w, out, outsz);
  put(&w, r.has_scheme ? r.scheme : b.scheme,
      r.has_scheme ? r.scheme_len : b.scheme_len);
  put(&w, ":", 1);
  auth_from = r.has_scheme || r.has_auth ? &r : &b;
  if (auth_from->has_auth) {
    put(&w, "//", 2);
    put(&w, auth_from->auth, auth_from->auth_len);
  }
  query_from = &r;
  if (auth_from == &b && r.path_len == 0) {
    put(&w, b.path, b.path_len); /* section 5.2.2: T.path = Base.path */
    query_from = r.has_query ? &r : &b;
  } else {
    put_path(&w, &b, &r);
  }
  if (query_from->has_query) {
    put(&w, "?", 1);
    put(&w, query_from->query, query_from->query_len);
  }
  if (r.has_frag) {
    put(&w, "#", 1);
    put(&w, r.frag, r.frag_len);
  }
  return finish(&w, NULL);
}
