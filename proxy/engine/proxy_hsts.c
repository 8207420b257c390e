/*
 * proxy_hsts.c - the policy snapshots every worker reads, and SIGHUP.
 *
 * A struct proxy_hsts holds the two indexes of hsts_index.h (the static
 * one: the active preload list or the builtin; the dynamic one: learned
 * and manual policies) with the list's name and counts. It is built from
 * the store by blocking reads (proxy__hsts_load), never on a loop, and is
 * immutable once published: hsts_index.h allows any number of readers
 * while nobody writes, so the hot path (proxy__upgrade) takes no lock and
 * touches no shared counter. Expiry needs no rebuild: hsts_lookup() skips
 * dynamic entries whose time has passed.
 *
 * Publication and reclamation ("generation acknowledgement"):
 *  - The main thread owns every snapshot. s->hsts points to the current
 *    one; each has a generation number, 1 for the one built at start.
 *  - Each worker keeps a plain pointer w->hsts, used only on its own
 *    thread, and publishes that snapshot's generation in w->hsts_gen.
 *  - SIGHUP queues a rebuild on libuv's thread pool. When it is done, the
 *    main thread gives it the next generation, stores it in s->hsts
 *    (release), moves the old one to s->retired, and pokes every worker
 *    (w->hsts_pending, then its uv_async). In its async callback the
 *    worker loads s->hsts (acquire), switches w->hsts, stores the new
 *    generation in w->hsts_gen and signals s->hsts_ack.
 *  - On that ack (and after each publication) the main thread frees each
 *    retired snapshot R once every worker that can still run requests has
 *    w->hsts_gen > R.gen. A worker sets w->hsts_gen only after loading the
 *    pointer, and generations only grow, so a worker whose w->hsts_gen is
 *    newer than R can no longer reach R; one that is about to switch to R
 *    still shows an older generation, which keeps R alive. Workers whose
 *    loop is finishing (their async handle closed: no connections left)
 *    read nothing and do not count.
 *  - Everything still allocated is freed by proxy_run() after the worker
 *    threads are joined.
 *  - A learned policy (proxy_learn.c) is published the same way, at once:
 *    the new snapshot has a copy of the dynamic index with the change and
 *    shares the static index, whose ownership moves to it (the old one is
 *    marked static_borrowed). A snapshot is freed only when no worker
 *    holds it, and a worker holding an older generation keeps every newer
 *    one alive too, so the owner is never freed before a borrower.
 * Connections are never touched: a request in progress finishes with the
 * snapshot it started with, and a reload that fails (store locked,
 * deleted, corrupt) keeps the current snapshot and says why on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy_hsts.h"
#include "proxy_server.h"
#include "store.h"
#include "store_policy.h"
#include "store_preload.h"

int proxy__hsts_load(const char *db_path, unsigned store_flags,
                     struct proxy_hsts **out, char *err, size_t errsz)
{
  struct proxy_hsts *snap = calloc(1, sizeof(*snap));
  struct store_list_info info;
  struct store *st = NULL;
  int rc;

  *out = NULL;
  if (snap == NULL) {
    snprintf(err, errsz, "%s: out of memory", db_path);
    return -1;
  }
  rc = store_open(db_path, store_flags, &st);
  if (rc == STORE_OK)
    rc = store_load_static(st, NULL, &snap->static_ix, &info);
  if (rc == STORE_OK)
    rc = store_load_dynamic(st, NULL, (int64_t)time(NULL), &snap->dynamic);
  if (rc != STORE_OK) {
    snprintf(err, errsz, "%s", store_errmsg(st));
    store_close(&st);
    proxy__hsts_free(&snap);
    return -1;
  }
  store_close(&st);
  snprintf(snap->list_name, sizeof(snap->list_name), "%s", info.name);
  snap->list_hosts = info.entries;
  if (store_list_stale(&info, (int64_t)time(NULL)))
    snap->stale_days = store_list_age_days(&info, (int64_t)time(NULL));
  snap->list_time = store_list_time(&info);
  snap->learned = hsts_index_count(snap->dynamic);
  *out = snap;
  return 0;
}

void proxy__hsts_free(struct proxy_hsts **snap)
{
  if (snap == NULL || *snap == NULL)
    return;
  if (!(*snap)->static_borrowed)
    hsts_index_free(&(*snap)->static_ix);
  hsts_index_free(&(*snap)->dynamic);
  free(*snap);
  *snap = NULL;
}

struct copy {
  struct hsts_index *ix;
  int64_t now;
};

static int copy_entry(const struct hsts_entry *e, void *arg)
{
  struct copy *c = arg;

  if (e->expires != 0 && c->now > e->expires)
    return 0; /* expired: left behind */
  return hsts_index_put(c->ix, e) != HSTS_OK;
}

struct proxy_hsts *proxy__hsts_derive(struct proxy_hsts *cur, size_t more,
                                      proxy__hsts_edit_cb edit, void *arg,
                                      int *err)
{
  struct proxy_hsts *snap = calloc(1, sizeof(*snap));
  struct copy c;
  int changed;

  *err = 1;
  if (snap == NULL || hsts_index_new(hsts_index_count(cur->dynamic) + more,
                                     &snap->dynamic) != HSTS_OK)
    goto fail;
  c.ix = snap->dynamic;
  c.now = (int64_t)time(NULL);
  if (cur->dynamic != NULL &&
      hsts_index_foreach(cur->dynamic, copy_entry, &c) != 0)
    goto fail;
  changed = edit(snap->dynamic, arg);
  if (changed < 0)
    goto fail;
  *err = 0;
  if (changed == 0)
    goto fail;
  snap->static_ix = cur->static_ix;
  cur->static_borrowed = 1; /* the newer snapshot owns it now */
  memcpy(snap->list_name, cur->list_name, sizeof(snap->list_name));
  snap->list_hosts = cur->list_hosts;
  snap->stale_days = cur->stale_days;
  snap->list_time = cur->list_time;
  snap->learned = hsts_index_count(snap->dynamic);
  return snap;
fail:
  proxy__hsts_free(&snap);
  return NULL;
}

static int count_source(const struct hsts_entry *e, void *arg)
{
  struct proxy_store_counts *out = arg;

  if (e->source == HSTS_SOURCE_MANUAL)
    out->manual++;
  else
    out->learned++;
  return 0;
}

void proxy__hsts_counts(const struct proxy_hsts *snap,
                        struct proxy_store_counts *out)
{
  memset(out, 0, sizeof(*out));
  if (snap == NULL)
    return;
  out->preload_name = snap->list_name;
  out->preload_hosts = snap->list_hosts;
  if (snap->dynamic != NULL)
    hsts_index_foreach(snap->dynamic, count_source, out);
  out->preload_stale_days = snap->stale_days;
}

int proxy__hsts_open(struct proxy_server *s, struct proxy_error *e)
{
  struct proxy_hsts *snap = NULL;

  /* Read-write: creates a missing store and migrates an old one. */
  if (proxy__hsts_load(s->cfg->db_path, 0, &snap, e->why, sizeof(e->why)) < 0) {
    snprintf(e->what, sizeof(e->what), "store");
    return UV_EIO;
  }
  snap->gen = s->hsts_gen = 1;
  atomic_store_explicit(&s->hsts, snap, memory_order_release);
  return 0;
}

void proxy__hsts_close(struct proxy_server *s)
{
  struct proxy_hsts *snap = atomic_load(&s->hsts);

  proxy__hsts_free(&snap);
  atomic_store(&s->hsts, NULL);
  while (s->retired != NULL) {
    snap = s->retired;
    s->retired = snap->next;
    proxy__hsts_free(&snap);
  }
}

/* Whether a worker that can still run requests may read snap. */
static int held(struct proxy_server *s, const struct proxy_hsts *snap)
{
  size_t i;

  for (i = 0; i < s->nworkers; i++) {
    struct proxy_worker *w = &s->workers[i];

    if (proxy__worker_alive(w) &&
        atomic_load_explicit(&w->hsts_gen, memory_order_acquire) <= snap->gen)
      return 1;
  }
  return 0;
}

void proxy__hsts_sweep(struct proxy_server *s)
{
  struct proxy_hsts **pp = &s->retired;

  while (*pp != NULL) {
    struct proxy_hsts *snap = *pp;

    if (held(s, snap)) {
      pp = &snap->next;
      continue;
    }
    *pp = snap->next;
    proxy__hsts_free(&snap);
  }
}

void proxy__hsts_adopt(struct proxy_worker *w)
{
  struct proxy_hsts *snap =
      atomic_load_explicit(&w->server->hsts, memory_order_acquire);

  if (snap == NULL || snap == w->hsts)
    return;
  w->hsts = snap;
  atomic_store_explicit(&w->hsts_gen, snap->gen, memory_order_release);
  uv_async_send(&w->server->hsts_ack);
}

/* ---- SIGHUP ---- */

static void reload_work(uv_work_t *req)
{
  struct proxy_server *s = req->data;
  struct proxy_hsts_reload *r = &s->reload;

  r->err[0] = '\0';
  /* Read-only: a reload never creates or migrates a store. */
  proxy__hsts_load(s->cfg->db_path, STORE_OPEN_READONLY, &r->snap, r->err,
                   sizeof(r->err));
}

void proxy__hsts_publish(struct proxy_server *s, struct proxy_hsts *snap)
{
  struct proxy_hsts *old = atomic_load(&s->hsts);
  size_t i;

  snap->gen = ++s->hsts_gen;
  atomic_store_explicit(&s->hsts, snap, memory_order_release);
  old->next = s->retired;
  s->retired = old;
  for (i = 0; i < s->nworkers; i++)
    proxy__worker_poke(&s->workers[i]);
  proxy__hsts_sweep(s);
}

static void reload_done(uv_work_t *req, int status)
{
  struct proxy_server *s = req->data;
  struct proxy_hsts_reload *r = &s->reload;
  struct proxy_hsts *snap = r->snap;
  struct proxy_store_counts counts;

  r->snap = NULL;
  r->busy = 0;
  if (snap != NULL && status == 0) {
    proxy__hsts_counts(snap, &counts);
    proxy__hsts_publish(s, snap);
    fprintf(stderr,
            "hstsproxy: reloaded (preload: %s %zu hosts, learned: %zu, "
            "manual: %zu)\n",
            counts.preload_name, counts.preload_hosts, counts.learned,
            counts.manual);
  } else {
    proxy__hsts_free(&snap);
    fprintf(stderr,
            "hstsproxy: reload: %s; keeping the policies loaded "
            "before\n",
            status < 0 ? uv_strerror(status) : r->err);
  }
  if (r->again) {
    r->again = 0;
    proxy__hsts_reload(s);
  }
}

void proxy__hsts_reload(struct proxy_server *s)
{
  struct proxy_hsts_reload *r = &s->reload;
  int err;

  if (r->busy) { /* coalesce: one more rebuild after this one */
    r->again = 1;
    return;
  }
  r->req.data = s;
  err = uv_queue_work(&s->loop, &r->req, reload_work, reload_done);
  if (err < 0) {
    fprintf(stderr,
            "hstsproxy: reload: %s; keeping the policies loaded "
            "before\n",
            uv_strerror(err));
    return;
  }
  r->busy = 1;
}
