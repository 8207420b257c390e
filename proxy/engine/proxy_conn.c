/*
 * proxy_conn.c - one client connection: its lifetime and its state machine.
 *
 * A connection moves through the phases of enum proxy_phase:
 *
 *   HEAD --parsed--> route: local answer ------------------> RESPOND
 *                           internal 307: [DISCARD body] --> RESPOND
 *                           forward: CONNECT -> FORWARD ----> RESPOND
 *                           CONNECT method: CONNECT -------> TUNNEL
 *   RESPOND --client took every byte--> HEAD (keep-alive) or LINGER
 *
 * One request is processed at a time: bytes of a pipelined request stay
 * in conn->in until the current answer has been written. The read
 * handler switches on the phase (head, request body, tunnel, linger), and
 * so does the buffer a read lands in: heads are read into conn->in, body
 * and tunnel bytes into a fresh write request that carries them on to the
 * other side without a copy. One timer per connection holds the timeout
 * of the current phase; in FORWARD, RESPOND and TUNNEL it measures
 * silence, restarting whenever bytes move (checked lazily when it fires).
 *
 * proxy__conn_close() is the only function that closes the connection's
 * handles, and the last close callback is the only place it is freed.
 *
 * Admission: a connection is accepted only with one of the --max-conns
 * slots (counted across workers); without one, the listener is left
 * paused (libuv stops watching it while a connection it accepted is not
 * taken, and the kernel's backlog holds the rest) and retried when a slot
 * frees in this worker, or every PROXY_ACCEPT_RETRY_MS for a slot freed
 * in another. A client outside --allow (proxy_access.c) gets 403 before
 * its request is read; with --auth-file every proxy request head passes
 * proxy__auth_check() (proxy_auth.c) before it is routed.
 */
#include <stdlib.h>
#include <string.h>

#include "proxy_int.h"

static const struct proxy_config *cfg_of_worker(const struct proxy_worker *w)
{
  return w->server->cfg;
}

static const struct proxy_config *cfg_of(const struct proxy_conn *conn)
{
  return cfg_of_worker(conn->worker);
}

static void slot_freed(struct proxy_worker *w);

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
  atomic_fetch_sub_explicit(&w->server->stats.conns_active, 1,
                            memory_order_relaxed);
  proxy__buf_free(&conn->in, &conn->in_cap);
  free(conn->upg_buf);
  free(conn);
  slot_freed(w);
  proxy__worker_conn_gone(w);
}

void proxy__conn_close(struct proxy_conn *conn, const char *reason)
{
  if (conn->closing)
    return;
  conn->closing = 1;
  proxy__log(conn->worker, "conn %llu %s: closed: %s",
             (unsigned long long)conn->id, conn->peer, reason);
  if (conn->dnsq != NULL) {
    proxy__dns_detach(conn->dnsq);
    conn->dnsq = NULL;
  }
  if (conn->auth_job != NULL) {
    proxy__auth_detach(conn->auth_job);
    conn->auth_job = NULL;
  }
  if (conn->up != NULL) {
    struct proxy_upstream *up = conn->up;

    conn->up = NULL;
    up->conn = NULL;
    proxy__upstream_close(up, reason);
  }
  conn->pending_closes = 2;
  uv_close((uv_handle_t *)&conn->client, on_closed);
  uv_close((uv_handle_t *)&conn->timer, on_closed);
}

int proxy__conn_close_if_idle(struct proxy_conn *conn)
{
  if (conn->closing || conn->phase != PROXY_PHASE_HEAD || conn->in_len > 0)
    return 0;
  proxy__conn_close(conn, "idle at shutdown");
  return 1;
}

/* ---- timers ---- */

static uint64_t silence_ms(const struct proxy_conn *conn)
{
  const struct proxy_config *cfg = cfg_of(conn);

  if (conn->phase == PROXY_PHASE_TUNNEL)
    return proxy__ms(cfg->timeout_tunnel_s);
  return proxy__ms(cfg->timeout_response_s);
}

static void on_timer(uv_timer_t *t);

void proxy__conn_timer(struct proxy_conn *conn, uint64_t ms)
{
  if (!conn->closing)
    uv_timer_start(&conn->timer, on_timer, ms, 0);
}

void proxy__conn_activity(struct proxy_conn *conn)
{
  conn->active_ms = uv_now(conn->client.loop);
}

static void head_timeout(struct proxy_conn *conn)
{
  if (conn->in_len == 0) {
    proxy__conn_close(conn, conn->requests > 0 ? "idle keep-alive timeout"
                                               : "no request in time");
    return;
  }
  proxy__conn_error(conn, 408, 1, "request head not received within %u s",
                    cfg_of(conn)->timeout_header_s);
}

static void on_timer(uv_timer_t *t)
{
  struct proxy_conn *conn = t->data;
  uint64_t quiet = uv_now(t->loop) - conn->active_ms;

  switch (conn->phase) {
  case PROXY_PHASE_HEAD:
    head_timeout(conn);
    return;
  case PROXY_PHASE_AUTH:
    return; /* the check always ends, and sets the next timer */
  case PROXY_PHASE_CONNECT:
    proxy__conn_error(conn, 504, 0, "timed out connecting to %s after %u s",
                      conn->target.key, cfg_of(conn)->timeout_connect_s);
    return;
  case PROXY_PHASE_FORWARD:
  case PROXY_PHASE_RESPOND:
  case PROXY_PHASE_TUNNEL:
    if (quiet < silence_ms(conn)) {
      proxy__conn_timer(conn, silence_ms(conn) - quiet);
      return;
    }
    if (conn->phase == PROXY_PHASE_FORWARD)
      proxy__forward_timeout(conn);
    else
      proxy__conn_close(conn, conn->phase == PROXY_PHASE_TUNNEL
                                  ? "tunnel idle timeout"
                                  : "client did not read the answer");
    return;
  case PROXY_PHASE_DISCARD:
    proxy__upgrade_timeout(conn);
    return;
  case PROXY_PHASE_LINGER:
    proxy__conn_close(conn, "answered");
    return;
  }
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
  if (conn->phase == PROXY_PHASE_RESPOND && conn->client_wpending == 0)
    proxy__conn_answered(conn);
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

/* What a read lands in: the head buffer, a chunk, or the discard area. */
enum bufkind { BUF_HEAD, BUF_CHUNK, BUF_NEXT, BUF_DISCARD };

/*
 * While the answer to a request that was read whole is on its way, the
 * client stays polled (stopping and restarting costs two epoll_ctl calls
 * per request): what it sends, the start of its next request, goes into
 * the spare room of conn->in, which never grows meanwhile (the request's
 * views point into it), and is parsed once the answer is written.
 */
static int reads_next(const struct proxy_conn *conn)
{
  return (conn->phase == PROXY_PHASE_FORWARD && conn->req_done) ||
         conn->phase == PROXY_PHASE_RESPOND;
}

static enum bufkind client_buf_kind(const struct proxy_conn *conn)
{
  if (reads_next(conn))
    return BUF_NEXT;
  switch (conn->phase) {
  case PROXY_PHASE_FORWARD:
  case PROXY_PHASE_TUNNEL:
    return BUF_CHUNK;
  case PROXY_PHASE_HEAD:
    return BUF_HEAD;
  default:
    return BUF_DISCARD;
  }
}

static void on_client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct proxy_conn *conn = h->data;
  struct proxy_wreq *w;
  size_t room;

  switch (client_buf_kind(conn)) {
  case BUF_CHUNK:
    w = proxy__wreq_new(PROXY_READ_CHUNK);
    *buf = uv_buf_init(w != NULL ? w->data : NULL,
                       w != NULL ? PROXY_READ_CHUNK : 0);
    return;
  case BUF_HEAD:
    if (conn->in == NULL) { /* idle: see head_read() */
      *buf = uv_buf_init(conn->worker->discard, PROXY_IN_INITIAL);
      return;
    }
    room =
        proxy__buf_room(&conn->in, &conn->in_cap, conn->in_len, PROXY_IN_MAX);
    *buf =
        uv_buf_init(room > 0 ? conn->in + conn->in_len : NULL, (unsigned)room);
    return;
  case BUF_NEXT:
    room = conn->in_cap - conn->in_len;
    *buf =
        uv_buf_init(room > 0 ? conn->in + conn->in_len : NULL, (unsigned)room);
    return;
  case BUF_DISCARD:
    *buf = uv_buf_init(conn->worker->discard, sizeof(conn->worker->discard));
    return;
  }
}

static void parse_head(struct proxy_conn *conn)
{
  int rc = http1_parse_request(conn->in, conn->in_len, &conn->req);

  if (rc == HTTP1_AGAIN) {
    if (conn->in_len >= PROXY_IN_MAX)
      rc = HTTP1_EHEAD_TOO_LARGE;
    else {
      proxy__conn_sync_read(conn);
      return;
    }
  }
  if (rc != HTTP1_OK) {
    proxy__conn_error(conn, http1_error_status(rc), 1, "malformed request: %s",
                      http1_strerror(rc));
    return;
  }
  conn->head_len = conn->req.head_len;
  conn->req_ms = proxy__wall_ms();
  conn->req_ns = uv_hrtime();
  conn->requests++;
  atomic_fetch_add_explicit(&conn->worker->server->stats.requests, 1,
                            memory_order_relaxed);
  if (proxy__auth_check(conn))
    proxy__route(conn);
}

/*
 * An idle connection owns no head buffer (10,000 idle clients would hold
 * 40 MB), so its first read lands in the worker's scratch area and only
 * bytes that came are copied into a buffer of its own: a client closing
 * or timing out costs no allocation.
 */
_Static_assert(PROXY_IN_INITIAL <= PROXY_DISCARD_BUF,
               "an idle connection's first read fits the worker's scratch");

static int head_adopt(struct proxy_conn *conn, const char *base, size_t n)
{
  if (base != conn->worker->discard)
    return 0;
  if (proxy__buf_room(&conn->in, &conn->in_cap, 0, PROXY_IN_MAX) < n)
    return -1;
  memcpy(conn->in, base, n);
  return 0;
}

static void head_read(struct proxy_conn *conn, ssize_t nread, const char *base)
{
  if (nread == 0)
    return;
  if (nread < 0) {
    conn->client_eof = 1;
    if (nread == UV_ENOBUFS)
      proxy__conn_error(conn, 431, 1, "request head too large");
    else
      proxy__conn_close(conn, conn->in_len > 0 ? "client left mid-request"
                                               : "client closed");
    return;
  }
  if (head_adopt(conn, base, (size_t)nread) < 0) {
    proxy__conn_close(conn, "out of memory reading a request");
    return;
  }
  if (conn->in_len == 0 && conn->requests > 0)
    proxy__conn_timer(conn, proxy__ms(cfg_of(conn)->timeout_header_s));
  conn->in_len += (size_t)nread;
  parse_head(conn);
}

/* Bytes of the next request (reads_next()): kept until it is parsed. */
static void next_read(struct proxy_conn *conn, ssize_t nread)
{
  if (nread > 0)
    conn->in_len += (size_t)nread;
  else if (nread < 0 && nread != UV_ENOBUFS)
    conn->client_eof = 1; /* closed after the answer, see next_request() */
  proxy__conn_sync_read(conn);
}

static void linger_read(struct proxy_conn *conn, ssize_t nread)
{
  if (nread < 0)
    proxy__conn_close(conn, "answered");
}

static void on_client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  struct proxy_conn *conn = s->data;

  if (reads_next(conn)) {
    next_read(conn, nread);
    return;
  }
  switch (conn->phase) {
  case PROXY_PHASE_HEAD:
    head_read(conn, nread, buf->base);
    return;
  case PROXY_PHASE_FORWARD:
    proxy__forward_client_read(conn, nread, buf->base);
    return;
  case PROXY_PHASE_TUNNEL:
    proxy__tunnel_client_read(conn, nread, buf->base);
    return;
  case PROXY_PHASE_DISCARD:
    proxy__upgrade_client_read(conn, nread);
    return;
  default:
    linger_read(conn, nread);
    return;
  }
}

/* Hysteresis: stop past the high-water mark, resume below the low one. */
static int flow_ok(int reading, size_t pending)
{
  return pending < (reading ? PROXY_WRITE_HIGH_WATER : PROXY_WRITE_LOW_WATER);
}

/* Whether the next request may be read now (reads_next()). */
static int next_room(const struct proxy_conn *conn)
{
  return conn->req.keep_alive && !conn->ws_upgrade && !conn->client_eof &&
         !conn->worker->draining && conn->in_len < conn->in_cap;
}

static int client_wants_read(const struct proxy_conn *conn)
{
  int reading = conn->client_reading;

  if (reads_next(conn))
    return next_room(conn);
  switch (conn->phase) {
  case PROXY_PHASE_HEAD:
    return !conn->client_eof;
  case PROXY_PHASE_FORWARD:
    return conn->up != NULL && flow_ok(reading, conn->up->wpending);
  case PROXY_PHASE_TUNNEL:
    return !conn->client_eof && conn->up != NULL &&
           flow_ok(reading, conn->up->wpending);
  case PROXY_PHASE_DISCARD:
    return !conn->req_done && !conn->client_eof;
  case PROXY_PHASE_LINGER:
    return conn->lingering;
  default:
    return 0;
  }
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

/* ---- the end of an answer ---- */

static void on_client_shutdown(uv_shutdown_t *req, int status)
{
  struct proxy_conn *conn = req->handle->data;

  if (conn->closing)
    return;
  if (status < 0 || conn->client_eof) {
    proxy__conn_close(conn, "answered");
    return;
  }
  conn->lingering = 1; /* read until the client closes, or the timer */
  proxy__conn_sync_read(conn);
}

/* Closes gracefully: our write side first (after the queued answer), so
 * that the client sees the answer rather than a reset caused by unread
 * request bytes; then reads and discards for a moment. */
static void linger_start(struct proxy_conn *conn)
{
  int err;

  conn->phase = PROXY_PHASE_LINGER;
  proxy__conn_sync_read(conn);
  proxy__conn_timer(conn, PROXY_LINGER_MS);
  err = uv_shutdown(&conn->shutdown_req, (uv_stream_t *)&conn->client,
                    on_client_shutdown);
  if (err < 0)
    proxy__conn_close(conn, uv_strerror(err));
}

static void next_request(struct proxy_conn *conn)
{
  const struct proxy_config *cfg = cfg_of(conn);

  memmove(conn->in, conn->in + conn->head_len, conn->in_len - conn->head_len);
  conn->in_len -= conn->head_len;
  conn->head_len = 0;
  if (conn->client_eof && conn->in_len == 0) { /* seen by next_read() */
    proxy__conn_close(conn, "client closed");
    return;
  }
  if (conn->in_len == 0) /* idle connections keep no buffer */
    proxy__buf_free(&conn->in, &conn->in_cap);
  memset(&conn->req, 0, sizeof(conn->req));
  memset(&conn->target, 0, sizeof(conn->target));
  memset(&conn->req_body, 0, sizeof(conn->req_body));
  conn->req_done = conn->resp_started = conn->resp_done = 0;
  conn->ws_upgrade = conn->retried = conn->up_bad = 0;
  conn->phase = PROXY_PHASE_HEAD;
  proxy__conn_timer(conn, proxy__ms(conn->in_len > 0 ? cfg->timeout_header_s
                                                     : cfg->timeout_idle_s));
  if (conn->in_len > 0)
    parse_head(conn);
  else
    proxy__conn_sync_read(conn);
}

void proxy__conn_answered(struct proxy_conn *conn)
{
  if (conn->closing)
    return;
  if (conn->client_wpending == 0 && conn->keep_alive &&
      !conn->worker->draining) {
    next_request(conn); /* all written: reading never stops */
    return;
  }
  if (conn->phase != PROXY_PHASE_RESPOND) {
    conn->phase = PROXY_PHASE_RESPOND;
    proxy__conn_activity(conn);
    proxy__conn_timer(conn, silence_ms(conn));
    proxy__conn_sync_read(conn);
  }
  if (conn->client_wpending > 0)
    return; /* on_client_write comes back here */
  if (conn->keep_alive && !conn->worker->draining)
    next_request(conn);
  else
    linger_start(conn);
}

void proxy__conn_origin_ready(struct proxy_conn *conn, int status)
{
  static const char established[] =
      "HTTP/1.1 200 Connection established\r\n\r\n";

  if (status < 0) {
    if (conn->addrs.n == 0)
      proxy__conn_error(conn, 502, 0, "cannot resolve %s: %s",
                        conn->target.host, uv_strerror(status));
    else
      proxy__conn_error(conn, 502, 0, "cannot connect to %s: %s",
                        conn->connect_addr, uv_strerror(status));
    return;
  }
  if (!conn->is_tunnel) {
    proxy__forward_send(conn);
    return;
  }
  conn->resp_started = 1;
  proxy__conn_write_copy(conn, established, sizeof(established) - 1);
  if (!conn->closing)
    proxy__tunnel_start(conn);
}

/* ---- accepting, and --max-conns ---- */

/*
 * Takes one of the --max-conns slots, counted across all workers by
 * stats.conns_active (on_closed gives it back). Returns 0 when all are
 * taken: the caller then leaves the connection in the listener.
 */
static int slot_take(struct proxy_server *s)
{
  atomic_uint_fast64_t *active = &s->stats.conns_active;
  uint_fast64_t cur = atomic_load_explicit(active, memory_order_relaxed);

  do {
    if (cur >= s->cfg->max_conns)
      return 0;
  } while (!atomic_compare_exchange_weak_explicit(
      active, &cur, cur + 1, memory_order_relaxed, memory_order_relaxed));
  return 1;
}

static int any_paused(const struct proxy_worker *w)
{
  size_t i;

  for (i = 0; i < w->nlisteners; i++)
    if (w->listeners[i].open && w->listeners[i].paused)
      return 1;
  return 0;
}

/*
 * Paused listeners try again: each holds one connection libuv accepted
 * but we did not take (libuv stops watching the socket until uv_accept,
 * so the kernel's backlog holds the rest, unanswered).
 */
static void resume_paused(struct proxy_worker *w)
{
  size_t i;

  if (w->draining)
    return;
  for (i = 0; i < w->nlisteners; i++) {
    struct proxy_listener *l = &w->listeners[i];

    if (l->open && l->paused) {
      l->paused = 0;
      proxy__conn_accept(l); /* pauses it again when no slot is free */
    }
  }
}

static void retry_arm(struct proxy_worker *w);

static void on_retry_closed(uv_handle_t *h)
{
  struct proxy_worker *w = h->data;

  w->accept_retry_open = 0;
  if (any_paused(w))
    retry_arm(w);
}

static void on_retry(uv_timer_t *t)
{
  struct proxy_worker *w = t->data;

  resume_paused(w);
  if (w->draining || !any_paused(w))
    uv_close((uv_handle_t *)t, on_retry_closed);
}

/* The timer lives only while a listener is paused, so that it never
 * outlasts the worker's drain (it closes itself when draining). */
static void retry_arm(struct proxy_worker *w)
{
  uv_timer_t *t = &w->accept_retry;

  if (w->draining)
    return;
  if (!w->accept_retry_open) {
    uv_timer_init(&w->loop, t);
    t->data = w;
    w->accept_retry_open = 1;
  } else if (uv_is_closing((uv_handle_t *)t)) {
    return; /* on_retry_closed arms a new one */
  }
  if (!uv_is_active((uv_handle_t *)t))
    uv_timer_start(t, on_retry, PROXY_ACCEPT_RETRY_MS, PROXY_ACCEPT_RETRY_MS);
}

static void slot_freed(struct proxy_worker *w)
{
  if (any_paused(w))
    resume_paused(w);
}

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
  if (proxy__access_allowed(cfg_of(conn), &peer->sa))
    return 1;
  proxy__access_denied(conn->worker->server, conn->peer_ip);
  proxy__conn_error(conn, 403, 1, "client %s is not allowed to use this proxy",
                    conn->peer_ip);
  return 0;
}

void proxy__conn_accept(struct proxy_listener *l)
{
  struct proxy_worker *w = l->worker;
  struct proxy_stats *st = &w->server->stats;
  struct proxy_conn *conn;
  union proxy_sockaddr peer;

  if (!slot_take(w->server)) {
    if (!l->paused)
      proxy__log(w, "at --max-conns %u: not accepting until a slot frees",
                 cfg_of_worker(w)->max_conns);
    l->paused = 1;
    retry_arm(w);
    return;
  }
  conn = calloc(1, sizeof(*conn));
  if (conn == NULL) { /* the connection waits in the listener */
    atomic_fetch_sub_explicit(&st->conns_active, 1, memory_order_relaxed);
    proxy__log(w, "accept: out of memory");
    l->paused = 1;
    retry_arm(w);
    return;
  }
  conn->worker = w;
  conn->id = ++w->next_id;
  uv_tcp_init(&w->loop, &conn->client);
  uv_timer_init(&w->loop, &conn->timer);
  conn->client.data = conn;
  conn->timer.data = conn;
  conn->next = w->conns;
  if (w->conns != NULL)
    w->conns->prev = conn;
  w->conns = conn;
  w->nconns++;
  atomic_fetch_add_explicit(&st->conns_total, 1, memory_order_relaxed);
  if (uv_accept((uv_stream_t *)&l->tcp, (uv_stream_t *)&conn->client) < 0) {
    proxy__conn_close(conn, "accept failed");
    proxy__worker_relisten(l);
    return;
  }
  uv_tcp_nodelay(&conn->client, 1);
  name_endpoints(conn, &peer);
  proxy__conn_activity(conn);
  conn->phase = PROXY_PHASE_HEAD;
  if (!client_allowed(conn, &peer))
    return;
  proxy__conn_timer(conn, proxy__ms(cfg_of(conn)->timeout_header_s));
  proxy__conn_sync_read(conn);
}
