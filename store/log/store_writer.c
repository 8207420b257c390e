/*
 * store_writer.c - the hop log writer: the ring, the thread, the retries.
 *
 * Producers (the proxy's event loops) serialize a record straight into a
 * preallocated byte ring (struct store__rec_* then the strings), under a
 * mutex held only for those copies, and signal the writer only when it
 * sleeps with nothing to do (the ring goes from empty to non-empty) or
 * the ring reaches batch_max records: a writer waiting for its batch's
 * deadline takes what came meanwhile when it wakes, so a busy proxy does
 * not pay a futex wake per record. A full ring drops the record and
 * counts it: a producer never waits for the disk.
 *
 * The writer thread moves records from the ring into its own pending
 * buffer (as large as the ring), which frees ring space at once, and
 * commits them through store_log.c in batches of at most batch_max, when
 * batch_max are waiting or the oldest has waited batch_ms. A batch that
 * fails for a transient reason stays pending and is retried every
 * retry_ms; the failure is reported once on the error stream ("store
 * PATH: cannot write hop log: CAUSE"), and again when writing works again
 * ("store PATH: hop log: writing again"). Meanwhile the ring keeps
 * accepting until both it and the pending buffer are full (then records
 * are dropped and counted); stats.queued counts what waits. On close
 * everything is committed, retrying a failing store STORE__CLOSE_ATTEMPTS
 * times; what is still left then is counted as failed, and said.
 *
 * Store faults keep the one connection: a locked store (after the busy
 * timeout), a full disk and a write the kernel refuses (EROFS, EIO: a
 * disk gone read-only) each roll the transaction back and leave the
 * connection usable, so the retry succeeds as soon as the cause is gone
 * (tests/integration/test_store_faults.py drives each one through the
 * real binary). The connection never turns read-only while running: a
 * store that is read-only at start is refused by store_open() before the
 * writer exists. So the writer does not reopen its connection, which
 * would also start a second writer_stats row for the same run.
 *
 * The store watch (watch_ms): the writer also wakes every watch_ms to
 * read PRAGMA data_version on its connection, which only other
 * connections' commits change, so the proxy learns of a `policy add` or
 * `preload import` made by another process without a signal, and never
 * of its own hop records.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>

#include "store_log_int.h"
#include "store_retain.h"

#define STORE__CLOSE_ATTEMPTS 3     /* tries per batch when closing */
#define JSON_FILE_MODE        0600  /* hop logs are browsing history */
#define SIGNAL_EMPTY          1u    /* ring records that wake the writer */
#define PRUNE_IDLE_MS         60000 /* --retain: look again after a minute */
#define PRUNE_STEP_MS         10    /* between two steps that found rows */
#define MS_PER_DAY            INT64_C(86400000)

struct store_writer {
  char *db_path;          /* owned copy, for messages */
  char *json_path;        /* owned copy or NULL */
  FILE *json;             /* owned unless it is stdout; NULL: none */
  FILE *errors;           /* not owned */
  struct store__log *log; /* owned; used by the thread only */
  size_t cap;             /* ring and pending capacity, bytes */
  unsigned batch_max;
  unsigned batch_ms;
  unsigned retry_ms;
  /* The store watch (store_writer_config.watch_ms): writer thread only. */
  unsigned watch_ms;    /* 0: no watch */
  int64_t watch_at;     /* mono ms of the next look */
  int64_t data_version; /* as last read; -1 before the first */
  void (*on_change)(void *arg);
  void *change_arg;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cond; /* producers -> writer; CLOCK_MONOTONIC */

  /* Guarded by mu. */
  unsigned char *ring; /* owned; cap bytes */
  size_t head;         /* offset of the oldest byte */
  size_t used;         /* bytes queued */
  size_t ring_records;
  int idle; /* the writer waits with nothing pending (no deadline) */
  int closing;
  int reopen; /* reopen the --log-json file by name (SIGUSR1) */
  struct store_writer_stats stats;

  /* Writer thread only. */
  unsigned char *pending; /* owned; cap bytes, linear */
  size_t pstart, pend;    /* queued records occupy [pstart, pend) */
  size_t pcount;
  int64_t batch_start; /* monotonic ms when the oldest pending came */
  int64_t retry_at;    /* monotonic ms of the next attempt when failing */
  int reported;        /* the current failure was reported */
  int64_t retain_ms;   /* 0: no retention */
  int64_t prune_at;    /* monotonic ms of the next retention step */
  int64_t days_done;   /* the cutoff's UTC day whose older rows are gone */
  int prune_failed;    /* the current retention failure was reported */
  int64_t measure_at;  /* monotonic ms of the next store_size() */
};

const char *store_hop_kind_name(enum store_hop_kind kind)
{
  switch (kind) {
  case STORE_HOP_UPGRADE:
    return "hsts-upgrade";
  case STORE_HOP_REDIRECT:
    return "upstream-redirect";
  default:
    return NULL;
  }
}

size_t store__hop_str_max(enum store__hop_str i)
{
  switch (i) {
  case STORE__HS_URL:
  case STORE__HS_LOCATION:
    return STORE_HOP_URL_MAX;
  case STORE__HS_USER_AGENT:
  case STORE__HS_STS_HEADER:
  case STORE__HS_ERROR:
    return STORE_HOP_TEXT_MAX;
  default:
    return STORE_HOP_SHORT_MAX;
  }
}

static size_t align_up(size_t n)
{
  return (n + STORE__REC_ALIGN - 1) & ~(size_t)(STORE__REC_ALIGN - 1);
}

size_t store__rec_max(void)
{
  size_t n = sizeof(struct store__rec_hop);
  int i;

  for (i = 0; i < STORE__HS_COUNT; i++)
    n += store__hop_str_max((enum store__hop_str)i);
  return align_up(n);
}

static int64_t mono_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * HSTS_MS_PER_S + ts.tv_nsec / HSTS_NS_PER_MS;
}

/* --- the ring (callers hold mu) --- */

static void ring_put(struct store_writer *w, const void *src, size_t n)
{
  size_t at = (w->head + w->used) % w->cap;
  size_t first = w->cap - at < n ? w->cap - at : n;

  memcpy(w->ring + at, src, first);
  memcpy(w->ring, (const unsigned char *)src + first, n - first);
  w->used += n;
}

static void ring_peek(const struct store_writer *w, void *dst, size_t n)
{
  size_t first = w->cap - w->head < n ? w->cap - w->head : n;

  memcpy(dst, w->ring + w->head, first);
  memcpy((unsigned char *)dst + first, w->ring, n - first);
}

static void ring_drop(struct store_writer *w, size_t n)
{
  w->head = (w->head + n) % w->cap;
  w->used -= n;
  if (w->used == 0)
    w->head = 0;
}

/* Accounts a record that fits, and wakes the writer when due. */
static void ring_commit(struct store_writer *w, size_t size, size_t body)
{
  static const unsigned char zero[STORE__REC_ALIGN];

  ring_put(w, zero, size - body);
  w->ring_records++;
  w->stats.queued++;
  if ((w->ring_records == SIGNAL_EMPTY && w->idle) ||
      w->ring_records == w->batch_max)
    pthread_cond_signal(&w->cond);
}

/* Returns 1 when `size` more bytes fit; else counts a drop. */
static int ring_room(struct store_writer *w, size_t size)
{
  w->stats.submitted++;
  if (w->cap - w->used >= size)
    return 1;
  w->stats.dropped++;
  return 0;
}

static size_t str_len(const char *s, size_t max)
{
  return s == NULL ? 0 : strnlen(s, max);
}

int store_writer_hop(struct store_writer *w, const struct store_hop *h)
{
  const char *s[STORE__HS_COUNT] = {
    h->client,       h->user_agent, h->method,   h->url,
    h->http_version, h->reason,     h->location, h->policy_host,
    h->upstream_ip,  h->sts_header, h->error,    h->policy_list
  };
  struct store__rec_hop r;
  size_t body = sizeof(r), size;
  int i;

  if (store_hop_kind_name(h->kind) == NULL)
    return STORE_EINVAL;
  memset(&r, 0, sizeof(r));
  for (i = 0; i < STORE__HS_COUNT; i++) {
    r.len[i] = s[i] == NULL ? STORE__STR_NULL
                            : (uint32_t)str_len(s[i], store__hop_str_max(i));
    body += s[i] == NULL ? 0 : r.len[i];
  }
  size = align_up(body);
  r.head.size = (uint32_t)size;
  r.head.type = STORE__REC_HOP;
  r.time_ms = h->time_ms;
  r.duration_us = h->duration_us;
  r.expires = h->expires;
  r.request_id = h->request_id;
  r.hop_index = STORE__HOP_UNASSIGNED;
  r.status = h->status;
  r.kind = (int32_t)h->kind;
  r.policy_source = (int32_t)h->policy_source;
  r.include_subdomains = h->include_subdomains != 0;
  r.intercepted = h->intercepted != 0;
  pthread_mutex_lock(&w->mu);
  w->stats.hops_submitted++;
  if (!ring_room(w, size)) {
    w->stats.hops_dropped++;
    pthread_mutex_unlock(&w->mu);
    return STORE_EFULL;
  }
  w->stats.hops_queued++;
  ring_put(w, &r, sizeof(r));
  for (i = 0; i < STORE__HS_COUNT; i++)
    if (s[i] != NULL)
      ring_put(w, s[i], r.len[i]);
  ring_commit(w, size, body);
  pthread_mutex_unlock(&w->mu);
  return STORE_OK;
}

int store_writer_traffic(struct store_writer *w, const struct store_traffic *t)
{
  struct store__rec_traffic r;
  size_t body, size;

  if (t->kind != STORE_TRAFFIC_HTTP && t->kind != STORE_TRAFFIC_CONNECT)
    return STORE_EINVAL;
  memset(&r, 0, sizeof(r));
  r.host_len = (uint32_t)str_len(t->host, STORE_HOP_SHORT_MAX);
  body = sizeof(r) + r.host_len;
  size = align_up(body);
  r.head.size = (uint32_t)size;
  r.head.type = STORE__REC_TRAFFIC;
  r.time_ms = t->time_ms;
  r.kind = (uint32_t)t->kind;
  r.port = t->port;
  pthread_mutex_lock(&w->mu);
  if (!ring_room(w, size)) {
    pthread_mutex_unlock(&w->mu);
    return STORE_EFULL;
  }
  ring_put(w, &r, sizeof(r));
  if (r.host_len > 0)
    ring_put(w, t->host, r.host_len);
  ring_commit(w, size, body);
  pthread_mutex_unlock(&w->mu);
  return STORE_OK;
}

int store_writer_probe(struct store_writer *w, const struct store_probe *p)
{
  struct store__rec_probe r;
  size_t size = align_up(sizeof(r));

  memset(&r, 0, sizeof(r));
  r.head.size = (uint32_t)size;
  r.head.type = STORE__REC_PROBE;
  r.p = *p;
  pthread_mutex_lock(&w->mu);
  if (!ring_room(w, size)) {
    pthread_mutex_unlock(&w->mu);
    return STORE_EFULL;
  }
  ring_put(w, &r, sizeof(r));
  ring_commit(w, size, sizeof(r));
  pthread_mutex_unlock(&w->mu);
  return STORE_OK;
}

void store_writer_stats(struct store_writer *w, struct store_writer_stats *out)
{
  pthread_mutex_lock(&w->mu);
  *out = w->stats;
  pthread_mutex_unlock(&w->mu);
}

/* --- the writer thread --- */

/* Moves whole records from the ring to the pending buffer (mu held: the
 * producers wait meanwhile, so all of it goes in one or two copies when it
 * fits, as it does unless earlier writes failed). */
static void take_records(struct store_writer *w)
{
  struct store__rec_head h;

  if (w->pstart == w->pend) {
    w->pstart = 0;
    w->pend = 0;
  } else if (w->pstart > 0 && w->ring_records > 0) {
    memmove(w->pending, w->pending + w->pstart, w->pend - w->pstart);
    w->pend -= w->pstart;
    w->pstart = 0;
  }
  if (w->ring_records > 0 && w->cap - w->pend >= w->used) {
    if (w->pcount == 0)
      w->batch_start = mono_ms();
    ring_peek(w, w->pending + w->pend, w->used);
    w->pend += w->used;
    w->pcount += w->ring_records;
    w->ring_records = 0;
    ring_drop(w, w->used);
    return;
  }
  while (w->ring_records > 0) {
    ring_peek(w, &h, sizeof(h));
    if (w->cap - w->pend < h.size)
      break;
    ring_peek(w, w->pending + w->pend, h.size);
    ring_drop(w, h.size);
    w->ring_records--;
    if (w->pcount == 0)
      w->batch_start = mono_ms();
    w->pend += h.size;
    w->pcount++;
  }
}

static void abs_deadline(int64_t mono_deadline, struct timespec *ts)
{
  int64_t left = mono_deadline - mono_ms();
  struct timespec now;

  clock_gettime(CLOCK_MONOTONIC, &now);
  if (left < 0)
    left = 0;
  ts->tv_sec = now.tv_sec + (time_t)(left / HSTS_MS_PER_S);
  ts->tv_nsec = now.tv_nsec + (long)(left % HSTS_MS_PER_S) * HSTS_NS_PER_MS;
  if (ts->tv_nsec >= HSTS_NS_PER_S) {
    ts->tv_sec++;
    ts->tv_nsec -= HSTS_NS_PER_S;
  }
}

/* When the pending records are due for a write: -1 never (nothing). */
static int64_t records_due(const struct store_writer *w)
{
  if (w->pcount == 0)
    return -1;
  if (w->retry_at > 0)
    return w->retry_at;
  if (w->pcount >= w->batch_max)
    return 0;
  return w->batch_start + w->batch_ms;
}

/* Records wait and are due (a wake for a retention step or a measure
 * leaves a batch that is not due yet to fill up). */
static int records_ready(const struct store_writer *w, int closing)
{
  int64_t d = records_due(w);

  return w->pcount > 0 && (closing || (d >= 0 && d <= mono_ms()));
}

/* The next write, retention step, measure or look at the store. */
static int64_t due_at(const struct store_writer *w)
{
  int64_t d = records_due(w);

  if (w->retain_ms > 0 && (d < 0 || w->prune_at < d))
    d = w->prune_at;
  if (d < 0 || w->measure_at < d)
    d = w->measure_at; /* the store's size for the status page */
  if (w->watch_ms != 0 && w->watch_at < d)
    d = w->watch_at; /* a look at the store's data_version */
  return d;
}

/* Waits until a write is due or closing; returns closing. */
static int wait_for_work(struct store_writer *w)
{
  struct timespec ts;
  int64_t due;
  int closing;

  pthread_mutex_lock(&w->mu);
  for (;;) {
    take_records(w);
    if (w->closing || w->reopen)
      break;
    due = due_at(w);
    if (due >= 0 && due <= mono_ms())
      break;
    /* idle: no record waits (a retention step may): wake on the next */
    w->idle = records_due(w) < 0;
    if (due < 0) {
      pthread_cond_wait(&w->cond, &w->mu);
    } else {
      abs_deadline(due, &ts);
      pthread_cond_timedwait(&w->cond, &w->mu, &ts);
    }
    w->idle = 0;
  }
  closing = w->closing;
  pthread_mutex_unlock(&w->mu);
  return closing;
}

/* One line on the error stream: "hstsproxy: store " and fmt's text. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
report(struct store_writer *w, const char *fmt, ...);

static void report(struct store_writer *w, const char *fmt, ...)
{
  va_list ap;

  fputs("hstsproxy: store ", w->errors);
  va_start(ap, fmt);
  vfprintf(w->errors, fmt, ap);
  va_end(ap);
  fputc('\n', w->errors);
  fflush(w->errors);
}

static void report_json_error(struct store_writer *w)
{
  int e = store__log_json_error(w->log);

  if (e != 0) {
    fprintf(w->errors, "hstsproxy: log-json %s: cannot write: %s\n",
            w->json_path, strerror(e));
    fflush(w->errors);
  }
}

/* Hop records among the n records at p (the pending buffer). */
static uint64_t count_hops(const unsigned char *p, size_t n)
{
  struct store__rec_head head;
  uint64_t hops = 0;

  for (; n > 0; n--) {
    memcpy(&head, p, sizeof(head));
    hops += head.type == STORE__REC_HOP;
    p += head.size;
  }
  return hops;
}

/* Accounts n records (bytes) leaving the pending buffer. */
static void pending_done(struct store_writer *w, size_t n, size_t bytes,
                         int written)
{
  uint64_t hops = count_hops(w->pending + w->pstart, n);

  w->pstart += bytes;
  w->pcount -= n;
  if (w->pcount > 0)
    w->batch_start = mono_ms();
  pthread_mutex_lock(&w->mu);
  w->stats.cpu_ns = store__log_cpu_ns(w->log);
  if (written) {
    w->stats.written += n;
    w->stats.hops_written += hops;
  } else {
    w->stats.failed += n;
    w->stats.hops_failed += hops;
  }
  w->stats.queued -= n;
  w->stats.hops_queued -= hops;
  pthread_mutex_unlock(&w->mu);
}

static void set_failing(struct store_writer *w, int failing)
{
  pthread_mutex_lock(&w->mu);
  w->stats.failing = failing;
  pthread_mutex_unlock(&w->mu);
}

/* Writes one batch of n pending records; returns the outcome. */
static enum store__write write_batch(struct store_writer *w, size_t n)
{
  struct store_writer_stats st;
  enum store__write r;
  size_t bytes = 0;

  store_writer_stats(w, &st);
  st.written += n;
  r = store__log_write(w->log, w->pending + w->pstart, n, &bytes, &st);
  report_json_error(w);
  if (r == STORE__WRITE_OK) {
    pending_done(w, n, bytes, 1);
    if (w->reported)
      report(w, "%s: hop log: writing again", w->db_path);
    w->reported = 0;
    w->retry_at = 0;
    set_failing(w, 0);
    return r;
  }
  if (!w->reported)
    report(w, "%s", store__log_errmsg(w->log));
  w->reported = 1;
  if (r == STORE__WRITE_GIVEUP) {
    pending_done(w, n, bytes, 0);
    return r;
  }
  w->retry_at = mono_ms() + w->retry_ms;
  set_failing(w, 1);
  return r;
}

static void sleep_ms(unsigned ms)
{
  struct timespec ts = { (time_t)(ms / HSTS_MS_PER_S),
                         (long)(ms % HSTS_MS_PER_S) * HSTS_NS_PER_MS };

  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    continue;
}

/* Counts everything still queued as failed (closing, store failing). */
static void give_up_all(struct store_writer *w)
{
  uint64_t lost;

  pthread_mutex_lock(&w->mu);
  lost = w->stats.queued;
  w->stats.failed += w->stats.queued;
  w->stats.queued = 0;
  w->stats.hops_failed += w->stats.hops_queued;
  w->stats.hops_queued = 0;
  w->ring_records = 0;
  w->used = 0;
  w->head = 0;
  pthread_mutex_unlock(&w->mu);
  w->pstart = w->pend = 0;
  w->pcount = 0;
  report(w, "%s: gave up %" PRIu64 " hop-log records: the store still fails",
         w->db_path, lost);
}

/* Writes the pending records in batches. Returns 0 to go on, -1 when
 * closing gave up. */
static int flush_pending(struct store_writer *w, int closing)
{
  int attempts = 0;

  while (w->pcount > 0) {
    size_t n = w->pcount < w->batch_max ? w->pcount : w->batch_max;
    enum store__write r = write_batch(w, n);

    if (r != STORE__WRITE_RETRY) {
      attempts = 0;
      continue;
    }
    if (!closing)
      return 0;
    if (++attempts >= STORE__CLOSE_ATTEMPTS) {
      give_up_all(w);
      return -1;
    }
    sleep_ms(w->retry_ms);
  }
  return 0;
}

/*
 * The store watch: when due, reads data_version on the writer's own
 * connection (one cheap statement; the writer's commits never change
 * it) and calls on_change when another connection committed since the
 * last look. A failed read is skipped: the next look tries again.
 */
static void watch(struct store_writer *w)
{
  int64_t v;

  if (w->watch_ms == 0 || w->watch_at > mono_ms())
    return;
  w->watch_at = mono_ms() + w->watch_ms;
  if (store__log_data_version(w->log, &v) != STORE_OK)
    return;
  if (w->data_version >= 0 && v != w->data_version)
    w->on_change(w->change_arg);
  w->data_version = v;
}

/* Reopens --log-json by name (after logrotate's mv, or a removal: it is
 * created again); a failure keeps the old file, and says why. */
static void reopen_json(struct store_writer *w)
{
  FILE *f;
  int fd;

  pthread_mutex_lock(&w->mu);
  w->reopen = 0;
  pthread_mutex_unlock(&w->mu);
  if (w->json == NULL || w->json == stdout)
    return;
  fd = open(w->json_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
            JSON_FILE_MODE);
  f = fd >= 0 ? fdopen(fd, "a") : NULL;
  if (f == NULL) {
    fprintf(w->errors,
            "hstsproxy: log-json %s: cannot reopen: %s (still writing to "
            "the file it had open)\n",
            w->json_path, strerror(errno));
    fflush(w->errors);
    if (fd >= 0)
      close(fd);
    return;
  }
  fclose(w->json);
  w->json = f;
  store__log_set_json(w->log, f);
}

/*
 * --retain: one small step (store_prune_step: at most STORE_PRUNE_BATCH
 * rows per table, one short transaction) when it is due, after the
 * records: the next step comes PRUNE_STEP_MS later while rows are found,
 * else in PRUNE_IDLE_MS. Per-day rows are looked at once per UTC day of
 * the cutoff. A failure (a locked or full store) is said once and tried
 * again later; the records always go first.
 */
static void retention_step(struct store_writer *w)
{
  struct store_prune_counts c = { 0, 0, 0 };
  int64_t cutoff, day;
  int more = 0, err;

  if (w->retain_ms <= 0 || mono_ms() < w->prune_at || w->retry_at > 0)
    return;
  cutoff = (int64_t)time(NULL) * HSTS_MS_PER_S - w->retain_ms;
  day = cutoff / MS_PER_DAY;
  err = store_prune_step(store__log_store(w->log), cutoff, STORE_PRUNE_BATCH,
                         day > w->days_done, &c, &more);
  if (err != STORE_OK) {
    if (!w->prune_failed)
      report(w, "%s", store_errmsg(store__log_store(w->log)));
    w->prune_failed = 1;
    w->prune_at = mono_ms() + PRUNE_IDLE_MS;
    return;
  }
  w->prune_failed = 0;
  if (!more && day > w->days_done)
    w->days_done = day;
  w->prune_at = mono_ms() + (more ? PRUNE_STEP_MS : PRUNE_IDLE_MS);
  pthread_mutex_lock(&w->mu);
  w->stats.pruned += c.hops + c.probes + c.days;
  pthread_mutex_unlock(&w->mu);
}

/* The store's size and oldest hop for the status page, every minute
 * (a stat(2) pair and one indexed row: no scan). */
static void measure(struct store_writer *w)
{
  struct store_size sz;

  if (mono_ms() < w->measure_at)
    return;
  w->measure_at = mono_ms() + PRUNE_IDLE_MS;
  if (store_size(store__log_store(w->log), &sz) != STORE_OK)
    return;
  pthread_mutex_lock(&w->mu);
  w->stats.store_bytes = sz.file_bytes + sz.wal_bytes;
  w->stats.oldest_hop_ms = sz.oldest_hop_ms;
  pthread_mutex_unlock(&w->mu);
}

static void *writer_main(void *arg)
{
  struct store_writer *w = arg;
  int closing, last, reopen;

  prctl(PR_SET_NAME, "hop-log writer"); /* top -H, perf, /proc: 15 bytes */
  for (;;) {
    closing = wait_for_work(w);
    if (!closing)
      watch(w);
    pthread_mutex_lock(&w->mu);
    reopen = w->reopen;
    pthread_mutex_unlock(&w->mu);
    if (reopen)
      reopen_json(w);
    if (records_ready(w, closing) && flush_pending(w, closing) != 0)
      return NULL; /* gave up: the store is failing, skip the counters */
    if (!closing) {
      retention_step(w);
      measure(w);
    }
    if (!closing)
      continue;
    pthread_mutex_lock(&w->mu);
    last = w->ring_records == 0;
    pthread_mutex_unlock(&w->mu);
    if (last && w->pcount == 0)
      break;
  }
  /* The final counters (drops since the last batch), best effort. */
  write_batch(w, 0);
  return NULL;
}

/* --- open and close --- */

static int open_json(struct store_writer *w, const char *path, char *err,
                     size_t errsz)
{
  int fd;

  if (path == NULL)
    return STORE_OK;
  if (strcmp(path, "-") == 0) {
    w->json = stdout;
    return STORE_OK;
  }
  fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, JSON_FILE_MODE);
  if (fd >= 0) {
    w->json = fdopen(fd, "a");
    if (w->json == NULL)
      close(fd);
  }
  if (w->json == NULL) {
    snprintf(err, errsz, "%s: cannot open for appending: %s", path,
             strerror(errno));
    return STORE_EIO;
  }
  return STORE_OK;
}

static void free_writer(struct store_writer *w)
{
  store__log_close(&w->log);
  if (w->json != NULL && w->json != stdout)
    fclose(w->json);
  else if (w->json == stdout)
    fflush(stdout);
  free(w->ring);
  free(w->pending);
  free(w->db_path);
  free(w->json_path);
  free(w);
}

static int init_sync(struct store_writer *w, char *err, size_t errsz)
{
  pthread_condattr_t ca;
  int rc = pthread_condattr_init(&ca);

  if (rc == 0) {
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
      rc = pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
  }
  if (rc == 0) {
    rc = pthread_mutex_init(&w->mu, NULL);
    if (rc != 0)
      pthread_cond_destroy(&w->cond);
  }
  if (rc != 0)
    snprintf(err, errsz, "cannot create the log writer's lock: %s",
             strerror(rc));
  return rc == 0 ? STORE_OK : STORE_ENOMEM;
}

static int configure(struct store_writer *w,
                     const struct store_writer_config *cfg, char *err,
                     size_t errsz)
{
  size_t q =
      cfg->queue_bytes != 0 ? cfg->queue_bytes : STORE_WRITER_QUEUE_DEFAULT;

  if (cfg->db_path == NULL || q < STORE_WRITER_QUEUE_MIN) {
    if (cfg->db_path == NULL)
      snprintf(err, errsz, "log writer: no store path");
    else
      snprintf(err, errsz,
               "%s: log writer: queue of %zu bytes is below "
               "the minimum of %u",
               cfg->db_path, q, STORE_WRITER_QUEUE_MIN);
    return STORE_EINVAL;
  }
  w->cap = align_up(q);
  w->batch_max = cfg->batch_max != 0 ? cfg->batch_max : STORE_WRITER_BATCH_MAX;
  w->batch_ms = cfg->batch_ms != 0 ? cfg->batch_ms : STORE_WRITER_BATCH_MS;
  w->retry_ms = cfg->retry_ms != 0 ? cfg->retry_ms : STORE_WRITER_RETRY_MS;
  w->errors = cfg->errors != NULL ? cfg->errors : stderr;
  w->watch_ms = cfg->on_change != NULL ? cfg->watch_ms : 0;
  w->on_change = cfg->on_change;
  w->change_arg = cfg->change_arg;
  w->data_version = -1; /* the first look sets it */
  w->retain_ms = cfg->retain_ms > 0 ? cfg->retain_ms : 0;
  w->db_path = strdup(cfg->db_path);
  w->json_path = cfg->json_path != NULL ? strdup(cfg->json_path) : NULL;
  w->ring = malloc(w->cap);
  w->pending = malloc(w->cap);
  if (w->db_path == NULL || w->ring == NULL || w->pending == NULL ||
      (cfg->json_path != NULL && w->json_path == NULL)) {
    snprintf(err, errsz, "%s: log writer: out of memory", cfg->db_path);
    return STORE_ENOMEM;
  }
  return STORE_OK;
}

int store_writer_open(const struct store_writer_config *cfg,
                      struct store_writer **out, char *err, size_t errsz)
{
  struct store_writer *w = calloc(1, sizeof(*w));
  int rc;

  *out = NULL;
  if (w == NULL) {
    snprintf(err, errsz, "log writer: out of memory");
    return STORE_ENOMEM;
  }
  rc = configure(w, cfg, err, errsz);
  if (rc == STORE_OK)
    rc = open_json(w, cfg->json_path, err, errsz);
  if (rc == STORE_OK)
    rc = store__log_open(cfg->db_path, cfg->busy_ms, w->json, &w->log, err,
                         errsz);
  if (rc != STORE_OK)
    goto fail_free;
  if (w->watch_ms != 0 &&
      store__log_data_version(w->log, &w->data_version) != STORE_OK)
    w->data_version = -1; /* the first look sets it */
  store__log_on_hop(w->log, cfg->on_hop, cfg->on_hop_wanted, cfg->on_hop_arg);
  rc = init_sync(w, err, errsz);
  if (rc != STORE_OK)
    goto fail_free;
  rc = pthread_create(&w->thread, NULL, writer_main, w);
  if (rc != 0) {
    snprintf(err, errsz, "%s: cannot start the log writer: %s", w->db_path,
             strerror(rc));
    rc = STORE_ENOMEM;
    goto fail_sync;
  }
  *out = w;
  return STORE_OK;
fail_sync:
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->mu);
fail_free:
  free_writer(w);
  return rc;
}

void store_writer_reopen(struct store_writer *w)
{
  if (w == NULL)
    return;
  pthread_mutex_lock(&w->mu);
  w->reopen = 1;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->mu);
}

void store_writer_close(struct store_writer **wp)
{
  store_writer_close_stats(wp, NULL);
}

void store_writer_close_stats(struct store_writer **wp,
                              struct store_writer_stats *out)
{
  struct store_writer *w;

  if (wp == NULL || *wp == NULL)
    return;
  w = *wp;
  pthread_mutex_lock(&w->mu);
  w->closing = 1;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  if (out != NULL)
    *out = w->stats; /* the thread is gone: nothing changes them now */
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->mu);
  free_writer(w);
  *wp = NULL;
}
