/*
 * proxy_console_api.c - the console's API calls that touch the store:
 * GET /api/hops, GET/POST/DELETE /api/policy and GET /api/audit.
 *
 * Each runs as a job on libuv's thread pool with its own SQLite
 * connection, never on a worker's loop: the connection reads nothing
 * while its job runs, and the answer is written when the job is done (a
 * job whose connection closed meanwhile is freed unseen). At most
 * PROXY_CONSOLE_JOBS_MAX jobs run at once over all workers (past that:
 * 503), so consoles cannot crowd DNS lookups out of the pool.
 *
 * The answers reuse the CLI's renderers (cfg->console_ops): `policy
 * query --json` for a policy, the audit's HTML report; hops are the
 * `hop_json` objects `log --json` prints, newest last.
 *
 * POST reads its body (Content-Length only, at most
 * PROXY_CONSOLE_BODY_MAX bytes) in the `body` phase first; SQLite's JSON1
 * checks it in the job. An added or deleted policy is written through the
 * store, then handed to the main thread, which applies it to a copy of
 * the current policies and publishes it to every worker (as a learned
 * policy is, proxy_learn.c); the job waits (at most
 * PROXY_CONSOLE_PUBLISH_MS) until every worker uses that snapshot, so
 * the next request, on any worker, sees the change.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy_conn.h"
#include "proxy_console.h"
#include "proxy_hsts.h"
#include "proxy_server.h"
#include "store_log_read.h"
#include "store_policy.h"

#define WAIT_STEP_MS       1u
#define PARAM_MAX          512
#define JOB_ERR_MAX        512
#define MS_PER_DAY         (86400LL * 1000)
#define AUDIT_DAYS_DEFAULT 7
#define AUDIT_CSP                                                  \
  "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n" \
  "Content-Security-Policy: default-src 'none'; style-src "        \
  "'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox\r\n"

static atomic_uint jobs_running;

enum job_kind { J_HOPS, J_POLICY_GET, J_POLICY_PUT, J_POLICY_DEL, J_AUDIT };

struct proxy_console_job {
  uv_work_t req;
  struct proxy_conn *conn;     /* NULL once the connection closed */
  struct proxy_server *server; /* not owned */
  enum job_kind kind;
  int queued;           /* on the pool (else: reading the body) */
  char host[PARAM_MAX]; /* as given */
  char hop_kind[PARAM_MAX];
  char client[PARAM_MAX];
  uint64_t limit;
  int64_t since_ms, until_ms;
  char *body; /* owned: the POST body, NUL-terminated */
  size_t body_len, body_need;
  /* The answer. */
  int status;
  const char *type;
  char *out; /* owned (open_memstream) */
  size_t out_len;
  char err[JOB_ERR_MAX];
};

static void job_free(struct proxy_console_job *job)
{
  free(job->body);
  free(job->out);
  free(job);
}

/* A job refused before it was queued: answered already. */
static void job_drop(struct proxy_conn *conn, struct proxy_console_job *job)
{
  conn->console_job = NULL;
  job_free(job);
}

/* ---- on the pool ---- */

static int fail(struct proxy_console_job *job, int status, const char *why)
{
  job->status = status;
  snprintf(job->err, sizeof(job->err), "%s", why);
  return -1;
}

static int store_fail(struct proxy_console_job *job, struct store *s, int rc)
{
  (void)rc; /* store_errmsg() names the file and the cause */
  snprintf(job->err, sizeof(job->err), "%s", store_errmsg(s));
  job->status = 500;
  return -1;
}

static int hop_row(const struct store_log_row *row, void *arg)
{
  FILE *f = arg;
  long at = ftell(f);

  if (row->json != NULL)
    fprintf(f, "%s%s", at > 1 ? "," : "", row->json);
  return 0;
}

static void hops_work(struct proxy_console_job *job, FILE *f)
{
  struct store_log_filter flt;
  char norm[HSTS_HOST_MAX + 1];
  enum hsts_host_kind hk;
  struct store *s = NULL;
  int rc;

  memset(&flt, 0, sizeof(flt));
  flt.limit = job->limit;
  flt.kind = job->hop_kind[0] != '\0' ? job->hop_kind : NULL;
  flt.client = job->client[0] != '\0' ? job->client : NULL;
  if (job->host[0] != '\0') {
    if (hsts_host_normalize(job->host, strlen(job->host), norm, &hk) !=
        HSTS_OK) {
      fail(job, 400, "host: not a host name or IP address");
      return;
    }
    flt.host = norm;
  }
  rc = store_open(job->server->cfg->db_path, STORE_OPEN_READONLY, &s);
  if (rc != STORE_OK) {
    store_fail(job, s, rc);
    store_close(&s);
    return;
  }
  fputc('[', f);
  rc = store_log_foreach(s, &flt, STORE_LOG_JSON, hop_row, f);
  fputs("]\n", f);
  if (rc != STORE_OK)
    store_fail(job, s, rc);
  store_close(&s);
}

static void render_policy(struct proxy_console_job *job, const char *host,
                          FILE *f)
{
  const struct proxy_config *cfg = job->server->cfg;
  char err[JOB_ERR_MAX] = "";
  int rc;

  if (cfg->console_ops == NULL || cfg->console_ops->policy_json == NULL) {
    fail(job, 500, "this build has no policy query");
    return;
  }
  rc = cfg->console_ops->policy_json(cfg->db_path, host, f, err, sizeof(err));
  if (rc != 0)
    fail(job, rc > 0 ? 400 : 500, err);
}

/* The body's members, checked with SQLite's JSON1 (an in-memory
 * connection). Returns 0, or -1 with the fault named. */
static const char sql_body[] =
    "SELECT v, CASE WHEN v THEN json_type(?1) END, "
    "CASE WHEN v THEN json_type(?1, '$.host') END, "
    "CASE WHEN v THEN json_extract(?1, '$.host') END, "
    "CASE WHEN v THEN json_type(?1, '$.max_age') END, "
    "CASE WHEN v THEN json_extract(?1, '$.max_age') END, "
    "CASE WHEN v THEN json_type(?1, '$.include_subdomains') END "
    "FROM (SELECT json_valid(?1) AS v)";

static int body_parse(struct proxy_console_job *job,
                      struct proxy_console_edit *e)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  const char *t, *sub;
  sqlite3_int64 age;
  int rc = -1;

  if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
      sqlite3_prepare_v2(db, sql_body, -1, &st, NULL) != SQLITE_OK) {
    fail(job, 500, "cannot check the body: SQLite failed");
    goto done;
  }
  sqlite3_bind_text(st, 1, job->body, (int)job->body_len, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_ROW) {
    fail(job, 500, "cannot check the body: SQLite failed");
    goto done;
  }
  t = (const char *)sqlite3_column_text(st, 1);
  sub = (const char *)sqlite3_column_text(st, 6);
  age = sqlite3_column_int64(st, 5);
  if (sqlite3_column_int(st, 0) == 0)
    fail(job, 400, "the body is not valid JSON");
  else if (t == NULL || strcmp(t, "object") != 0)
    fail(job, 400, "the body must be a JSON object");
  else if (sqlite3_column_type(st, 2) == SQLITE_NULL ||
           strcmp((const char *)sqlite3_column_text(st, 2), "text") != 0)
    fail(job, 400, "\"host\" must be a string");
  else if (sqlite3_column_type(st, 4) == SQLITE_NULL ||
           strcmp((const char *)sqlite3_column_text(st, 4), "integer") != 0 ||
           age < 1 || age > (sqlite3_int64)UINT32_MAX)
    fail(job, 400, "\"max_age\" must be an integer from 1 to 4294967295");
  else if (sub != NULL && strcmp(sub, "true") != 0 && strcmp(sub, "false") != 0)
    fail(job, 400, "\"include_subdomains\" must be true or false");
  else if (snprintf(job->host, sizeof(job->host), "%s",
                    (const char *)sqlite3_column_text(st, 3)) >=
           (int)sizeof(job->host))
    fail(job, 400, "\"host\" is too long");
  else {
    e->max_age = (uint32_t)age;
    e->include_subdomains = sub != NULL && strcmp(sub, "true") == 0;
    rc = 0;
  }
done:
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rc;
}

/* Hands e to the main thread and waits until every worker uses the
 * snapshot that has it (bounded). Returns 1 published, 0 not (yet). */
static int publish_wait(struct proxy_server *srv,
                        const struct proxy_console_edit *e)
{
  struct proxy_console *c = srv->console;
  uint64_t deadline = uv_hrtime() + PROXY_CONSOLE_PUBLISH_MS * HSTS_NS_PER_MS;
  uint64_t ticket, gen, now;
  size_t i;
  int ok;

  uv_mutex_lock(&c->mu);
  if (!c->async_open || c->nedits >= PROXY_CONSOLE_EDITS_MAX) {
    uv_mutex_unlock(&c->mu);
    return 0;
  }
  c->edits[c->nedits++] = *e;
  ticket = ++c->queued;
  uv_async_send(&c->async); /* under mu: the async is open */
  while (c->applied < ticket && c->async_open) {
    now = uv_hrtime();
    if (now >= deadline ||
        uv_cond_timedwait(&c->applied_cond, &c->mu, deadline - now) != 0)
      break;
  }
  ok = c->applied >= ticket;
  gen = c->applied_gen;
  uv_mutex_unlock(&c->mu);
  for (i = 0; ok && i < srv->nworkers; i++) {
    struct proxy_worker *w = &srv->workers[i];

    while (atomic_load_explicit(&w->hsts_gen, memory_order_acquire) < gen &&
           proxy__worker_alive(w) && uv_hrtime() < deadline)
      uv_sleep(WAIT_STEP_MS);
  }
  return ok;
}

static void policy_edit(struct proxy_console_job *job, FILE *f)
{
  struct proxy_console_edit e;
  struct store *s = NULL;
  const char *why = NULL;
  int rc = store_open(job->server->cfg->db_path, 0, &s);

  memset(&e, 0, sizeof(e));
  e.del = job->kind == J_POLICY_DEL;
  e.now = (int64_t)time(NULL);
  if (!e.del && body_parse(job, &e) < 0)
    goto done;
  if (rc != STORE_OK) {
    store_fail(job, s, rc);
    goto done;
  }
  if (store_policy_host(job->host, strlen(job->host), e.host, &why) !=
      STORE_OK) {
    fail(job, 400, why);
    goto done;
  }
  rc = e.del ? store_policy_delete(s, e.host, NULL)
             : store_policy_add(s, e.host, e.include_subdomains, e.max_age,
                                "console", e.now, NULL);
  if (rc == STORE_ENOTFOUND || rc == STORE_EPRELOADED) {
    fail(job, rc == STORE_ENOTFOUND ? 404 : 409,
         rc == STORE_ENOTFOUND
             ? "no learned or manual policy for this host"
             : "the host is on the preload list, which cannot be deleted");
    goto done;
  }
  if (rc != STORE_OK) {
    store_fail(job, s, rc);
    goto done;
  }
  store_close(&s);
  publish_wait(job->server, &e);
  render_policy(job, e.host, f);
done:
  store_close(&s);
}

static void audit_work(struct proxy_console_job *job, FILE *f)
{
  const struct proxy_config *cfg = job->server->cfg;
  char err[JOB_ERR_MAX] = "";
  int rc;

  if (cfg->console_ops == NULL || cfg->console_ops->audit_html == NULL) {
    fail(job, 500, "this build has no audit report");
    return;
  }
  rc = cfg->console_ops->audit_html(cfg->db_path, job->since_ms, job->until_ms,
                                    f, err, sizeof(err));
  if (rc != 0)
    fail(job, rc > 0 ? 400 : 500, err);
}

static void on_work(uv_work_t *req)
{
  struct proxy_console_job *job = req->data;
  FILE *f = open_memstream(&job->out, &job->out_len);

  job->status = 200;
  if (f == NULL) {
    fail(job, 500, "out of memory");
    return;
  }
  switch (job->kind) {
  case J_HOPS:
    hops_work(job, f);
    break;
  case J_POLICY_GET:
    render_policy(job, job->host, f);
    break;
  case J_POLICY_PUT:
  case J_POLICY_DEL:
    policy_edit(job, f);
    break;
  case J_AUDIT:
    audit_work(job, f);
    break;
  }
  if (fclose(f) != 0 && job->status == 200)
    fail(job, 500, "out of memory");
}

/* ---- on the loop ---- */

static void on_done(uv_work_t *req, int status)
{
  struct proxy_console_job *job = req->data;
  struct proxy_conn *conn = job->conn;

  atomic_fetch_sub(&jobs_running, 1);
  if (conn == NULL) {
    job_free(job);
    return;
  }
  conn->console_job = NULL;
  if (status < 0)
    proxy__console_fail(conn, 503, "the request was canceled");
  else if (job->status != 200)
    proxy__console_fail(conn, job->status, job->err);
  else if (job->kind == J_AUDIT)
    proxy__answer(conn, 200, AUDIT_CSP, "text/html; charset=utf-8", job->out,
                  job->out_len, 0);
  else
    proxy__console_json(conn, 200, job->out, job->out_len);
  job_free(job);
}

/* The phase while a job runs: nothing is read. */
static const struct proxy_phase phase_job = { .name = "console job" };

static void job_queue(struct proxy_conn *conn, struct proxy_console_job *job)
{
  if (atomic_fetch_add(&jobs_running, 1) >= PROXY_CONSOLE_JOBS_MAX ||
      uv_queue_work(conn->client.loop, &job->req, on_work, on_done) != 0) {
    atomic_fetch_sub(&jobs_running, 1);
    conn->console_job = NULL;
    job_free(job);
    proxy__console_fail(conn, 503, "too many console requests at once");
    return;
  }
  job->queued = 1;
  proxy__conn_enter(conn, &phase_job, 0);
}

static struct proxy_console_job *job_new(struct proxy_conn *conn,
                                         enum job_kind kind)
{
  struct proxy_console_job *job = calloc(1, sizeof(*job));

  if (job == NULL) {
    proxy__conn_close(conn, "out of memory");
    return NULL;
  }
  job->req.data = job;
  job->conn = conn;
  job->server = conn->worker->server;
  job->kind = kind;
  conn->console_job = job;
  return job;
}

void proxy__console_conn_closed(struct proxy_conn *conn)
{
  struct proxy_console_job *job = conn->console_job;

  proxy__console_stream_closed(conn);
  if (job == NULL)
    return;
  conn->console_job = NULL;
  if (!job->queued) {
    job_free(job);
    return;
  }
  job->conn = NULL;
  (void)uv_cancel((uv_req_t *)&job->req); /* or it runs, unseen */
}

/* ---- the POST body ---- */

static size_t body_take(struct proxy_console_job *job, const char *p, size_t n)
{
  size_t take = job->body_need - job->body_len;

  if (take > n)
    take = n;
  memcpy(job->body + job->body_len, p, take);
  job->body_len += take;
  job->body[job->body_len] = '\0';
  return take;
}

static int body_wants(const struct proxy_conn *conn, int reading)
{
  (void)reading;
  return conn->console_job != NULL &&
         conn->console_job->body_len < conn->console_job->body_need;
}

static enum proxy_rbuf body_buf(const struct proxy_conn *conn)
{
  (void)conn;
  return PROXY_RBUF_DISCARD;
}

static void body_read(struct proxy_conn *conn, ssize_t nread, char *base)
{
  struct proxy_console_job *job = conn->console_job;

  if (nread < 0) {
    proxy__conn_close(conn, "client left mid-body");
    return;
  }
  if (job == NULL || nread == 0)
    return;
  proxy__conn_activity(conn);
  if (body_take(job, base, (size_t)nread) < (size_t)nread)
    conn->req.keep_alive = 0; /* a pipelined request: lost, so close */
  if (job->body_len == job->body_need) {
    conn->req_done = 1;
    job_queue(conn, job);
  }
}

static void body_timeout(struct proxy_conn *conn)
{
  proxy__conn_error(conn, 408, 1, "request body not received in time");
}

static const struct proxy_phase phase_body = {
  .name = "console body",
  .client_buf = body_buf,
  .client_wants = body_wants,
  .client_read = body_read,
  .timeout = body_timeout,
};

/* Takes the body bytes that came with the head, then reads the rest. */
static void body_start(struct proxy_conn *conn, struct proxy_console_job *job)
{
  const struct http1_body *b = &conn->req.body;
  size_t avail = conn->in_len - conn->head_len, took;

  if (b->kind != HTTP1_BODY_LENGTH || b->remaining > PROXY_CONSOLE_BODY_MAX) {
    job_drop(conn, job);
    proxy__console_fail(conn, 400,
                        b->kind == HTTP1_BODY_NONE
                            ? "the body is not valid JSON (it is empty)"
                        : b->kind == HTTP1_BODY_CHUNKED
                            ? "send the body with a Content-Length"
                            : "the body is too large (4096 bytes at most)");
    return;
  }
  job->body_need = (size_t)b->remaining;
  job->body = malloc(job->body_need + 1);
  if (job->body == NULL) {
    proxy__conn_close(conn, "out of memory");
    return;
  }
  took = body_take(job, conn->in + conn->head_len, avail);
  memmove(conn->in + conn->head_len, conn->in + conn->head_len + took,
          avail - took);
  conn->in_len -= took;
  if (job->body_len == job->body_need) {
    conn->req_done = 1;
    job_queue(conn, job);
    return;
  }
  proxy__conn_enter(conn, &phase_body,
                    proxy__ms(conn->worker->server->cfg->timeout_header_s));
}

/* ---- the routes ---- */

/* Query parameter name into out ("" when absent). Returns 0, or -1
 * after answering 400 when it is malformed. */
static int param(struct proxy_conn *conn, const char *name, char *out,
                 size_t size)
{
  char why[PARAM_MAX];
  int rc = proxy__console_param(conn, name, out, size);

  if (rc >= 0)
    return 0;
  out[0] = '\0';
  if (rc == -1)
    return 0;
  snprintf(why, sizeof(why), "%s: bad percent-encoding, or too long", name);
  proxy__console_fail(conn, 400, why);
  return -1;
}

void proxy__console_hops(struct proxy_conn *conn)
{
  struct proxy_console_job *job;
  char limit[PARAM_MAX];
  const char *why;
  unsigned n = PROXY_CONSOLE_HOPS_DEFAULT;

  if (param(conn, "limit", limit, sizeof(limit)) < 0)
    return;
  if (limit[0] != '\0' &&
      proxy_parse_uint(limit, 1, PROXY_CONSOLE_HOPS_MAX, &n, &why) < 0) {
    proxy__console_fail(conn, 400, "limit: expected 1-5000");
    return;
  }
  job = job_new(conn, J_HOPS);
  if (job == NULL)
    return;
  job->limit = n;
  if (param(conn, "host", job->host, sizeof(job->host)) < 0 ||
      param(conn, "kind", job->hop_kind, sizeof(job->hop_kind)) < 0 ||
      param(conn, "client", job->client, sizeof(job->client)) < 0) {
    job_drop(conn, job);
    return;
  }
  if (job->hop_kind[0] != '\0' && strcmp(job->hop_kind, "hsts-upgrade") != 0 &&
      strcmp(job->hop_kind, "upstream-redirect") != 0) {
    job_drop(conn, job);
    proxy__console_fail(conn, 400,
                        "kind: expected hsts-upgrade or upstream-redirect");
    return;
  }
  job_queue(conn, job);
}

void proxy__console_policy(struct proxy_conn *conn)
{
  const struct http1_request *req = &conn->req;
  int post = http1_token_eq(req->method, req->method_len, "POST");
  int del = http1_token_eq(req->method, req->method_len, "DELETE");
  struct proxy_console_job *job = job_new(conn, post  ? J_POLICY_PUT
                                                : del ? J_POLICY_DEL
                                                      : J_POLICY_GET);

  if (job == NULL)
    return;
  if (post) {
    body_start(conn, job);
    return;
  }
  if (param(conn, "host", job->host, sizeof(job->host)) < 0) {
    job_drop(conn, job);
    return;
  }
  if (job->host[0] == '\0') {
    job_drop(conn, job);
    proxy__console_fail(conn, 400, "host: missing (?host=example.com)");
    return;
  }
  job_queue(conn, job);
}

/* since/until: Unix ms, or days back (since only); default the last week. */
void proxy__console_audit(struct proxy_conn *conn)
{
  struct proxy_console_job *job;
  char v[PARAM_MAX];
  int64_t now = (int64_t)time(NULL) * 1000;
  unsigned days = AUDIT_DAYS_DEFAULT;
  const char *why;

  if (param(conn, "days", v, sizeof(v)) < 0)
    return;
  if (v[0] != '\0' &&
      proxy_parse_uint(v, 1, PROXY_TIMEOUT_MAX_S, &days, &why) < 0) {
    proxy__console_fail(conn, 400,
                        "days: expected a number of days, 1 or more");
    return;
  }
  job = job_new(conn, J_AUDIT);
  if (job == NULL)
    return;
  job->until_ms = now;
  job->since_ms = now - (int64_t)days * MS_PER_DAY;
  job_queue(conn, job);
}

/* ---- the main thread: publishing edits ---- */

struct edits {
  const struct proxy_console_edit *e;
  size_t n;
};

static int apply_edits(struct hsts_index *ix, void *arg)
{
  const struct edits *b = arg;
  struct hsts_entry cur, e;
  int changed = 0;
  size_t i;

  for (i = 0; i < b->n; i++) {
    const struct proxy_console_edit *d = &b->e[i];

    if (d->del) {
      if (hsts_index_get(ix, d->host, strlen(d->host), &cur) &&
          hsts_index_remove(ix, d->host) != HSTS_OK)
        return -1;
      changed++;
      continue;
    }
    memset(&e, 0, sizeof(e));
    e.host = d->host;
    e.source = HSTS_SOURCE_MANUAL;
    e.include_subdomains = d->include_subdomains != 0;
    e.force_https = 1;
    e.max_age = d->max_age;
    e.observed = d->now;
    e.expires = d->now + (int64_t)d->max_age;
    if (hsts_index_put(ix, &e) != HSTS_OK)
      return -1;
    changed++;
  }
  return changed;
}

void proxy__console_publish(uv_async_t *a)
{
  struct proxy_console *c = a->data;
  struct proxy_server *s = c->server;
  struct proxy_hsts *cur, *snap = NULL;
  struct edits b;
  size_t n;
  int err = 0;

  uv_mutex_lock(&c->mu);
  n = c->nedits;
  memcpy(c->work, c->edits, n * sizeof(c->edits[0]));
  c->nedits = 0;
  uv_mutex_unlock(&c->mu);
  cur = atomic_load(&s->hsts);
  b.e = c->work;
  b.n = n;
  if (n > 0 && cur != NULL)
    snap = proxy__hsts_derive(cur, n, apply_edits, &b, &err);
  if (snap != NULL)
    proxy__hsts_publish(s, snap);
  else if (err)
    fprintf(stderr,
            "hstsproxy: console: out of memory publishing %zu "
            "policy changes; the store has them, SIGHUP loads them\n",
            n);
  uv_mutex_lock(&c->mu);
  c->applied += n;
  c->applied_gen = s->hsts_gen;
  uv_cond_broadcast(&c->applied_cond);
  uv_mutex_unlock(&c->mu);
}
