/*
 * proxy_forward.c - rewriting message heads as they cross the proxy.
 *
 * RFC 9110 section 7.6: a proxy removes the hop-by-hop fields (Connection
 * and every field it names, Keep-Alive, Proxy-Connection, TE, Trailer,
 * Upgrade, Proxy-Authorization, Proxy-Authenticate) in both directions,
 * and appends itself to Via (section 7.6.3) so that loops can be caught:
 * a request whose Via already names hstsproxy is answered 508. Requests
 * go to the origin in origin-form (RFC 9112 section 3.2.1), or to a
 * parent proxy (--upstream-proxy) in absolute-form with our own
 * Proxy-Authorization for it (the client's never passes), with Host taken
 * from the absolute target, which wins over whatever Host the client sent
 * (RFC 9112 section 3.2.2). A WebSocket upgrade (RFC 6455 section 4.1)
 * keeps Upgrade and says "Connection: Upgrade" on both legs.
 *
 * Framing fields (Content-Length, Transfer-Encoding) pass unchanged: the
 * body bytes are forwarded exactly as they came. Pure functions over the
 * parsed heads; the result is a write request the caller sends.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proxy_conn.h"
#include "proxy_forward.h"
#include "proxy_upstream.h"

#define VIA_LINE  "Via: 1.1 hstsproxy\r\n"
#define VIA_TOKEN "hstsproxy"
#define CRLF      "\r\n"

static const char *const hop_by_hop[] = {
  "connection", "keep-alive",          "proxy-connection",   "te", "trailer",
  "upgrade",    "proxy-authorization", "proxy-authenticate", NULL
};

/* A bounded writer into a wreq. */
struct out {
  struct proxy_wreq *w;
  size_t cap;
  int overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
  if (o->overflow || n > o->cap - o->w->len) {
    o->overflow = 1;
    return;
  }
  memcpy(o->w->data + o->w->len, s, n);
  o->w->len += n;
}

static void puts_(struct out *o, const char *s)
{
  put(o, s, strlen(s));
}

static void put_field(struct out *o, const struct http1_field *f)
{
  put(o, f->name, f->name_len);
  put(o, ": ", 2);
  put(o, f->value, f->value_len);
  put(o, CRLF, 2);
}

static int is_space(char c)
{
  return c == ' ' || c == '\t';
}

/* Returns 1 when the comma-separated list v[0..len) has `tok`. */
static int list_has(const char *v, size_t len, const char *tok, size_t tlen)
{
  const char *elem;
  size_t pos = 0, elen;

  while (http1_list_next(v, len, &pos, &elem, &elen))
    if (elen == tlen && strncasecmp(elem, tok, tlen) == 0)
      return 1;
  return 0;
}

/* Returns 1 when a Connection field names the field `name`. */
static int named_by_connection(const struct http1_field *fields, size_t n,
                               const char *name, size_t nlen)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (http1_token_eq(fields[i].name, fields[i].name_len, "connection") &&
        list_has(fields[i].value, fields[i].value_len, name, nlen))
      return 1;
  return 0;
}

static int is_hop_by_hop(const struct http1_field *f)
{
  size_t i;

  for (i = 0; hop_by_hop[i] != NULL; i++)
    if (http1_token_eq(f->name, f->name_len, hop_by_hop[i]))
      return 1;
  return 0;
}

/* Whether field i is dropped on the way through. */
static int drop_field(const struct http1_field *fields, size_t n, size_t i,
                      int keep_upgrade)
{
  const struct http1_field *f = &fields[i];

  if (keep_upgrade && http1_token_eq(f->name, f->name_len, "upgrade"))
    return 0;
  return is_hop_by_hop(f) ||
         named_by_connection(fields, n, f->name, f->name_len);
}

/* Checks one Via member "protocol received-by [comment]". */
static int via_member_is_us(const char *s, size_t len)
{
  size_t i = 0, start;

  while (i < len && is_space(s[i]))
    i++;
  while (i < len && !is_space(s[i])) /* received-protocol */
    i++;
  while (i < len && is_space(s[i]))
    i++;
  start = i;
  while (i < len && !is_space(s[i]))
    i++;
  return i - start == strlen(VIA_TOKEN) &&
         strncasecmp(s + start, VIA_TOKEN, i - start) == 0;
}

static int via_value_has_us(const char *v, size_t len)
{
  size_t i = 0, start = 0;
  int depth = 0;

  for (i = 0; i <= len; i++) {
    if (i < len && v[i] == '(')
      depth++;
    else if (i < len && v[i] == ')' && depth > 0)
      depth--;
    else if (i == len || (v[i] == ',' && depth == 0)) {
      if (via_member_is_us(v + start, i - start))
        return 1;
      start = i + 1;
    }
  }
  return 0;
}

int proxy__via_has_us(const struct http1_field *fields, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (http1_token_eq(fields[i].name, fields[i].name_len, "via") &&
        via_value_has_us(fields[i].value, fields[i].value_len))
      return 1;
  return 0;
}

int proxy__is_ws_upgrade(const struct http1_request *req)
{
  const struct http1_field *up;

  if (req->version_minor != 1 || (req->conn_flags & HTTP1_CONN_UPGRADE) == 0)
    return 0;
  up = http1_find_field(req->fields, req->nfields, "upgrade");
  return up != NULL &&
         list_has(up->value, up->value_len, "websocket", strlen("websocket"));
}

static void put_request_line(struct out *o, const struct proxy_conn *conn,
                             int absolute)
{
  const struct http1_request *req = &conn->req;
  const struct proxy_target *t = &conn->target;

  put(o, req->method, req->method_len);
  put(o, " ", 1);
  if (absolute) { /* to a parent proxy: absolute-form */
    puts_(o, "http://");
    puts_(o, t->authority);
  }
  if (t->path_len == 0 && !absolute &&
      http1_token_eq(req->method, req->method_len, "OPTIONS"))
    put(o, "*", 1);
  else if (t->path_len == 0 || t->path[0] != '/')
    put(o, "/", 1);
  put(o, t->path, t->path_len);
  puts_(o, req->version_minor == 0 ? " HTTP/1.0" CRLF : " HTTP/1.1" CRLF);
}

struct proxy_wreq *proxy__request_head(const struct proxy_conn *conn)
{
  const struct http1_request *req = &conn->req;
  const struct proxy_parent *parent = proxy__parent_of(conn);
  struct out o;
  size_t i;

  o.cap = req->head_len + 2 * sizeof(conn->target.authority) +
          PROXY_HEAD_OUT_EXTRA + PROXY_PARENT_AUTH_MAX;
  o.overflow = 0;
  o.w = proxy__wreq_new(o.cap);
  if (o.w == NULL)
    return NULL;
  put_request_line(&o, conn, parent != NULL);
  puts_(&o, "Host: ");
  puts_(&o, conn->target.authority);
  puts_(&o, CRLF);
  if (parent != NULL && parent->auth[0] != '\0') { /* ours, to the parent */
    puts_(&o, "Proxy-Authorization: ");
    puts_(&o, parent->auth);
    puts_(&o, CRLF);
  }
  for (i = 0; i < req->nfields; i++) {
    if (&req->fields[i] == req->host ||
        http1_token_eq(req->fields[i].name, req->fields[i].name_len, "host") ||
        drop_field(req->fields, req->nfields, i, conn->ws_upgrade))
      continue;
    put_field(&o, &req->fields[i]);
  }
  if (conn->ws_upgrade)
    puts_(&o, "Connection: Upgrade" CRLF);
  puts_(&o, VIA_LINE CRLF);
  if (o.overflow) {
    proxy__wreq_free(o.w);
    return NULL;
  }
  return o.w;
}

struct proxy_wreq *proxy__response_head(const struct http1_response *resp,
                                        int client_minor, int keep_alive,
                                        int upgrade, size_t room)
{
  char line[PROXY_ADDR_TEXT];
  struct out o;
  size_t i;

  o.cap = resp->head_len + PROXY_HEAD_OUT_EXTRA;
  o.overflow = 0;
  o.w = proxy__wreq_new(o.cap + room);
  if (o.w == NULL)
    return NULL;
  snprintf(line, sizeof(line), "HTTP/1.1 %d ", resp->status);
  puts_(&o, line);
  put(&o, resp->reason, resp->reason_len);
  puts_(&o, CRLF);
  for (i = 0; i < resp->nfields; i++)
    if (!drop_field(resp->fields, resp->nfields, i, upgrade))
      put_field(&o, &resp->fields[i]);
  if (upgrade)
    puts_(&o, "Connection: Upgrade" CRLF);
  else if (resp->status >= 200 && !keep_alive)
    puts_(&o, "Connection: close" CRLF);
  else if (resp->status >= 200 && client_minor == 0)
    puts_(&o, "Connection: keep-alive" CRLF);
  puts_(&o, VIA_LINE CRLF);
  if (o.overflow) {
    proxy__wreq_free(o.w);
    return NULL;
  }
  return o.w;
}
