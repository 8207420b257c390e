/*
 * proxy_head.c - the head phase: waiting for a request, reading and
 * parsing its head, then handing it to the route (proxy_route.c).
 *
 * The phase starts when a connection is accepted and after every answer
 * on a keep-alive connection: what followed the previous request in
 * conn->in (a pipelined request, or its start) moves to the front and is
 * parsed at once. Timeouts: --timeout-header for the first request, or
 * once bytes of a head have come; --timeout-idle between requests.
 *
 * An idle connection owns no head buffer (10,000 idle clients would hold
 * 40 MB), so its first read lands in the worker's scratch area and only
 * bytes that came are copied into a buffer of its own: a client closing
 * or timing out costs no allocation.
 */
#include <string.h>

#include "proxy_alog.h"
#include "proxy_conn.h"
#include "proxy_log.h"
#include "proxy_route.h"
#include "proxy_server.h"

_Static_assert(PROXY_IN_INITIAL <= PROXY_DISCARD_BUF,
               "an idle connection's first read fits the worker's scratch");

static const struct proxy_config *cfg_of(const struct proxy_conn *conn)
{
  return conn->worker->server->cfg;
}

int proxy__head_close_if_idle(struct proxy_conn *conn)
{
  if (conn->closing || conn->phase != &proxy__phase_head || conn->in_len > 0)
    return 0;
  proxy__conn_close(conn, "idle at shutdown");
  return 1;
}

static void parse_head(struct proxy_conn *conn)
{
  int rc = http1_parse_request(conn->in, conn->in_len, &conn->req);

  if (rc == HTTP1_AGAIN) {
    if (conn->in_len >= PROXY_IN_MAX)
      rc = HTTP1_EHEAD_TOO_LARGE;
    else {
      proxy__conn_sync_read(conn);
      return;
    }
  }
  if (rc != HTTP1_OK) {
    proxy__conn_error(conn, http1_error_status(rc), 1, "malformed request: %s",
                      http1_strerror(rc));
    return;
  }
  conn->head_len = conn->req.head_len;
  conn->req_ms = proxy__wall_ms();
  conn->req_ns = uv_hrtime();
  conn->requests++;
  atomic_fetch_add_explicit(&conn->worker->server->stats.requests, 1,
                            memory_order_relaxed);
  proxy__alog_begin(conn);
  proxy__route(conn);
}

static int head_adopt(struct proxy_conn *conn, const char *base, size_t n)
{
  if (base != conn->worker->discard)
    return 0;
  if (proxy__buf_room(&conn->in, &conn->in_cap, 0, PROXY_IN_MAX) < n)
    return -1;
  memcpy(conn->in, base, n);
  return 0;
}

static void head_read(struct proxy_conn *conn, ssize_t nread, char *base)
{
  if (nread == 0)
    return;
  if (nread < 0) {
    conn->client_eof = 1;
    if (nread == UV_ENOBUFS)
      proxy__conn_error(conn, 431, 1, "request head too large");
    else
      proxy__conn_close(conn, conn->in_len > 0 ? "client left mid-request"
                                               : "client closed");
    return;
  }
  if (head_adopt(conn, base, (size_t)nread) < 0) {
    proxy__conn_close(conn, "out of memory reading a request");
    return;
  }
  if (conn->in_len == 0 && conn->requests > 0)
    proxy__conn_timer(conn, proxy__ms(cfg_of(conn)->timeout_header_s));
  conn->in_len += (size_t)nread;
  parse_head(conn);
}

/* A new request: what followed the last one moves to the front. */
static void head_start(struct proxy_conn *conn)
{
  const struct proxy_config *cfg = cfg_of(conn);

  if (conn->head_len > 0)
    memmove(conn->in, conn->in + conn->head_len, conn->in_len - conn->head_len);
  conn->in_len -= conn->head_len;
  conn->head_len = 0;
  if (conn->client_eof && conn->in_len == 0) { /* seen after the answer */
    proxy__conn_close(conn, "client closed");
    return;
  }
  if (conn->in_len == 0) /* idle connections keep no buffer */
    proxy__buf_free(&conn->in, &conn->in_cap);
  memset(&conn->req, 0, sizeof(conn->req));
  memset(&conn->target, 0, sizeof(conn->target));
  memset(&conn->req_body, 0, sizeof(conn->req_body));
  conn->req_done = conn->resp_started = conn->resp_done = 0;
  conn->ws_upgrade = conn->retried = conn->up_bad = 0;
  proxy__conn_timer(conn, proxy__ms(conn->in_len > 0 || conn->requests == 0
                                        ? cfg->timeout_header_s
                                        : cfg->timeout_idle_s));
  if (conn->in_len > 0)
    parse_head(conn);
  else
    proxy__conn_sync_read(conn);
}

static void head_timeout(struct proxy_conn *conn)
{
  if (conn->in_len == 0) {
    proxy__conn_close(conn, conn->requests > 0 ? "idle keep-alive timeout"
                                               : "no request in time");
    return;
  }
  proxy__conn_error(conn, 408, 1, "request head not received within %u s",
                    cfg_of(conn)->timeout_header_s);
}

static enum proxy_rbuf head_buf(const struct proxy_conn *conn)
{
  (void)conn;
  return PROXY_RBUF_HEAD;
}

static int head_wants(const struct proxy_conn *conn, int reading)
{
  (void)reading;
  return !conn->client_eof;
}

const struct proxy_phase proxy__phase_head = {
  .name = "head",
  .client_buf = head_buf,
  .client_wants = head_wants,
  .client_read = head_read,
  .start = head_start,
  .timeout = head_timeout,
};
