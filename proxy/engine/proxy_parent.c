/*
 * proxy_parent.c - a parent proxy: --upstream-proxy and
 * --upstream-no-proxy (as Squid's `cache_peer ... parent` and curl's
 * --proxy and NO_PROXY).
 *
 * What goes through the parent: every forwarded request and CONNECT
 * tunnel whose host is not in --upstream-no-proxy; the internal 307 never
 * leaves the proxy. A forwarded request goes to the parent in
 * absolute-form (RFC 9112 section 3.2.2) with Proxy-Authorization: Basic
 * when the URL has credentials (proxy_forward.c writes the head), on a
 * keep-alive connection pooled under the parent's name, so requests for
 * any origin share the parent's idle connections. A CONNECT goes to the
 * parent as a CONNECT (the parent-connect phase below), and the tunnel
 * starts only on its 2xx. The connect phase (proxy_connect.c) resolves
 * and connects to the parent instead of the origin. The proxy's own TLS
 * connections (the probes, `preload update`) ask
 * proxy_config_parent_for() and hand proxy_tls.c the CONNECT request
 * that proxy_parent_connect_request() writes.
 *
 * The parent's failures are the parent's, and say so (502 naming it): a
 * refused or failed connection, an answer that is not HTTP, a connection
 * closed without an answer, and a 407 (the parent wants credentials, or
 * refused the ones given), which is never passed on: the client did not
 * talk to the parent and could not answer it.
 */
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hsts_host.h"
#include "proxy_conn.h"
#include "proxy_server.h"
#include "proxy_upstream.h"

#define HTTP_SCHEME   "http://"
#define HEX_BASE      16
#define STATUS_AUTH   407
#define NO_PROXY_SEP  ", \t"
#define CONNECT_EXTRA 64 /* "CONNECT ", " HTTP/1.1", Host, CRLFs */
#define PORT_TEXT_MAX 8

/* ---- --upstream-proxy URL ---- */

static int hex_digit(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Percent-decodes s[0..len) into out (at most max bytes, NUL-ended);
 * returns the length, or -1. */
static int unpercent(const char *s, size_t len, char *out, size_t max)
{
  size_t i, n = 0;

  for (i = 0; i < len; i++) {
    int c = (unsigned char)s[i];

    if (c == '%') {
      if (i + 2 >= len || hex_digit(s[i + 1]) < 0 || hex_digit(s[i + 2]) < 0)
        return -1;
      c = hex_digit(s[i + 1]) * HEX_BASE + hex_digit(s[i + 2]);
      i += 2;
    }
    if (n >= max || c == '\0')
      return -1;
    out[n++] = (char)c;
  }
  out[n] = '\0';
  return (int)n;
}

/* user[:pass] into "Basic base64(user:pass)". */
static int parse_userinfo(const char *s, size_t len, struct proxy_parent *p,
                          const char **why)
{
  char user[PROXY_PARENT_USER_MAX + 1], pass[PROXY_PARENT_USER_MAX + 1];
  char plain[2 * PROXY_PARENT_USER_MAX + 2];
  const char *colon = memchr(s, ':', len);
  size_t ulen = colon != NULL ? (size_t)(colon - s) : len;
  int un, pn = 0;

  un = unpercent(s, ulen, user, PROXY_PARENT_USER_MAX);
  if (colon != NULL)
    pn = unpercent(colon + 1, len - ulen - 1, pass, PROXY_PARENT_USER_MAX);
  else
    pass[0] = '\0';
  if (un <= 0 || pn < 0 || strchr(user, ':') != NULL) {
    *why = "bad user:password (percent-encode ':', '@', '%' and '/' in "
           "them; at most 255 bytes each)";
    return -1;
  }
  snprintf(plain, sizeof(plain), "%s:%s", user, pass);
  memcpy(p->auth, "Basic ", sizeof("Basic ") - 1);
  EVP_EncodeBlock((unsigned char *)p->auth + sizeof("Basic ") - 1,
                  (const unsigned char *)plain, (int)strlen(plain));
  return 0;
}

/* s[0..len) as a port 1-65535. */
static int parse_port(const char *s, size_t len, unsigned *port)
{
  char text[PORT_TEXT_MAX];
  const char *why = NULL;

  if (len == 0 || len >= sizeof(text))
    return -1;
  memcpy(text, s, len);
  text[len] = '\0';
  return proxy_parse_uint(text, 1, PROXY_PORT_MAX, port, &why);
}

/* HOST:PORT (HOST a name, an IPv4 literal or [IPv6]), then "" or "/". */
static int parse_hostport(const char *s, struct proxy_parent *p,
                          const char **why)
{
  const char *end, *colon;
  enum hsts_host_kind kind;

  if (s[0] == '[') {
    end = strchr(s, ']');
    colon = end != NULL && end[1] == ':' ? end + 1 : NULL;
  } else {
    colon = strchr(s, ':');
    end = colon;
  }
  if (colon == NULL) {
    *why = "expected http://[user:pass@]HOST:PORT (the port is required)";
    return -1;
  }
  if (hsts_host_normalize(s, (size_t)(end - s) + (s[0] == '['), p->host,
                          &kind) != HSTS_OK) {
    *why = "HOST is not a valid host name or IP address";
    return -1;
  }
  end = colon + 1 + strcspn(colon + 1, "/");
  if (strcmp(end, "") != 0 && strcmp(end, "/") != 0) {
    *why = "a parent proxy URL has no path";
    return -1;
  }
  if (parse_port(colon + 1, (size_t)(end - colon - 1), &p->port) < 0) {
    *why = "the port is not a number 1-65535";
    return -1;
  }
  snprintf(p->name, sizeof(p->name),
           kind == HSTS_HOST_IPV6 ? "parent proxy [%s]:%u"
                                  : "parent proxy %s:%u",
           p->host, p->port);
  return 0;
}

int proxy_config_set_parent(struct proxy_config *cfg, const char *arg,
                            const char **why)
{
  struct proxy_parent p;
  const char *rest, *at;

  memset(&p, 0, sizeof(p));
  if (strncasecmp(arg, HTTP_SCHEME, strlen(HTTP_SCHEME)) != 0) {
    *why = "not an http:// URL (only an HTTP parent proxy is supported: "
           "http://[user:pass@]HOST:PORT)";
    return -1;
  }
  rest = arg + strlen(HTTP_SCHEME);
  at = strrchr(rest, '@');
  if (at != NULL && parse_userinfo(rest, (size_t)(at - rest), &p, why) < 0)
    return -1;
  if (parse_hostport(at != NULL ? at + 1 : rest, &p, why) < 0)
    return -1;
  cfg->parent = p;
  cfg->has_parent = 1;
  return 0;
}

/* ---- --upstream-no-proxy LIST ---- */

/* One entry of the list into np. */
static int no_proxy_entry(struct proxy_no_proxy *np, const char *e, size_t len,
                          const char **why)
{
  char text[PROXY_HOST_MAX + 2 + 4]; /* a name, or an address "/128" */
  enum hsts_host_kind kind;

  if (len == 1 && e[0] == '*') {
    np->all = 1;
    return 0;
  }
  if (len >= sizeof(text)) {
    *why = "an entry is too long";
    return -1;
  }
  memcpy(text, e, len);
  text[len] = '\0';
  if (strchr(text, '/') != NULL || strchr(text, ':') != NULL ||
      inet_pton(AF_INET, text, np->nets) == 1) {
    if (np->nnets >= PROXY_MAX_NO_PROXY) {
      *why = "too many entries";
      return -1;
    }
    return proxy__cidr_parse(text, &np->nets[np->nnets++], why);
  }
  if (np->nnames >= PROXY_MAX_NO_PROXY) {
    *why = "too many entries";
    return -1;
  }
  if (text[0] == '.') /* ".example.com": the same as example.com */
    memmove(text, text + 1, len);
  if (hsts_host_normalize(text, strlen(text), np->names[np->nnames], &kind) !=
      HSTS_OK) {
    *why = "an entry is not a host name, an IP address, a network or *";
    return -1;
  }
  np->nnames++;
  return 0;
}

int proxy_config_set_no_proxy(struct proxy_config *cfg, const char *arg,
                              const char **why)
{
  static struct proxy_no_proxy np; /* large; main thread only */
  const char *s = arg;

  memset(&np, 0, sizeof(np));
  while (*s != '\0') {
    size_t len = strcspn(s, NO_PROXY_SEP);

    if (len > 0 && no_proxy_entry(&np, s, len, why) < 0)
      return -1;
    s += len;
    s += strspn(s, NO_PROXY_SEP);
  }
  cfg->no_proxy = np;
  return 0;
}

/* ---- which requests go through the parent ---- */

/* Whether host is name or below it. */
static int name_covers(const char *name, const char *host)
{
  size_t n = strlen(name), h = strlen(host);

  if (h == n)
    return strcmp(name, host) == 0;
  return h > n && host[h - n - 1] == '.' && strcmp(host + h - n, name) == 0;
}

/* Whether host (normalized, IPv6 without brackets) goes direct. */
static int goes_direct(const struct proxy_no_proxy *np, const char *host)
{
  union proxy_sockaddr a;
  size_t i;

  if (np->all)
    return 1;
  memset(&a, 0, sizeof(a));
  if (inet_pton(AF_INET6, host, &a.in6.sin6_addr) == 1) {
    a.in6.sin6_family = AF_INET6;
    return proxy__cidr_match(np->nets, np->nnets, &a.sa);
  }
  if (inet_pton(AF_INET, host, &a.in.sin_addr) == 1) {
    a.in.sin_family = AF_INET;
    return proxy__cidr_match(np->nets, np->nnets, &a.sa);
  }
  for (i = 0; i < np->nnames; i++)
    if (name_covers(np->names[i], host))
      return 1;
  return 0;
}

const struct proxy_parent *
proxy_config_parent_for(const struct proxy_config *cfg, const char *host)
{
  if (!cfg->has_parent || goes_direct(&cfg->no_proxy, host))
    return NULL;
  return &cfg->parent;
}

int proxy_parent_connect_request(const struct proxy_parent *p,
                                 const char *authority, char *buf, size_t size)
{
  int n = snprintf(buf, size, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s%s%s\r\n",
                   authority, authority,
                   p->auth[0] != '\0' ? "Proxy-Authorization: " : "", p->auth,
                   p->auth[0] != '\0' ? "\r\n" : "");

  return n < 0 || (size_t)n >= size ? -1 : n;
}

const struct proxy_parent *proxy__parent_of(const struct proxy_conn *conn)
{
  if (conn->kind != PROXY_LISTEN_PROXY)
    return NULL; /* intercepted: only where its client meant to go */
  return proxy_config_parent_for(conn->worker->server->cfg, conn->target.host);
}

const char *proxy__upstream_name(const struct proxy_conn *conn)
{
  const struct proxy_parent *p = proxy__parent_of(conn);

  return p != NULL ? p->name : conn->target.key;
}

int proxy__parent_refused(struct proxy_conn *conn,
                          const struct http1_response *resp)
{
  const struct proxy_parent *p = proxy__parent_of(conn);

  if (p == NULL || resp->status != STATUS_AUTH)
    return 0;
  proxy__conn_error(conn, 502, 1, "%s requires authentication (407) for %s: %s",
                    p->name, conn->target.key,
                    p->auth[0] != '\0'
                        ? "it refused the credentials of --upstream-proxy"
                        : "give them as http://user:pass@HOST:PORT in "
                          "--upstream-proxy");
  return 1;
}

/* ---- CONNECT through the parent: the parent-connect phase ---- */

static void parent_connect_timeout(struct proxy_conn *conn)
{
  proxy__conn_error(conn, 504, 0, "%s did not answer CONNECT %s within %u s",
                    proxy__upstream_name(conn), conn->target.key,
                    conn->worker->server->cfg->timeout_connect_s);
}

static enum proxy_rbuf parent_up_buf(const struct proxy_conn *conn)
{
  (void)conn;
  return PROXY_RBUF_HEAD;
}

static int parent_up_wants(const struct proxy_conn *conn, int reading)
{
  (void)conn;
  (void)reading;
  return 1;
}

/* The parent's answer to our CONNECT: 2xx opens the tunnel. */
static void parent_answered(struct proxy_conn *conn)
{
  const struct http1_response *resp = &conn->up->resp;
  const char *name = proxy__upstream_name(conn);

  if (resp->status >= 200 && resp->status < 300) {
    conn->parent_cb(conn);
    return;
  }
  if (proxy__parent_refused(conn, resp))
    return;
  proxy__conn_error(conn, 502, 0, "%s refused CONNECT %s: %d %.*s", name,
                    conn->target.key, resp->status, (int)resp->reason_len,
                    resp->reason);
}

static void parent_up_read(struct proxy_conn *conn, ssize_t nread, char *base)
{
  struct proxy_upstream *up = conn->up;
  int rc;

  (void)base; /* the bytes landed in up->in */
  if (nread < 0) {
    proxy__conn_error(conn, 502, 0,
                      "%s closed the connection without "
                      "answering CONNECT %s",
                      proxy__upstream_name(conn), conn->target.key);
    return;
  }
  up->in_len += (size_t)nread;
  rc = http1_parse_response(up->in, up->in_len, 0, &up->resp);
  if (rc == HTTP1_AGAIN && up->in_len < PROXY_IN_MAX)
    return;
  if (rc != HTTP1_OK || up->resp.status < 200) {
    proxy__conn_error(conn, 502, 0, "invalid answer from %s to CONNECT: %s",
                      proxy__upstream_name(conn),
                      rc == HTTP1_OK      ? "an interim response"
                      : rc == HTTP1_AGAIN ? "head too large"
                                          : http1_strerror(rc));
    return;
  }
  parent_answered(conn);
}

static const struct proxy_phase phase_parent_connect = {
  .name = "parent-connect",
  .up_buf = parent_up_buf,
  .up_wants = parent_up_wants,
  .up_read = parent_up_read,
  .timeout = parent_connect_timeout,
};

/* Connected to the parent: CONNECT target.key, then wait for its head. */
static void send_connect(struct proxy_conn *conn)
{
  const struct proxy_parent *p = &conn->worker->server->cfg->parent;
  size_t cap = 2 * sizeof(conn->target.key) + sizeof(p->auth) + CONNECT_EXTRA;
  struct proxy_wreq *w = proxy__wreq_new(cap);
  struct proxy_upstream *up = conn->up;
  int n = w != NULL
              ? proxy_parent_connect_request(p, conn->target.key, w->data, cap)
              : -1;

  if (n < 0) {
    proxy__wreq_free(w);
    proxy__conn_error(conn, 502, 1, "out of memory");
    return;
  }
  w->len = (size_t)n;
  memset(&up->resp, 0, sizeof(up->resp));
  up->in_len = 0;
  proxy__conn_enter(conn, &phase_parent_connect,
                    proxy__ms(conn->worker->server->cfg->timeout_connect_s));
  proxy__upstream_write(up, w);
  if (!conn->closing)
    proxy__upstream_sync_read(up);
}

void proxy__parent_tunnel(struct proxy_conn *conn, proxy__conn_cb cb)
{
  conn->parent_cb = cb;
  proxy__origin_connect(conn, send_connect);
}
