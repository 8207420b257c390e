/*
 * proxy_alog_writer.c - the access log's ring, thread and file.
 *
 * Producers (the event loops) serialize a record (struct wire, then its
 * strings back to back) into a preallocated byte ring under a mutex held
 * only for that copy, and signal the writer only when it sleeps with
 * nothing to do or the ring passes half full; a full ring drops the
 * record and counts it (dropped_queue): a loop never waits for the disk.
 *
 * The writer thread, woken by the first record, waits up to
 * PROXY_ALOG_BATCH_MS for more, then takes every queued byte at once
 * into its own buffer (freeing the ring), formats the lines
 * (proxy_alog_format.c) and appends them with write(2) in chunks of
 * OUT_BYTES. A write that fails (a full disk, EIO) costs the lines of
 * that chunk: they are counted (dropped_write), a line cut by a short
 * write is truncated away (regular files), so that the file holds whole
 * lines only; the failure is said once on the error stream with the file
 * and the cause, and when a later chunk is written again that is said too,
 * with the count of lines lost meanwhile. So a full disk never stalls a
 * request and the log recovers as soon as there is room.
 *
 * proxy_alog_reopen() sets a flag; the thread reopens the file by its
 * name before its next batch (the old descriptor is closed only once the
 * new one is open: a failed reopen keeps writing to the old file, and
 * says why). A file that was moved away or removed is created again.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>

#include "hsts.h"
#include "proxy_alog.h"

#define STR_NULL  UINT32_MAX
#define REC_ALIGN 8u
#define OUT_BYTES (256u << 10) /* bytes per write(2) at most */
/* One formatted line: every field escaped at worst (\u00XX: 6 bytes). */
#define LINE_BYTES                                             \
  (6u * (PROXY_ALOG_URL_MAX + 2u * PROXY_ALOG_TEXT_MAX +       \
         (PROXY_ALOG_STR_COUNT - 3u) * PROXY_ALOG_SHORT_MAX) + \
   1024u)

struct wire {
  uint32_t size; /* whole record, a multiple of REC_ALIGN */
  int32_t status;
  int64_t time_ms;
  int64_t elapsed_ms;
  uint64_t bytes;
  int32_t action;
  int32_t http_minor;
  uint32_t len[PROXY_ALOG_STR_COUNT]; /* STR_NULL for NULL */
};

struct proxy_alog {
  char *path; /* owned copy */
  enum proxy_alog_format format;
  FILE *errors; /* not owned */
  int fd;       /* owned unless it is 1 (stdout) */
  int regular;  /* fd is a regular file: a cut line can be truncated */
  size_t cap;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cond; /* CLOCK_MONOTONIC */

  /* Guarded by mu. */
  unsigned char *ring; /* owned; cap bytes */
  size_t head, used;
  int idle, closing, reopen;
  struct proxy_alog_stats stats;

  /* Writer thread only. */
  unsigned char *batch; /* owned; cap bytes */
  char *out;            /* owned; OUT_BYTES + LINE_BYTES */
  char *line;           /* owned; LINE_BYTES */
  uint64_t lost;        /* lines dropped since the failure was said */
};

static size_t align_up(size_t n)
{
  return (n + REC_ALIGN - 1) & ~(size_t)(REC_ALIGN - 1);
}

static size_t str_max(enum proxy_alog_str i)
{
  switch (i) {
  case PROXY_ALOG_URL:
    return PROXY_ALOG_URL_MAX;
  case PROXY_ALOG_REFERER:
  case PROXY_ALOG_AGENT:
    return PROXY_ALOG_TEXT_MAX;
  default:
    return PROXY_ALOG_SHORT_MAX;
  }
}

/* ---- the ring (callers hold mu) ---- */

static void ring_put(struct proxy_alog *al, const void *src, size_t n)
{
  size_t at = (al->head + al->used) % al->cap;
  size_t first = al->cap - at < n ? al->cap - at : n;

  memcpy(al->ring + at, src, first);
  memcpy(al->ring, (const unsigned char *)src + first, n - first);
  al->used += n;
}

/* Moves every queued byte into the linear batch buffer. */
static size_t ring_take(struct proxy_alog *al)
{
  size_t n = al->used;
  size_t first = al->cap - al->head < n ? al->cap - al->head : n;

  memcpy(al->batch, al->ring + al->head, first);
  memcpy(al->batch + first, al->ring, n - first);
  al->head = 0;
  al->used = 0;
  return n;
}

int proxy_alog_submit(struct proxy_alog *al, const struct proxy_alog_rec *r)
{
  static const unsigned char zero[REC_ALIGN];
  struct wire w;
  size_t body = sizeof(w), size;
  int i, wake;

  memset(&w, 0, sizeof(w));
  for (i = 0; i < PROXY_ALOG_STR_COUNT; i++) {
    size_t max = str_max((enum proxy_alog_str)i);

    w.len[i] = r->s[i] == NULL ? STR_NULL
                               : (uint32_t)(r->len[i] < max ? r->len[i] : max);
    body += r->s[i] == NULL ? 0 : w.len[i];
  }
  size = align_up(body);
  w.size = (uint32_t)size;
  w.status = r->status;
  w.time_ms = r->time_ms;
  w.elapsed_ms = r->elapsed_ms;
  w.bytes = r->bytes;
  w.action = (int32_t)r->action;
  w.http_minor = r->http_minor;
  pthread_mutex_lock(&al->mu);
  if (al->cap - al->used < size || al->closing) {
    al->stats.dropped_queue++;
    pthread_mutex_unlock(&al->mu);
    return -1;
  }
  ring_put(al, &w, sizeof(w));
  for (i = 0; i < PROXY_ALOG_STR_COUNT; i++)
    if (r->s[i] != NULL)
      ring_put(al, r->s[i], w.len[i]);
  ring_put(al, zero, size - body);
  wake = (al->idle && al->used == size) ||
         (al->used >= al->cap / 2 && al->used - size < al->cap / 2);
  if (wake)
    pthread_cond_signal(&al->cond);
  pthread_mutex_unlock(&al->mu);
  return 0;
}

void proxy_alog_stats(struct proxy_alog *al, struct proxy_alog_stats *out)
{
  pthread_mutex_lock(&al->mu);
  *out = al->stats;
  pthread_mutex_unlock(&al->mu);
}

void proxy_alog_reopen(struct proxy_alog *al)
{
  if (al == NULL)
    return;
  pthread_mutex_lock(&al->mu);
  al->reopen = 1;
  pthread_cond_signal(&al->cond);
  pthread_mutex_unlock(&al->mu);
}

/* ---- the file ---- */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
report(struct proxy_alog *al, const char *fmt, ...);

/* One line on the error stream: "hstsproxy: access-log PATH: " fmt. */
static void report(struct proxy_alog *al, const char *fmt, ...)
{
  va_list ap;

  fprintf(al->errors, "hstsproxy: access-log %s: ", al->path);
  va_start(ap, fmt);
  vfprintf(al->errors, fmt, ap);
  va_end(ap);
  fputc('\n', al->errors);
  fflush(al->errors);
}

static int is_regular(int fd)
{
  struct stat st;

  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* Opens the file by its name, creating it (after a rotation's mv, or a
 * removal). */
static int open_file(const char *path)
{
  return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
              PROXY_ALOG_FILE_MODE);
}

static void reopen_file(struct proxy_alog *al)
{
  int fd;

  if (al->fd == STDOUT_FILENO)
    return;
  fd = open_file(al->path);
  if (fd < 0) {
    report(al, "cannot reopen: %s (still writing to the file it had open)",
           strerror(errno));
    return;
  }
  close(al->fd);
  al->fd = fd;
  al->regular = is_regular(fd);
}

static size_t count_lines(const char *p, size_t n)
{
  size_t k = 0;

  for (; n > 0; n--)
    k += *p++ == '\n';
  return k;
}

static void account(struct proxy_alog *al, uint64_t written, uint64_t lost,
                    int failing)
{
  pthread_mutex_lock(&al->mu);
  al->stats.written += written;
  al->stats.dropped_write += lost;
  al->stats.failing = failing;
  pthread_mutex_unlock(&al->mu);
}

/* A write failed after `done` of n bytes: keeps the whole lines. */
static void write_failed(struct proxy_alog *al, off_t start, size_t done,
                         size_t n, int err)
{
  size_t keep = done, lines = count_lines(al->out, n), kept;

  while (keep > 0 && al->out[keep - 1] != '\n')
    keep--;
  if (keep < done && al->regular && start >= 0 &&
      ftruncate(al->fd, start + (off_t)keep) != 0)
    keep = done; /* the cut line stays; the next one follows it */
  kept = count_lines(al->out, keep);
  if (al->lost == 0 && !al->stats.failing)
    report(al, "cannot write: %s; lines are dropped and counted until it can",
           strerror(err));
  al->lost += lines - kept;
  account(al, kept, lines - kept, 1);
}

/* Appends out[0..n) (whole lines) to the file. */
static void flush_out(struct proxy_alog *al, size_t n)
{
  off_t start = al->regular ? lseek(al->fd, 0, SEEK_END) : -1;
  size_t done = 0;
  ssize_t w;

  while (done < n) {
    w = write(al->fd, al->out + done, n - done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      write_failed(al, start, done, n, w < 0 ? errno : ENOSPC);
      return;
    }
    done += (size_t)w;
  }
  if (al->stats.failing) /* only this thread writes it */
    report(al, "writing again; %" PRIu64 " lines were dropped meanwhile",
           al->lost);
  al->lost = 0;
  account(al, count_lines(al->out, n), 0, 0);
}

/* Formats the n bytes of records in the batch and writes them. */
static void write_batch(struct proxy_alog *al, size_t n)
{
  struct proxy_alog_rec r;
  struct wire w;
  size_t off = 0, len = 0, ln;
  int i;

  while (off < n) {
    const char *p = (const char *)al->batch + off + sizeof(w);

    memcpy(&w, al->batch + off, sizeof(w));
    memset(&r, 0, sizeof(r));
    r.status = w.status;
    r.time_ms = w.time_ms;
    r.elapsed_ms = w.elapsed_ms;
    r.bytes = w.bytes;
    r.action = (enum proxy_alog_action)w.action;
    r.http_minor = w.http_minor;
    for (i = 0; i < PROXY_ALOG_STR_COUNT; i++) {
      if (w.len[i] == STR_NULL)
        continue;
      r.s[i] = p;
      r.len[i] = w.len[i];
      p += w.len[i];
    }
    off += w.size;
    ln = proxy_alog_format_line(al->format, &r, al->line, LINE_BYTES);
    if (len + ln > OUT_BYTES) {
      flush_out(al, len);
      len = 0;
    }
    memcpy(al->out + len, al->line, ln);
    len += ln;
  }
  if (len > 0)
    flush_out(al, len);
}

/* ---- the thread ---- */

static void deadline_in(unsigned ms, struct timespec *ts)
{
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += (time_t)(ms / HSTS_MS_PER_S);
  ts->tv_nsec += (long)(ms % HSTS_MS_PER_S) * HSTS_NS_PER_MS;
  if (ts->tv_nsec >= HSTS_NS_PER_S) {
    ts->tv_sec++;
    ts->tv_nsec -= HSTS_NS_PER_S;
  }
}

/* Waits for records (then up to a batch period for more), a reopen or
 * the close; takes what is queued. Returns the batch's bytes. */
static size_t wait_batch(struct proxy_alog *al, int *closing, int *reopen)
{
  struct timespec ts;
  size_t n;

  pthread_mutex_lock(&al->mu);
  while (al->used == 0 && !al->closing && !al->reopen) {
    al->idle = 1;
    pthread_cond_wait(&al->cond, &al->mu);
    al->idle = 0;
  }
  if (al->used > 0 && al->used < al->cap / 2 && !al->closing && !al->reopen) {
    deadline_in(PROXY_ALOG_BATCH_MS, &ts);
    pthread_cond_timedwait(&al->cond, &al->mu, &ts);
  }
  n = ring_take(al);
  *closing = al->closing;
  *reopen = al->reopen;
  al->reopen = 0;
  pthread_mutex_unlock(&al->mu);
  return n;
}

static void *writer_main(void *arg)
{
  struct proxy_alog *al = arg;
  int closing, reopen;
  size_t n;

  prctl(PR_SET_NAME, "access-log"); /* top -H, perf, /proc: 15 bytes */
  for (;;) {
    n = wait_batch(al, &closing, &reopen);
    if (n > 0)
      write_batch(al, n);
    if (reopen)
      reopen_file(al);
    if (closing && n == 0)
      break;
  }
  return NULL;
}

/* ---- open and close ---- */

static void free_alog(struct proxy_alog *al)
{
  if (al->fd >= 0 && al->fd != STDOUT_FILENO)
    close(al->fd);
  free(al->ring);
  free(al->batch);
  free(al->out);
  free(al->line);
  free(al->path);
  free(al);
}

static int init_sync(struct proxy_alog *al)
{
  pthread_condattr_t ca;
  int rc = pthread_condattr_init(&ca);

  if (rc == 0) {
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
      rc = pthread_cond_init(&al->cond, &ca);
    pthread_condattr_destroy(&ca);
  }
  if (rc == 0) {
    rc = pthread_mutex_init(&al->mu, NULL);
    if (rc != 0)
      pthread_cond_destroy(&al->cond);
  }
  return rc;
}

static int alloc_alog(struct proxy_alog *al, const char *path)
{
  al->cap = PROXY_ALOG_QUEUE_BYTES;
  al->path = strdup(path);
  al->ring = malloc(al->cap);
  al->batch = malloc(al->cap);
  al->out = malloc(OUT_BYTES + LINE_BYTES);
  al->line = malloc(LINE_BYTES);
  return al->path != NULL && al->ring != NULL && al->batch != NULL &&
                 al->out != NULL && al->line != NULL
             ? 0
             : -1;
}

int proxy_alog_open(const char *path, enum proxy_alog_format f, FILE *errors,
                    struct proxy_alog **out, char *why, size_t whysz)
{
  struct proxy_alog *al = calloc(1, sizeof(*al));
  int rc;

  *out = NULL;
  if (al != NULL)
    al->fd = -1;
  if (al == NULL || alloc_alog(al, path) < 0) {
    snprintf(why, whysz, "%s: out of memory", path);
    goto fail;
  }
  al->format = f;
  al->errors = errors != NULL ? errors : stderr;
  al->fd = strcmp(path, "-") == 0 ? STDOUT_FILENO : open_file(path);
  if (al->fd < 0) {
    snprintf(why, whysz, "%s: cannot open for appending: %s", path,
             strerror(errno));
    goto fail;
  }
  al->regular = is_regular(al->fd);
  rc = init_sync(al);
  if (rc == 0) {
    rc = pthread_create(&al->thread, NULL, writer_main, al);
    if (rc != 0) {
      pthread_cond_destroy(&al->cond);
      pthread_mutex_destroy(&al->mu);
    }
  }
  if (rc != 0) {
    snprintf(why, whysz, "%s: cannot start its writer: %s", path, strerror(rc));
    goto fail;
  }
  *out = al;
  return 0;
fail:
  if (al != NULL)
    free_alog(al);
  return -1;
}

void proxy_alog_close(struct proxy_alog **alp)
{
  struct proxy_alog *al;

  if (alp == NULL || *alp == NULL)
    return;
  al = *alp;
  pthread_mutex_lock(&al->mu);
  al->closing = 1;
  pthread_cond_signal(&al->cond);
  pthread_mutex_unlock(&al->mu);
  pthread_join(al->thread, NULL);
  pthread_cond_destroy(&al->cond);
  pthread_mutex_destroy(&al->mu);
  free_alog(al);
  *alp = NULL;
}
