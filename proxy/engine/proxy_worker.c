/*
 * proxy_worker.c - one event-loop thread: its listeners, accepting, and
 * its part of a graceful shutdown.
 *
 * Each worker owns a libuv loop with its own listening socket per
 * --listen address (bound with SO_REUSEPORT by proxy_server.c, so the
 * kernel spreads connections over the workers), the client connections
 * it accepted, its pool of idle origin connections and its DNS cache.
 * The main thread talks to it only through `command` and the async
 * handle: DRAIN closes the listeners, the pool and idle keep-alive
 * connections at once and lets in-flight exchanges finish (keep-alive is
 * refused from then on) for at most PROXY_DRAIN_MS; FORCE, or the end of
 * that wait, closes everything. The loop then runs out of handles and
 * the thread ends. The same async handle tells the worker that a newer
 * policy snapshot is published (proxy_hsts.c).
 */
#include <stdio.h>
#include <string.h>

#include "proxy_int.h"

#define LOG_LINE_MAX 1024

void proxy__log(struct proxy_worker *w, const char *fmt, ...)
{
  char line[LOG_LINE_MAX];
  va_list ap;
  int n;

  if (!w->server->cfg->verbose)
    return;
  n = snprintf(line, sizeof(line), "hstsproxy: worker %zu: ", w->index);
  va_start(ap, fmt);
  vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s\n", line); /* one call: lines stay whole */
}

static void on_connection(uv_stream_t *s, int status)
{
  struct proxy_listener *l = s->data;

  if (status < 0) {
    proxy__log(l->worker, "accept: %s", uv_strerror(status));
    return;
  }
  proxy__conn_accept(l);
}

static void maybe_finish(struct proxy_worker *w)
{
  if (!w->draining || w->nconns > 0 || w->finished)
    return;
  w->finished = 1;
  uv_mutex_lock(&w->server->lock);
  w->async_open = 0;
  uv_mutex_unlock(&w->server->lock);
  uv_close((uv_handle_t *)&w->async, NULL);
  uv_close((uv_handle_t *)&w->drain_timer, NULL);
}

void proxy__worker_conn_gone(struct proxy_worker *w)
{
  maybe_finish(w);
}

static void close_all(struct proxy_worker *w, const char *why)
{
  struct proxy_conn *conn;

  for (conn = w->conns; conn != NULL; conn = conn->next)
    proxy__conn_close(conn, why); /* unlinked later, in its close cb */
  proxy__dns_cancel_all(&w->dns); /* lookups not started yet */
}

static void on_drain_timeout(uv_timer_t *t)
{
  close_all(t->data, "shutdown: drain time over");
}

static void drain_start(struct proxy_worker *w)
{
  struct proxy_conn *conn;
  size_t i;

  w->draining = 1;
  for (i = 0; i < w->nlisteners; i++)
    if (w->listeners[i].open) {
      w->listeners[i].open = 0;
      uv_close((uv_handle_t *)&w->listeners[i].tcp, NULL);
    }
  proxy__pool_close_all(w);
  proxy__learn_worker_drain(w); /* probes canceled: a bounded end */
  for (conn = w->conns; conn != NULL; conn = conn->next)
    proxy__conn_close_if_idle(conn);
  uv_timer_start(&w->drain_timer, on_drain_timeout, PROXY_DRAIN_MS, 0);
  maybe_finish(w);
}

static void on_async(uv_async_t *a)
{
  struct proxy_worker *w = a->data;
  int cmd = atomic_load(&w->command);

  if (atomic_exchange(&w->hsts_pending, 0) != 0)
    proxy__hsts_adopt(w);
  if (cmd >= PROXY_CMD_DRAIN && !w->draining)
    drain_start(w);
  if (cmd == PROXY_CMD_FORCE && !w->finished)
    close_all(w, "shutdown: second signal");
}

static int open_listener(struct proxy_worker *w, size_t i, uv_os_sock_t *fd)
{
  struct proxy_listener *l = &w->listeners[i];
  int err;

  l->worker = w;
  uv_tcp_init(&w->loop, &l->tcp);
  l->tcp.data = l;
  l->open = 1;
  w->nlisteners = i + 1;
  err = uv_tcp_open(&l->tcp, *fd);
  if (err < 0)
    return err;
  *fd = -1; /* the handle owns it now */
  return uv_listen((uv_stream_t *)&l->tcp, PROXY_BACKLOG, on_connection);
}

/*
 * libuv (1.44, src/unix/stream.c) stops watching a listener until
 * uv_accept() takes the pending connection, and when uv_accept() fails it
 * closes that connection without watching again: calling uv_listen() on
 * the listening socket once more restarts the watcher.
 */
void proxy__worker_relisten(struct proxy_listener *l)
{
  int err = uv_listen((uv_stream_t *)&l->tcp, PROXY_BACKLOG, on_connection);

  if (err < 0)
    fprintf(stderr, "hstsproxy: worker %zu: listener stopped: %s\n",
            l->worker->index, uv_strerror(err));
}

int proxy__worker_open(struct proxy_worker *w, struct proxy_server *s,
                       size_t index, uv_os_sock_t *fds, size_t nfds)
{
  size_t i;
  int err;

  w->server = s;
  w->index = index;
  w->hsts = atomic_load_explicit(&s->hsts, memory_order_acquire);
  atomic_store(&w->hsts_gen, w->hsts != NULL ? w->hsts->gen : 0);
  err = uv_loop_init(&w->loop);
  if (err < 0)
    return err;
  w->loop_open = 1;
  proxy__dns_init(&w->dns, &w->loop);
  err = uv_async_init(&w->loop, &w->async, on_async);
  if (err < 0)
    return err;
  w->async.data = w;
  w->async_open = 1;
  uv_timer_init(&w->loop, &w->drain_timer);
  w->drain_timer.data = w;
  err = proxy__learn_worker_open(w);
  if (err < 0)
    return err;
  for (i = 0; i < nfds; i++) {
    err = open_listener(w, i, &fds[i]);
    if (err < 0)
      return err;
  }
  return 0;
}

static void worker_main(void *arg)
{
  struct proxy_worker *w = arg;

  uv_run(&w->loop, UV_RUN_DEFAULT);
  uv_mutex_lock(&w->server->lock);
  atomic_store(&w->ended, 1);
  uv_async_send(&w->server->done);
  uv_mutex_unlock(&w->server->lock);
}

int proxy__worker_start(struct proxy_worker *w)
{
  int err = uv_thread_create(&w->thread, worker_main, w);

  if (err == 0)
    w->thread_started = 1;
  return err;
}

void proxy__worker_command(struct proxy_worker *w, int cmd)
{
  atomic_store(&w->command, cmd);
  uv_mutex_lock(&w->server->lock);
  if (w->async_open)
    uv_async_send(&w->async);
  uv_mutex_unlock(&w->server->lock);
}

void proxy__worker_poke(struct proxy_worker *w)
{
  atomic_store(&w->hsts_pending, 1);
  uv_mutex_lock(&w->server->lock);
  if (w->async_open)
    uv_async_send(&w->async);
  uv_mutex_unlock(&w->server->lock);
}

int proxy__worker_alive(struct proxy_worker *w)
{
  int alive;

  uv_mutex_lock(&w->server->lock);
  alive = w->async_open;
  uv_mutex_unlock(&w->server->lock);
  return alive;
}

static void close_walk(uv_handle_t *h, void *arg)
{
  size_t *n = arg;

  if (!uv_is_closing(h)) {
    uv_close(h, NULL);
    (*n)++;
  }
}

void proxy__worker_close(struct proxy_worker *w)
{
  size_t leftover = 0;
  int err;

  if (w->thread_started) {
    uv_thread_join(&w->thread);
    w->thread_started = 0;
  }
  if (!w->loop_open)
    return;
  uv_walk(&w->loop, close_walk, &leftover);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  err = uv_loop_close(&w->loop);
  proxy__learn_worker_close(w); /* its probes ended with the loop */
  if (err < 0 || (leftover > 0 && w->finished))
    fprintf(stderr,
            "hstsproxy: worker %zu: %zu handles left open at exit "
            "(%s)\n",
            w->index, leftover, err < 0 ? uv_strerror(err) : "closed");
  w->loop_open = 0;
}
