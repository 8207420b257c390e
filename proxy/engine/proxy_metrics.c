/*
 * proxy_metrics.c - GET /metrics: the proxy's counters in the Prometheus
 * text exposition format (version 0.0.4), served like the status page
 * (origin-form, on the proxy's own address; proxy_local.c routes it).
 *
 * Every value is read at the scrape, on the worker's loop, without a
 * lock: the process-wide relaxed atomics of struct proxy_stats, the hop
 * log writer's counters (store_writer_stats: one short mutex), each
 * worker's CPU time (a relaxed atomic its loop stores, proxy_worker.c),
 * and the policy snapshot this worker uses (immutable; counting its dynamic
 * entries by source walks that small index). Counters only grow for the
 * life of the process, as Prometheus expects; gauges are current values.
 * hstsproxy_preload_age_seconds counts from when the list was current
 * (store_list_time: the list's own date, or its import for an undated
 * list), so the built-in list ages with its date.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proxy_conn.h"
#include "proxy_hsts.h"
#include "proxy_server.h"
#include "store_writer.h"

#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The body being written; a write past the end sets `over`. */
struct text {
  char buf[PROXY_METRICS_MAX];
  size_t len;
  int over;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
put(struct text *t, const char *fmt, ...)
{
  va_list ap;
  int n;

  if (t->over)
    return;
  va_start(ap, fmt);
  n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(t->buf) - t->len)
    t->over = 1;
  else
    t->len += (size_t)n;
}

static void head(struct text *t, const char *name, const char *type,
                 const char *help)
{
  put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static unsigned long long load(const atomic_uint_fast64_t *a)
{
  return (unsigned long long)atomic_load_explicit(a, memory_order_relaxed);
}

static void requests(struct text *t, const struct proxy_stats *st)
{
  head(t, "hstsproxy_requests_total", "counter",
       "Requests by what the proxy did with them.");
  put(t,
      "hstsproxy_requests_total{action=\"upgrade\"} %llu\n"
      "hstsproxy_requests_total{action=\"forward\"} %llu\n"
      "hstsproxy_requests_total{action=\"tunnel\"} %llu\n"
      "hstsproxy_requests_total{action=\"local\"} %llu\n"
      "hstsproxy_requests_total{action=\"error\"} %llu\n",
      load(&st->upgrades), load(&st->forwards), load(&st->tunnels),
      load(&st->locals), load(&st->errors));
  head(t, "hstsproxy_connections_open", "gauge",
       "Client connections open now.");
  put(t, "hstsproxy_connections_open %llu\n", load(&st->conns_active));
  head(t, "hstsproxy_connections_total", "counter",
       "Client connections accepted.");
  put(t, "hstsproxy_connections_total %llu\n", load(&st->conns_total));
}

static void probes(struct text *t, const struct proxy_stats *st)
{
  static const char *const names[PROXY_PROBE_RESULTS] = {
    [PROXY_PROBE_LEARNED] = "learned",
    [PROXY_PROBE_NO_HEADER] = "no_header",
    [PROXY_PROBE_IGNORED] = "ignored",
    [PROXY_PROBE_CERTIFICATE] = "certificate",
    [PROXY_PROBE_UNREACHABLE] = "unreachable",
  };
  size_t i;

  head(t, "hstsproxy_probes_total", "counter", "TLS probes by how they ended.");
  for (i = 0; i < PROXY_PROBE_RESULTS; i++)
    put(t, "hstsproxy_probes_total{result=\"%s\"} %llu\n", names[i],
        load(&st->probes[i]));
}

static void splices(struct text *t, const struct proxy_stats *st)
{
  head(t, "hstsproxy_splice_total", "counter",
       "Bulk phases (tunnels, large response bodies) by how their bytes "
       "moved: through pipes with splice(2), or copied because splice() "
       "was refused.");
  put(t,
      "hstsproxy_splice_total{result=\"spliced\"} %llu\n"
      "hstsproxy_splice_total{result=\"refused\"} %llu\n",
      load(&st->spliced), load(&st->splice_refused));
  head(t, "hstsproxy_spliced_bytes_total", "counter",
       "Bytes moved with splice(2), both directions.");
  put(t, "hstsproxy_spliced_bytes_total %llu\n", load(&st->spliced_bytes));
}

static void hop_log(struct text *t, const struct store_writer_stats *ws)
{
  head(t, "hstsproxy_hop_records_total", "counter",
       "Hop log records: committed to the store, dropped (queue full), "
       "failed (given up).");
  put(t,
      "hstsproxy_hop_records_total{result=\"written\"} %llu\n"
      "hstsproxy_hop_records_total{result=\"dropped\"} %llu\n"
      "hstsproxy_hop_records_total{result=\"failed\"} %llu\n",
      (unsigned long long)ws->written, (unsigned long long)ws->dropped,
      (unsigned long long)ws->failed);
  head(t, "hstsproxy_store_pending_records", "gauge",
       "Records accepted by the writer and not committed yet.");
  put(t, "hstsproxy_store_pending_records %llu\n",
      (unsigned long long)ws->queued);
}

static double seconds(uint64_t ns)
{
  return (double)ns / (double)HSTS_NS_PER_S;
}

/* The writer's line only with a writer (ws: its stats). */
static void threads(struct text *t, const struct proxy_server *s,
                    const struct store_writer_stats *ws)
{
  static const char name[] = "hstsproxy_thread_cpu_seconds_total";
  size_t i;

  head(t, name, "counter",
       "CPU time of each event-loop thread, as of its last loop iteration, "
       "and of the hop-log writer, as of its last batch; by thread name "
       "(as top -H shows it).");
  for (i = 0; i < s->nworkers; i++)
    put(t, "%s{thread=\"worker %zu\"} %.6f\n", name, i + 1,
        seconds(load(&s->workers[i].cpu_ns)));
  if (s->writer != NULL)
    put(t, "%s{thread=\"hop-log writer\"} %.6f\n", name, seconds(ws->cpu_ns));
}

struct by_source {
  int64_t now;
  size_t learned, manual;
};

static int count_source(const struct hsts_entry *e, void *arg)
{
  struct by_source *c = arg;

  if (e->expires != 0 && c->now > e->expires)
    return 0; /* expired: lookups skip it too */
  if (e->source == HSTS_SOURCE_MANUAL)
    c->manual++;
  else if (e->source == HSTS_SOURCE_LEARNED)
    c->learned++;
  return 0;
}

static void policies(struct text *t, const struct proxy_hsts *snap)
{
  struct by_source c = { (int64_t)time(NULL), 0, 0 };

  if (snap != NULL && snap->dynamic != NULL)
    hsts_index_foreach(snap->dynamic, count_source, &c);
  head(t, "hstsproxy_policies", "gauge",
       "Dynamic HSTS policies in force, by source.");
  put(t,
      "hstsproxy_policies{source=\"learned\"} %zu\n"
      "hstsproxy_policies{source=\"manual\"} %zu\n",
      c.learned, c.manual);
  head(t, "hstsproxy_preload_entries", "gauge",
       "Hosts on the active preload list (or the builtin one).");
  put(t, "hstsproxy_preload_entries %zu\n",
      snap != NULL ? snap->list_hosts : 0);
  head(t, "hstsproxy_preload_age_seconds", "gauge",
       "Seconds since the active preload list was current: its own date "
       "(the built-in list's, a Chromium list's), or its import.");
  put(t, "hstsproxy_preload_age_seconds %lld\n",
      snap != NULL && c.now > snap->list_time
          ? (long long)(c.now - snap->list_time)
          : 0LL);
}

void proxy__metrics_probe(struct proxy_server *s, enum proxy_probe_result r)
{
  atomic_fetch_add_explicit(&s->stats.probes[r], 1, memory_order_relaxed);
}

void proxy__metrics_serve(struct proxy_conn *conn)
{
  struct proxy_server *s = conn->worker->server;
  struct store_writer_stats ws;
  struct text t;

  memset(&ws, 0, sizeof(ws));
  if (s->writer != NULL)
    store_writer_stats(s->writer, &ws);
  t.len = 0;
  t.over = 0;
  requests(&t, &s->stats);
  splices(&t, &s->stats);
  hop_log(&t, &ws);
  threads(&t, s, &ws);
  policies(&t, conn->worker->hsts);
  probes(&t, &s->stats);
  if (t.over) {
    proxy__conn_close(conn, "metrics page too long");
    return;
  }
  proxy__answer(conn, 200, "Cache-Control: no-store\r\n", METRICS_TYPE, t.buf,
                t.len, 0);
}
