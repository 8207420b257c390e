/*
 * proxy_splice.c - bulk bytes moved between two descriptors through a
 * pipe with splice(2), while the phase that moves them polls the two
 * descriptors (proxy_splice.h). Owns the pipes (and the per-thread cache
 * of empty ones) and the switch of a connection's two descriptors from
 * libuv's stream watchers to its uv_poll_t handles and back; the phases
 * own what the bytes mean (proxy_tunnel.c, proxy_exchange.c).
 *
 * libuv allows one watcher per descriptor: a poll handle is initialized
 * (once per descriptor, kept until the handle's one close path) and
 * started only while the stream reads nothing and has nothing queued,
 * and stopped before the stream reads again.
 *
 * Flow control: a direction reads from its source only while its pipe is
 * empty or a write just made room (the pipe is the bounded buffer: at
 * most PROXY_SPLICE_PIPE bytes per direction), and waits for its
 * destination to be writable while the pipe holds bytes. One pump moves
 * at most PROXY_SPLICE_BURST bytes so that one busy connection does not
 * starve the others (the poll is level-triggered: the rest moves on the
 * next loop iteration).
 */
#define _GNU_SOURCE
#include "proxy_splice.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy_conn.h"
#include "proxy_debug.h"
#include "proxy_server.h"
#include "proxy_upstream.h"

/* ---- pipes ---- */

static _Thread_local int cache[PROXY_SPLICE_CACHE][2];
static _Thread_local unsigned ncached;

static int pipe_new(int fds[2])
{
  if (ncached > 0) {
    ncached--;
    fds[0] = cache[ncached][0];
    fds[1] = cache[ncached][1];
    return 0;
  }
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
    return -errno;
  /* A bigger pipe means fewer calls per megabyte; refused past the
   * user's pipe quota or pipe-max-size: the default size works too. */
  (void)fcntl(fds[1], F_SETPIPE_SZ, PROXY_SPLICE_PIPE);
  return 0;
}

void proxy__splice_cache_drop(void)
{
  while (ncached > 0) {
    ncached--;
    close(cache[ncached][0]);
    close(cache[ncached][1]);
  }
}

static int fileno_of(uv_tcp_t *t)
{
  uv_os_fd_t fd;

  return uv_fileno((uv_handle_t *)t, &fd) == 0 ? fd : -1;
}

int proxy__splice_open(struct proxy_conn *conn, enum proxy_splice_way way,
                       uint64_t left)
{
  struct proxy_splice_dir *d;
  int cfd = fileno_of(&conn->client);
  int ufd = fileno_of(&conn->up->tcp);
  int fds[2];

  if (conn->bulk == NULL)
    conn->bulk = calloc(1, sizeof(*conn->bulk));
  if (conn->bulk == NULL || cfd < 0 || ufd < 0 || pipe_new(fds) < 0)
    return -1;
  d = &conn->bulk->dir[way];
  memset(d, 0, sizeof(*d));
  d->from = way == PROXY_SPLICE_UP ? cfd : ufd;
  d->to = way == PROXY_SPLICE_UP ? ufd : cfd;
  d->pipe[0] = fds[0];
  d->pipe[1] = fds[1];
  d->left = left;
  d->open = 1;
  d->eof = left == 0;
  return 0;
}

void proxy__splice_close(struct proxy_splice_dir *d)
{
  if (!d->open)
    return;
  if (d->queued == 0 && ncached < PROXY_SPLICE_CACHE) {
    cache[ncached][0] = d->pipe[0];
    cache[ncached][1] = d->pipe[1];
    ncached++;
  } else {
    close(d->pipe[0]);
    close(d->pipe[1]);
  }
  d->open = 0;
}

int proxy__splice_peek(int fd)
{
  char c;
  ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

/* ---- moving bytes ---- */

static int refused(int err)
{
  return err == EINVAL || err == ENOSYS || err == EOPNOTSUPP;
}

/* Source to pipe: 1 when bytes moved or the source ended, 0 to wait,
 * or a negative errno. */
static int fill(struct proxy_splice_dir *d)
{
  size_t want =
      d->left < PROXY_SPLICE_PIPE ? (size_t)d->left : (size_t)PROXY_SPLICE_PIPE;
  ssize_t n = splice(d->from, NULL, d->pipe[1], NULL, want,
                     SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  int first = !d->tried;

  d->tried = 1;
  if (n > 0) {
    d->queued += (size_t)n;
    if (d->left != PROXY_SPLICE_ALL)
      d->left -= (uint64_t)n;
    d->eof = d->left == 0;
    return 1;
  }
  if (n == 0) {
    d->eof = 1;
    return 1;
  }
  if (errno == EAGAIN || errno == EINTR)
    return errno == EINTR;
  if (first && refused(errno))
    return -EOPNOTSUPP;
  d->err_to = 0;
  return -errno;
}

/* Pipe to destination: 1 when bytes moved, 0 to wait, or -errno. */
static int drain(struct proxy_splice_dir *d, uint64_t *moved)
{
  ssize_t n = splice(d->pipe[0], NULL, d->to, NULL, d->queued,
                     SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

  if (n > 0) {
    d->queued -= (size_t)n;
    *moved += (uint64_t)n;
    return 1;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return errno == EINTR;
  d->err_to = 1;
  return n < 0 ? -errno : -EPIPE;
}

static int pump(struct proxy_splice_dir *d, uint64_t *moved)
{
  int in, out;

  *moved = 0;
  do {
    in = d->eof || d->hold ? 0 : fill(d);
    if (in == -EOPNOTSUPP)
      return PROXY_SPLICE_REFUSED;
    if (in < 0)
      return in;
    out = d->queued > 0 ? drain(d, moved) : 0;
    if (out < 0)
      return out;
  } while ((in > 0 || out > 0) && *moved < PROXY_SPLICE_BURST);
  return (d->eof || d->hold) && d->queued == 0 ? PROXY_SPLICE_DONE
                                               : PROXY_SPLICE_WAIT;
}

int proxy__splice_move(struct proxy_conn *conn, struct proxy_splice_dir *d)
{
  uint64_t moved;
  int rc = pump(d, &moved);

  if (moved > 0) {
    proxy__conn_activity(conn);
    atomic_fetch_add_explicit(&conn->worker->server->stats.spliced_bytes, moved,
                              memory_order_relaxed);
    if (d == &conn->bulk->dir[PROXY_SPLICE_DOWN])
      conn->sent += moved;
  }
  return rc;
}

void proxy__splice_fail(struct proxy_conn *conn,
                        const struct proxy_splice_dir *d, int err)
{
  int down = d == &conn->bulk->dir[PROXY_SPLICE_DOWN];
  char why[128];

  snprintf(why, sizeof(why), "splice %s the %s: %s", d->err_to ? "to" : "from",
           down != d->err_to ? "origin" : "client", uv_strerror(err));
  proxy__conn_close(conn, why);
}

/* ---- the descriptors: libuv's streams or the poll handles ---- */

static void polled(struct proxy_conn *conn)
{
  if (conn != NULL && !conn->closing && conn->splicing &&
      conn->phase->polled != NULL)
    conn->phase->polled(conn);
}

static void on_client_poll(uv_poll_t *p, int status, int events)
{
  struct proxy_conn *conn = p->data;

  (void)events;
  if (status < 0) /* POLLERR: libuv stopped the handle; splice() names it */
    conn->bulk->client_poll_ev = 0;
  polled(conn);
}

static void on_up_poll(uv_poll_t *p, int status, int events)
{
  struct proxy_upstream *up = p->data;

  (void)events;
  if (status < 0)
    up->poll_ev = 0;
  polled(up->conn);
}

int proxy__splice_can_begin(const struct proxy_conn *conn)
{
  return conn->up != NULL && !conn->closing && !conn->splice_refused &&
         conn->client_wpending == 0 && conn->up->wpending == 0 &&
         !conn->up->closing;
}

/* Initializes the poll handle for stream s once; 0 or a libuv error. */
static int poll_init(uv_stream_t *s, uv_poll_t *p, unsigned *open, void *data)
{
  uv_os_fd_t fd;
  int err;

  if (*open)
    return 0;
  err = uv_fileno((uv_handle_t *)s, &fd);
  if (err == 0)
    err = uv_poll_init(s->loop, p, fd);
  if (err < 0)
    return err;
  p->data = data;
  *open = 1;
  return 0;
}

int proxy__splice_begin(struct proxy_conn *conn)
{
  struct proxy_upstream *up = conn->up;
  unsigned open;
  int err;

  conn->splicing = 1;
  proxy__conn_sync_read(conn); /* the hub reads nothing while splicing */
  proxy__upstream_sync_read(up);
  open = conn->bulk->client_poll_open;
  err = poll_init((uv_stream_t *)&conn->client, &conn->bulk->client_poll, &open,
                  conn);
  conn->bulk->client_poll_open = open;
  if (err == 0) {
    open = up->poll_open;
    err = poll_init((uv_stream_t *)&up->tcp, &up->poll, &open, up);
    up->poll_open = open;
  }
  if (err < 0) {
    proxy__conn_close(conn, uv_strerror(err));
    return -1;
  }
  atomic_fetch_add_explicit(&conn->worker->server->stats.spliced, 1,
                            memory_order_relaxed);
  return 0;
}

/* Starts, changes or stops p's events; only when they change (a change
 * costs epoll_ctl calls). */
static int poll_set(uv_poll_t *p, unsigned char *cur, int events, uv_poll_cb cb)
{
  int err = 0;

  if (*cur == events)
    return 0;
  if (events == 0)
    err = uv_poll_stop(p);
  else
    err = uv_poll_start(p, events, cb);
  *cur = (unsigned char)events;
  return err;
}

void proxy__splice_end(struct proxy_conn *conn)
{
  if (conn->bulk->client_poll_open)
    (void)poll_set(&conn->bulk->client_poll, &conn->bulk->client_poll_ev, 0,
                   NULL);
  if (conn->up != NULL && conn->up->poll_open)
    (void)poll_set(&conn->up->poll, &conn->up->poll_ev, 0, NULL);
  conn->splicing = 0;
  proxy__conn_sync_read(conn);
  if (conn->up != NULL)
    proxy__upstream_sync_read(conn->up);
}

/* The events d waits for on descriptor fd. */
static int wanted(const struct proxy_splice_dir *d, int fd)
{
  int ev = 0;

  if (!d->open)
    return 0;
  if (d->from == fd && !d->eof && !d->hold && d->queued == 0)
    ev |= UV_READABLE;
  if (d->to == fd && d->watch_to && !d->hold)
    ev |= UV_READABLE;
  if (d->to == fd && d->queued > 0)
    ev |= UV_WRITABLE;
  return ev;
}

int proxy__splice_watch(struct proxy_conn *conn)
{
  struct proxy_upstream *up = conn->up;
  int cfd = fileno_of(&conn->client);
  int ufd = fileno_of(&up->tcp);
  int cev = 0, uev = 0;
  int err;
  unsigned i;

  for (i = 0; i < 2; i++) {
    cev |= wanted(&conn->bulk->dir[i], cfd);
    uev |= wanted(&conn->bulk->dir[i], ufd);
  }
  err = poll_set(&conn->bulk->client_poll, &conn->bulk->client_poll_ev, cev,
                 on_client_poll);
  if (err == 0)
    err = poll_set(&up->poll, &up->poll_ev, uev, on_up_poll);
  if (err < 0) {
    proxy__conn_close(conn, uv_strerror(err));
    return -1;
  }
  return 0;
}

void proxy__splice_refused(struct proxy_conn *conn)
{
  struct proxy_splice_dir *d = conn->bulk->dir;

  if (d[0].queued > 0 || d[1].queued > 0) {
    proxy__conn_close(conn, "splice() refused with bytes in a pipe");
    return;
  }
  proxy__splice_close(&d[0]);
  proxy__splice_close(&d[1]);
  conn->splice_refused = 1;
  /* Counted as spliced when it began (the first pump follows at once):
   * it was not. */
  atomic_fetch_sub_explicit(&conn->worker->server->stats.spliced, 1,
                            memory_order_relaxed);
  atomic_fetch_add_explicit(&conn->worker->server->stats.splice_refused, 1,
                            memory_order_relaxed);
  proxy__debug(conn->worker, "conn %llu: splice() refused: copying instead",
               (unsigned long long)conn->id);
  proxy__splice_end(conn);
}
