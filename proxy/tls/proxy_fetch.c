/*
 * proxy_fetch.c - a small HTTPS GET on a private loop (see proxy_fetch.h).
 *
 * One struct fetch lives on proxy_fetch_get()'s stack with the loop: it
 * resolves the URL's host (proxy_dns.c; an IP literal needs no lookup),
 * opens a TLS connection (proxy_tls.h: each address in turn), sends the
 * request, parses the head with http1_parse_response and follows the
 * body's framing with http1_body_feed, keeping the bytes as received.
 * Once the body is complete, a chunked one is decoded in place: its
 * framing has already been validated by http1_body_feed, so the decoder
 * needs no checks of its own. Every failure is recorded once (fail())
 * and aborts the connection; proxy_fetch_get() returns when the loop has
 * nothing left, so every handle is closed before it returns.
 */
#include "proxy_fetch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsts_host.h"
#include "hsts_url.h"
#include "proxy.h"
#include "proxy_net.h"

#define STATUS_OK        200
#define STATUS_FINAL_MIN 200
#define STATUS_REDIR_MIN 300
#define STATUS_REDIR_MAX 399
#define HTTPS_PORT       443u
#define REQUEST_MAX      (PROXY_FETCH_URL_MAX + PROXY_AUTHORITY_MAX + 256)
#define B64_QUANTUM      4 /* characters per 3 bytes */
#define B64_BYTES        3
#define HEX_BASE         16

struct fetch {
  uv_loop_t *loop;                     /* not owned */
  const struct proxy_fetch_options *o; /* not owned */
  struct proxy_fetch_result *out;      /* not owned */
  struct proxy_dns *dns;               /* owned */
  struct proxy_dns_query *dnsq;        /* owned by the resolver */
  struct proxy_tls_conn *conn;         /* the connection, or NULL */
  char host[PROXY_HOST_MAX + 1];
  unsigned port;
  char authority[PROXY_AUTHORITY_MAX];
  char target[PROXY_FETCH_URL_MAX + 2]; /* path and query, "/" when empty */
  char *in;                             /* owned: the response head */
  size_t in_len, in_cap;
  struct http1_response resp;
  struct http1_body body;
  char *data; /* the body as received; given to out->body at the end */
  size_t data_len, data_cap;
  uint64_t total; /* Content-Length, or 0 */
  unsigned got_head : 1;
  unsigned body_done : 1;
  unsigned failed : 1;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
fail(struct fetch *f, const char *fmt, ...)
{
  va_list ap;

  if (f->failed)
    return;
  f->failed = 1;
  va_start(ap, fmt);
  vsnprintf(f->out->error, sizeof(f->out->error), fmt, ap);
  va_end(ap);
  if (f->conn != NULL)
    proxy_tls_abort(f->conn, f->out->error);
}

/* ---- the body ---- */

static int append(struct fetch *f, const char *p, size_t n)
{
  size_t need = f->data_len + n + 1, cap = f->data_cap;
  char *q;

  if (f->data_len + n > f->o->body_max) {
    fail(f, "%s: the response is larger than %zu bytes", f->o->url,
         f->o->body_max);
    return -1;
  }
  if (need > cap) {
    cap = cap == 0 ? PROXY_READ_CHUNK : cap;
    while (cap < need)
      cap *= 2;
    q = realloc(f->data, cap);
    if (q == NULL) {
      fail(f, "%s: out of memory", f->o->url);
      return -1;
    }
    f->data = q;
    f->data_cap = cap;
  }
  memcpy(f->data + f->data_len, p, n);
  f->data_len += n;
  return 0;
}

static void body_bytes(struct fetch *f, const char *p, size_t len)
{
  int done = 0;
  ssize_t n;

  if (f->body_done || len == 0)
    return;
  n = http1_body_feed(&f->body, p, len, &done);
  if (n < 0) {
    fail(f, "%s: malformed response body: %s", f->o->url,
         http1_strerror((int)n));
    return;
  }
  if (append(f, p, (size_t)n) < 0)
    return;
  if (f->o->on_progress != NULL)
    f->o->on_progress(f->data_len, f->total, f->o->arg);
  if (done) {
    f->body_done = 1;
    proxy_tls_close(f->conn);
  }
}

/*
 * Decodes a chunked body in place. Its framing was validated by
 * http1_body_feed up to the final chunk, so sizes fit and lines end.
 */
static size_t dechunk(char *b, size_t len)
{
  size_t in = 0, out = 0;

  while (in < len) {
    uint64_t size = 0;
    int d;

    while (in < len) {
      d = b[in] >= '0' && b[in] <= '9'   ? b[in] - '0'
          : b[in] >= 'a' && b[in] <= 'f' ? b[in] - 'a' + 10
          : b[in] >= 'A' && b[in] <= 'F' ? b[in] - 'A' + 10
                                         : -1;
      if (d < 0)
        break;
      size = size * HEX_BASE + (uint64_t)d;
      in++;
    }
    while (in < len && b[in] != '\n') /* extensions, CR */
      in++;
    in++;
    if (size == 0 || size > len - in)
      break;
    memmove(b + out, b + in, (size_t)size);
    out += (size_t)size;
    in += (size_t)size + 2; /* CRLF */
  }
  return out;
}

/* ---- the head ---- */

static void check_status(struct fetch *f)
{
  const struct http1_field *loc;
  int s = f->resp.status;

  if (s == STATUS_OK)
    return;
  loc = http1_find_field(f->resp.fields, f->resp.nfields, "Location");
  if (s >= STATUS_REDIR_MIN && s <= STATUS_REDIR_MAX && loc != NULL)
    fail(f,
         "%s: HTTP %d %.*s to %.*s: redirects are not followed "
         "(use --url with that address if you trust it)",
         f->o->url, s, (int)f->resp.reason_len, f->resp.reason,
         (int)(loc->value_len < PROXY_FETCH_URL_MAX ? loc->value_len
                                                    : PROXY_FETCH_URL_MAX),
         loc->value);
  else
    fail(f, "%s: HTTP %d %.*s (expected 200)", f->o->url, s,
         (int)f->resp.reason_len, f->resp.reason);
}

static void take_head(struct fetch *f)
{
  size_t rest = f->in_len - f->resp.head_len;

  f->got_head = 1;
  f->out->status = f->resp.status;
  check_status(f);
  if (f->failed)
    return;
  f->body = f->resp.body;
  if (f->body.kind == HTTP1_BODY_LENGTH) {
    f->total = f->body.remaining;
    if (f->total > f->o->body_max) {
      fail(f, "%s: Content-Length %llu is over the limit of %zu bytes",
           f->o->url, (unsigned long long)f->total, f->o->body_max);
      return;
    }
  }
  if (f->body.kind == HTTP1_BODY_NONE) {
    f->body_done = 1;
    proxy_tls_close(f->conn);
    return;
  }
  body_bytes(f, f->in + f->resp.head_len, rest);
}

static void on_read(struct proxy_tls_conn *c, const char *p, size_t len,
                    void *arg)
{
  struct fetch *f = arg;
  size_t room, n;
  int rc;

  (void)c;
  if (f->got_head) {
    body_bytes(f, p, len);
    return;
  }
  while (len > 0) {
    room = proxy__buf_room(&f->in, &f->in_cap, f->in_len, PROXY_IN_MAX);
    if (room == 0) {
      fail(f, "%s: response head too large", f->o->url);
      return;
    }
    n = len < room ? len : room;
    memcpy(f->in + f->in_len, p, n);
    f->in_len += n;
    p += n;
    len -= n;
  }
  for (;;) {
    rc = http1_parse_response(f->in, f->in_len, 0, &f->resp);
    if (rc == HTTP1_AGAIN)
      return;
    if (rc != HTTP1_OK) {
      fail(f, "%s: malformed response: %s", f->o->url, http1_strerror(rc));
      return;
    }
    if (f->resp.status >= STATUS_FINAL_MIN)
      break;
    memmove(f->in, f->in + f->resp.head_len, f->in_len - f->resp.head_len);
    f->in_len -= f->resp.head_len;
    memset(&f->resp, 0, sizeof(f->resp));
  }
  take_head(f);
}

/* ---- the connection ---- */

static void on_open(struct proxy_tls_conn *c, void *arg)
{
  struct fetch *f = arg;
  char req[REQUEST_MAX];
  int n = snprintf(req, sizeof(req),
                   "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
                   "Accept: */*\r\nAccept-Encoding: identity\r\n"
                   "Connection: close\r\n\r\n",
                   f->target, f->authority, PROXY_FETCH_USER_AGENT);

  if (n < 0 || (size_t)n >= sizeof(req)) {
    fail(f, "%s: request too long", f->o->url);
    return;
  }
  proxy_tls_write(c, req, (size_t)n); /* a failure ends c: on_close */
}

static void on_close(struct proxy_tls_conn *c, int status, const char *msg,
                     void *arg)
{
  struct fetch *f = arg;

  (void)c;
  f->conn = NULL;
  if (f->failed || f->body_done)
    return;
  if (f->got_head && f->body.kind == HTTP1_BODY_CLOSE &&
      status == PROXY_TLS_EOF) {
    f->body_done = 1;
  } else if (f->got_head && status == PROXY_TLS_ETRUNCATED) {
    fail(f,
         "%s: the connection closed without a TLS close_notify after %zu "
         "bytes of the body: it may be truncated",
         f->o->url, f->data_len);
  } else if (f->got_head) {
    fail(f, "%s: the body ended after %zu bytes: %s", f->o->url, f->data_len,
         msg[0] != '\0' ? msg : "connection closed");
  } else if (status == PROXY_TLS_EOF || status == PROXY_TLS_ETRUNCATED) {
    fail(f, "%s:%u: the server closed the connection before a response",
         f->host, f->port);
  } else {
    fail(f, "%s", msg);
  }
}

static void start_conn(struct fetch *f, const struct proxy_addrs *a)
{
  static const struct proxy_tls_callbacks cbs = { on_open, on_read, on_close };
  struct proxy_tls_options o;
  char hostport[PROXY_AUTHORITY_MAX], tunnel[PROXY_TLS_TUNNEL_REQ_MAX];
  const struct proxy_parent *parent = f->o->parent;
  int err;

  memset(&o, 0, sizeof(o));
  o.host = f->host;
  o.port = f->port;
  o.connect_timeout_ms = f->o->timeout_ms;
  o.read_timeout_ms = f->o->timeout_ms;
  snprintf(hostport, sizeof(hostport),
           strchr(f->host, ':') != NULL ? "[%s]:%u" : "%s:%u", f->host,
           f->port);
  if (parent != NULL && /* CONNECT through the parent proxy */
      proxy_parent_connect_request(parent, hostport, tunnel, sizeof(tunnel)) >
          0) {
    o.tunnel_request = tunnel;
    o.tunnel_port = parent->port;
    o.tunnel_name = parent->name;
  }
  err = proxy_tls_open(f->loop, f->o->tls, a, &o, &cbs, f, &f->conn);
  if (err < 0)
    fail(f, "%s:%u: %s", f->host, f->port, uv_strerror(err));
}

static void on_resolved(void *arg, int status, const struct proxy_addrs *a)
{
  struct fetch *f = arg;

  f->dnsq = NULL;
  if (status < 0) {
    fail(f, "%s: cannot resolve: %s", f->host, uv_strerror(status));
    return;
  }
  start_conn(f, a);
}

/* ---- the URL ---- */

/* Splits url into f's host, port, authority and target; *why if not. */
static int parse_url(struct fetch *f, const char *url, const char **why)
{
  struct hsts_url u;
  enum hsts_host_kind kind;
  size_t len = strlen(url);

  if (len > PROXY_FETCH_URL_MAX || hsts_url_parse(url, len, &u) != HSTS_OK) {
    *why = "not a valid absolute URL";
    return -1;
  }
  if (!http1_token_eq(u.scheme, u.scheme_len, "https")) {
    *why = "only https:// URLs are accepted";
    return -1;
  }
  if (u.userinfo != NULL) {
    *why = "a user name or password in the URL is not supported";
    return -1;
  }
  if (hsts_host_normalize(u.host, u.host_len, f->host, &kind) != HSTS_OK) {
    *why = "invalid host name";
    return -1;
  }
  f->port = u.port != 0 ? u.port : HTTPS_PORT;
  if (kind == HSTS_HOST_IPV6)
    snprintf(f->authority, sizeof(f->authority), "[%s]", f->host);
  else
    snprintf(f->authority, sizeof(f->authority), "%s", f->host);
  if (f->port != HTTPS_PORT)
    snprintf(f->authority + strlen(f->authority),
             sizeof(f->authority) - strlen(f->authority), ":%u", f->port);
  snprintf(f->target, sizeof(f->target), "%s%.*s",
           u.path_len == 0 || u.path[0] != '/' ? "/" : "", (int)u.path_len,
           u.path);
  return 0;
}

int proxy_fetch_url_check(const char *url, const char **why)
{
  struct fetch f;

  memset(&f, 0, sizeof(f));
  return parse_url(&f, url, why);
}

/* Resolves and connects; the loop does the rest. */
static void start(struct fetch *f)
{
  struct proxy_addrs a;
  const char *why = NULL;
  int rc;

  if (parse_url(f, f->o->url, &why) < 0) {
    fail(f, "%s: %s", f->o->url, why);
    return;
  }
  f->dns = malloc(sizeof(*f->dns));
  if (f->dns == NULL) {
    fail(f, "%s: out of memory", f->o->url);
    return;
  }
  proxy__dns_init(f->dns, f->loop);
  rc = proxy__dns_resolve(f->dns,
                          f->o->parent != NULL ? f->o->parent->host : f->host,
                          &a, on_resolved, f, &f->dnsq);
  if (rc == 0)
    start_conn(f, &a);
  else if (rc < 0)
    on_resolved(f, rc, NULL);
}

int proxy_fetch_get(const struct proxy_fetch_options *o,
                    struct proxy_fetch_result *out)
{
  struct fetch f;
  uv_loop_t loop;
  int err;

  memset(out, 0, sizeof(*out));
  memset(&f, 0, sizeof(f));
  f.o = o;
  f.out = out;
  err = uv_loop_init(&loop);
  if (err < 0) {
    snprintf(out->error, sizeof(out->error), "cannot start an event loop: %s",
             uv_strerror(err));
    return -1;
  }
  f.loop = &loop;
  start(&f);
  uv_run(&loop, UV_RUN_DEFAULT);
  err = uv_loop_close(&loop);
  free(f.dns);
  free(f.in);
  if (!f.failed && !f.body_done)
    fail(&f, "%s: the download did not complete", o->url);
  if (!f.failed && err != 0)
    fail(&f, "%s: the event loop did not close: %s", o->url, uv_strerror(err));
  if (f.failed) {
    free(f.data);
    return -1;
  }
  if (f.body.kind == HTTP1_BODY_CHUNKED)
    f.data_len = dechunk(f.data, f.data_len);
  if (f.data == NULL && append(&f, "", 0) < 0) {
    free(f.data);
    return -1;
  }
  f.data[f.data_len] = '\0';
  out->body = f.data;
  out->len = f.data_len;
  return 0;
}

void proxy_fetch_result_cleanup(struct proxy_fetch_result *r)
{
  if (r == NULL)
    return;
  free(r->body);
  r->body = NULL;
  r->len = 0;
}

/* ---- base64 (proxy_base64.c decodes) ---- */

static int is_blank(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skips the blanks before the text; NULL when nothing else is there. */
static const char *text_start(const char *data, size_t len)
{
  size_t i;

  for (i = 0; i < len && is_blank((unsigned char)data[i]); i++)
    ;
  return i < len ? data + i : NULL;
}

int proxy_fetch_is_base64(const char *data, size_t len)
{
  const char *p = text_start(data, len);

  if (p == NULL || *p == '{')
    return 0;
  return proxy__base64_decode(p, len - (size_t)(p - data), 1, NULL, 0) >= 0;
}

int proxy_fetch_base64_decode(const char *data, size_t len, char **out,
                              size_t *outlen)
{
  const char *p = text_start(data, len);
  size_t cap = len / B64_QUANTUM * B64_BYTES + B64_BYTES;
  char *buf;
  ssize_t n;

  *out = NULL;
  *outlen = 0;
  if (p == NULL)
    return -1;
  buf = malloc(cap + 1);
  if (buf == NULL)
    return -1;
  n = proxy__base64_decode(p, len - (size_t)(p - data), 1, buf, cap);
  if (n < 0) {
    free(buf);
    return -1;
  }
  buf[n] = '\0';
  *out = buf;
  *outlen = (size_t)n;
  return 0;
}
