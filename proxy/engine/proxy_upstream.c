/*
 * proxy_upstream.c - connections to origins, and the pool of idle ones.
 *
 * An attached origin connection is read and written for the phase its
 * client connection runs: the phase says whether to read, where a read
 * lands and what it does (proxy_conn.h); this file knows no phase by
 * name. Connecting is the connect phase's (proxy_connect.c).
 *
 * The pool keeps idle keep-alive connections per worker, keyed
 * "host:port" as the client asked for it: at most PROXY_POOL_PER_ORIGIN
 * per key and PROXY_POOL_TOTAL in all, each closed after --timeout-idle,
 * or as soon as the origin closes it or sends anything while idle (a
 * pooled connection is always read, so this is noticed at once). The
 * list is most recently used first: a take reuses the warmest one and
 * the coldest ones age out through their idle timers.
 *
 * proxy__upstream_close() is the only function that closes an upstream's
 * handles; its last close callback frees it.
 */
#include "proxy_upstream.h"

#include <stdlib.h>
#include <string.h>

#include "proxy_debug.h"
#include "proxy_server.h"

static void on_up_closed(uv_handle_t *h)
{
  struct proxy_upstream *up = h->data;

  if (--up->pending_closes > 0)
    return;
  proxy__buf_free(&up->in, &up->in_cap);
  free(up);
}

static void pool_unlink(struct proxy_upstream *up)
{
  struct proxy_worker *w = up->worker;

  if (!up->pooled)
    return;
  if (up->prev != NULL)
    up->prev->next = up->next;
  else
    w->idle = up->next;
  if (up->next != NULL)
    up->next->prev = up->prev;
  up->prev = up->next = NULL;
  up->pooled = 0;
  w->nidle--;
}

void proxy__upstream_close(struct proxy_upstream *up, const char *reason)
{
  if (up == NULL || up->closing)
    return;
  up->closing = 1;
  proxy__debug(up->worker, "origin %s (%s): closed: %s", up->key,
               up->peer[0] != '\0' ? up->peer : "not connected", reason);
  pool_unlink(up);
  if (up->conn != NULL && up->conn->up == up)
    up->conn->up = NULL;
  up->conn = NULL;
  up->pending_closes = 2;
  if (up->poll_open) { /* before the stream: its descriptor */
    up->pending_closes++;
    uv_close((uv_handle_t *)&up->poll, on_up_closed);
  }
  uv_close((uv_handle_t *)&up->tcp, on_up_closed);
  uv_close((uv_handle_t *)&up->timer, on_up_closed);
}

struct proxy_upstream *proxy__upstream_new(struct proxy_conn *conn)
{
  struct proxy_worker *w = conn->worker;
  struct proxy_upstream *up = calloc(1, sizeof(*up));

  if (up == NULL)
    return NULL;
  up->worker = w;
  uv_tcp_init(&w->loop, &up->tcp);
  uv_timer_init(&w->loop, &up->timer);
  up->tcp.data = up;
  up->timer.data = up;
  up->connect_req.data = up;
  snprintf(up->key, sizeof(up->key), "%s", proxy__upstream_name(conn));
  return up;
}

/* ---- writing ---- */

static void on_up_write(uv_write_t *req, int status)
{
  struct proxy_wreq *w = (struct proxy_wreq *)req;
  struct proxy_upstream *up = req->handle->data;
  struct proxy_conn *conn = up->conn;

  up->wpending -= w->len;
  proxy__wreq_free(w);
  if (up->closing || conn == NULL)
    return;
  if (status < 0) {
    /* The origin may still answer (an early 413, say); the read side
     * decides. Nothing more is sent, and the connection is not reused. */
    up->write_failed = 1;
    conn->up_bad = 1;
    if (conn->phase->up_write_failed != NULL)
      conn->phase->up_write_failed(conn, status);
    return;
  }
  proxy__conn_activity(conn);
  proxy__conn_sync_read(conn);
}

void proxy__upstream_write(struct proxy_upstream *up, struct proxy_wreq *w)
{
  int n;

  if (up->closing || up->write_failed) {
    proxy__wreq_free(w);
    return;
  }
  n = proxy__wreq_send((uv_stream_t *)&up->tcp, w, 1, on_up_write);
  if (n < 0) {
    proxy__wreq_free(w);
    up->write_failed = 1;
    if (up->conn != NULL)
      up->conn->up_bad = 1;
    return;
  }
  up->wpending += (size_t)n;
  if (up->conn != NULL) {
    if (n == 0)
      proxy__conn_activity(up->conn);
    proxy__conn_sync_read(up->conn);
  }
}

void proxy__upstream_write_copy(struct proxy_upstream *up, const char *p,
                                size_t len)
{
  struct proxy_wreq *w = proxy__wreq_new(len);

  if (w == NULL) {
    up->write_failed = 1;
    return;
  }
  memcpy(w->data, p, len);
  w->len = len;
  proxy__upstream_write(up, w);
}

static void on_up_shutdown(uv_shutdown_t *req, int status)
{
  struct proxy_upstream *up = req->handle->data;
  struct proxy_conn *conn = up->conn;

  if (up->closing || conn == NULL)
    return;
  if (status < 0)
    proxy__conn_close(conn, uv_strerror(status));
  else
    up->shut(conn);
}

void proxy__upstream_shutdown(struct proxy_upstream *up, proxy__conn_cb cb)
{
  int err;

  if (up->shut_write)
    return;
  up->shut_write = 1;
  up->shut = cb;
  err = uv_shutdown(&up->shutdown_req, (uv_stream_t *)&up->tcp, on_up_shutdown);
  if (err < 0 && up->conn != NULL)
    proxy__conn_close(up->conn, uv_strerror(err));
}

/* ---- reading ---- */

static enum proxy_rbuf up_buf(const struct proxy_upstream *up)
{
  const struct proxy_conn *conn = up->conn;

  if (conn == NULL || conn->phase->up_buf == NULL)
    return PROXY_RBUF_DISCARD; /* pooled: anything read ends it */
  return conn->phase->up_buf(conn);
}

static void on_up_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct proxy_upstream *up = h->data;
  struct proxy_wreq *w;
  size_t room;

  switch (up_buf(up)) {
  case PROXY_RBUF_HEAD:
    room = proxy__buf_room(&up->in, &up->in_cap, up->in_len, PROXY_IN_MAX);
    *buf = uv_buf_init(room > 0 ? up->in + up->in_len : NULL, (unsigned)room);
    return;
  case PROXY_RBUF_CHUNK:
    w = proxy__wreq_new(PROXY_READ_CHUNK);
    *buf = uv_buf_init(w != NULL ? w->data : NULL,
                       w != NULL ? PROXY_READ_CHUNK : 0);
    return;
  default:
    *buf = uv_buf_init(up->worker->discard, sizeof(up->worker->discard));
    return;
  }
}

static void on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  struct proxy_upstream *up = s->data;

  if (up_buf(up) != PROXY_RBUF_DISCARD) {
    up->conn->phase->up_read(up->conn, nread, buf->base);
    return;
  }
  if (nread != 0)
    proxy__upstream_close(up, nread < 0 ? "closed by the origin while idle"
                                        : "origin sent bytes while idle");
}

static int up_wants_read(const struct proxy_upstream *up)
{
  const struct proxy_conn *conn = up->conn;

  if (!up->connected || up->closing)
    return 0;
  if (up->pooled)
    return 1;
  if (conn == NULL || conn->phase->up_wants == NULL || conn->splicing)
    return 0;
  return conn->phase->up_wants(conn, up->reading);
}

void proxy__upstream_sync_read(struct proxy_upstream *up)
{
  int want = up_wants_read(up);
  int err;

  if (want && !up->reading) {
    err = uv_read_start((uv_stream_t *)&up->tcp, on_up_alloc, on_up_read);
    if (err < 0) {
      if (up->conn != NULL)
        proxy__conn_close(up->conn, uv_strerror(err));
      else
        proxy__upstream_close(up, uv_strerror(err));
      return;
    }
    up->reading = 1;
  } else if (!want && up->reading) {
    uv_read_stop((uv_stream_t *)&up->tcp);
    up->reading = 0;
  }
}

/* ---- the pool ---- */

static void on_idle_timeout(uv_timer_t *t)
{
  proxy__upstream_close(t->data, "idle in the pool");
}

struct proxy_upstream *proxy__pool_take(struct proxy_conn *conn)
{
  struct proxy_upstream *up;

  for (up = conn->worker->idle; up != NULL; up = up->next)
    if (strcmp(up->key, proxy__upstream_name(conn)) == 0)
      break;
  if (up == NULL)
    return NULL;
  pool_unlink(up);
  uv_timer_stop(&up->timer);
  up->reused = 1;
  up->conn = conn;
  conn->up = up;
  /* Still reading, as in the pool: the caller sends the request at once
   * (the forward phase), so the loop never polls it in between. */
  return up;
}

/* Idle connections to key, counted up to PROXY_POOL_PER_ORIGIN. */
static size_t pooled_for(const struct proxy_worker *w, const char *key)
{
  const struct proxy_upstream *up;
  size_t n = 0;

  for (up = w->idle; up != NULL && n < PROXY_POOL_PER_ORIGIN; up = up->next)
    n += strcmp(up->key, key) == 0;
  return n;
}

void proxy__pool_put(struct proxy_upstream *up)
{
  struct proxy_worker *w = up->worker;

  if (up->conn != NULL && up->conn->up == up)
    up->conn->up = NULL;
  up->conn = NULL;
  up->reused = 0;
  if (w->draining || up->write_failed || up->wpending > 0 ||
      w->nidle >= PROXY_POOL_TOTAL ||
      pooled_for(w, up->key) >= PROXY_POOL_PER_ORIGIN) {
    proxy__upstream_close(up, "not kept in the pool");
    return;
  }
  proxy__buf_free(&up->in, &up->in_cap); /* idle: no buffer */
  up->in_len = 0;
  up->next = w->idle;
  if (w->idle != NULL)
    w->idle->prev = up;
  w->idle = up;
  w->nidle++;
  up->pooled = 1;
  uv_timer_start(&up->timer, on_idle_timeout,
                 proxy__ms(w->server->cfg->timeout_idle_s), 0);
  proxy__upstream_sync_read(up);
}

void proxy__pool_close_all(struct proxy_worker *w)
{
  while (w->idle != NULL)
    proxy__upstream_close(w->idle, "shutting down");
}
