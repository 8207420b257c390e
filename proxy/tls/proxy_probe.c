/*
 * proxy_probe.c - one TLS probe of a host (see proxy_probe.h).
 *
 * A struct proxy_probe owns its deadline timer, its response head buffer,
 * the current TLS connection (proxy_tls.h, at most one at a time: the
 * HEAD, then perhaps the GET) and, when the caller gives no resolver, a
 * private struct proxy_dns. The deadline bounds the whole probe; when it
 * fires the connection is aborted, or, during DNS, the result is given at
 * once and the lookup (which cannot be interrupted on libuv's thread
 * pool) is waited for before the probe frees itself.
 *
 * Ending: finish() fixes the result and closes the deadline timer; its
 * close callback calls on_done (so never from inside proxy_probe_start),
 * and the probe is freed once the timer, the connection and the lookup
 * are all gone (maybe_free()).
 */
#include "proxy_probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsts_host.h"
#include "proxy_net.h"
#include "proxy_tls.h"

#define STS_FIELD        "Strict-Transport-Security"
#define STATUS_NOT_ALLOW 405 /* Method Not Allowed: retry with GET */
#define STATUS_NOT_IMPL  501 /* Not Implemented: retry with GET */
#define STATUS_SWITCHING 101
#define STATUS_FINAL_MIN 200
#define REQUEST_MAX      (PROXY_AUTHORITY_MAX + 256)

struct proxy_probe {
  uv_loop_t *loop; /* not owned */
  struct proxy_probe_cb cb;
  void *arg;                    /* not owned */
  struct proxy_tls_ctx *tls;    /* not owned */
  struct proxy_dns *dns;        /* the resolver used: dns_own or not owned */
  struct proxy_dns *dns_own;    /* owned, or NULL */
  struct proxy_dns_query *dnsq; /* owned by the resolver */
  struct proxy_tls_conn *conn;  /* the current connection, or NULL */
  uv_timer_t deadline;
  unsigned timeout_ms;
  struct proxy_addrs addrs;
  unsigned connect_port;
  unsigned mark;                       /* SO_MARK of the connections */
  char authority[PROXY_AUTHORITY_MAX]; /* the Host field */
  char label[PROXY_AUTHORITY_MAX];     /* "host:port" in messages */
  const struct proxy_parent *parent;   /* not owned; NULL: direct */
  char *in;                            /* owned: the response head */
  size_t in_len, in_cap;
  struct http1_response resp; /* views into in */
  struct store_probe r;
  char fail[STORE_PROBE_ERROR_MAX]; /* our own reason for aborting */
  unsigned use_get : 1;
  unsigned got_head : 1;
  unsigned retry_get : 1;
  unsigned dns_pending : 1;
  unsigned done : 1;
  unsigned timer_closed : 1;
};

static void maybe_free(struct proxy_probe *p)
{
  if (!p->timer_closed || p->conn != NULL || p->dns_pending)
    return;
  free(p->in);
  free(p->dns_own);
  free(p);
}

static void on_deadline_closed(uv_handle_t *h)
{
  struct proxy_probe *p = h->data;

  p->timer_closed = 1;
  if (p->cb.on_done != NULL)
    p->cb.on_done(&p->r, p->arg);
  maybe_free(p);
}

/* The result is final: on_done follows from the timer's close callback. */
static void finish(struct proxy_probe *p)
{
  if (p->done)
    return;
  p->done = 1;
  p->r.time = (int64_t)time(NULL);
  uv_close((uv_handle_t *)&p->deadline, on_deadline_closed);
}

/* A failure before any connection: the result says why. */
static void fail_now(struct proxy_probe *p, const char *why)
{
  p->r.ok = 0;
  snprintf(p->r.error, sizeof(p->r.error), "%s: %s", p->label, why);
  finish(p);
}

/* Ends the current connection with our own reason (kept in p->fail). */
static void abort_conn(struct proxy_probe *p, const char *why)
{
  if (p->fail[0] == '\0')
    snprintf(p->fail, sizeof(p->fail), "%s: %s", p->label, why);
  proxy_tls_abort(p->conn, why);
}

/* ---- the response ---- */

static void take_head(struct proxy_probe *p)
{
  const struct http1_field *f;
  size_t i, keep;

  p->got_head = 1;
  p->r.status = p->resp.status;
  p->r.sts_count = 0;
  for (i = 0; i < p->resp.nfields; i++) {
    f = &p->resp.fields[i];
    if (!http1_token_eq(f->name, f->name_len, STS_FIELD))
      continue;
    if (p->r.sts_count++ > 0)
      continue; /* only the first counts (Chromium) */
    p->r.sts_len = f->value_len;
    keep = f->value_len < STORE_RAW_HEADER_MAX ? f->value_len
                                               : STORE_RAW_HEADER_MAX;
    memcpy(p->r.sts_header, f->value, keep);
    p->r.sts_header[keep] = '\0';
    hsts_header_parse(f->value, f->value_len, &p->r.parse);
  }
  if (!p->use_get &&
      (p->resp.status == STATUS_NOT_ALLOW || p->resp.status == STATUS_NOT_IMPL))
    p->retry_get = 1;
}

/* Parses what has arrived; 1xx heads are skipped. */
static void parse_head(struct proxy_probe *p)
{
  char why[PROXY_ERROR_TEXT];
  int rc;

  for (;;) {
    rc = http1_parse_response(p->in, p->in_len, !p->use_get, &p->resp);
    if (rc == HTTP1_AGAIN)
      return;
    if (rc != HTTP1_OK) {
      snprintf(why, sizeof(why), "malformed response from %s: %s",
               proxy_tls_peer(p->conn), http1_strerror(rc));
      abort_conn(p, why);
      return;
    }
    if (p->resp.status >= STATUS_FINAL_MIN ||
        p->resp.status == STATUS_SWITCHING)
      break;
    /* An interim response: the final head follows it. */
    memmove(p->in, p->in + p->resp.head_len, p->in_len - p->resp.head_len);
    p->in_len -= p->resp.head_len;
    memset(&p->resp, 0, sizeof(p->resp));
  }
  take_head(p);
  proxy_tls_close(p->conn); /* a GET's body is discarded unread */
}

static void on_read(struct proxy_tls_conn *c, const char *data, size_t len,
                    void *arg)
{
  struct proxy_probe *p = arg;
  size_t room, n;

  (void)c;
  if (p->got_head)
    return;
  while (len > 0) {
    room = proxy__buf_room(&p->in, &p->in_cap, p->in_len, PROXY_IN_MAX);
    if (room == 0) {
      abort_conn(p, "response head too large");
      return;
    }
    n = len < room ? len : room;
    memcpy(p->in + p->in_len, data, n);
    p->in_len += n;
    data += n;
    len -= n;
  }
  parse_head(p);
}

/* ---- connections ---- */

static void on_open(struct proxy_tls_conn *c, void *arg)
{
  struct proxy_probe *p = arg;
  char req[REQUEST_MAX];
  int n;

  snprintf(p->r.tls_version, sizeof(p->r.tls_version), "%s",
           proxy_tls_version(c));
  n = snprintf(req, sizeof(req),
               "%s / HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
               "Accept: */*\r\nConnection: close\r\n\r\n",
               p->use_get ? "GET" : "HEAD", p->authority,
               PROXY_PROBE_USER_AGENT);
  if (n < 0 || (size_t)n >= sizeof(req)) {
    abort_conn(p, "request too long");
    return;
  }
  proxy_tls_write(c, req, (size_t)n); /* a failure ends c: on_close */
}

static void connect_next(struct proxy_probe *p);

static void on_close(struct proxy_tls_conn *c, int status, const char *msg,
                     void *arg)
{
  struct proxy_probe *p = arg;

  p->conn = NULL;
  snprintf(p->r.address, sizeof(p->r.address), "%s", proxy_tls_peer(c));
  if (p->got_head && p->retry_get && !p->done) {
    p->retry_get = 0;
    p->got_head = 0;
    p->use_get = 1;
    connect_next(p);
    return;
  }
  if (p->got_head) {
    p->r.ok = 1;
  } else {
    p->r.ok = 0;
    p->r.cert_error = status == PROXY_TLS_EVERIFY;
    if (p->fail[0] != '\0')
      snprintf(p->r.error, sizeof(p->r.error), "%s", p->fail);
    else if (status == PROXY_TLS_EOF || status == PROXY_TLS_ETRUNCATED)
      snprintf(p->r.error, sizeof(p->r.error),
               "%s: %s closed the connection before a response", p->label,
               p->r.address);
    else
      snprintf(p->r.error, sizeof(p->r.error), "%s", msg);
  }
  finish(p);
  maybe_free(p);
}

static void connect_next(struct proxy_probe *p)
{
  static const struct proxy_tls_callbacks cbs = { on_open, on_read, on_close };
  struct proxy_tls_options o;
  char tunnel[PROXY_TLS_TUNNEL_REQ_MAX];
  int err;

  p->in_len = 0;
  memset(&p->resp, 0, sizeof(p->resp));
  memset(&p->r.parse, 0, sizeof(p->r.parse));
  p->r.sts_count = p->r.sts_len = 0;
  p->r.sts_header[0] = '\0';
  p->r.status = 0;
  snprintf(p->r.method, sizeof(p->r.method), "%s", p->use_get ? "GET" : "HEAD");

  memset(&o, 0, sizeof(o));
  o.host = p->r.host;
  o.port = p->connect_port;
  o.label = p->label;
  o.mark = p->mark;
  if (p->parent != NULL && /* --upstream-proxy: CONNECT through it */
      proxy_parent_connect_request(p->parent, p->label, tunnel,
                                   sizeof(tunnel)) > 0) {
    o.tunnel_request = tunnel;
    o.tunnel_port = p->parent->port;
    o.tunnel_name = p->parent->name;
  }
  /* No timeouts of its own: the probe's deadline bounds everything. */
  err = proxy_tls_open(p->loop, p->tls, &p->addrs, &o, &cbs, p, &p->conn);
  if (err < 0)
    fail_now(p, uv_strerror(err));
}

static void on_resolved(void *arg, int status, const struct proxy_addrs *a)
{
  struct proxy_probe *p = arg;
  char why[PROXY_ERROR_TEXT];

  p->dns_pending = 0;
  p->dnsq = NULL;
  if (p->done) {
    maybe_free(p);
    return;
  }
  if (status < 0) {
    snprintf(why, sizeof(why), "cannot resolve: %s", uv_strerror(status));
    fail_now(p, why);
    return;
  }
  p->addrs = *a;
  connect_next(p);
}

static void on_deadline(uv_timer_t *t)
{
  struct proxy_probe *p = t->data;
  char why[PROXY_ERROR_TEXT];

  snprintf(why, sizeof(why), "timed out after %u ms %s", p->timeout_ms,
           p->conn == NULL               ? "resolving the name"
           : p->r.tls_version[0] == '\0' ? "before the TLS handshake "
                                           "completed"
                                         : "waiting for the response head");
  if (p->conn != NULL)
    abort_conn(p, why);
  else
    fail_now(p, why);
}

void proxy_probe_cancel(struct proxy_probe *p)
{
  if (p->done)
    return;
  if (p->conn != NULL)
    abort_conn(p, "canceled");
  else
    fail_now(p, "canceled");
}

/* ---- starting ---- */

/* Map, or resolver (at once for a cached answer, else later). */
static int route(struct proxy_probe *p, const struct proxy_probe_params *pp)
{
  int rc;

  p->connect_port = p->r.port;
  if (pp->addr != NULL) { /* where an intercepted client went: no parent */
    p->addrs.n = 1;
    memcpy(&p->addrs.a[0], pp->addr,
           pp->addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                           : sizeof(struct sockaddr_in));
    return 0;
  }
  p->parent = pp->parent;
  if (p->parent == NULL &&
      proxy__map_route(pp->maps, pp->maps != NULL ? pp->nmaps : 0, p->r.host,
                       p->r.port, &p->addrs, &p->connect_port))
    return 0;
  p->dns = pp->dns;
  if (p->dns == NULL) {
    p->dns_own = malloc(sizeof(*p->dns_own));
    if (p->dns_own == NULL)
      return UV_ENOMEM;
    proxy__dns_init(p->dns_own, p->loop);
    p->dns = p->dns_own;
  }
  rc = proxy__dns_resolve(p->dns,
                          p->parent != NULL ? p->parent->host : p->r.host,
                          &p->addrs, on_resolved, p, &p->dnsq);
  if (rc == 1)
    p->dns_pending = 1;
  return rc;
}

static int check_params(const struct proxy_probe_params *pp,
                        char host[PROXY_HOST_MAX + 1])
{
  enum hsts_host_kind kind;

  if (pp->host == NULL || pp->tls == NULL || pp->timeout_ms == 0 ||
      pp->port < 1 || pp->port > PROXY_PORT_MAX)
    return UV_EINVAL;
  if (hsts_host_normalize(pp->host, strlen(pp->host), host, &kind) != HSTS_OK ||
      kind != HSTS_HOST_NAME)
    return UV_EINVAL; /* never an IP literal */
  return 0;
}

int proxy_probe_start(uv_loop_t *loop, const struct proxy_probe_params *pp,
                      const struct proxy_probe_cb *cb, void *arg,
                      struct proxy_probe **out)
{
  char host[PROXY_HOST_MAX + 1];
  struct proxy_probe *p;
  int rc = check_params(pp, host);

  if (out != NULL)
    *out = NULL;
  if (rc < 0)
    return rc;
  p = calloc(1, sizeof(*p));
  if (p == NULL)
    return UV_ENOMEM;
  p->loop = loop;
  p->cb = *cb;
  p->arg = arg;
  p->tls = pp->tls;
  p->timeout_ms = pp->timeout_ms;
  p->mark = pp->mark;
  memcpy(p->r.host, host, sizeof(p->r.host));
  p->r.port = pp->port;
  snprintf(p->r.method, sizeof(p->r.method), "HEAD");
  if (pp->port == PROXY_PROBE_PORT)
    snprintf(p->authority, sizeof(p->authority), "%s", host);
  else
    snprintf(p->authority, sizeof(p->authority), "%s:%u", host, pp->port);
  snprintf(p->label, sizeof(p->label), "%s:%u", host, pp->port);
  uv_timer_init(loop, &p->deadline);
  p->deadline.data = p;
  uv_update_time(loop); /* the deadline counts from now */
  uv_timer_start(&p->deadline, on_deadline, pp->timeout_ms, 0);
  if (out != NULL)
    *out = p;
  rc = route(p, pp);
  if (rc == 0)
    connect_next(p);
  else if (rc < 0)
    on_resolved(p, rc, NULL); /* a cached failure: the same message */
  return 0;
}
