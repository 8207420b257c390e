/*
 * proxy_upgrade.c - the internal upgrade: a 307 to https for HSTS hosts.
 *
 * RFC 6797 section 8.3 and Chromium's behaviour (docs/HSTS.md, "The
 * upgrade"): a plain-HTTP request whose host has a policy in the worker's
 * snapshot (proxy_hsts.c; IP literals and localhost never) is answered by
 * the proxy itself, whatever the method, without a DNS lookup or an
 * origin connection:
 *
 *   HTTP/1.1 307 Internal Redirect
 *   Location: https://host[:port]/path?query   (hsts_url_upgrade())
 *   Non-Authoritative-Reason: HSTS
 *   Cross-Origin-Resource-Policy: Cross-Origin
 *   Content-Length: 0
 *   Access-Control-Allow-Origin: <Origin>      } only when the request
 *   Access-Control-Allow-Credentials: true     } carried Origin
 *   Connection: close | keep-alive             (when it has to be said)
 *
 * No Via: the answer is not a forwarded message (RFC 9110 section 7.6.3
 * asks a proxy for Via on what it forwards), and Chrome's own internal
 * redirect has none, so a page sees the same head either way.
 *
 * The head goes out as one uv_write of PROXY_UPGRADE_BUFS iovecs: static
 * text, plus the Location and the tail built in a buffer the connection
 * keeps for its whole life (grown only when a longer URL or Origin comes),
 * with the uv_write_t embedded in the connection; at most four buffers so
 * that libuv does not allocate a copy of the array. When no request is
 * pipelined behind this one, the head is first written at once
 * (uv_try_write): usually all of it fits the socket, and the connection
 * goes straight back to reading, with no write callback and no change to
 * what the loop polls. A keep-alive stream of upgrades therefore
 * allocates nothing per request here.
 *
 * The request body (Content-Length or chunked) is then read into the
 * worker's discard area and fed to the http1 body decoder, so that its
 * end is found exactly and the connection can carry the next request; the
 * bytes after it are kept as the start of that request. The connection
 * closes instead (and the 307 says "Connection: close") when the client
 * did not ask for keep-alive, when the worker is draining, when it sent
 * "Expect: 100-continue" and has not sent the body (we never send 100:
 * the client is to take its body to the https URL), or when the body is
 * longer than PROXY_DISCARD_BODY_MAX. Discarding is bounded in time by
 * --timeout-header; a client that has not finished by then loses only
 * keep-alive. Reading the body is the discard phase (proxy_conn.h).
 */
#include "proxy_upgrade.h"

#include <stdlib.h>
#include <string.h>

#include "proxy_alog.h"
#include "proxy_conn.h"
#include "proxy_debug.h"
#include "proxy_hsts.h"
#include "proxy_log.h"
#include "proxy_server.h"

/* "https://" "[" "]" ":65535" "/" and the NUL hsts_url_upgrade() adds. */
#define URL_EXTRA 32

static const char head_start[] = "HTTP/1.1 307 Internal Redirect\r\n"
                                 "Location: ";
static const char head_middle[] = "\r\nNon-Authoritative-Reason: HSTS\r\n"
                                  "Cross-Origin-Resource-Policy: Cross-Origin"
                                  "\r\nContent-Length: 0\r\n";
static const char acao[] = "Access-Control-Allow-Origin: ";
static const char acac[] = "\r\nAccess-Control-Allow-Credentials: true\r\n";
static const char *const conn_lines[] = {
  [PROXY_CONN_PERSIST] = "",
  [PROXY_CONN_KEEP_ALIVE] = "Connection: keep-alive\r\n",
  [PROXY_CONN_CLOSE] = "Connection: close\r\n",
};
#define CONN_LINE_MAX sizeof("Connection: keep-alive\r\n")
#define CRLF          "\r\n"

/* libuv only reads the buffers of a write: dropping const is safe. */
static uv_buf_t text_buf(const char *s, size_t len)
{
  return uv_buf_init((char *)(uintptr_t)s, (unsigned)len);
}

size_t proxy__upgrade_need(const struct hsts_url *u, size_t origin_len)
{
  return u->host_len + u->path_len + URL_EXTRA + sizeof(acao) + origin_len +
         sizeof(acac) + CONN_LINE_MAX + sizeof(CRLF);
}

static size_t put(char *dst, const char *src, size_t len)
{
  memcpy(dst, src, len);
  return len;
}

int proxy__upgrade_build(const struct hsts_url *u, const char *origin,
                         size_t origin_len, enum proxy_conn_mode mode,
                         char *buf, size_t cap,
                         uv_buf_t out[PROXY_UPGRADE_BUFS], size_t *total,
                         const char **loc, size_t *loc_len)
{
  const char *line = conn_lines[mode];
  size_t n = 0, t = 0;
  char *tail;

  if (cap < proxy__upgrade_need(u, origin != NULL ? origin_len : 0) ||
      hsts_url_upgrade(u, buf, cap, &n) != HSTS_OK)
    return -1;
  tail = buf + n + 1; /* after the Location's NUL */
  if (origin != NULL) {
    t += put(tail + t, acao, sizeof(acao) - 1);
    t += put(tail + t, origin, origin_len);
    t += put(tail + t, acac, sizeof(acac) - 1);
  }
  t += put(tail + t, line, strlen(line));
  t += put(tail + t, CRLF, sizeof(CRLF) - 1);
  out[0] = text_buf(head_start, sizeof(head_start) - 1);
  out[1] = text_buf(buf, n);
  out[2] = text_buf(head_middle, sizeof(head_middle) - 1);
  out[3] = text_buf(tail, t);
  *total = sizeof(head_start) - 1 + n + sizeof(head_middle) - 1 + t;
  *loc = buf;
  *loc_len = n;
  return 0;
}

/* ---- the connection side ---- */

static const struct proxy_phase phase_discard;

/* Drops the body bytes that came with the head; sets req_done when the
 * body ended there. Returns -1 after answering a malformed body. */
static int discard_buffered(struct proxy_conn *conn)
{
  size_t avail = conn->in_len - conn->head_len;
  char *p = conn->in + conn->head_len;
  int done = 0;
  ssize_t n;

  conn->req_body = conn->req.body;
  conn->req_done = proxy__body_empty(&conn->req_body);
  conn->discarded = 0;
  if (conn->req_done || avail == 0)
    return 0;
  n = http1_body_feed(&conn->req_body, p, avail, &done);
  if (n < 0) {
    proxy__conn_error(conn, 400, 1, "malformed request body: %s",
                      http1_strerror((int)n));
    return -1;
  }
  memmove(p, p + n, avail - (size_t)n);
  conn->in_len -= (size_t)n;
  conn->discarded = (uint64_t)n;
  conn->req_done = done;
  return 0;
}

static enum proxy_conn_mode conn_mode(const struct proxy_conn *conn)
{
  const struct http1_request *req = &conn->req;
  const struct http1_body *b = &conn->req_body;

  if (!req->keep_alive || conn->worker->draining)
    return PROXY_CONN_CLOSE;
  if (!conn->req_done &&
      (req->expect_continue ||
       (b->kind == HTTP1_BODY_LENGTH &&
        b->remaining > PROXY_DISCARD_BODY_MAX - conn->discarded)))
    return PROXY_CONN_CLOSE;
  return req->version_minor == 0 ? PROXY_CONN_KEEP_ALIVE : PROXY_CONN_PERSIST;
}

/* The connection's answer buffer holds at least need bytes. */
static int reserve(struct proxy_conn *conn, size_t need)
{
  char *p;

  if (conn->upg_cap >= need)
    return 0;
  p = realloc(conn->upg_buf, need);
  if (p == NULL)
    return -1;
  conn->upg_buf = p;
  conn->upg_cap = need;
  return 0;
}

static void on_upgrade_write(uv_write_t *req, int status)
{
  struct proxy_conn *conn = req->handle->data;

  proxy__conn_wrote(conn, conn->upg_len, status);
}

/* Writes the 307; returns the Location (in conn->upg_buf) or NULL after
 * closing the connection. */
static const char *write_answer(struct proxy_conn *conn,
                                const struct hsts_url *u,
                                enum proxy_conn_mode mode)
{
  const struct http1_request *req = &conn->req;
  const struct http1_field *origin =
      http1_find_field(req->fields, req->nfields, "origin");
  size_t olen = origin != NULL ? origin->value_len : 0, total = 0, llen = 0;
  uv_buf_t bufs[PROXY_UPGRADE_BUFS];
  const char *loc = NULL;
  int err;

  if (reserve(conn, proxy__upgrade_need(u, olen)) < 0 ||
      proxy__upgrade_build(u, origin != NULL ? origin->value : NULL, olen, mode,
                           conn->upg_buf, conn->upg_cap, bufs, &total, &loc,
                           &llen) < 0) {
    proxy__conn_close(conn, "out of memory building the 307");
    return NULL;
  }
  conn->keep_alive = mode != PROXY_CONN_CLOSE;
  conn->resp_started = 1;
  err = proxy__conn_write_bufs(conn, &conn->upg_req, bufs, PROXY_UPGRADE_BUFS,
                               on_upgrade_write);
  if (err < 0) {
    proxy__conn_close(conn, uv_strerror(err));
    return NULL;
  }
  conn->sent += total;
  conn->upg_len = (size_t)err;
  conn->client_wpending += (size_t)err;
  return loc;
}

/* The 307 is on its way: read the rest of the body, or finish. */
static void after_answer(struct proxy_conn *conn)
{
  if (!conn->keep_alive || conn->req_done) {
    proxy__conn_answered(conn); /* keep-alive, or close after the write */
    return;
  }
  proxy__conn_enter(conn, &phase_discard,
                    proxy__ms(conn->worker->server->cfg->timeout_header_s));
}

int proxy__upgrade(struct proxy_conn *conn)
{
  const struct hsts_url *u = &conn->target.url;
  const struct proxy_hsts *snap = conn->worker->hsts;
  struct hsts_result r;
  const char *loc;

  if (snap == NULL || conn->target.is_ip ||
      hsts_host_is_localhost(conn->target.host))
    return 0;
  if (!hsts_lookup(snap->dynamic, snap->static_ix, conn->target.host,
                   conn->req_ms / HSTS_MS_PER_S, &r))
    return 0;
  if (discard_buffered(conn) < 0)
    return 1;
  loc = write_answer(conn, u, conn_mode(conn));
  if (loc == NULL)
    return 1;
  atomic_fetch_add_explicit(&conn->worker->server->stats.upgrades, 1,
                            memory_order_relaxed);
  proxy__log_upgrade(conn, &r, loc);
  proxy__alog_end(conn, PROXY_ALOG_UPGRADE, 307, NULL);
  after_answer(conn);
  return 1;
}

/* Keeps the bytes after the body: the start of the next request. */
static int keep_leftover(struct proxy_conn *conn, const char *p, size_t n)
{
  while (conn->in_cap - conn->in_len < n)
    if (proxy__buf_room(&conn->in, &conn->in_cap, conn->in_cap, PROXY_IN_MAX) ==
        0)
      return -1;
  memcpy(conn->in + conn->in_len, p, n); /* the head's views are done */
  conn->in_len += n;
  return 0;
}

/* Gives up on keep-alive: the 307 is finished, then the connection. */
static void stop_discarding(struct proxy_conn *conn)
{
  conn->keep_alive = 0;
  proxy__conn_answered(conn);
}

static void discard_read(struct proxy_conn *conn, ssize_t nread, char *buf)
{
  const char *base = conn->worker->discard; /* buf is it, or NULL */
  int done = 0;
  ssize_t n;

  (void)buf;
  if (nread == 0)
    return;
  if (nread < 0) { /* the body will not come: no keep-alive */
    conn->client_eof = 1;
    stop_discarding(conn);
    return;
  }
  n = http1_body_feed(&conn->req_body, base, (size_t)nread, &done);
  if (n < 0) {
    proxy__conn_error(conn, 400, 1, "malformed request body: %s",
                      http1_strerror((int)n));
    return;
  }
  conn->discarded += (uint64_t)n;
  if (!done) {
    if (conn->discarded > PROXY_DISCARD_BODY_MAX)
      stop_discarding(conn);
    return;
  }
  conn->req_done = 1;
  if (keep_leftover(conn, base + n, (size_t)(nread - n)) < 0) {
    proxy__conn_close(conn, "out of memory keeping the next request");
    return;
  }
  proxy__conn_answered(conn);
}

/* ---- the phase ---- */

static void discard_timeout(struct proxy_conn *conn)
{
  proxy__debug(conn->worker,
               "conn %llu %s: request body not discarded within %u s",
               (unsigned long long)conn->id, conn->peer,
               conn->worker->server->cfg->timeout_header_s);
  stop_discarding(conn);
}

static int discard_wants(const struct proxy_conn *conn, int reading)
{
  (void)reading;
  return !conn->req_done && !conn->client_eof;
}

static const struct proxy_phase phase_discard = {
  .name = "discard",
  .client_wants = discard_wants,
  .client_read = discard_read,
  .timeout = discard_timeout,
};
