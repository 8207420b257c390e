/*
 * proxy_exchange.c - one forwarded request: head and body up, response
 * down (RFC 9112 sections 6 and 9, RFC 9110 section 15.2).
 *
 * The request head is rewritten (proxy_forward.c) and sent on a pooled
 * or fresh origin connection; request body bytes follow as the client
 * sends them, validated by the http1 body decoder and forwarded as they
 * came (chunk framing and trailers included). Body bytes that arrived
 * with the head are validated first, before any origin is contacted: a
 * malformed one is answered 400 and reaches no origin. The response head is
 * read into up->in: interim 1xx answers are relayed to HTTP/1.1 clients and the
 * next head is parsed; 101 to a WebSocket upgrade turns the connection into a
 * tunnel; the final head is rewritten and its body streamed in chunks until the
 * decoder says it ended (or the origin closes, for a close-delimited body: then
 * the client connection closes too, so a cut-off body never looks complete).
 *
 * A body with at least PROXY_SPLICE_MIN bytes still to come after what
 * came with the head moves through a pipe with splice(2) once nothing is
 * queued (proxy_splice.h): a response body by Content-Length (exactly that
 * many, the rest stays unread) or until the origin closes; a request body
 * by Content-Length while the origin says nothing (its first byte of an
 * answer ends that: the pipe drains, the copying path reads the answer and
 * the rest of the body). Chunked bodies are parsed, so copied.
 *
 * A pooled connection that the origin had already closed fails before
 * the first response byte; an idempotent request without a body is then
 * retried once on a fresh connection. Anything else that fails before
 * the response head becomes a 502 or 504; after it, the client
 * connection is closed.
 *
 * A final 3xx response with a Location is an "upstream-redirect" hop of
 * the hop log (proxy_log.c), recorded when its head arrives.
 *
 * This is the forward phase (proxy_conn.h), entered once the origin
 * connection is there (from the pool, or the connect phase's
 * continuation); its timer measures silence (--timeout-response).
 */
#include <stdint.h>
#include <string.h>

#include "proxy_alog.h"
#include "proxy_conn.h"
#include "proxy_debug.h"
#include "proxy_forward.h"
#include "proxy_learn.h"
#include "proxy_log.h"
#include "proxy_phases.h"
#include "proxy_server.h"
#include "proxy_upstream.h"

static const struct proxy_phase phase_forward;

static void forward_send(struct proxy_conn *conn);
static void forward_splice(struct proxy_conn *conn);
static void upload_splice(struct proxy_conn *conn);

/*
 * Body bytes that came with the head are checked before anything goes
 * upstream: a malformed body (a bad chunk-size line, say) is answered 400
 * and never reaches the origin, not even its head. Bytes still to come
 * are checked as they stream. Returns 0, or -1 after answering.
 */
static int check_buffered_body(struct proxy_conn *conn)
{
  struct http1_body b = conn->req.body; /* a copy: nothing is consumed */
  size_t avail = conn->in_len - conn->head_len;
  ssize_t n;

  if (avail == 0 || proxy__body_empty(&b))
    return 0;
  n = http1_body_feed(&b, conn->in + conn->head_len, avail, NULL);
  if (n >= 0)
    return 0;
  proxy__conn_error(conn, 400, 1, "malformed request body: %s",
                    http1_strerror((int)n));
  return -1;
}

void proxy__forward_start(struct proxy_conn *conn)
{
  if (check_buffered_body(conn) < 0)
    return;
  if (proxy__pool_take(conn) != NULL) {
    forward_send(conn);
    return;
  }
  proxy__origin_connect(conn, forward_send);
}

static uint64_t response_ms(const struct proxy_conn *conn)
{
  return proxy__ms(conn->worker->server->cfg->timeout_response_s);
}

/* Finishes the exchange once the response has ended. */
static void exchange_check(struct proxy_conn *conn)
{
  struct proxy_upstream *up = conn->up;

  if (!conn->resp_done || conn->closing)
    return;
  if (!conn->req_done) { /* the origin answered before the body ended */
    conn->keep_alive = 0;
    conn->up_bad = 1;
  }
  proxy__alog_end(conn, PROXY_ALOG_MISS, 0, NULL);
  conn->up = NULL;
  if (conn->up_bad || conn->worker->draining) {
    up->conn = NULL;
    proxy__upstream_close(up, "origin connection not reusable");
  } else {
    proxy__pool_put(up);
  }
  proxy__conn_answered(conn);
}

/* Request body bytes that arrived with the head, still in conn->in. */
static void send_buffered_body(struct proxy_conn *conn)
{
  size_t avail = conn->in_len - conn->head_len;
  char *p = conn->in + conn->head_len;
  int done = 0;
  ssize_t n;

  if (conn->req_done || avail == 0)
    return;
  n = http1_body_feed(&conn->req_body, p, avail, &done);
  if (n < 0) {
    proxy__conn_error(conn, 400, 1, "malformed request body: %s",
                      http1_strerror((int)n));
    return;
  }
  if (n > 0)
    proxy__upstream_write_copy(conn->up, p, (size_t)n);
  memmove(p, p + n, avail - (size_t)n);
  conn->in_len -= (size_t)n;
  conn->req_done = done;
}

/* Moves a view from the buffer that was at `from` to `to`. */
static const char *moved(const char *p, uintptr_t from, const char *to)
{
  return p == NULL ? NULL : to + ((uintptr_t)p - from);
}

/* conn->in moved: the request's views follow it. */
static void rebase(struct proxy_conn *conn, uintptr_t from)
{
  struct http1_request *req = &conn->req;
  const char *to = conn->in;
  size_t i;

  req->method = moved(req->method, from, to);
  req->target = moved(req->target, from, to);
  for (i = 0; i < req->nfields; i++) {
    req->fields[i].name = moved(req->fields[i].name, from, to);
    req->fields[i].value = moved(req->fields[i].value, from, to);
  }
  conn->target.path = moved(conn->target.path, from, to);
}

/* Makes room after the head for the bytes that may follow the body, so
 * that conn->in never moves while the body streams. */
static int reserve_leftover(struct proxy_conn *conn)
{
  size_t need = conn->head_len + PROXY_READ_CHUNK;
  uintptr_t from = (uintptr_t)conn->in;

  while (conn->in_cap < need)
    if (proxy__buf_room(&conn->in, &conn->in_cap, conn->in_cap, PROXY_IN_MAX) ==
        0)
      return -1;
  if ((uintptr_t)conn->in != from)
    rebase(conn, from);
  return 0;
}

static void forward_send(struct proxy_conn *conn)
{
  struct proxy_upstream *up = conn->up;
  struct proxy_wreq *head = NULL;

  conn->req_body = conn->req.body;
  conn->req_done = proxy__body_empty(&conn->req_body);
  if (conn->req_done || reserve_leftover(conn) == 0)
    head = proxy__request_head(conn);
  if (head == NULL) {
    proxy__conn_error(conn, 502, 1, "out of memory forwarding to %s",
                      conn->target.key);
    return;
  }
  memset(&up->resp, 0, sizeof(up->resp));
  up->in_len = 0;
  up->resp_bytes = 0;
  proxy__conn_enter(conn, &phase_forward, response_ms(conn));
  proxy__upstream_write(up, head);
  if (conn->closing)
    return;
  send_buffered_body(conn);
  if (conn->closing || conn->phase != &phase_forward)
    return;
  if (!conn->req.expect_continue) /* else once the 100 came */
    upload_splice(conn);
  if (conn->closing)
    return;
  proxy__conn_sync_read(conn);
  proxy__upstream_sync_read(conn->up);
}

/* Appends bytes that followed the request body (a pipelined request). */
static void keep_leftover(struct proxy_conn *conn, const char *p, size_t n)
{
  /* reserve_leftover() made the room. */
  memcpy(conn->in + conn->in_len, p, n);
  conn->in_len += n;
}

static void forward_client_read(struct proxy_conn *conn, ssize_t nread,
                                char *base)
{
  struct proxy_wreq *w = base != NULL ? proxy__wreq_of(base) : NULL;
  int done = 0;
  ssize_t n;

  if (nread <= 0) {
    proxy__wreq_free(w);
    if (nread < 0)
      proxy__conn_close(conn, "client left during the request body");
    return;
  }
  n = http1_body_feed(&conn->req_body, base, (size_t)nread, &done);
  if (n < 0) {
    proxy__wreq_free(w);
    proxy__conn_error(conn, 400, 1, "malformed request body: %s",
                      http1_strerror((int)n));
    return;
  }
  proxy__conn_activity(conn);
  if (done) {
    conn->req_done = 1;
    keep_leftover(conn, base + n, (size_t)(nread - n));
  }
  if (n > 0) {
    w->len = (size_t)n;
    proxy__upstream_write(conn->up, w);
  } else {
    proxy__wreq_free(w);
  }
  if (conn->closing)
    return;
  proxy__conn_sync_read(conn);
  exchange_check(conn);
}

/* ---- the response ---- */

/* Feeds p[0..len) to the response body's framing: returns the bytes of
 * the body (*done set when it ended), or -1 after closing conn. Bytes
 * after the response mean the origin connection is not reused. */
static ssize_t feed_body(struct proxy_conn *conn, const char *p, size_t len,
                         int *done)
{
  ssize_t n = http1_body_feed(&conn->up->resp.body, p, len, done);

  if (n < 0) {
    proxy__conn_close(conn, "invalid response body from the origin");
    return -1;
  }
  conn->up_bad |= (size_t)n < len;
  return n;
}

static void response_body(struct proxy_conn *conn, struct proxy_wreq *w,
                          const char *p, size_t len)
{
  int done = 0;
  ssize_t n = feed_body(conn, p, len, &done);

  if (n < 0) {
    proxy__wreq_free(w);
    return;
  }
  if (n > 0 && w != NULL) {
    w->len = (size_t)n;
    proxy__conn_write(conn, w);
  } else {
    proxy__wreq_free(w);
    if (n > 0)
      proxy__conn_write_copy(conn, p, (size_t)n);
  }
  if (done && !conn->closing) {
    conn->resp_done = 1;
    exchange_check(conn);
  }
}

/*
 * Body bytes that came with the response head (up to PROXY_BODY_INLINE)
 * are appended to the rewritten head, so that a small response reaches
 * the client in one write. Returns -1 after closing conn (invalid body).
 */
static int inline_body(struct proxy_conn *conn, struct proxy_wreq *head,
                       const char *p, size_t len)
{
  int done = 0;
  ssize_t n = feed_body(conn, p, len, &done);

  if (n < 0) {
    proxy__wreq_free(head);
    return -1;
  }
  memcpy(head->data + head->len, p, (size_t)n);
  head->len += (size_t)n;
  conn->resp_done = done;
  return 0;
}

static void final_response(struct proxy_conn *conn)
{
  struct proxy_upstream *up = conn->up;
  const struct http1_response *resp = &up->resp;
  size_t extra = up->in_len - resp->head_len;
  const char *body = up->in + resp->head_len;
  int empty =
      proxy__body_empty(&resp->body); /* before inline_body() feeds it */
  size_t inlined = !empty && extra <= PROXY_BODY_INLINE ? extra : 0;
  struct proxy_wreq *head;
  int keep = conn->req.keep_alive && conn->req_done &&
             resp->body.kind != HTTP1_BODY_CLOSE && !conn->worker->draining;

  if (proxy__parent_refused(conn, resp)) /* --upstream-proxy wants auth */
    return;
  if (conn->req.version_minor == 0 && resp->body.kind == HTTP1_BODY_CHUNKED) {
    proxy__conn_error(conn, 502, 0,
                      "%s sent a chunked response to an "
                      "HTTP/1.0 request",
                      conn->target.key);
    return;
  }
  head = proxy__response_head(resp, conn->req.version_minor, keep, 0, inlined);
  if (head == NULL) {
    proxy__conn_error(conn, 502, 1, "out of memory relaying %s",
                      conn->target.key);
    return;
  }
  proxy__log_redirect(conn, resp);   /* a 3xx with a Location is a hop */
  proxy__learn_redirect(conn, resp); /* http://X -> https://X: probe X */
  conn->keep_alive = keep;
  conn->resp_started = 1;
  if (!resp->keep_alive || resp->body.kind == HTTP1_BODY_CLOSE)
    conn->up_bad = 1;
  if (inlined > 0 && inline_body(conn, head, body, inlined) < 0)
    return;
  proxy__conn_write(conn, head);
  if (conn->closing)
    return;
  up->in_len = 0; /* from now on, reads land in chunks */
  if (empty) {
    conn->up_bad |= extra > 0;
    conn->resp_done = 1;
  } else if (extra > inlined) {
    response_body(conn, NULL, body, extra);
    if (conn->closing || conn->resp_done)
      return;
  }
  if (conn->resp_done)
    exchange_check(conn);
  else
    forward_splice(conn);
}

/* 101: the WebSocket handshake went through; splice from now on. */
static void switching(struct proxy_conn *conn)
{
  struct proxy_wreq *head;

  if (!conn->ws_upgrade) {
    proxy__conn_error(conn, 502, 1,
                      "%s switched protocols without an "
                      "upgrade request",
                      conn->target.key);
    return;
  }
  head = proxy__response_head(&conn->up->resp, 1, 1, 1, 0);
  if (head == NULL) {
    proxy__conn_close(conn, "out of memory");
    return;
  }
  conn->resp_started = 1;
  conn->up_bad = 1;
  proxy__conn_write(conn, head);
  if (!conn->closing)
    proxy__tunnel_start(conn);
}

/* Relays an interim response (HTTP/1.1 clients only) and drops it. */
static void interim(struct proxy_conn *conn)
{
  struct proxy_upstream *up = conn->up;
  size_t hl = up->resp.head_len;

  if (conn->req.version_minor == 1) {
    struct proxy_wreq *w = proxy__response_head(&up->resp, 1, 1, 0, 0);

    if (w == NULL) {
      proxy__conn_close(conn, "out of memory");
      return;
    }
    proxy__conn_write(conn, w);
  }
  memmove(up->in, up->in + hl, up->in_len - hl);
  up->in_len -= hl;
  memset(&up->resp, 0, sizeof(up->resp));
}

static void parse_response(struct proxy_conn *conn)
{
  struct proxy_upstream *up = conn->up;
  int rc;

  while (!conn->closing && up->in_len > 0) {
    rc = http1_parse_response(up->in, up->in_len, conn->req.is_head, &up->resp);
    if (rc == HTTP1_AGAIN && up->in_len < PROXY_IN_MAX)
      return;
    if (rc != HTTP1_OK) {
      proxy__conn_error(conn, 502, 0, "invalid response from %s: %s",
                        proxy__upstream_name(conn),
                        rc == HTTP1_AGAIN ? "head too large"
                                          : http1_strerror(rc));
      return;
    }
    if (up->resp.status == 101) {
      switching(conn);
      return;
    }
    if (up->resp.status >= 200) {
      final_response(conn);
      return;
    }
    interim(conn);
  }
}

static int retryable(const struct proxy_conn *conn)
{
  static const char *const idempotent[] = { "GET", "HEAD",   "OPTIONS", "TRACE",
                                            "PUT", "DELETE", NULL };
  const struct http1_request *req = &conn->req;
  size_t i;

  if (!conn->up->reused || conn->up->resp_bytes > 0 || conn->retried ||
      !proxy__body_empty(&req->body))
    return 0;
  for (i = 0; idempotent[i] != NULL; i++)
    if (http1_token_eq(req->method, req->method_len, idempotent[i]))
      return 1;
  return 0;
}

/* The origin closed or failed before the response head was complete. */
static void head_failed(struct proxy_conn *conn, int err)
{
  struct proxy_upstream *up = conn->up;

  if (retryable(conn)) {
    proxy__debug(conn->worker,
                 "conn %llu: pooled connection to %s was "
                 "stale, retrying",
                 (unsigned long long)conn->id, up->key);
    conn->retried = 1;
    conn->up = NULL;
    up->conn = NULL;
    proxy__upstream_close(up, "stale pooled connection");
    proxy__origin_connect(conn, forward_send);
    return;
  }
  if (err == UV_EOF)
    proxy__conn_error(conn, 502, 0,
                      "%s closed the connection without "
                      "answering",
                      proxy__upstream_name(conn));
  else
    proxy__conn_error(conn, 502, 0, "connection to %s failed: %s",
                      proxy__upstream_name(conn), uv_strerror(err));
}

static void forward_upstream_read(struct proxy_conn *conn, ssize_t nread,
                                  char *base)
{
  struct proxy_upstream *up = conn->up;

  if (!conn->resp_started) { /* base points into up->in */
    if (nread < 0)
      head_failed(conn, (int)nread);
    if (nread <= 0)
      return;
    up->in_len += (size_t)nread;
    up->resp_bytes += (size_t)nread;
    proxy__conn_activity(conn);
    parse_response(conn);
    if (!conn->closing && conn->phase == &phase_forward)
      upload_splice(conn); /* after a 100 Continue, say */
    return;
  }
  if (nread > 0) {
    proxy__conn_activity(conn);
    response_body(conn, proxy__wreq_of(base), base, (size_t)nread);
    return;
  }
  proxy__wreq_free(base != NULL ? proxy__wreq_of(base) : NULL);
  if (nread == UV_EOF && up->resp.body.kind == HTTP1_BODY_CLOSE) {
    conn->resp_done = 1;
    conn->up_bad = 1;
    exchange_check(conn);
  } else if (nread < 0) {
    proxy__conn_close(conn, "origin closed mid-response");
  }
}

/* ---- a large body through a pipe ---- */

/* Whether the rest of the response body goes through a pipe: a length
 * of at least PROXY_SPLICE_MIN still to come, or until the origin closes;
 * never chunked (the framing is parsed), and only once the request body
 * ended (the client's descriptor is then free to poll). */
static int splice_wanted(const struct proxy_conn *conn)
{
  const struct http1_body *b = &conn->up->resp.body;

  if (!conn->resp_started || conn->resp_done || conn->splicing ||
      !conn->req_done || !proxy__splice_can_begin(conn))
    return 0;
  if (b->kind == HTTP1_BODY_LENGTH)
    return b->remaining >= PROXY_SPLICE_MIN;
  return b->kind == HTTP1_BODY_CLOSE;
}

/* The spliced body ended: the exchange ends as on the copying path. */
static void spliced_done(struct proxy_conn *conn)
{
  struct proxy_splice_dir *d = &conn->bulk->dir[PROXY_SPLICE_DOWN];
  struct http1_body *b = &conn->up->resp.body;

  if (b->kind == HTTP1_BODY_LENGTH) {
    if (d->left > 0) {
      proxy__conn_close(conn, "origin closed mid-response");
      return;
    }
    b->remaining = 0;
    /* bytes after the body (or its close): as when a read carries them
     * (feed_body), the connection is not reused */
    conn->up_bad |= proxy__splice_peek(d->from);
  } else {
    conn->up_bad = 1; /* close-delimited: the origin closed */
  }
  proxy__splice_close(d);
  proxy__splice_end(conn);
  conn->resp_done = 1;
  exchange_check(conn);
}

/* ---- a large request body through a pipe ---- */

/* Whether the rest of the request body goes up through a pipe: a length
 * of at least PROXY_SPLICE_MIN still to come, while the origin says
 * nothing (no byte of an answer is buffered). */
static int upload_wanted(const struct proxy_conn *conn)
{
  const struct http1_body *b = &conn->req_body;

  return conn->up != NULL && !conn->req_done && !conn->splicing &&
         !conn->resp_started && b->kind == HTTP1_BODY_LENGTH &&
         b->remaining >= PROXY_SPLICE_MIN && conn->up->in_len == 0 &&
         !conn->up->write_failed && proxy__splice_can_begin(conn);
}

/* The body stops going through the pipe: what the client sent into it
 * is consumed; the copying path goes on (the rest, the answer). */
static void upload_end(struct proxy_conn *conn)
{
  struct proxy_splice_dir *d = &conn->bulk->dir[PROXY_SPLICE_UP];

  conn->req_body.remaining = d->left;
  conn->req_done = d->left == 0;
  proxy__splice_close(d); /* closed, not kept, if bytes are left in it */
  proxy__splice_end(conn);
}

static void upload_polled(struct proxy_conn *conn)
{
  struct proxy_splice_dir *d = &conn->bulk->dir[PROXY_SPLICE_UP];
  int rc;

  if (!d->hold && proxy__splice_peek(d->to)) /* the origin answers */
    d->hold = 1; /* the rest of the pipe goes up; copying reads it */
  rc = proxy__splice_move(conn, d);
  if (rc == PROXY_SPLICE_WAIT) {
    (void)proxy__splice_watch(conn);
  } else if (rc == PROXY_SPLICE_DONE && d->eof && d->left > 0) {
    proxy__conn_close(conn, "client left during the request body");
  } else if (rc == PROXY_SPLICE_DONE) {
    upload_end(conn);
  } else if (rc == PROXY_SPLICE_REFUSED) {
    proxy__splice_refused(conn);
  } else if (d->err_to) {       /* as a failed write on the copying path: */
    conn->up->write_failed = 1; /* the rest is dropped, the answer read */
    conn->up_bad = 1;
    upload_end(conn);
  } else {
    proxy__splice_fail(conn, d, rc);
  }
}

static void upload_splice(struct proxy_conn *conn)
{
  if (!upload_wanted(conn) ||
      proxy__splice_open(conn, PROXY_SPLICE_UP, conn->req_body.remaining) < 0)
    return;
  conn->bulk->dir[PROXY_SPLICE_UP].watch_to = 1;
  if (proxy__splice_begin(conn) == 0)
    upload_polled(conn);
}

static void forward_polled(struct proxy_conn *conn)
{
  struct proxy_splice_dir *d = &conn->bulk->dir[PROXY_SPLICE_DOWN];
  int rc;

  if (conn->bulk->dir[PROXY_SPLICE_UP].open) {
    upload_polled(conn);
    return;
  }
  rc = proxy__splice_move(conn, d);

  if (rc == PROXY_SPLICE_WAIT)
    (void)proxy__splice_watch(conn);
  else if (rc == PROXY_SPLICE_DONE)
    spliced_done(conn);
  else if (rc == PROXY_SPLICE_REFUSED)
    proxy__splice_refused(conn); /* the copying path reads on */
  else
    proxy__splice_fail(conn, d, rc);
}

static void forward_splice(struct proxy_conn *conn)
{
  const struct http1_body *b = &conn->up->resp.body;

  if (!splice_wanted(conn))
    return;
  if (proxy__splice_open(conn, PROXY_SPLICE_DOWN,
                         b->kind == HTTP1_BODY_LENGTH ? b->remaining
                                                      : PROXY_SPLICE_ALL) < 0)
    return;
  if (proxy__splice_begin(conn) == 0)
    forward_polled(conn);
}

/* The client took every queued byte: a large body may splice now. */
static void forward_client_wrote(struct proxy_conn *conn)
{
  if (conn->up != NULL)
    forward_splice(conn);
}

/* ---- the phase ---- */

static void forward_timeout(struct proxy_conn *conn)
{
  if (!proxy__conn_silent(conn, response_ms(conn)))
    return;
  if (!conn->resp_started && conn->req_done)
    proxy__conn_error(conn, 504, 0, "%s did not answer within %u s",
                      conn->target.key,
                      conn->worker->server->cfg->timeout_response_s);
  else
    proxy__conn_close(conn, conn->resp_started ? "origin response stalled"
                                               : "client request body "
                                                 "stalled");
}

/* The client: the body goes up in chunks; once it ended, what comes is
 * the next request (the hub keeps it). */
static enum proxy_rbuf forward_client_buf(const struct proxy_conn *conn)
{
  return conn->req_done ? PROXY_RBUF_NEXT : PROXY_RBUF_CHUNK;
}

static int forward_client_wants(const struct proxy_conn *conn, int reading)
{
  return conn->up != NULL && proxy__flow_ok(reading, conn->up->wpending);
}

/* The origin: the response head into up->in, then the body in chunks. */
static enum proxy_rbuf forward_up_buf(const struct proxy_conn *conn)
{
  return conn->resp_started ? PROXY_RBUF_CHUNK : PROXY_RBUF_HEAD;
}

/* A finished response: the connection goes back to the pool (reading)
 * in the same call chain, so it keeps its poll meanwhile. */
static int forward_up_wants(const struct proxy_conn *conn, int reading)
{
  return conn->resp_done || proxy__flow_ok(reading, conn->client_wpending);
}

static const struct proxy_phase phase_forward = {
  .name = "forward",
  .client_buf = forward_client_buf,
  .client_wants = forward_client_wants,
  .client_read = forward_client_read,
  .up_buf = forward_up_buf,
  .up_wants = forward_up_wants,
  .up_read = forward_upstream_read,
  .client_wrote = forward_client_wrote,
  .polled = forward_polled,
  .timeout = forward_timeout,
};
