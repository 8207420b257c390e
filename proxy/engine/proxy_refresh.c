/*
 * proxy_refresh.c - `run --preload-refresh`: the preload list refreshes
 * itself, as Chrome's component updater refreshes Chrome's.
 *
 * A timer on the main loop queues one check at a time on libuv's thread
 * pool (never on a loop: the download, the base64 decoding, the SQLite
 * import and the index build all block). A check downloads
 * --preload-url over verified TLS (--ca-file, or the system's trust
 * store), decodes gitiles' base64, and compares the list's SHA-256 with
 * the active list's: unchanged, nothing happens and nothing is said.
 * Changed, the list is imported with the store's guard (a list of fewer
 * than half the active entries is refused: a truncated download must not
 * shrink protection), a new snapshot is built, and the main loop publishes
 * it to every worker at once through proxy_hsts.c (no signal, no
 * connection dropped), saying so in one line. A failure says why in one
 * line and is retried with a doubling delay (from a minute, or the
 * interval when shorter, up to the interval).
 *
 * The first check comes one interval after the active list was imported
 * from the same URL, else a few minutes after the start (at most the
 * interval): a proxy restarted daily still refreshes, and a fresh list is
 * not downloaded again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy_fetch.h"
#include "proxy_hsts.h"
#include "proxy_refresh.h"
#include "store.h"
#include "store_preload.h"

#define FIRST_CHECK_MAX_MS  (5u * 60u * 1000u) /* after the start */
#define RETRY_MIN_MS        (60u * 1000u)      /* first retry, then x2 */
#define REFRESH_MESSAGE_MAX (PROXY_FETCH_ERROR_MAX + STORE_ERRMSG_MAX)

enum outcome { UNCHANGED, CHANGED, FAILED };

struct proxy_refresh {
  uv_timer_t timer;
  uv_work_t req;
  struct proxy_server *s;
  uint64_t interval_ms;
  uint64_t retry_ms;       /* next delay after a failure; 0 after a success */
  int busy;                /* a check is on the thread pool */
  int stopped;             /* the server is ending: no more checks */
  enum outcome outcome;    /* set by the work */
  struct proxy_hsts *snap; /* built by the work (CHANGED), then published */
  char msg[REFRESH_MESSAGE_MAX]; /* the line to log */
};

const char *proxy__refresh_url(const struct proxy_config *cfg)
{
  return cfg->preload_url != NULL ? cfg->preload_url
                                  : PROXY_PRELOAD_URL_DEFAULT;
}

/* The host of an https:// URL that proxy_fetch_url_check() accepted
 * (without brackets for IPv6), for --upstream-no-proxy. */
static void url_host(const char *url, char *out, size_t size)
{
  const char *p = strstr(url, "://"), *end;

  p = p != NULL ? p + 3 : url;
  if (*p == '[') {
    end = strchr(++p, ']');
  } else {
    end = p + strcspn(p, ":/?#");
  }
  if (end == NULL)
    end = p + strlen(p);
  snprintf(out, size, "%.*s", (int)(end - p), p);
}

/* Downloads the list into r->body (decoded), through --upstream-proxy
 * unless --upstream-no-proxy covers the URL's host. Returns 0 or -1 with
 * msg. */
static int download(struct proxy_refresh *rf, struct proxy_fetch_result *r)
{
  const struct proxy_config *cfg = rf->s->cfg;
  struct proxy_fetch_options fo;
  struct proxy_tls_ctx *tls = NULL;
  char host[PROXY_HOST_MAX + 1];
  char *plain;
  size_t len;
  int rc;

  if (proxy_tls_ctx_new(cfg->ca_file, &tls, rf->msg, sizeof(rf->msg)) < 0)
    return -1;
  memset(&fo, 0, sizeof(fo));
  fo.url = proxy__refresh_url(cfg);
  url_host(fo.url, host, sizeof(host));
  fo.parent = proxy_config_parent_for(cfg, host);
  fo.tls = tls;
  fo.body_max = PROXY_FETCH_BODY_MAX;
  fo.timeout_ms = PROXY_FETCH_TIMEOUT_MS;
  rc = proxy_fetch_get(&fo, r);
  proxy_tls_ctx_free(&tls);
  if (rc < 0) {
    snprintf(rf->msg, sizeof(rf->msg), "%s", r->error);
    return -1;
  }
  if (!proxy_fetch_is_base64(r->body, r->len))
    return 0;
  if (proxy_fetch_base64_decode(r->body, r->len, &plain, &len) < 0) {
    snprintf(rf->msg, sizeof(rf->msg),
             "%s: the body looks like base64 but does not decode", fo.url);
    return -1;
  }
  free(r->body);
  r->body = plain;
  r->len = len;
  return 0;
}

/* Imports the list unless unchanged; returns the outcome, msg set. */
static enum outcome import(struct proxy_refresh *rf,
                           const struct proxy_fetch_result *r)
{
  const char *url = proxy__refresh_url(rf->s->cfg);
  struct store_list_info active, in;
  struct store *st = NULL;
  char sha[65];
  int err;

  if (store_sha256_hex(r->body, r->len, sha) < 0) {
    snprintf(rf->msg, sizeof(rf->msg), "%s: SHA-256 failed", url);
    return FAILED;
  }
  err = store_open(rf->s->cfg->db_path, 0, &st);
  if (err == STORE_OK)
    err = store_preload_info(st, &active);
  if (err == STORE_OK && strcmp(active.sha256, sha) == 0) {
    store_close(&st);
    return UNCHANGED;
  }
  if (err == STORE_OK)
    err = store_preload_import_mem_flags(st, r->body, r->len, url,
                                         STORE_FORMAT_AUTO, (int64_t)time(NULL),
                                         STORE_IMPORT_GUARD, &in);
  if (err != STORE_OK) {
    snprintf(rf->msg, sizeof(rf->msg), "%s", store_errmsg(st));
    store_close(&st);
    return FAILED;
  }
  store_close(&st);
  snprintf(rf->msg, sizeof(rf->msg),
           "now %s (%zu hosts, %zu skipped) from %s, was %s (%zu hosts)",
           in.name, in.entries, in.skipped, url, active.name, active.entries);
  return CHANGED;
}

static void check_work(uv_work_t *req)
{
  struct proxy_refresh *rf = req->data;
  struct proxy_fetch_result r;

  rf->snap = NULL;
  rf->msg[0] = '\0';
  memset(&r, 0, sizeof(r));
  rf->outcome = download(rf, &r) < 0 ? FAILED : import(rf, &r);
  proxy_fetch_result_cleanup(&r);
  if (rf->outcome != CHANGED)
    return;
  /* Read-only, as a SIGHUP reload: the snapshot of what was imported. */
  if (proxy__hsts_load(rf->s->cfg->db_path, STORE_OPEN_READONLY, &rf->snap,
                       rf->msg, sizeof(rf->msg)) < 0)
    rf->outcome = FAILED;
}

static void on_timer(uv_timer_t *t);

static void schedule(struct proxy_refresh *rf, uint64_t ms)
{
  if (!rf->stopped)
    uv_timer_start(&rf->timer, on_timer, ms, 0);
}

static void check_done(uv_work_t *req, int status)
{
  struct proxy_refresh *rf = req->data;
  struct proxy_hsts *snap = rf->snap;
  uint64_t delay;

  rf->busy = 0;
  rf->snap = NULL;
  if (rf->stopped || status < 0) {
    proxy__hsts_free(&snap);
    return;
  }
  if (rf->outcome == FAILED) {
    delay = rf->retry_ms != 0 ? rf->retry_ms : RETRY_MIN_MS;
    if (delay > rf->interval_ms)
      delay = rf->interval_ms;
    rf->retry_ms = delay * 2;
    fprintf(stderr,
            "hstsproxy: preload refresh: %s; keeping the list loaded "
            "before, retrying in %llu s\n",
            rf->msg, (unsigned long long)(delay / HSTS_MS_PER_S));
    schedule(rf, delay);
    return;
  }
  rf->retry_ms = 0;
  if (rf->outcome == CHANGED) {
    proxy__hsts_publish(rf->s, snap);
    fprintf(stderr, "hstsproxy: preload refresh: %s\n", rf->msg);
  }
  schedule(rf, rf->interval_ms);
}

static void on_timer(uv_timer_t *t)
{
  struct proxy_refresh *rf = t->data;
  int err;

  if (rf->busy || rf->stopped)
    return;
  rf->req.data = rf;
  err = uv_queue_work(t->loop, &rf->req, check_work, check_done);
  if (err < 0) {
    fprintf(stderr, "hstsproxy: preload refresh: %s; retrying later\n",
            uv_strerror(err));
    schedule(rf, rf->interval_ms);
    return;
  }
  rf->busy = 1;
}

/* When the first check is due, from the active list's import. */
static uint64_t first_delay(const struct proxy_refresh *rf)
{
  const struct proxy_config *cfg = rf->s->cfg;
  struct store_list_info in;
  struct store *st = NULL;
  uint64_t first = rf->interval_ms < FIRST_CHECK_MAX_MS ? rf->interval_ms
                                                        : FIRST_CHECK_MAX_MS;
  int64_t now = (int64_t)time(NULL), due;

  if (store_open(cfg->db_path, STORE_OPEN_READONLY, &st) == STORE_OK &&
      store_preload_info(st, &in) == STORE_OK && !in.builtin &&
      strcmp(in.source, proxy__refresh_url(cfg)) == 0) {
    due = in.imported + (int64_t)(rf->interval_ms / HSTS_MS_PER_S);
    first = due > now ? (uint64_t)(due - now) * HSTS_MS_PER_S : 0;
  }
  store_close(&st);
  return first;
}

int proxy__refresh_start(struct proxy_server *s, struct proxy_error *e)
{
  struct proxy_refresh *rf;

  if (s->cfg->preload_refresh_ms == 0)
    return 0; /* --preload-refresh off */
  rf = calloc(1, sizeof(*rf));
  if (rf == NULL) {
    snprintf(e->what, sizeof(e->what), "preload refresh");
    snprintf(e->why, sizeof(e->why), "out of memory");
    return UV_ENOMEM;
  }
  rf->s = s;
  rf->interval_ms = s->cfg->preload_refresh_ms;
  uv_timer_init(&s->loop, &rf->timer);
  rf->timer.data = rf;
  s->refresh = rf;
  schedule(rf, first_delay(rf));
  return 0;
}

void proxy__refresh_stop(struct proxy_server *s)
{
  struct proxy_refresh *rf = s->refresh;

  if (rf == NULL || rf->stopped)
    return;
  rf->stopped = 1;
  uv_close((uv_handle_t *)&rf->timer, NULL);
  if (rf->busy)
    uv_cancel((uv_req_t *)&rf->req); /* a check not started yet */
}

void proxy__refresh_free(struct proxy_server *s)
{
  free(s->refresh);
  s->refresh = NULL;
}
