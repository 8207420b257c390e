/*
 * proxy_local.c - answers the proxy writes itself: errors, the status
 * page, the PAC file.
 *
 * Error answers are short text/plain bodies naming the cause and the host
 * (PRODUCT.md, "Answers the proxy gives"), always with Content-Length. The
 * connection continues after an answer only when the client asked for
 * keep-alive and no request body is left unread; otherwise the answer
 * says "Connection: close" and the connection closes gracefully
 * (proxy__conn_answered). Origin-form requests are for the proxy itself:
 * GET / is a small status page (with the policies this worker uses and
 * the hop log's counters: written, dropped because the queue was full,
 * given up because the store failed, pending: accepted and not committed
 * yet, which grows while the store fails), GET /proxy.pac a PAC file
 * naming the address the request came in on.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proxy_int.h"
#include "store_writer.h"

#define PAC_TYPE  "application/x-ns-proxy-autoconfig"
#define HTML_TYPE "text/html; charset=utf-8"
#define TEXT_TYPE "text/plain; charset=utf-8"
#define NS_PER_S  1000000000u

const char *proxy__reason(int status)
{
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
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

/* Whether request body bytes remain unread on the client connection. */
static int body_unread(const struct proxy_conn *conn)
{
  const struct http1_body *b = &conn->req.body;

  if (conn->req_done || b->kind == HTTP1_BODY_NONE)
    return 0;
  return !(b->kind == HTTP1_BODY_LENGTH && b->remaining == 0);
}

/* Closes the request's origin side (a lookup or connection in progress):
 * an answer from the proxy replaces the origin's. */
static void drop_origin(struct proxy_conn *conn)
{
  if (conn->dnsq != NULL) {
    proxy__dns_detach(conn->dnsq);
    conn->dnsq = NULL;
  }
  if (conn->up != NULL) {
    struct proxy_upstream *up = conn->up;

    conn->up = NULL;
    up->conn = NULL;
    proxy__upstream_close(up, "answered by the proxy");
  }
}

/* Writes a complete answer and ends the exchange. */
static void answer(struct proxy_conn *conn, int status, const char *extra,
                   const char *type, const char *body, size_t len,
                   int force_close)
{
  char head[PROXY_ERROR_BODY_MAX];
  int close = force_close || conn->head_len == 0 || !conn->req.keep_alive ||
              body_unread(conn) || conn->worker->draining;
  const char *connection = close ? "Connection: close\r\n"
                           : conn->req.version_minor == 0
                               ? "Connection: keep-alive\r\n"
                               : "";
  int n;

  drop_origin(conn);
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
  proxy__conn_answered(conn);
}

void proxy__conn_error(struct proxy_conn *conn, int status, int force_close,
                       const char *fmt, ...)
{
  char body[PROXY_ERROR_BODY_MAX];
  va_list ap;
  int n;

  if (conn->closing)
    return;
  atomic_fetch_add_explicit(&conn->worker->server->stats.errors, 1,
                            memory_order_relaxed);
  va_start(ap, fmt);
  n = vsnprintf(body, sizeof(body) - 1, fmt, ap);
  va_end(ap);
  if (n < 0)
    n = 0;
  if ((size_t)n > sizeof(body) - 2)
    n = (int)sizeof(body) - 2;
  proxy__log(conn->worker, "conn %llu %s: %d %s", (unsigned long long)conn->id,
             conn->peer, status, body);
  if (conn->resp_started) { /* too late for an answer: cut it short */
    proxy__conn_close(conn, body);
    return;
  }
  body[n++] = '\n';
  body[n] = '\0';
  answer(conn, status, "", TEXT_TYPE, body, (size_t)n, force_close);
}

static void status_page(struct proxy_conn *conn)
{
  struct proxy_server *s = conn->worker->server;
  const struct proxy_stats *st = &s->stats;
  char body[PROXY_LOCAL_BODY_MAX];
  unsigned long long uptime = (uv_hrtime() - s->start_ns) / NS_PER_S;
  struct store_writer_stats ws;
  struct proxy_store_counts pc;
  char stale[64] = "";
  int n;

  memset(&ws, 0, sizeof(ws));
  if (s->writer != NULL)
    store_writer_stats(s->writer, &ws);
  proxy__hsts_counts(conn->worker->hsts, &pc);
  if (pc.preload_stale_days > 0)
    snprintf(stale, sizeof(stale), " STALE: %d days old (more than 70)",
             pc.preload_stale_days);
  n = snprintf(body, sizeof(body),
               "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
               "<title>hstsproxy</title></head>\n<body><h1>hstsproxy</h1>\n"
               "<table>\n<tr><th>version</th><td>%s</td></tr>\n"
               "<tr><th>uptime</th><td>%llu s</td></tr>\n"
               "<tr><th>workers</th><td>%zu</td></tr>\n"
               "<tr><th>connections open</th><td>%llu</td></tr>\n"
               "<tr><th>connections total</th><td>%llu</td></tr>\n"
               "<tr><th>requests</th><td>%llu</td></tr>\n"
               "<tr><th>tunnels</th><td>%llu</td></tr>\n"
               "<tr><th>errors</th><td>%llu</td></tr>\n"
               "<tr><th>internal upgrades</th><td>%llu</td></tr>\n"
               "<tr><th>preload list</th><td>%s (%zu hosts)%s</td></tr>\n"
               "<tr><th>learned policies</th><td>%zu</td></tr>\n"
               "<tr><th>log records written</th><td>%llu</td></tr>\n"
               "<tr><th>log records dropped</th><td>%llu</td></tr>\n"
               "<tr><th>log records failed</th><td>%llu</td></tr>\n"
               "<tr><th>log records pending</th><td>%llu</td></tr>\n"
               "</table>\n</body></html>\n",
               HSTSPROXY_VERSION, uptime, s->nworkers,
               (unsigned long long)atomic_load(&st->conns_active),
               (unsigned long long)atomic_load(&st->conns_total),
               (unsigned long long)atomic_load(&st->requests),
               (unsigned long long)atomic_load(&st->tunnels),
               (unsigned long long)atomic_load(&st->errors),
               (unsigned long long)atomic_load(&st->upgrades),
               pc.preload_name != NULL ? pc.preload_name : "none",
               pc.preload_hosts, stale, pc.learned,
               (unsigned long long)ws.written, (unsigned long long)ws.dropped,
               (unsigned long long)ws.failed, (unsigned long long)ws.queued);
  if (n < 0 || (size_t)n >= sizeof(body)) {
    proxy__conn_close(conn, "status page too long");
    return;
  }
  answer(conn, 200, "Cache-Control: no-store\r\n", HTML_TYPE, body, (size_t)n,
         0);
}

static void pac_file(struct proxy_conn *conn)
{
  char addr[PROXY_ADDR_TEXT], body[PROXY_LOCAL_BODY_MAX];
  int n;

  proxy_addr_format(&conn->local.sa, addr, sizeof(addr));
  n = snprintf(body, sizeof(body),
               "function FindProxyForURL(url, host) "
               "{ return \"PROXY %s\"; }\n",
               addr);
  if (n < 0 || (size_t)n >= sizeof(body)) {
    proxy__conn_close(conn, "PAC file too long");
    return;
  }
  answer(conn, 200, "Cache-Control: no-store\r\n", PAC_TYPE, body, (size_t)n,
         0);
}

static int path_is(const char *p, size_t len, const char *lit)
{
  return len == strlen(lit) && memcmp(p, lit, len) == 0;
}

void proxy__local_serve(struct proxy_conn *conn)
{
  const struct http1_request *req = &conn->req;
  const char *path = conn->target.path;
  const char *q = memchr(path, '?', conn->target.path_len);
  size_t len = q != NULL ? (size_t)(q - path) : conn->target.path_len;
  int root = len == 0 || path_is(path, len, "/");
  int pac = path_is(path, len, "/proxy.pac");
  int get = http1_token_eq(req->method, req->method_len, "GET") || req->is_head;

  if (!root && !pac) {
    proxy__conn_error(conn, 404, 0,
                      "no such page on this proxy: %.*s (try / or "
                      "/proxy.pac; proxy requests use absolute URLs)",
                      (int)len, path);
    return;
  }
  if (!get) {
    atomic_fetch_add_explicit(&conn->worker->server->stats.errors, 1,
                              memory_order_relaxed);
    answer(conn, 405, "Allow: GET, HEAD\r\n", TEXT_TYPE,
           "only GET and HEAD are served here\n",
           strlen("only GET and HEAD are served here\n"), 0);
    return;
  }
  if (root)
    status_page(conn);
  else
    pac_file(conn);
}
