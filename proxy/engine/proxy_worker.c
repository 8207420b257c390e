/*
 * proxy_worker.c - one event-loop thread: its listeners, admission, and
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
 *
 * Admission: a connection is accepted only with one of the --max-conns
 * slots (counted across workers by stats.conns_active); without one, the
 * listener is left paused (libuv stops watching it while a connection it
 * accepted is not taken, and the kernel's backlog holds the rest) and
 * retried when a slot frees in this worker, or every
 * PROXY_ACCEPT_RETRY_MS for a slot freed in another. The accepted
 * connection is proxy_conn.c's from then on.
 *
 * After each iteration's I/O the loop reads its thread's CPU time (the
 * metrics show it per worker). The read also keeps a busy loop's time
 * slices as short as the scheduler means them: it brings the kernel's
 * account of the running thread up to date, and a slice found used up
 * ends at that system call's return. Without it a loop that never
 * sleeps overruns its slice until the next timer tick (4 ms on a
 * HZ=250 kernel without preemption) while the other threads, and the
 * clients on the same CPUs, wait: the p99 of the internal 307 under
 * load nearly halves (docs/BENCHMARKS.md).
 */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "proxy_conn.h"
#include "proxy_debug.h"
#include "proxy_hsts.h"
#include "proxy_learn.h"
#include "proxy_server.h"
#include "proxy_upstream.h"

static void relisten(struct proxy_listener *l);

/* ---- admission ---- */

/*
 * Takes one of the --max-conns slots, counted across all workers by
 * stats.conns_active (proxy__worker_conn_gone gives it back). Returns 0
 * when all are taken: the caller then leaves the connection in the
 * listener.
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

static void admit(struct proxy_listener *l);

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
      admit(l); /* pauses it again when no slot is free */
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

/* Leaves the connection in the listener until a slot or memory frees. */
static void pause_listener(struct proxy_listener *l)
{
  l->paused = 1;
  retry_arm(l->worker);
}

static void admit(struct proxy_listener *l)
{
  struct proxy_worker *w = l->worker;
  int rc;

  if (!slot_take(w->server)) {
    if (!l->paused)
      proxy__debug(w, "at --max-conns %u: not accepting until a slot frees",
                   w->server->cfg->max_conns);
    pause_listener(l);
    return;
  }
  rc = proxy__conn_accept(l);
  if (rc < 0) { /* the connection waits in the listener */
    atomic_fetch_sub_explicit(&w->server->stats.conns_active, 1,
                              memory_order_relaxed);
    proxy__debug(w, "accept: out of memory");
    pause_listener(l);
  } else if (rc > 0) {
    relisten(l);
  }
}

static void on_connection(uv_stream_t *s, int status)
{
  struct proxy_listener *l = s->data;

  if (status < 0) {
    proxy__debug(l->worker, "accept: %s", uv_strerror(status));
    return;
  }
  admit(l);
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
  uv_close((uv_handle_t *)&w->cpu_check, NULL);
}

void proxy__worker_conn_gone(struct proxy_worker *w)
{
  atomic_fetch_sub_explicit(&w->server->stats.conns_active, 1,
                            memory_order_relaxed);
  if (any_paused(w))
    resume_paused(w);
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
    proxy__head_close_if_idle(conn);
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
  l->kind = w->server->kinds[i];
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
static void relisten(struct proxy_listener *l)
{
  int err = uv_listen((uv_stream_t *)&l->tcp, PROXY_BACKLOG, on_connection);

  if (err < 0)
    fprintf(stderr, "hstsproxy: worker %zu: listener stopped: %s\n",
            l->worker->index, uv_strerror(err));
}

/* The thread's CPU time (see the top of this file for why each
 * iteration). */
static void read_cpu(struct proxy_worker *w)
{
  struct timespec ts;

  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
    atomic_store_explicit(
        &w->cpu_ns, (uint64_t)ts.tv_sec * HSTS_NS_PER_S + (uint64_t)ts.tv_nsec,
        memory_order_relaxed);
}

static void on_check(uv_check_t *c)
{
  read_cpu(c->data);
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
  uv_check_init(&w->loop, &w->cpu_check);
  w->cpu_check.data = w;
  uv_check_start(&w->cpu_check, on_check);
  uv_unref((uv_handle_t *)&w->cpu_check); /* keeps no loop running */
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
  char name[PROXY_THREAD_NAME_MAX];

  snprintf(name, sizeof(name), "worker %zu", w->index + 1);
  prctl(PR_SET_NAME, name); /* top -H, perf, /proc */
  read_cpu(w);              /* a worker never woken shows its start */
  uv_run(&w->loop, UV_RUN_DEFAULT);
  proxy__splice_cache_drop(); /* this thread's cached pipes */
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
