/*
 * proxy_conn.c - one client connection: its lifetime, and the hub that
 * runs its phases (proxy_conn.h lists them and the files that own them).
 *
 * The hub knows no phase by name. The loop's callbacks for the client
 * side (alloc, read) and the connection's one timer land here and go to
 * the current phase's callbacks; proxy__conn_enter() is the one way into
 * a phase: its timer, the activity clock, and what the loop reads. In
 * forward, respond and tunnel the timer measures silence, restarting
 * whenever bytes move (proxy__conn_silent(), checked lazily when it
 * fires).
 *
 * One request is processed at a time: bytes of a pipelined request stay
 * in conn->in until the current answer has been written. A phase says
 * where each read lands: heads are read into conn->in, body and tunnel
 * bytes into a fresh write request that carries them on to the other
 * side without a copy, dropped bytes into the worker's discard area. Once
 * a request was read whole (PROXY_RBUF_NEXT), the hub itself keeps what
 * the client sends, the start of its next request, in the spare room of
 * conn->in: the client stays polled (stopping and restarting costs two
 * epoll_ctl calls per request), and conn->in never grows meanwhile (the
 * request's views point into it).
 *
 * proxy__conn_close() is the only function that closes the connection's
 * handles, and the last close callback is the only place it is freed.
 * A client outside --allow (proxy_access.c) gets 403 before its request
 * is read. Admission (--max-conns) is the worker's (proxy_worker.c).
 */
#include "proxy_conn.h"
#include "proxy_console.h"

#include <stdlib.h>
#include <string.h>

#include "proxy_alog.h"
#include "proxy_auth.h"
#include "proxy_debug.h"
#include "proxy_intercept.h"
#include "proxy_server.h"
#include "proxy_upstream.h"

static void on_closed(uv_handle_t *h)
{
  struct proxy_conn *conn = h->data;
  struct proxy_worker *w = conn->worker;

  if (--conn->pending_closes > 0)
    return;
  if (conn->prev != NULL)
    conn->prev->next = conn->next;
  else
    w->conns = conn->next;
  if (conn->next != NULL)
    conn->next->prev = conn->prev;
  w->nconns--;
  proxy__buf_free(&conn->in, &conn->in_cap);
  free(conn->upg_buf);
  free(conn->bulk);
  free(conn);
  proxy__worker_conn_gone(w);
}

void proxy__conn_drop_origin(struct proxy_conn *conn, const char *reason)
{
  if (conn->dnsq != NULL) {
    proxy__dns_detach(conn->dnsq);
    conn->dnsq = NULL;
  }
  if (conn->up != NULL) {
    struct proxy_upstream *up = conn->up;

    conn->up = NULL;
    up->conn = NULL;
    proxy__upstream_close(up, reason);
  }
}

void proxy__conn_close(struct proxy_conn *conn, const char *reason)
{
  if (conn->closing)
    return;
  proxy__alog_closing(conn); /* a tunnel, or a request cut off */
  conn->closing = 1;
  proxy__debug(conn->worker, "conn %llu %s: closed: %s",
               (unsigned long long)conn->id, conn->peer, reason);
  if (conn->auth_job != NULL) {
    proxy__auth_detach(conn->auth_job);
    conn->auth_job = NULL;
  }
  if (conn->console_job != NULL || conn->console_stream)
    proxy__console_conn_closed(conn);
  proxy__conn_drop_origin(conn, reason);
  conn->pending_closes = 2;
  if (conn->bulk != NULL) {
    proxy__splice_close(&conn->bulk->dir[0]);
    proxy__splice_close(&conn->bulk->dir[1]);
    if (conn->bulk->client_poll_open) { /* before the stream: its fd */
      conn->pending_closes++;
      uv_close((uv_handle_t *)&conn->bulk->client_poll, on_closed);
    }
  }
  uv_close((uv_handle_t *)&conn->client, on_closed);
  uv_close((uv_handle_t *)&conn->timer, on_closed);
}

/* ---- phases and the timer ---- */

static void on_timer(uv_timer_t *t)
{
  struct proxy_conn *conn = t->data;

  if (conn->phase->timeout != NULL)
    conn->phase->timeout(conn);
}

void proxy__conn_timer(struct proxy_conn *conn, uint64_t ms)
{
  if (!conn->closing)
    uv_timer_start(&conn->timer, on_timer, ms, 0);
}

void proxy__conn_activity(struct proxy_conn *conn)
{
  conn->active_ms = uv_now(conn->client.loop);
}

int proxy__conn_silent(struct proxy_conn *conn, uint64_t ms)
{
  uint64_t quiet = uv_now(conn->client.loop) - conn->active_ms;

  if (quiet >= ms)
    return 1;
  proxy__conn_timer(conn, ms - quiet);
  return 0;
}

void proxy__conn_enter(struct proxy_conn *conn, const struct proxy_phase *p,
                       uint64_t timeout_ms)
{
  conn->phase = p;
  proxy__conn_activity(conn);
  if (timeout_ms > 0)
    proxy__conn_timer(conn, timeout_ms);
  if (p->start != NULL)
    p->start(conn);
  else
    proxy__conn_sync_read(conn);
}

/* ---- writing to the client ---- */

void proxy__conn_wrote(struct proxy_conn *conn, size_t len, int status)
{
  conn->client_wpending -= len;
  if (status < 0) {
    proxy__conn_close(conn, uv_strerror(status));
    return;
  }
  if (conn->closing)
    return;
  proxy__conn_activity(conn);
  if (conn->up != NULL)
    proxy__upstream_sync_read(conn->up);
  if (conn->phase->client_wrote != NULL)
    conn->phase->client_wrote(conn);
}

/*
 * Bytes for the client are written at once only when no pipelined
 * request waits in conn->in: an answer that completes at once lets the
 * next request be processed in the same call chain, so a buffer full of
 * pipelined requests would otherwise recurse once per request.
 */
static int write_at_once(const struct proxy_conn *conn)
{
  return conn->in_len <= conn->head_len;
}

int proxy__conn_write_bufs(struct proxy_conn *conn, uv_write_t *req,
                           uv_buf_t *bufs, unsigned nbufs, uv_write_cb cb)
{
  return proxy__write((uv_stream_t *)&conn->client, req, bufs, nbufs,
                      write_at_once(conn), cb);
}

static void on_client_write(uv_write_t *req, int status)
{
  struct proxy_wreq *w = (struct proxy_wreq *)req;
  struct proxy_conn *conn = req->handle->data;
  size_t len = w->len;

  proxy__wreq_free(w);
  proxy__conn_wrote(conn, len, status);
}

void proxy__conn_write(struct proxy_conn *conn, struct proxy_wreq *w)
{
  int n;

  if (conn->closing) {
    proxy__wreq_free(w);
    return;
  }
  conn->sent += w->len;
  n = proxy__wreq_send((uv_stream_t *)&conn->client, w, write_at_once(conn),
                       on_client_write);
  if (n < 0) {
    proxy__wreq_free(w);
    proxy__conn_close(conn, uv_strerror(n));
    return;
  }
  if (n == 0)
    proxy__conn_activity(conn);
  conn->client_wpending += (size_t)n;
  if (conn->up != NULL)
    proxy__upstream_sync_read(conn->up);
}

void proxy__conn_write_copy(struct proxy_conn *conn, const char *p, size_t len)
{
  struct proxy_wreq *w = proxy__wreq_new(len);

  if (w == NULL) {
    proxy__conn_close(conn, "out of memory");
    return;
  }
  memcpy(w->data, p, len);
  w->len = len;
  proxy__conn_write(conn, w);
}

/* ---- reading from the client ---- */

static enum proxy_rbuf client_buf(const struct proxy_conn *conn)
{
  return conn->phase->client_buf != NULL ? conn->phase->client_buf(conn)
                                         : PROXY_RBUF_DISCARD;
}

static void on_client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct proxy_conn *conn = h->data;
  struct proxy_wreq *w;
  size_t room;

  switch (client_buf(conn)) {
  case PROXY_RBUF_CHUNK:
    w = proxy__wreq_new(PROXY_READ_CHUNK);
    *buf = uv_buf_init(w != NULL ? w->data : NULL,
                       w != NULL ? PROXY_READ_CHUNK : 0);
    return;
  case PROXY_RBUF_HEAD:
    if (conn->in == NULL) { /* idle: see proxy_head.c */
      *buf = uv_buf_init(conn->worker->discard, PROXY_IN_INITIAL);
      return;
    }
    room =
        proxy__buf_room(&conn->in, &conn->in_cap, conn->in_len, PROXY_IN_MAX);
    *buf =
        uv_buf_init(room > 0 ? conn->in + conn->in_len : NULL, (unsigned)room);
    return;
  case PROXY_RBUF_NEXT:
    room = conn->in_cap - conn->in_len;
    *buf =
        uv_buf_init(room > 0 ? conn->in + conn->in_len : NULL, (unsigned)room);
    return;
  case PROXY_RBUF_DISCARD:
    *buf = uv_buf_init(conn->worker->discard, sizeof(conn->worker->discard));
    return;
  }
}

/* Bytes of the next request (PROXY_RBUF_NEXT): kept until it is parsed. */
static void next_read(struct proxy_conn *conn, ssize_t nread)
{
  if (nread > 0)
    conn->in_len += (size_t)nread;
  else if (nread < 0 && nread != UV_ENOBUFS)
    conn->client_eof = 1; /* closed after the answer: see proxy_head.c */
  proxy__conn_sync_read(conn);
}

/* Whether the next request may be read now (PROXY_RBUF_NEXT). */
static int next_room(const struct proxy_conn *conn)
{
  return conn->req.keep_alive && !conn->ws_upgrade && !conn->client_eof &&
         !conn->worker->draining && conn->in_len < conn->in_cap;
}

static void on_client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  struct proxy_conn *conn = s->data;

  if (client_buf(conn) == PROXY_RBUF_NEXT)
    next_read(conn, nread);
  else if (conn->phase->client_read != NULL)
    conn->phase->client_read(conn, nread, buf->base);
}

static int client_wants_read(const struct proxy_conn *conn)
{
  if (conn->splicing) /* the phase polls the descriptor */
    return 0;
  if (client_buf(conn) == PROXY_RBUF_NEXT)
    return next_room(conn);
  return conn->phase->client_wants != NULL &&
         conn->phase->client_wants(conn, conn->client_reading);
}

void proxy__conn_sync_read(struct proxy_conn *conn)
{
  int want, err;

  if (conn->closing)
    return;
  want = client_wants_read(conn);
  if (want && !conn->client_reading) {
    err = uv_read_start((uv_stream_t *)&conn->client, on_client_alloc,
                        on_client_read);
    if (err < 0) {
      proxy__conn_close(conn, uv_strerror(err));
      return;
    }
    conn->client_reading = 1;
  } else if (!want && conn->client_reading) {
    uv_read_stop((uv_stream_t *)&conn->client);
    conn->client_reading = 0;
  }
}

/* ---- accepting ---- */

/* Before the access check: no reads, no timeout. */
static const struct proxy_phase phase_accepted = { .name = "accepted" };

/* Fills conn->peer, conn->peer_ip, conn->local and *peer. */
static void name_endpoints(struct proxy_conn *conn, union proxy_sockaddr *peer)
{
  int len = sizeof(*peer);

  memset(peer, 0, sizeof(*peer));
  if (uv_tcp_getpeername(&conn->client, &peer->sa, &len) == 0) {
    proxy_addr_format(&peer->sa, conn->peer, sizeof(conn->peer));
    if (peer->sa.sa_family == AF_INET6)
      uv_ip6_name(&peer->in6, conn->peer_ip, sizeof(conn->peer_ip));
    else
      uv_ip4_name(&peer->in, conn->peer_ip, sizeof(conn->peer_ip));
  } else {
    snprintf(conn->peer, sizeof(conn->peer), "?");
    snprintf(conn->peer_ip, sizeof(conn->peer_ip), "?");
  }
  len = sizeof(conn->local);
  uv_tcp_getsockname(&conn->client, &conn->local.sa, &len);
}

/*
 * The access-control seam: a client outside --allow (loopback only by
 * default) gets 403 before any of its request is read, then the
 * connection closes; nothing is forwarded.
 */
static int client_allowed(struct proxy_conn *conn,
                          const union proxy_sockaddr *peer)
{
  struct proxy_server *s = conn->worker->server;

  if (proxy__access_allowed(s->cfg, &peer->sa))
    return 1;
  proxy__access_denied(s, conn->peer_ip);
  proxy__conn_error(conn, 403, 1, "client %s is not allowed to use this proxy",
                    conn->peer_ip);
  return 0;
}

int proxy__conn_accept(struct proxy_listener *l)
{
  struct proxy_worker *w = l->worker;
  struct proxy_conn *conn = calloc(1, sizeof(*conn));
  union proxy_sockaddr peer;

  if (conn == NULL)
    return -1;
  conn->worker = w;
  conn->id = ++w->next_id;
  conn->phase = &phase_accepted;
  uv_tcp_init(&w->loop, &conn->client);
  uv_timer_init(&w->loop, &conn->timer);
  conn->client.data = conn;
  conn->timer.data = conn;
  conn->next = w->conns;
  if (w->conns != NULL)
    w->conns->prev = conn;
  w->conns = conn;
  w->nconns++;
  atomic_fetch_add_explicit(&w->server->stats.conns_total, 1,
                            memory_order_relaxed);
  if (uv_accept((uv_stream_t *)&l->tcp, (uv_stream_t *)&conn->client) < 0) {
    proxy__conn_close(conn, "accept failed");
    return 1;
  }
  uv_tcp_nodelay(&conn->client, 1);
  name_endpoints(conn, &peer);
  proxy__conn_activity(conn);
  conn->kind = (int)l->kind;
  if (!client_allowed(conn, &peer))
    return 0;
  if (l->kind == PROXY_LISTEN_PROXY)
    proxy__conn_enter(conn, &proxy__phase_head, 0);
  else
    proxy__intercept_accepted(conn); /* proxy_intercept.c */
  return 0;
}
