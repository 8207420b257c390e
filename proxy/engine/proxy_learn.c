/*
 * proxy_learn.c - probes `run` starts by itself, and publishing what
 * they teach at once (RFC 6797 section 8.1).
 *
 * Triggers, on the worker threads: a CONNECT to a host name on port 443,
 * and an origin's redirect from http://X to https://X (the bootstrap
 * case). Never for IP literals or localhost, never while draining; the
 * request goes on at once, the probe (proxy_probe.h) runs beside it on
 * the worker's loop, and nothing the probe does reaches the client.
 *
 * Bounds and deduplication, shared by every worker under one mutex (held
 * for a few comparisons, never across I/O):
 *  - hosts in flight: at most PROXY_PROBE_GLOBAL_MAX, each host once, so
 *    no two workers probe the same host at the same time; past the cap a
 *    trigger is skipped, never queued;
 *  - freshness: a direct-mapped table of PROXY_PROBE_FRESH_SLOTS hosts,
 *    each with the time before which it is not probed again (a collision
 *    only forgets a host early: one extra probe). A day after a probe
 *    that found no valid header (or deleted), an hour after one that
 *    failed, half the max-age (at least PROXY_PROBE_FRESH_MIN_S) after
 *    one that taught a policy. A host whose learned entry in the current
 *    snapshot is younger than half its max-age is fresh too (so a
 *    restart does not probe it again), and a manual entry is never
 *    probed (it would win anyway).
 * Each worker also runs at most PROXY_PROBE_WORKER_MAX probes; the drain
 * cancels them (their results are dropped), so shutdown stays bounded.
 *
 * Results: every completed probe goes to the store through the hop log
 * writer (store_writer_probe: the writer thread runs store_probe_record,
 * which decides and records). A valid header received over verified TLS
 * is also queued for the main thread, which applies the same rule to a
 * copy of the current dynamic index (learn or refresh; max-age=0 deletes
 * a learned entry; a manual entry wins) and publishes it as a new
 * snapshot (proxy_hsts.c): the very next request, on any worker, sees it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsts_host.h"
#include "proxy_conn.h"
#include "proxy_debug.h"
#include "proxy_hsts.h"
#include "proxy_learn.h"
#include "proxy_server.h"
#include "proxy_probe.h"
#include "proxy_tls.h"
#include "store_policy.h"
#include "store_writer.h"

#define STATUS_3XX_MIN 300
#define STATUS_3XX_MAX 399
#define FNV_OFFSET     2166136261u
#define FNV_PRIME      16777619u
#define HALF(x)        ((x) / 2)

/* When a host may be probed again. */
struct fresh {
  char host[PROXY_HOST_MAX + 1]; /* "" when the slot is free */
  int64_t until;                 /* Unix s */
};

/* A valid header learned by a probe, for the main thread. */
struct update {
  char host[PROXY_HOST_MAX + 1];
  int64_t observed; /* Unix s */
  uint32_t max_age; /* 0: delete the learned entry */
  int include_subdomains;
};

struct proxy_learn {
  struct proxy_server *server; /* not owned */
  uv_async_t async;            /* on the main loop: updates are queued */
  int async_open;
  uv_mutex_t mu;
  /* Guarded by mu. */
  char inflight[PROXY_PROBE_GLOBAL_MAX][PROXY_HOST_MAX + 1];
  size_t ninflight;
  struct fresh *fresh; /* owned: PROXY_PROBE_FRESH_SLOTS entries */
  struct update queue[PROXY_PROBE_QUEUE_MAX];
  size_t nqueue;
  uint64_t lost; /* updates dropped: the queue was full */
  /* Main thread only. */
  struct update work[PROXY_PROBE_QUEUE_MAX];
};

/* One probe of a worker. */
struct slot {
  struct proxy_learn_worker *lw; /* not owned */
  struct proxy_probe *probe;     /* owned by itself; valid while used */
  int used;
};

struct proxy_learn_worker {
  struct proxy_worker *w; /* not owned */
  struct slot slots[PROXY_PROBE_WORKER_MAX];
  int draining;
};

/* ---- freshness and hosts in flight (mu held) ---- */

static struct fresh *fresh_slot(struct proxy_learn *l, const char *host)
{
  uint32_t h = FNV_OFFSET;

  for (; *host != '\0'; host++)
    h = (h ^ (unsigned char)*host) * FNV_PRIME;
  return &l->fresh[h % PROXY_PROBE_FRESH_SLOTS];
}

/* Whether host may be probed now; if so, it is in flight from now on. */
static int claim(struct proxy_learn *l, const char *host, int64_t now)
{
  const struct fresh *f = fresh_slot(l, host);
  size_t i;

  if (strcmp(f->host, host) == 0 && now < f->until)
    return 0;
  if (l->ninflight >= PROXY_PROBE_GLOBAL_MAX)
    return 0;
  for (i = 0; i < l->ninflight; i++)
    if (strcmp(l->inflight[i], host) == 0)
      return 0;
  snprintf(l->inflight[l->ninflight++], sizeof(l->inflight[0]), "%s", host);
  return 1;
}

/* host is no longer in flight; fresh until `until` (0: not recorded). */
static void release(struct proxy_learn *l, const char *host, int64_t until)
{
  struct fresh *f;
  size_t i;

  uv_mutex_lock(&l->mu);
  for (i = 0; i < l->ninflight; i++)
    if (strcmp(l->inflight[i], host) == 0) {
      l->ninflight--;
      memcpy(l->inflight[i], l->inflight[l->ninflight], sizeof(l->inflight[0]));
      break;
    }
  if (until > 0) {
    f = fresh_slot(l, host);
    snprintf(f->host, sizeof(f->host), "%s", host);
    f->until = until;
  }
  uv_mutex_unlock(&l->mu);
}

static int64_t policy_fresh_s(uint32_t max_age)
{
  int64_t half = HALF((int64_t)max_age);

  return half > PROXY_PROBE_FRESH_MIN_S ? half : PROXY_PROBE_FRESH_MIN_S;
}

/* A header over verified TLS that the store learns from (or deletes
 * with): store_probe_record applies the same rule. */
static int teaches(const struct store_probe *r)
{
  const char *why;

  return r->ok && r->sts_count > 0 &&
         store_policy_learn_rule(&r->parse, r->sts_len, r->time,
                                 HSTS_SOURCE_NONE, NULL,
                                 &why) != STORE_RULE_IGNORE;
}

static int64_t fresh_until(const struct store_probe *r)
{
  if (!r->ok)
    return r->time + PROXY_PROBE_FRESH_ERROR_S;
  if (!teaches(r) || r->parse.max_age == 0)
    return r->time + PROXY_PROBE_FRESH_NONE_S;
  return r->time + policy_fresh_s(r->parse.max_age);
}

/* Whether the worker's snapshot makes a probe of host pointless now. */
static int known_fresh(const struct proxy_worker *w, const char *host,
                       int64_t now)
{
  struct hsts_entry e;

  if (w->hsts == NULL || w->hsts->dynamic == NULL ||
      !hsts_index_get(w->hsts->dynamic, host, strlen(host), &e))
    return 0;
  if (e.source == HSTS_SOURCE_MANUAL)
    return 1;
  return e.source == HSTS_SOURCE_LEARNED &&
         now < e.observed + policy_fresh_s(e.max_age);
}

/* ---- the main thread: publishing ---- */

/* Applies u to ix by the store's rule (store_policy_learn_rule).
 * Returns 1 changed, 0 not, -1 out of memory. */
static int apply_one(struct hsts_index *ix, const struct update *u)
{
  struct hsts_entry cur, e;
  struct hsts_header h;
  int have = hsts_index_get(ix, u->host, strlen(u->host), &cur);
  const char *why;

  memset(&h, 0, sizeof(h)); /* what the queue kept of a taught header */
  h.valid = h.has_max_age = 1;
  h.max_age = u->max_age;
  h.include_subdomains = u->include_subdomains;
  switch (store_policy_learn_rule(
      &h, 0, u->observed, have ? cur.source : HSTS_SOURCE_NONE, &e, &why)) {
  case STORE_RULE_IGNORE:
    return 0;
  case STORE_RULE_DELETE:
    if (!have)
      return 0;
    return hsts_index_remove(ix, u->host) == HSTS_OK ? 1 : -1;
  case STORE_RULE_PUT:
    break;
  }
  e.host = u->host;
  return hsts_index_put(ix, &e) == HSTS_OK ? 1 : -1;
}

/* proxy__hsts_derive's edit: the updates of the batch. */
struct batch {
  const struct update *u;
  size_t n;
};

static int apply_batch(struct hsts_index *ix, void *arg)
{
  const struct batch *b = arg;
  size_t i;
  int changed = 0, rc;

  for (i = 0; i < b->n; i++) {
    rc = apply_one(ix, &b->u[i]);
    if (rc < 0)
      return -1;
    changed += rc;
  }
  return changed;
}

static void on_async(uv_async_t *a)
{
  struct proxy_learn *l = a->data;
  struct proxy_server *s = l->server;
  struct proxy_hsts *cur, *snap;
  struct batch batch;
  size_t n;
  int err;

  uv_mutex_lock(&l->mu);
  n = l->nqueue;
  memcpy(l->work, l->queue, n * sizeof(l->work[0]));
  l->nqueue = 0;
  uv_mutex_unlock(&l->mu);
  cur = atomic_load(&s->hsts);
  if (n == 0 || cur == NULL)
    return;
  batch.u = l->work;
  batch.n = n;
  snap = proxy__hsts_derive(cur, n, apply_batch, &batch, &err);
  if (snap != NULL) {
    proxy__hsts_publish(s, snap);
    if (s->cfg->verbose)
      fprintf(stderr, "hstsproxy: probes: policies updated (learned: %zu)\n",
              snap->learned);
  } else if (err) {
    fprintf(stderr,
            "hstsproxy: probes: out of memory updating %zu policies; "
            "the store has them, SIGHUP loads them\n",
            n);
  }
}

/* Worker thread: hands a header to the main thread. */
static void queue_update(struct proxy_learn *l, const struct store_probe *r)
{
  struct update *u;

  uv_mutex_lock(&l->mu);
  if (l->nqueue >= PROXY_PROBE_QUEUE_MAX) {
    l->lost++;
    uv_mutex_unlock(&l->mu);
    return;
  }
  u = &l->queue[l->nqueue++];
  snprintf(u->host, sizeof(u->host), "%s", r->host);
  u->observed = r->time;
  u->max_age = r->parse.max_age;
  u->include_subdomains = r->parse.include_subdomains;
  uv_mutex_unlock(&l->mu);
  uv_async_send(&l->async);
}

/* ---- the worker: probes ---- */

static void on_done(const struct store_probe *r, void *arg)
{
  struct slot *slot = arg;
  struct proxy_learn_worker *lw = slot->lw;
  struct proxy_server *s = lw->w->server;

  slot->used = 0;
  slot->probe = NULL;
  if (lw->draining) { /* canceled, or too late to matter */
    release(s->learn, r->host, 0);
    return;
  }
  release(s->learn, r->host, fresh_until(r));
  proxy__debug(lw->w, "probe %s:%u: %s", r->host, r->port,
               r->ok ? "completed" : r->error);
  if (s->writer != NULL)
    (void)store_writer_probe(s->writer, r); /* a full ring drops it */
  proxy__metrics_probe(s, r->cert_error       ? PROXY_PROBE_CERTIFICATE
                          : !r->ok            ? PROXY_PROBE_UNREACHABLE
                          : teaches(r)        ? PROXY_PROBE_LEARNED
                          : r->sts_count == 0 ? PROXY_PROBE_NO_HEADER
                                              : PROXY_PROBE_IGNORED);
  if (teaches(r))
    queue_update(s->learn, r);
}

static struct slot *free_slot(struct proxy_learn_worker *lw)
{
  size_t i;

  for (i = 0; i < PROXY_PROBE_WORKER_MAX; i++)
    if (!lw->slots[i].used)
      return &lw->slots[i];
  return NULL;
}

/* Starts a probe of host:port unless a rule says not to; at addr when
 * given (an intercepted connection's destination), else by --map or DNS. */
static void trigger(struct proxy_worker *w, const char *host, unsigned port,
                    const union proxy_sockaddr *addr)
{
  static const struct proxy_probe_cb cb = { on_done };
  struct proxy_server *s = w->server;
  struct proxy_learn_worker *lw = w->learn;
  struct proxy_probe_params pp;
  struct slot *slot;
  int64_t now = (int64_t)time(NULL);
  int ok, rc;

  if (s->learn == NULL || lw == NULL || lw->draining ||
      hsts_host_is_localhost(host) || known_fresh(w, host, now))
    return;
  slot = free_slot(lw);
  if (slot == NULL)
    return;
  uv_mutex_lock(&s->learn->mu);
  ok = claim(s->learn, host, now);
  uv_mutex_unlock(&s->learn->mu);
  if (!ok)
    return;
  memset(&pp, 0, sizeof(pp));
  pp.host = host;
  pp.port = port;
  pp.timeout_ms = PROXY_PROBE_RUN_TIMEOUT_MS;
  pp.maps = s->cfg->maps;
  pp.nmaps = s->cfg->nmaps;
  pp.tls = s->tls;
  pp.dns = &w->dns;
  pp.addr = addr != NULL ? &addr->sa : NULL;
  pp.mark = s->mark;
  pp.parent = proxy_config_parent_for(s->cfg, host); /* --upstream-proxy */
  slot->used = 1;
  rc = proxy_probe_start(&w->loop, &pp, &cb, slot, &slot->probe);
  if (rc < 0) {
    slot->used = 0;
    release(s->learn, host, 0);
    proxy__debug(w, "probe %s:%u: %s", host, port, uv_strerror(rc));
    return;
  }
  proxy__debug(w, "probe %s:%u: started", host, port);
}

void proxy__learn_connect(struct proxy_conn *conn)
{
  if (conn->target.is_ip || conn->target.port != PROXY_PROBE_PORT)
    return;
  trigger(conn->worker, conn->target.host, PROXY_PROBE_PORT,
          conn->orig_ok ? &conn->orig_dst : NULL);
}

void proxy__learn_redirect(struct proxy_conn *conn,
                           const struct http1_response *resp)
{
  char host[HSTS_HOST_MAX + 1];
  const struct http1_field *loc;
  enum hsts_host_kind kind;
  struct hsts_url u;

  if (conn->worker->learn == NULL || conn->target.is_ip ||
      resp->status < STATUS_3XX_MIN || resp->status > STATUS_3XX_MAX)
    return;
  loc = http1_find_field(resp->fields, resp->nfields, "location");
  if (loc == NULL || hsts_url_parse(loc->value, loc->value_len, &u) != HSTS_OK)
    return; /* relative: the same scheme, no upgrade */
  if (!http1_token_eq(u.scheme, u.scheme_len, "https") ||
      hsts_host_normalize(u.host, u.host_len, host, &kind) != HSTS_OK ||
      kind != HSTS_HOST_NAME || strcmp(host, conn->target.host) != 0)
    return;
  trigger(conn->worker, host, u.port != 0 ? u.port : PROXY_PROBE_PORT,
          conn->orig_ok ? &conn->orig_dst : NULL); /* its port: the probe's */
}

/* ---- setup and teardown ---- */

int proxy__learn_worker_open(struct proxy_worker *w)
{
  struct proxy_learn_worker *lw;
  size_t i;

  if (w->server->learn == NULL)
    return 0;
  lw = calloc(1, sizeof(*lw));
  if (lw == NULL)
    return UV_ENOMEM;
  lw->w = w;
  for (i = 0; i < PROXY_PROBE_WORKER_MAX; i++)
    lw->slots[i].lw = lw;
  w->learn = lw;
  return 0;
}

void proxy__learn_worker_drain(struct proxy_worker *w)
{
  struct proxy_learn_worker *lw = w->learn;
  size_t i;

  if (lw == NULL)
    return;
  lw->draining = 1;
  for (i = 0; i < PROXY_PROBE_WORKER_MAX; i++)
    if (lw->slots[i].used && lw->slots[i].probe != NULL)
      proxy_probe_cancel(lw->slots[i].probe); /* on_done follows */
}

void proxy__learn_worker_close(struct proxy_worker *w)
{
  free(w->learn);
  w->learn = NULL;
}

int proxy__learn_open(struct proxy_server *s, struct proxy_error *e)
{
  const struct proxy_config *cfg = s->cfg;
  struct proxy_learn *l;
  int err = UV_ENOMEM;

  if (cfg->no_probe && cfg->ca_file == NULL)
    return 0;
  if (proxy_tls_ctx_new(cfg->ca_file, &s->tls, e->why, sizeof(e->why)) < 0) {
    snprintf(e->what, sizeof(e->what), "%s",
             cfg->ca_file != NULL ? "--ca-file" : "TLS client");
    return UV_EINVAL;
  }
  if (cfg->no_probe)
    return 0;
  l = calloc(1, sizeof(*l));
  if (l == NULL)
    goto fail;
  l->fresh = calloc(PROXY_PROBE_FRESH_SLOTS, sizeof(*l->fresh));
  if (l->fresh == NULL)
    goto fail_free;
  err = uv_mutex_init(&l->mu);
  if (err < 0)
    goto fail_free;
  err = uv_async_init(&s->loop, &l->async, on_async);
  if (err < 0)
    goto fail_mutex;
  l->async.data = l;
  l->async_open = 1;
  l->server = s;
  s->learn = l;
  return 0;
fail_mutex:
  uv_mutex_destroy(&l->mu);
fail_free:
  free(l->fresh);
  free(l);
fail:
  snprintf(e->what, sizeof(e->what), "probes");
  snprintf(e->why, sizeof(e->why), "%s", uv_strerror(err));
  return err;
}

void proxy__learn_stop(struct proxy_server *s)
{
  if (s->learn == NULL || !s->learn->async_open)
    return;
  s->learn->async_open = 0;
  uv_close((uv_handle_t *)&s->learn->async, NULL);
}

void proxy__learn_close(struct proxy_server *s)
{
  if (s->learn != NULL) {
    uv_mutex_destroy(&s->learn->mu);
    free(s->learn->fresh);
    free(s->learn);
    s->learn = NULL;
  }
  proxy_tls_ctx_free(&s->tls);
}
