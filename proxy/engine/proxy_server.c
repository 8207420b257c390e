/*
 * proxy_server.c - proxy_run(): binding, the worker threads, signals.
 *
 * Every listening socket is created and bound here, on the calling
 * thread, before any worker starts, so that "address in use" is a clean
 * startup error and the announce line names ports that already accept.
 * Per address, a probe socket without SO_REUSEPORT is bound first: it
 * fails if anything listens there (even another hstsproxy, whose
 * SO_REUSEPORT sockets would otherwise silently share the port with
 * ours), and with port 0 it picks the ephemeral port. The probe is
 * closed and every worker then binds its own SO_REUSEPORT socket to that
 * port. IPv6 sockets are IPV6_V6ONLY, so [::]:P and 0.0.0.0:P coexist.
 *
 * Before that, on the calling thread (blocking I/O is fine there), the
 * store is opened (created if missing) and the first policy snapshot is
 * loaded (proxy_hsts.c), and the hop log writer is opened (store_writer.h);
 * the writer is closed last, after every worker has drained, so that all
 * that was queued is committed.
 *
 * The calling thread then runs a small loop of its own for SIGINT and
 * SIGTERM (the first drains, a second one stops at once), SIGHUP (reload
 * the policies off the loops, never a reason to exit; it also reopens
 * the log files), SIGUSR1 (reopen --access-log and --log-json by name,
 * for logrotate: their writer threads do it between batches), the
 * workers' "my
 * loop has ended" notices and their snapshot acknowledgements; SIGPIPE is
 * ignored. The store watch also ends there: the writer thread looks at
 * the store's data_version every PROXY_STORE_WATCH_MS (store_writer.h)
 * and, when another process has committed (`policy add`, `preload
 * import`), sends an async that reloads exactly as SIGHUP does.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy_alog.h"
#include "proxy_auth.h"
#include "proxy_hsts.h"
#include "proxy_intercept.h"
#include "proxy_console.h"
#include "proxy_learn.h"
#include "proxy_refresh.h"
#include "proxy_log.h"
#include "proxy_server.h"
#include "store_writer.h"

#define ANNOUNCE_MAX (PROXY_MAX_LISTENERS * PROXY_ADDR_TEXT + PROXY_ERROR_TEXT)

void proxy__announce(FILE *f, const char *const *addrs, size_t naddrs,
                     const struct proxy_store_counts *store)
{
  char line[ANNOUNCE_MAX];
  size_t len = 0, i;

  len += (size_t)snprintf(line, sizeof(line), "hstsproxy: listening on ");
  for (i = 0; i < naddrs && len < sizeof(line); i++)
    len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s",
                            i > 0 ? ", " : "", addrs[i]);
  if (len < sizeof(line) && store->preload_name != NULL)
    len += (size_t)snprintf(line + len, sizeof(line) - len,
                            " (preload: %s %zu hosts", store->preload_name,
                            store->preload_hosts);
  else if (len < sizeof(line))
    len += (size_t)snprintf(line + len, sizeof(line) - len, " (preload: none");
  if (len < sizeof(line) && store->preload_stale_days > 0)
    len += (size_t)snprintf(line + len, sizeof(line) - len,
                            ", STALE: %d days old, run `hstsproxy preload "
                            "update`",
                            store->preload_stale_days);
  if (len < sizeof(line))
    snprintf(line + len, sizeof(line) - len, ", learned: %zu, manual: %zu)\n",
             store->learned, store->manual);
  fputs(line, f); /* one write: the line stays whole */
  fflush(f);
}

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
  return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                   : sizeof(struct sockaddr_in);
}

/* Returns a bound (and, if asked, listening) socket, or -errno. */
static int make_socket(const struct sockaddr_storage *ss, int reuseport,
                       int listening)
{
  int one = 1, fd, err;

  fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
    goto fail;
  if (ss->ss_family == AF_INET6 &&
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
    goto fail;
  if (reuseport &&
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
    goto fail;
  if (bind(fd, (const struct sockaddr *)ss, sa_len(ss)) < 0)
    goto fail;
  if (listening && listen(fd, PROXY_BACKLOG) < 0)
    goto fail;
  return fd;
fail:
  err = -errno;
  close(fd);
  return err;
}

static int fail_with(struct proxy_error *e, int err, const char *what,
                     const char *why)
{
  snprintf(e->what, sizeof(e->what), "%s", what);
  snprintf(e->why, sizeof(e->why), "%s", why);
  return err;
}

/* Binds address a for every worker: fds[w * stride + a]. */
static int bind_address(const struct sockaddr_storage *addr, size_t a,
                        size_t nworkers, size_t stride, uv_os_sock_t *fds,
                        char *text, struct proxy_error *e)
{
  struct sockaddr_storage ss = *addr;
  socklen_t len = sizeof(ss);
  char what[PROXY_ADDR_TEXT + sizeof("listen ")];
  int fd;
  size_t w;

  proxy_addr_format((const struct sockaddr *)&ss, text, PROXY_ADDR_TEXT);
  snprintf(what, sizeof(what), "listen %s", text);
  fd = make_socket(&ss, 0, 0);
  if (fd < 0)
    return fail_with(e, fd, what, uv_strerror(fd));
  if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
    int err = -errno;

    close(fd);
    return fail_with(e, err, what, uv_strerror(err));
  }
  close(fd);
  proxy_addr_format((const struct sockaddr *)&ss, text, PROXY_ADDR_TEXT);
  for (w = 0; w < nworkers; w++) {
    fd = make_socket(&ss, 1, 1);
    if (fd < 0)
      return fail_with(e, fd, what, uv_strerror(fd));
    fds[w * stride + a] = fd;
  }
  return 0;
}

static void on_signal(uv_signal_t *h, int signum)
{
  struct proxy_server *s = h->data;
  int cmd = ++s->signals == 1 ? PROXY_CMD_DRAIN : PROXY_CMD_FORCE;
  size_t i;

  if (s->cfg->verbose)
    fprintf(stderr, "hstsproxy: signal %d: %s\n", signum,
            cmd == PROXY_CMD_DRAIN ? "finishing in-flight requests"
                                   : "closing every connection");
  for (i = 0; i < s->nworkers; i++)
    proxy__worker_command(&s->workers[i], cmd);
}

/* SIGHUP: re-reads the preload list and the dynamic policies off the
 * loops and hands them to the workers (proxy_hsts.c). Connections are
 * never touched. */
static void on_reload(uv_signal_t *h, int signum)
{
  struct proxy_server *s = h->data;

  if (s->cfg->verbose)
    fprintf(stderr, "hstsproxy: signal %d: reloading the policies\n", signum);
  proxy__hsts_reload(s);
  proxy__auth_reload(s->cfg->auth, &s->loop); /* --auth-file */
  proxy_alog_reopen(s->alog);
  store_writer_reopen(s->writer);
}

/* SIGUSR1: the log files are reopened by name (after logrotate's mv). */
static void on_reopen(uv_signal_t *h, int signum)
{
  struct proxy_server *s = h->data;

  if (s->cfg->verbose)
    fprintf(stderr, "hstsproxy: signal %d: reopening the log files\n", signum);
  proxy_alog_reopen(s->alog);
  store_writer_reopen(s->writer);
}

/* ---- the store watch ---- */

/* Writer thread: another process committed to the store. */
static void on_store_change(void *arg)
{
  struct proxy_server *s = arg;

  uv_mutex_lock(&s->lock);
  if (s->watch_open)
    uv_async_send(&s->store_changed);
  uv_mutex_unlock(&s->lock);
}

/* Main thread: reload as SIGHUP does (policies and the preload list). */
static void on_store_changed(uv_async_t *a)
{
  struct proxy_server *s = a->data;

  if (s->cfg->verbose)
    fprintf(stderr, "hstsproxy: the store changed: reloading the "
                    "policies\n");
  proxy__hsts_reload(s);
}

static int watch_open(struct proxy_server *s)
{
  int err = uv_async_init(&s->loop, &s->store_changed, on_store_changed);

  if (err < 0)
    return err;
  s->store_changed.data = s;
  uv_mutex_lock(&s->lock);
  s->watch_open = 1;
  uv_mutex_unlock(&s->lock);
  return 0;
}

/* Idempotent: no send after it, then the handle is closed. */
static void watch_close(struct proxy_server *s)
{
  int was;

  uv_mutex_lock(&s->lock);
  was = s->watch_open;
  s->watch_open = 0;
  uv_mutex_unlock(&s->lock);
  if (was)
    uv_close((uv_handle_t *)&s->store_changed, NULL);
}

static void on_hsts_ack(uv_async_t *a)
{
  proxy__hsts_sweep(a->data);
}

static void on_worker_done(uv_async_t *a)
{
  struct proxy_server *s = a->data;
  size_t i, ended = 0;

  uv_mutex_lock(&s->lock);
  for (i = 0; i < s->nworkers; i++)
    ended += atomic_load(&s->workers[i].ended) != 0;
  if (ended == s->nworkers) {
    uv_close((uv_handle_t *)&s->done, NULL);
    uv_close((uv_handle_t *)&s->hsts_ack, NULL);
  }
  uv_mutex_unlock(&s->lock);
  if (ended == s->nworkers) {
    watch_close(s);
    proxy__hsts_sweep(s);
    proxy__learn_stop(s);
    proxy__refresh_stop(s);
    proxy__console_stop(s);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sighup, NULL);
    uv_close((uv_handle_t *)&s->sigusr1, NULL);
  }
}

static int main_loop_open(struct proxy_server *s, struct proxy_error *e)
{
  int err = uv_loop_init(&s->loop);

  if (err < 0)
    return fail_with(e, err, "event loop", uv_strerror(err));
  s->loop_open = 1;
  uv_signal_init(&s->loop, &s->sigint);
  uv_signal_init(&s->loop, &s->sigterm);
  uv_signal_init(&s->loop, &s->sighup);
  uv_signal_init(&s->loop, &s->sigusr1);
  s->sigint.data = s->sigterm.data = s->sighup.data = s->sigusr1.data = s;
  err = uv_async_init(&s->loop, &s->done, on_worker_done);
  if (err == 0) {
    s->done.data = s;
    err = uv_async_init(&s->loop, &s->hsts_ack, on_hsts_ack);
  }
  if (err == 0) {
    s->hsts_ack.data = s;
    err = uv_signal_start(&s->sigint, on_signal, SIGINT);
  }
  if (err == 0)
    err = uv_signal_start(&s->sigterm, on_signal, SIGTERM);
  if (err == 0)
    err = uv_signal_start(&s->sighup, on_reload, SIGHUP);
  if (err == 0)
    err = uv_signal_start(&s->sigusr1, on_reopen, SIGUSR1);
  if (err == 0)
    err = watch_open(s);
  if (err < 0)
    return fail_with(e, err, "signals", uv_strerror(err));
  return proxy__refresh_start(s, e);
}

static void close_walk(uv_handle_t *h, void *arg)
{
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

static void main_loop_close(struct proxy_server *s)
{
  watch_close(s);
  uv_walk(&s->loop, close_walk, NULL);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  uv_loop_close(&s->loop);
}

static int start_workers(struct proxy_server *s, uv_os_sock_t *fds,
                         size_t nlisten, struct proxy_error *e)
{
  char what[PROXY_ERROR_TEXT];
  size_t i;
  int err;

  for (i = 0; i < s->nworkers; i++) {
    snprintf(what, sizeof(what), "worker %zu", i);
    err = proxy__worker_open(&s->workers[i], s, i, fds + i * nlisten, nlisten);
    if (err < 0)
      return fail_with(e, err, what, uv_strerror(err));
  }
  for (i = 0; i < s->nworkers; i++) {
    snprintf(what, sizeof(what), "worker %zu", i);
    err = proxy__worker_start(&s->workers[i]);
    if (err < 0)
      return fail_with(e, err, what, uv_strerror(err));
  }
  return 0;
}

/* Every address to bind, in listener order: --listen (or the default),
 * then --intercept, then --intercept-tls; their kinds go to s->kinds. */
static int gather(const struct proxy_config *cfg, struct proxy_server *s,
                  struct sockaddr_storage *addrs, size_t *n,
                  struct proxy_error *e)
{
  const char *why = NULL;
  struct proxy_config def;
  size_t i;

  *n = 0;
  if (cfg->nlisten == 0) {
    memset(&def, 0, sizeof(def));
    if (proxy_config_add_listen(&def, PROXY_DEFAULT_LISTEN, &why) < 0)
      return fail_with(e, UV_EINVAL, PROXY_DEFAULT_LISTEN, why);
    addrs[(*n)++] = def.listen[0];
  }
  for (i = 0; i < cfg->nlisten; i++)
    addrs[(*n)++] = cfg->listen[i];
  for (i = 0; i < cfg->nintercept; i++) {
    s->kinds[*n] = PROXY_LISTEN_INTERCEPT;
    addrs[(*n)++] = cfg->intercept[i];
  }
  for (i = 0; i < cfg->nintercept_tls; i++) {
    s->kinds[*n] = PROXY_LISTEN_INTERCEPT_TLS;
    addrs[(*n)++] = cfg->intercept_tls[i];
  }
  return 0;
}

static int bind_all(const struct proxy_config *cfg, struct proxy_server *s,
                    uv_os_sock_t *fds, char text[][PROXY_ADDR_TEXT],
                    size_t *nlisten, struct proxy_error *e)
{
  struct sockaddr_storage addrs[PROXY_MAX_LISTENERS];
  size_t a;
  int err = gather(cfg, s, addrs, nlisten, e);

  for (a = 0; err == 0 && a < *nlisten; a++)
    err = bind_address(&addrs[a], a, s->nworkers, *nlisten, fds, text[a], e);
  return err;
}

/* Runs until the workers have ended; 0 or a startup error. The announce
 * line names the --listen addresses; the intercepting ones get a line of
 * their own before it (proxy_intercept.c). */
static int serve(struct proxy_server *s, uv_os_sock_t *fds,
                 struct proxy_error *e)
{
  char text[PROXY_MAX_LISTENERS][PROXY_ADDR_TEXT];
  const char *names[PROXY_MAX_LISTENERS];
  struct proxy_store_counts counts;
  size_t nlisten = 0, nproxy = 0, i;
  int err;

  err = bind_all(s->cfg, s, fds, text, &nlisten, e);
  if (err == 0)
    err = proxy__intercept_open(s, e); /* --outgoing-mark */
  if (err == 0)
    err = main_loop_open(s, e);
  if (err == 0)
    err = proxy__learn_open(s, e); /* --ca-file, probes */
  if (err == 0)
    err = proxy__console_start(s, e); /* publishes the console's edits */
  if (err < 0)
    return err;
  err = start_workers(s, fds, nlisten, e);
  if (err < 0) {
    for (i = 0; i < s->nworkers; i++)
      if (s->workers[i].thread_started)
        proxy__worker_command(&s->workers[i], PROXY_CMD_FORCE);
    return err;
  }
  if (s->cfg->pid_file != NULL) { /* --pid-file: the proxy now listens */
    if (proxy__pid_write(s->cfg->pid_file, e) < 0) {
      for (i = 0; i < s->nworkers; i++)
        proxy__worker_command(&s->workers[i], PROXY_CMD_FORCE);
      return UV_EIO;
    }
    s->pid_written = 1;
  }
  for (i = 0; i < nlisten; i++)
    names[i] = text[i];
  while (nproxy < nlisten && s->kinds[nproxy] == PROXY_LISTEN_PROXY)
    nproxy++;
  proxy__intercept_announce(stderr, s, names, nlisten);
  proxy__hsts_counts(atomic_load(&s->hsts), &counts);
  proxy__announce(stderr, names, nproxy, &counts);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  return 0;
}

/* The hop log writer: every hop and traffic count goes through it. */
static int writer_open(struct proxy_server *s, struct proxy_error *e)
{
  struct store_writer_config wc;
  int rc;

  memset(&wc, 0, sizeof(wc));
  wc.db_path = s->cfg->db_path;
  wc.json_path = s->cfg->log_json;
  wc.batch_ms = STORE_WRITER_BATCH_MS;
  wc.watch_ms = PROXY_STORE_WATCH_MS; /* the store watch, above */
  wc.on_change = on_store_change;
  wc.change_arg = s;
  wc.retain_ms = (int64_t)s->cfg->retain_s * HSTS_MS_PER_S; /* --retain */
  wc.on_hop = proxy__console_feed_push;          /* the console's live hops */
  wc.on_hop_wanted = proxy__console_feed_wanted; /* a stream is open */
  wc.on_hop_arg = s->console;
  rc = store_writer_open(&wc, &s->writer, e->why, sizeof(e->why));
  if (rc != STORE_OK) {
    snprintf(e->what, sizeof(e->what), "hop log");
    return UV_EIO;
  }
  return 0;
}

/* The access log (--access-log), or none. */
static int alog_open(struct proxy_server *s, struct proxy_error *e)
{
  if (s->cfg->access_log == NULL)
    return 0;
  if (proxy_alog_open(s->cfg->access_log,
                      (enum proxy_alog_format)s->cfg->access_log_format, stderr,
                      &s->alog, e->why, sizeof(e->why)) < 0) {
    snprintf(e->what, sizeof(e->what), "--access-log");
    return UV_EIO;
  }
  return 0;
}

/* Loads the policies and opens the hop log: before any loop runs. */
static int store_side_open(struct proxy_server *s, struct proxy_error *e)
{
  int err;

  if (s->cfg->db_path == NULL)
    return fail_with(e, UV_EINVAL, "store", "no database path given");
  err = proxy__hsts_open(s, e);
  if (err == 0)
    err = proxy__console_open(s, e);
  if (err == 0)
    err = writer_open(s, e);
  if (err == 0)
    err = alog_open(s, e);
  if (err == 0)
    s->request_salt = proxy__request_salt();
  return err;
}

int proxy_run(const struct proxy_config *cfg, struct proxy_error *e)
{
  size_t nfds = cfg->workers * PROXY_MAX_LISTENERS, i;
  struct proxy_server *s = calloc(1, sizeof(*s));
  uv_os_sock_t *fds = malloc(nfds * sizeof(*fds));
  struct store_writer_stats ws;
  int err = UV_ENOMEM;

  memset(e, 0, sizeof(*e));
  if (s == NULL || fds == NULL || cfg->workers == 0)
    goto fail_alloc;
  s->workers = calloc(cfg->workers, sizeof(*s->workers));
  if (s->workers == NULL)
    goto fail_alloc;
  for (i = 0; i < nfds; i++)
    fds[i] = -1;
  signal(SIGPIPE, SIG_IGN);
  uv_mutex_init(&s->lock);
  s->cfg = cfg;
  s->nworkers = cfg->workers;
  s->start_ns = uv_hrtime();
  err = store_side_open(s, e);
  if (err == 0)
    err = serve(s, fds, e);
  for (i = 0; i < s->nworkers; i++)
    proxy__worker_close(&s->workers[i]);
  if (s->loop_open)
    main_loop_close(s);
  proxy__refresh_free(s);
  proxy__learn_close(s);
  store_writer_close_stats(&s->writer, &ws); /* commits what was queued */
  proxy_alog_close(&s->alog); /* writes what the workers queued */
  proxy__console_close(s);    /* the writer fed it */
  if (s->pid_written)
    proxy__pid_remove(cfg->pid_file);
  if (err == 0)
    fprintf(stderr, "hstsproxy: stopped (%llu hop records committed)\n",
            (unsigned long long)ws.hops_written);
  proxy__hsts_close(s);
  for (i = 0; i < nfds; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  uv_mutex_destroy(&s->lock);
fail_alloc:
  if (err == UV_ENOMEM && e->what[0] == '\0')
    fail_with(e, err, "run", uv_strerror(err));
  if (s != NULL)
    free(s->workers);
  free(s);
  free(fds);
  return err;
}
