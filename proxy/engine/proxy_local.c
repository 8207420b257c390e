/*
 * proxy_local.c - the proxy's own pages: the status page, the PAC file
 * (written as answers by proxy_answer.c).
 *
 * Origin-form requests are for the proxy itself, as are absolute-form
 * ones to the address the client connected to (proxy_route.c):
 * GET / is a small status page (with the policies this worker uses and
 * the hop log's counters: written, dropped because the queue was full,
 * given up because the store failed, pending: accepted and not committed
 * yet, which grows while the store fails), GET /proxy.pac a PAC file
 * naming the address the request came in on, GET /metrics the same
 * counters for Prometheus (proxy_metrics.c).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proxy_alog.h"
#include "proxy_conn.h"
#include "proxy_console.h"
#include "proxy_hsts.h"
#include "proxy_phases.h"
#include "proxy_server.h"
#include "store_writer.h"

#define PAC_TYPE  "application/x-ns-proxy-autoconfig"
#define HTML_TYPE "text/html; charset=utf-8"
#define TEXT_TYPE "text/plain; charset=utf-8"
#define ROWS_MAX  768
#define TIME_TEXT 32
#define MIB       (1024.0 * 1024.0)

/* The rows of the logs kept for months: rows the writer pruned
 * (--retain), the store's size and oldest hop (as the writer last
 * measured them), and with --access-log its lines written, dropped (the
 * queue was full, a write failed) and whether it fails now. */
static void alog_rows(struct proxy_server *s,
                      const struct store_writer_stats *ws, char *out,
                      size_t size)
{
  time_t t = (time_t)(ws->oldest_hop_ms / HSTS_MS_PER_S);
  char oldest[TIME_TEXT] = "-";
  struct proxy_alog_stats st;
  struct tm tm;
  int n;

  if (ws->oldest_hop_ms > 0 && gmtime_r(&t, &tm) != NULL)
    strftime(oldest, sizeof(oldest), "%Y-%m-%dT%H:%M:%SZ", &tm);
  n = snprintf(out, size,
               "<tr><th>log rows pruned</th><td>%llu</td></tr>\n"
               "<tr><th>store size</th><td>%.1f MiB</td></tr>\n"
               "<tr><th>oldest hop</th><td>%s</td></tr>\n",
               (unsigned long long)ws->pruned, (double)ws->store_bytes / MIB,
               oldest);

  if (s->alog == NULL || n < 0 || (size_t)n >= size)
    return;
  proxy_alog_stats(s->alog, &st);
  snprintf(out + n, size - (size_t)n,
           "<tr><th>access log lines written</th><td>%llu</td></tr>\n"
           "<tr><th>access log lines dropped</th><td>%llu</td></tr>\n"
           "<tr><th>access log failing</th><td>%s</td></tr>\n",
           (unsigned long long)st.written,
           (unsigned long long)(st.dropped_queue + st.dropped_write),
           st.failing ? "yes" : "no");
}

/* The status page's record rows count hop records alone (the writer's
 * totals also hold the per-host traffic counts and probe results). */
static void hops_only(struct store_writer_stats *ws)
{
  ws->written = ws->hops_written;
  ws->dropped = ws->hops_dropped;
  ws->failed = ws->hops_failed;
  ws->queued = ws->hops_queued;
}

static void status_page(struct proxy_conn *conn)
{
  struct proxy_server *s = conn->worker->server;
  const struct proxy_stats *st = &s->stats;
  char body[PROXY_LOCAL_BODY_MAX], rows[ROWS_MAX];
  unsigned long long uptime = (uv_hrtime() - s->start_ns) / HSTS_NS_PER_S;
  struct store_writer_stats ws;
  struct proxy_store_counts pc;
  char stale[64] = "";
  int n;

  memset(&ws, 0, sizeof(ws));
  if (s->writer != NULL)
    store_writer_stats(s->writer, &ws);
  hops_only(&ws);
  proxy__hsts_counts(conn->worker->hsts, &pc);
  if (pc.preload_stale_days > 0)
    snprintf(stale, sizeof(stale), " STALE: %d days old (more than 70)",
             pc.preload_stale_days);
  alog_rows(s, &ws, rows, sizeof(rows));
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
               "<tr><th>manual policies</th><td>%zu</td></tr>\n"
               "<tr><th>hop records written</th><td>%llu</td></tr>\n"
               "<tr><th>hop records dropped</th><td>%llu</td></tr>\n"
               "<tr><th>hop records failed</th><td>%llu</td></tr>\n"
               "<tr><th>hop records pending</th><td>%llu</td></tr>\n"
               "%s</table>\n</body></html>\n",
               HSTSPROXY_VERSION, uptime, s->nworkers,
               (unsigned long long)atomic_load(&st->conns_active),
               (unsigned long long)atomic_load(&st->conns_total),
               (unsigned long long)atomic_load(&st->requests),
               (unsigned long long)atomic_load(&st->tunnels),
               (unsigned long long)atomic_load(&st->errors),
               (unsigned long long)atomic_load(&st->upgrades),
               pc.preload_name != NULL ? pc.preload_name : "none",
               pc.preload_hosts, stale, pc.learned, pc.manual,
               (unsigned long long)ws.written, (unsigned long long)ws.dropped,
               (unsigned long long)ws.failed, (unsigned long long)ws.queued,
               rows);
  if (n < 0 || (size_t)n >= sizeof(body)) {
    proxy__conn_close(conn, "status page too long");
    return;
  }
  proxy__answer(conn, 200, "Cache-Control: no-store\r\n", HTML_TYPE, body,
                (size_t)n, 0);
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
  proxy__answer(conn, 200, "Cache-Control: no-store\r\n", PAC_TYPE, body,
                (size_t)n, 0);
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
  int metrics = path_is(path, len, "/metrics"); /* proxy_metrics.c */
  int get = http1_token_eq(req->method, req->method_len, "GET") || req->is_head;

  /* The console (proxy_console.c) owns its paths. */
  atomic_fetch_add_explicit(&conn->worker->server->console->local, 1,
                            memory_order_relaxed);
  if (proxy__console_serve(conn, path, len))
    return;

  if (!root && !pac && !metrics) {
    proxy__conn_error(conn, 404, 0,
                      "no such page on this proxy: %.*s (try /, "
                      "/proxy.pac or /metrics; proxy requests use absolute "
                      "URLs)",
                      (int)len, path);
    return;
  }
  if (!get) {
    atomic_fetch_add_explicit(&conn->worker->server->stats.errors, 1,
                              memory_order_relaxed);
    proxy__answer(conn, 405, "Allow: GET, HEAD\r\n", TEXT_TYPE,
                  "only GET and HEAD are served here\n",
                  strlen("only GET and HEAD are served here\n"), 0);
    return;
  }
  atomic_fetch_add_explicit(&conn->worker->server->stats.locals, 1,
                            memory_order_relaxed);
  if (root)
    status_page(conn);
  else if (metrics)
    proxy__metrics_serve(conn);
  else
    pac_file(conn);
}
