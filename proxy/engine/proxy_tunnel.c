/*
 * proxy_tunnel.c - splicing bytes between the client and the origin.
 *
 * Used after "200 Connection established" to a CONNECT (RFC 9110 section
 * 9.3.6) and after a 101 to a WebSocket upgrade (RFC 6455). Once the
 * bytes buffered with the heads are written, both directions move
 * through pipes with splice(2) (proxy_splice.h: the pipe is each
 * direction's bounded buffer). Until then, and where splice() is refused,
 * the copying path runs: each read is a chunk that becomes the write to
 * the other side; backpressure stops reading one side while more than
 * PROXY_WRITE_HIGH_WATER bytes wait to be written to the other.
 *
 * Half-close: when one side ends its stream, the other side's write half
 * is shut down (after the queued bytes) and the reverse direction keeps
 * flowing; the tunnel closes when both directions have ended, on any
 * error (a failed write to either side included), or after
 * --timeout-tunnel of silence. This is the tunnel phase (proxy_conn.h).
 */
#include <errno.h>
#include <sys/socket.h>

#include "proxy_conn.h"
#include "proxy_learn.h"
#include "proxy_phases.h"
#include "proxy_server.h"
#include "proxy_upstream.h"

static const struct proxy_phase phase_tunnel;

static int tunnel_splice(struct proxy_conn *conn);

static uint64_t tunnel_ms(const struct proxy_conn *conn)
{
  return proxy__ms(conn->worker->server->cfg->timeout_tunnel_s);
}

void proxy__tunnel_start(struct proxy_conn *conn)
{
  struct proxy_upstream *up = conn->up;
  size_t early = conn->in_len - conn->head_len;

  atomic_fetch_add_explicit(&conn->worker->server->stats.tunnels, 1,
                            memory_order_relaxed);
  proxy__conn_enter(conn, &phase_tunnel, tunnel_ms(conn));
  if (early > 0) /* the client did not wait for our answer */
    proxy__upstream_write_copy(up, conn->in + conn->head_len, early);
  conn->in_len = conn->head_len;
  if (up->in_len > up->resp.head_len) /* the origin spoke first */
    proxy__conn_write_copy(conn, up->in + up->resp.head_len,
                           up->in_len - up->resp.head_len);
  up->in_len = 0;
  if (conn->closing)
    return;
  if (tunnel_splice(conn) == 0)
    return;
  proxy__conn_sync_read(conn);
  proxy__upstream_sync_read(up);
}

static void finish_if_done(struct proxy_conn *conn)
{
  if (conn->client_eof && conn->tunnel_up_eof && conn->tunnel_shutdowns == 2)
    proxy__conn_close(conn, "tunnel finished");
}

/* ---- through pipes ---- */

/* One direction ended (its pipe is empty): the other side's write half
 * is shut down at once (nothing is queued to libuv while splicing).
 * Returns 0, or -1 after closing conn. */
static int spliced_eof(struct proxy_conn *conn, enum proxy_splice_way way)
{
  const struct proxy_splice_dir *d = &conn->bulk->dir[way];

  if (way == PROXY_SPLICE_UP) {
    conn->client_eof = 1;
    conn->up->shut_write = 1;
  } else {
    conn->tunnel_up_eof = 1;
  }
  if (shutdown(d->to, SHUT_WR) < 0) {
    proxy__splice_fail(conn, d, -errno);
    return -1;
  }
  conn->tunnel_shutdowns++;
  return 0;
}

/* Moves one direction; 1 when the tunnel went on another way (closed,
 * or copying after a refusal), else 0. */
static int spliced_way(struct proxy_conn *conn, enum proxy_splice_way way)
{
  struct proxy_splice_dir *d = &conn->bulk->dir[way];
  int rc;

  if (way == PROXY_SPLICE_UP ? conn->client_eof : conn->tunnel_up_eof)
    return 0;
  rc = proxy__splice_move(conn, d);
  if (rc == PROXY_SPLICE_REFUSED) {
    proxy__splice_refused(conn);
    return 1;
  }
  if (rc < 0) {
    proxy__splice_fail(conn, d, rc);
    return 1;
  }
  if (rc == PROXY_SPLICE_DONE && spliced_eof(conn, way) < 0)
    return 1;
  return 0;
}

static void tunnel_polled(struct proxy_conn *conn)
{
  if (spliced_way(conn, PROXY_SPLICE_UP) ||
      spliced_way(conn, PROXY_SPLICE_DOWN))
    return;
  finish_if_done(conn);
  if (!conn->closing)
    (void)proxy__splice_watch(conn);
}

/* Both directions through pipes from now on: 0, or -1 to copy. */
static int tunnel_splice(struct proxy_conn *conn)
{
  if (!proxy__splice_can_begin(conn))
    return -1;
  if (proxy__splice_open(conn, PROXY_SPLICE_UP, PROXY_SPLICE_ALL) < 0)
    return -1;
  if (proxy__splice_open(conn, PROXY_SPLICE_DOWN, PROXY_SPLICE_ALL) < 0) {
    proxy__splice_close(&conn->bulk->dir[PROXY_SPLICE_UP]);
    return -1;
  }
  if (proxy__splice_begin(conn) == 0)
    tunnel_polled(conn); /* bytes may be waiting already */
  return 0;
}

static void shutdown_done(struct proxy_conn *conn)
{
  conn->tunnel_shutdowns++;
  finish_if_done(conn);
}

static void tunnel_client_read(struct proxy_conn *conn, ssize_t nread,
                               char *base)
{
  struct proxy_wreq *w = base != NULL ? proxy__wreq_of(base) : NULL;

  if (nread > 0) {
    w->len = (size_t)nread;
    proxy__conn_activity(conn);
    proxy__upstream_write(conn->up, w);
    return;
  }
  proxy__wreq_free(w);
  if (nread == 0)
    return;
  if (nread != UV_EOF) {
    proxy__conn_close(conn, uv_strerror((int)nread));
    return;
  }
  conn->client_eof = 1;
  proxy__conn_sync_read(conn);
  proxy__upstream_shutdown(conn->up, shutdown_done);
}

static void on_shutdown_client(uv_shutdown_t *req, int status);

static void tunnel_upstream_read(struct proxy_conn *conn, ssize_t nread,
                                 char *base)
{
  struct proxy_wreq *w = base != NULL ? proxy__wreq_of(base) : NULL;
  int err;

  if (nread > 0) {
    w->len = (size_t)nread;
    proxy__conn_activity(conn);
    proxy__conn_write(conn, w);
    return;
  }
  proxy__wreq_free(w);
  if (nread == 0)
    return;
  if (nread != UV_EOF) {
    proxy__conn_close(conn, uv_strerror((int)nread));
    return;
  }
  conn->tunnel_up_eof = 1;
  proxy__upstream_sync_read(conn->up);
  err = uv_shutdown(&conn->shutdown_req, (uv_stream_t *)&conn->client,
                    on_shutdown_client);
  if (err < 0)
    proxy__conn_close(conn, uv_strerror(err));
}

static void on_shutdown_client(uv_shutdown_t *req, int status)
{
  struct proxy_conn *conn = req->handle->data;

  if (conn->closing)
    return;
  if (status < 0)
    proxy__conn_close(conn, uv_strerror(status));
  else
    shutdown_done(conn);
}

/* ---- the phase ---- */

static enum proxy_rbuf tunnel_buf(const struct proxy_conn *conn)
{
  (void)conn;
  return PROXY_RBUF_CHUNK;
}

static int tunnel_client_wants(const struct proxy_conn *conn, int reading)
{
  return !conn->client_eof && conn->up != NULL &&
         proxy__flow_ok(reading, conn->up->wpending);
}

static int tunnel_up_wants(const struct proxy_conn *conn, int reading)
{
  return !conn->tunnel_up_eof && proxy__flow_ok(reading, conn->client_wpending);
}

/* Copying because bytes were queued at the start: once the client took
 * them (and nothing waits for the origin), the rest goes through pipes.
 * Not after a half-close: a shutdown may still be queued to libuv. */
static void tunnel_client_wrote(struct proxy_conn *conn)
{
  if (!conn->splicing && !conn->client_eof && !conn->tunnel_up_eof)
    (void)tunnel_splice(conn);
}

static void tunnel_up_write_failed(struct proxy_conn *conn, int status)
{
  proxy__conn_close(conn, uv_strerror(status));
}

static void tunnel_timeout(struct proxy_conn *conn)
{
  if (proxy__conn_silent(conn, tunnel_ms(conn)))
    proxy__conn_close(conn, "tunnel idle timeout");
}

static const struct proxy_phase phase_tunnel = {
  .name = "tunnel",
  .client_buf = tunnel_buf,
  .client_wants = tunnel_client_wants,
  .client_read = tunnel_client_read,
  .up_buf = tunnel_buf,
  .up_wants = tunnel_up_wants,
  .up_read = tunnel_upstream_read,
  .client_wrote = tunnel_client_wrote,
  .up_write_failed = tunnel_up_write_failed,
  .polled = tunnel_polled,
  .timeout = tunnel_timeout,
};

/* ---- CONNECT ---- */

static void established(struct proxy_conn *conn)
{
  static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

  conn->resp_started = 1;
  proxy__conn_write_copy(conn, ok, sizeof(ok) - 1);
  if (!conn->closing)
    proxy__tunnel_start(conn);
}

void proxy__tunnel_connect(struct proxy_conn *conn)
{
  conn->is_tunnel = 1;
  proxy__learn_connect(conn);         /* maybe a probe beside it; never waits */
  if (proxy__parent_of(conn) != NULL) /* --upstream-proxy */
    proxy__parent_tunnel(conn, established);
  else
    proxy__origin_connect(conn, established);
}
