/*
 * proxy_answer.c - the answers the proxy writes itself, and the end of
 * every answer: the respond and linger phases.
 *
 * Answers are short: an error names its cause and the host (a text/plain
 * body), the status page and the PAC file (proxy_local.c) are built in
 * memory; all have a Content-Length. An answer replaces the origin's:
 * a lookup or origin connection of the request is dropped first. The
 * connection continues after an answer only when the client asked for
 * keep-alive and no request body is left unread; otherwise the answer
 * says "Connection: close".
 *
 * Once the last byte of an answer (the proxy's, the origin's, a 307) is
 * queued, proxy__conn_answered() decides: on a keep-alive connection
 * whose client took every byte, the next request is read at once (the
 * head phase); otherwise the respond phase waits for the client to take
 * the answer (a timeout measuring silence, --timeout-response), then
 * either reads the next request or closes gracefully: the linger phase
 * shuts our write side down (after the queued answer), so that the client
 * sees the answer rather than a reset caused by unread request bytes, and
 * reads and discards for PROXY_LINGER_MS.
 */
#include <stdarg.h>
#include <stdio.h>

#include "proxy_alog.h"
#include "proxy_conn.h"
#include "proxy_debug.h"
#include "proxy_server.h"

#define TEXT_TYPE "text/plain; charset=utf-8"

const char *proxy__reason(int status)
{
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 407:
    return "Proxy Authentication Required";
  case 409:
    return "Conflict";
  case 408:
    return "Request Timeout";
  case 414:
    return "URI Too Long";
  case 431:
    return "Request Header Fields Too Large";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 505:
    return "HTTP Version Not Supported";
  case 508:
    return "Loop Detected";
  default:
    return "Error";
  }
}

/* ---- linger: the graceful close ---- */

static enum proxy_rbuf linger_buf(const struct proxy_conn *conn)
{
  (void)conn;
  return PROXY_RBUF_DISCARD;
}

static int linger_wants(const struct proxy_conn *conn, int reading)
{
  (void)reading;
  return conn->lingering;
}

static void linger_read(struct proxy_conn *conn, ssize_t nread, char *base)
{
  (void)base;
  if (nread < 0)
    proxy__conn_close(conn, "answered");
}

static void linger_timeout(struct proxy_conn *conn)
{
  proxy__conn_close(conn, "answered");
}

static void on_client_shutdown(uv_shutdown_t *req, int status)
{
  struct proxy_conn *conn = req->handle->data;

  if (conn->closing)
    return;
  if (status < 0 || conn->client_eof) {
    proxy__conn_close(conn, "answered");
    return;
  }
  conn->lingering = 1; /* read until the client closes, or the timer */
  proxy__conn_sync_read(conn);
}

/* Our write side first, after the queued answer; then read a moment. */
static void linger_start(struct proxy_conn *conn)
{
  int err;

  proxy__conn_sync_read(conn);
  err = uv_shutdown(&conn->shutdown_req, (uv_stream_t *)&conn->client,
                    on_client_shutdown);
  if (err < 0)
    proxy__conn_close(conn, uv_strerror(err));
}

static const struct proxy_phase phase_linger = {
  .name = "linger",
  .client_buf = linger_buf,
  .client_wants = linger_wants,
  .client_read = linger_read,
  .start = linger_start,
  .timeout = linger_timeout,
};

/* ---- respond: the answer drains ---- */

static uint64_t response_ms(const struct proxy_conn *conn)
{
  return proxy__ms(conn->worker->server->cfg->timeout_response_s);
}

static enum proxy_rbuf respond_buf(const struct proxy_conn *conn)
{
  (void)conn;
  return PROXY_RBUF_NEXT;
}

static void respond_wrote(struct proxy_conn *conn)
{
  if (conn->client_wpending == 0)
    proxy__conn_answered(conn);
}

static void respond_timeout(struct proxy_conn *conn)
{
  if (proxy__conn_silent(conn, response_ms(conn)))
    proxy__conn_close(conn, "client did not read the answer");
}

static const struct proxy_phase phase_respond = {
  .name = "respond",
  .client_buf = respond_buf,
  .client_wrote = respond_wrote,
  .timeout = respond_timeout,
};

static int continues(const struct proxy_conn *conn)
{
  return conn->keep_alive && !conn->worker->draining;
}

void proxy__conn_answered(struct proxy_conn *conn)
{
  if (conn->closing)
    return;
  if (conn->client_wpending == 0 && continues(conn)) {
    proxy__conn_enter(conn, &proxy__phase_head, 0); /* reading never stops */
    return;
  }
  if (conn->phase != &phase_respond)
    proxy__conn_enter(conn, &phase_respond, response_ms(conn));
  if (conn->client_wpending > 0)
    return; /* respond_wrote comes back here */
  if (continues(conn))
    proxy__conn_enter(conn, &proxy__phase_head, 0);
  else
    proxy__conn_enter(conn, &phase_linger, PROXY_LINGER_MS);
}

/* ---- the answers ---- */

/* An answer's result code in the access log. */
static enum proxy_alog_action alog_action(int status)
{
  if (status == 403 || status == 407)
    return PROXY_ALOG_DENIED;
  return status == 200 ? PROXY_ALOG_LOCAL : PROXY_ALOG_NONE;
}

void proxy__answer(struct proxy_conn *conn, int status, const char *extra,
                   const char *type, const char *body, size_t len,
                   int force_close)
{
  char head[PROXY_ERROR_BODY_MAX];
  int close = force_close || conn->head_len == 0 || !conn->req.keep_alive ||
              proxy__body_unread(conn) || conn->worker->draining;
  const char *connection = close ? "Connection: close\r\n"
                           : conn->req.version_minor == 0
                               ? "Connection: keep-alive\r\n"
                               : "";
  int n;

  proxy__conn_drop_origin(conn, "answered by the proxy");
  conn->keep_alive = !close;
  conn->resp_started = 1;
  n = snprintf(head, sizeof(head),
               "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
               "Content-Length: %zu\r\n%s%s\r\n",
               status, proxy__reason(status), type, len, extra, connection);
  if (n < 0 || (size_t)n >= sizeof(head)) {
    proxy__conn_close(conn, "answer head too long");
    return;
  }
  proxy__conn_write_copy(conn, head, (size_t)n);
  if (len > 0 && !conn->req.is_head)
    proxy__conn_write_copy(conn, body, len);
  proxy__alog_end(conn, alog_action(status), status, type);
  proxy__conn_answered(conn);
}

static void count_error(struct proxy_conn *conn, int status, const char *why)
{
  atomic_fetch_add_explicit(&conn->worker->server->stats.errors, 1,
                            memory_order_relaxed);
  proxy__debug(conn->worker, "conn %llu %s: %d %s",
               (unsigned long long)conn->id, conn->peer, status, why);
}

void proxy__conn_error(struct proxy_conn *conn, int status, int force_close,
                       const char *fmt, ...)
{
  char body[PROXY_ERROR_BODY_MAX];
  va_list ap;
  int n;

  if (conn->closing)
    return;
  va_start(ap, fmt);
  n = vsnprintf(body, sizeof(body) - 1, fmt, ap);
  va_end(ap);
  if (n < 0)
    n = 0;
  if ((size_t)n > sizeof(body) - 2)
    n = (int)sizeof(body) - 2;
  count_error(conn, status, body);
  if (conn->resp_started) { /* too late for an answer: cut it short */
    proxy__conn_close(conn, body);
    return;
  }
  body[n++] = '\n';
  body[n] = '\0';
  proxy__answer(conn, status, "", TEXT_TYPE, body, (size_t)n, force_close);
}

void proxy__answer_401(struct proxy_conn *conn)
{
  static const char body[] = "authentication required (Basic, realm "
                             "hstsproxy; the users of --auth-file)\n";

  count_error(conn, 401, "no valid credentials for the console");
  proxy__answer(conn, 401, "WWW-Authenticate: Basic realm=\"hstsproxy\"\r\n",
                TEXT_TYPE, body, sizeof(body) - 1, 0);
}

void proxy__answer_407(struct proxy_conn *conn)
{
  static const char body[] =
      "proxy authentication required (Basic, realm hstsproxy)\n";

  count_error(conn, 407, "no valid credentials");
  proxy__answer(conn, 407, "Proxy-Authenticate: Basic realm=\"hstsproxy\"\r\n",
                TEXT_TYPE, body, sizeof(body) - 1, conn->req.is_connect);
}
