/*
 * proxy_alog.c - what the end of a request tells the access log
 * (proxy_alog.h): one line per request, one call per outcome.
 *
 * proxy__alog_begin() runs when a request head is parsed (proxy_head.c):
 * from then on the request owes a line. proxy__alog_end() pays it where
 * the outcome is decided, while the request's head is still in conn->in:
 *  - the internal 307, as it is written (proxy_upgrade.c): TCP_HSTS_UPGRADE;
 *  - a forwarded response, once it is complete (proxy_exchange.c):
 *    TCP_MISS with the origin's status and Content-Type;
 *  - every answer of the proxy's own (proxy_answer.c): TCP_DENIED for 403
 *    and 407, TCP_MEM_HIT for the status page and the PAC file, NONE for
 *    the errors (400, 502, 508, ...), also when no head was parsed (the
 *    URL is then "error:invalid-request", the method NONE).
 * proxy__alog_closing() runs when the connection closes
 * (proxy__conn_close): a request that still owes its line is a CONNECT
 * tunnel that ended (TCP_TUNNEL/200), a WebSocket (TCP_MISS/101), or one
 * cut off: TCP_MISS_ABORTED with the status sent so far, or NONE_ABORTED
 * when nothing was sent.
 *
 * Strings are handed over as views (pointer and length) into the
 * request and response heads; proxy_alog_submit() copies them into the
 * writer's ring. Bytes are what the client was sent for the request,
 * heads included (conn->sent, counted where writes are queued).
 */
#include <string.h>

#include "proxy_alog.h"
#include "proxy_auth.h"
#include "proxy_conn.h"
#include "proxy_log.h"
#include "proxy_server.h"
#include "proxy_upstream.h"

#define USER_MAX   PROXY_ALOG_SHORT_MAX
#define STATUS_OK  200
#define STATUS_WS  101
#define NO_REQUEST "error:invalid-request"

void proxy__alog_begin(struct proxy_conn *conn)
{
  conn->sent = 0;
  conn->alog_open = conn->worker->server->alog != NULL;
}

static void set(struct proxy_alog_rec *r, enum proxy_alog_str i, const char *s,
                size_t len)
{
  r->s[i] = s;
  r->len[i] = s != NULL ? len : 0;
}

static void set_field(struct proxy_alog_rec *r, enum proxy_alog_str i,
                      const struct http1_field *f)
{
  if (f != NULL)
    set(r, i, f->value, f->value_len);
}

/* "192.0.2.1:80" -> "192.0.2.1", "[::1]:80" -> "::1", as a view. */
static void set_peer(struct proxy_alog_rec *r, const char *addr)
{
  const char *colon = strrchr(addr, ':');
  size_t len = colon != NULL ? (size_t)(colon - addr) : strlen(addr);

  if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']')
    set(r, PROXY_ALOG_PEER, addr + 1, len - 2);
  else
    set(r, PROXY_ALOG_PEER, addr, len);
}

/* The parsed request's fields. */
static void set_request(struct proxy_conn *conn, struct proxy_alog_rec *r,
                        char *user)
{
  const struct http1_request *req = &conn->req;

  r->time_ms = conn->req_ms;
  r->elapsed_ms = (int64_t)((uv_hrtime() - conn->req_ns) / HSTS_NS_PER_MS);
  r->http_minor = req->version_minor;
  set(r, PROXY_ALOG_METHOD, req->method, req->method_len);
  set(r, PROXY_ALOG_URL, req->target, req->target_len);
  if (conn->worker->server->cfg->access_log_format != PROXY_ALOG_SQUID) {
    set_field(r, PROXY_ALOG_REFERER,
              http1_find_field(req->fields, req->nfields, "referer"));
    set_field(r, PROXY_ALOG_AGENT,
              http1_find_field(req->fields, req->nfields, "user-agent"));
  }
  if (r->action != PROXY_ALOG_DENIED) {
    size_t n = proxy__auth_user(conn, user, USER_MAX);

    set(r, PROXY_ALOG_USER, n > 0 ? user : NULL, n);
  }
}

/* The origin's side: its address, and its response when one started. */
static void set_origin(struct proxy_conn *conn, struct proxy_alog_rec *r)
{
  const struct http1_response *resp;

  if (conn->up == NULL)
    return;
  set_peer(r, conn->up->peer);
  if (!conn->resp_started || conn->is_tunnel)
    return;
  resp = &conn->up->resp;
  if (r->status == 0)
    r->status = resp->status;
  if (r->s[PROXY_ALOG_TYPE] == NULL)
    set_field(r, PROXY_ALOG_TYPE,
              http1_find_field(resp->fields, resp->nfields, "content-type"));
}

void proxy__alog_end(struct proxy_conn *conn, enum proxy_alog_action action,
                     int status, const char *type)
{
  struct proxy_alog *al = conn->worker->server->alog;
  struct proxy_alog_rec r;
  char user[USER_MAX];

  if (al == NULL || (!conn->alog_open && conn->head_len > 0))
    return; /* no log, or this request's line is written */
  memset(&r, 0, sizeof(r));
  r.action = action;
  r.status = status;
  r.http_minor = -1;
  set(&r, PROXY_ALOG_CLIENT, conn->peer_ip, strlen(conn->peer_ip));
  if (type != NULL)
    set(&r, PROXY_ALOG_TYPE, type, strlen(type));
  if (conn->alog_open) {
    set_request(conn, &r, user);
    set_origin(conn, &r);
  } else {
    r.time_ms = proxy__wall_ms();
    set(&r, PROXY_ALOG_METHOD, "NONE", strlen("NONE"));
    set(&r, PROXY_ALOG_URL, NO_REQUEST, strlen(NO_REQUEST));
  }
  r.bytes = conn->sent;
  conn->alog_open = 0;
  conn->sent = 0;
  (void)proxy_alog_submit(al, &r); /* full: dropped and counted */
}

void proxy__alog_closing(struct proxy_conn *conn)
{
  if (!conn->alog_open)
    return;
  if (conn->is_tunnel && conn->resp_started)
    proxy__alog_end(conn, PROXY_ALOG_TUNNEL, STATUS_OK, NULL);
  else if (conn->ws_upgrade && conn->resp_started)
    proxy__alog_end(conn, PROXY_ALOG_MISS, STATUS_WS, NULL);
  else if (conn->resp_started)
    proxy__alog_end(conn, PROXY_ALOG_MISS_ABORTED, 0, NULL);
  else
    proxy__alog_end(conn, PROXY_ALOG_NONE_ABORTED, 0, NULL);
}
