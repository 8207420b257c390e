/*
 * proxy_upstream.c - connections to origins, and the pool of idle ones.
 *
 * Connecting: --map first (no lookup), else the worker's resolver; then
 * each address in turn until one connects. Every attempt is a fresh
 * struct proxy_upstream, because a libuv handle whose connect failed
 * cannot connect again. The whole sequence, DNS included, is bounded by
 * the client connection's timer (--timeout-connect).
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
#include <stdlib.h>
#include <string.h>

#include "proxy_int.h"

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
  proxy__log(up->worker, "origin %s (%s): closed: %s", up->key,
             up->peer[0] != '\0' ? up->peer : "not connected", reason);
  pool_unlink(up);
  if (up->conn != NULL && up->conn->up == up)
    up->conn->up = NULL;
  up->conn = NULL;
  up->pending_closes = 2;
  uv_close((uv_handle_t *)&up->tcp, on_up_closed);
  uv_close((uv_handle_t *)&up->timer, on_up_closed);
}

static struct proxy_upstream *upstream_new(struct proxy_conn *conn)
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
  snprintf(up->key, sizeof(up->key), "%s", conn->target.key);
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
    if (conn->phase == PROXY_PHASE_TUNNEL)
      proxy__conn_close(conn, uv_strerror(status));
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
    proxy__tunnel_shutdown_done(conn);
}

void proxy__upstream_shutdown(struct proxy_upstream *up)
{
  int err;

  if (up->shut_write)
    return;
  up->shut_write = 1;
  err = uv_shutdown(&up->shutdown_req, (uv_stream_t *)&up->tcp, on_up_shutdown);
  if (err < 0 && up->conn != NULL)
    proxy__conn_close(up->conn, uv_strerror(err));
}

/* ---- reading ---- */

enum bufkind { BUF_HEAD, BUF_CHUNK, BUF_DISCARD };

static enum bufkind up_buf_kind(const struct proxy_upstream *up)
{
  const struct proxy_conn *conn = up->conn;

  if (conn == NULL)
    return BUF_DISCARD; /* pooled: anything read ends it */
  if (proxy__forward_in_head(conn))
    return BUF_HEAD;
  if (conn->phase == PROXY_PHASE_FORWARD || conn->phase == PROXY_PHASE_TUNNEL)
    return BUF_CHUNK;
  return BUF_DISCARD;
}

static void on_up_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct proxy_upstream *up = h->data;
  struct proxy_wreq *w;
  size_t room;

  switch (up_buf_kind(up)) {
  case BUF_HEAD:
    room = proxy__buf_room(&up->in, &up->in_cap, up->in_len, PROXY_IN_MAX);
    *buf = uv_buf_init(room > 0 ? up->in + up->in_len : NULL, (unsigned)room);
    return;
  case BUF_CHUNK:
    w = proxy__wreq_new(PROXY_READ_CHUNK);
    *buf = uv_buf_init(w != NULL ? w->data : NULL,
                       w != NULL ? PROXY_READ_CHUNK : 0);
    return;
  case BUF_DISCARD:
    *buf = uv_buf_init(up->worker->discard, sizeof(up->worker->discard));
    return;
  }
}

static void on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  struct proxy_upstream *up = s->data;
  struct proxy_conn *conn = up->conn;

  switch (up_buf_kind(up)) {
  case BUF_DISCARD:
    if (nread != 0)
      proxy__upstream_close(up, nread < 0 ? "closed by the origin while idle"
                                          : "origin sent bytes while idle");
    return;
  case BUF_HEAD:
  case BUF_CHUNK:
    if (conn->phase == PROXY_PHASE_TUNNEL)
      proxy__tunnel_upstream_read(conn, nread, buf->base);
    else
      proxy__forward_upstream_read(conn, nread, buf->base);
    return;
  }
}

static int up_wants_read(const struct proxy_upstream *up)
{
  const struct proxy_conn *conn = up->conn;
  size_t limit;

  if (!up->connected || up->closing)
    return 0;
  if (up->pooled)
    return 1;
  if (conn == NULL)
    return 0;
  limit = up->reading ? PROXY_WRITE_HIGH_WATER : PROXY_WRITE_LOW_WATER;
  /* A finished response: the connection goes back to the pool (reading)
   * in the same call chain, so it keeps its poll meanwhile. */
  if (conn->phase == PROXY_PHASE_FORWARD)
    return conn->resp_done || conn->client_wpending < limit;
  if (conn->phase == PROXY_PHASE_TUNNEL)
    return !conn->tunnel_up_eof && conn->client_wpending < limit;
  return 0;
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

/* ---- connecting ---- */

static void try_next(struct proxy_conn *conn);

static void on_connect(uv_connect_t *req, int status)
{
  struct proxy_upstream *up = req->data;
  struct proxy_conn *conn = up->conn;

  if (up->closing)
    return;
  if (conn == NULL) {
    proxy__upstream_close(up, "client gone");
    return;
  }
  if (status < 0) {
    conn->connect_err = status;
    proxy__upstream_close(up, uv_strerror(status));
    try_next(conn);
    return;
  }
  up->connected = 1;
  uv_tcp_nodelay(&up->tcp, 1);
  snprintf(up->peer, sizeof(up->peer), "%s", conn->connect_addr);
  proxy__conn_origin_ready(conn, 0);
}

static void set_port(union proxy_sockaddr *a, unsigned port)
{
  if (a->sa.sa_family == AF_INET6)
    a->in6.sin6_port = htons((uint16_t)port);
  else
    a->in.sin_port = htons((uint16_t)port);
}

static void try_next(struct proxy_conn *conn)
{
  while (conn->addr_next < conn->addrs.n) {
    union proxy_sockaddr a = conn->addrs.a[conn->addr_next++];
    struct proxy_upstream *up;
    int err;

    set_port(&a, conn->connect_port);
    proxy_addr_format(&a.sa, conn->connect_addr, sizeof(conn->connect_addr));
    up = upstream_new(conn);
    if (up == NULL) {
      conn->connect_err = UV_ENOMEM;
      break;
    }
    err = uv_tcp_connect(&up->connect_req, &up->tcp, &a.sa, on_connect);
    if (err == 0) {
      up->conn = conn;
      conn->up = up;
      return;
    }
    conn->connect_err = err;
    proxy__upstream_close(up, uv_strerror(err));
  }
  proxy__conn_origin_ready(conn, conn->connect_err < 0 ? conn->connect_err
                                                       : UV_EHOSTUNREACH);
}

static void on_resolved(void *arg, int status, const struct proxy_addrs *a)
{
  struct proxy_conn *conn = arg;

  conn->dnsq = NULL;
  if (status < 0) {
    conn->addrs.n = 0;
    proxy__conn_origin_ready(conn, status);
    return;
  }
  conn->addrs = *a;
  try_next(conn);
}

const struct proxy_map *proxy__map_find(const struct proxy_map *maps, size_t n,
                                        const char *host, unsigned port)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (strcmp(maps[i].host, host) == 0 &&
        (maps[i].port == 0 || maps[i].port == port))
      return &maps[i];
  return NULL;
}

void proxy__origin_connect(struct proxy_conn *conn)
{
  const struct proxy_config *cfg = conn->worker->server->cfg;
  const struct proxy_map *m = proxy__map_find(
      cfg->maps, cfg->nmaps, conn->target.host, conn->target.port);
  int rc;

  memset(&conn->addrs, 0, sizeof(conn->addrs));
  conn->addr_next = 0;
  conn->connect_err = 0;
  conn->connect_port = conn->target.port;
  if (m != NULL) {
    memcpy(&conn->addrs.a[0], &m->addr, sizeof(conn->addrs.a[0]));
    conn->addrs.n = 1;
    if (m->to_port != 0)
      conn->connect_port = m->to_port;
    try_next(conn);
    return;
  }
  rc = proxy__dns_resolve(&conn->worker->dns, conn->target.host, &conn->addrs,
                          on_resolved, conn, &conn->dnsq);
  if (rc == 1)
    return;
  if (rc < 0) {
    conn->addrs.n = 0;
    proxy__conn_origin_ready(conn, rc);
    return;
  }
  try_next(conn);
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
    if (strcmp(up->key, conn->target.key) == 0)
      break;
  if (up == NULL)
    return NULL;
  pool_unlink(up);
  uv_timer_stop(&up->timer);
  up->reused = 1;
  up->conn = conn;
  conn->up = up;
  /* Still reading, as in the pool: the caller sends the request at once
   * (proxy__forward_send), so the loop never polls it in between. */
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
