/*
 * bench_store_retain.c - the hop-log writer's throughput while old rows
 * are pruned from a large store (run --retain, hstsproxy prune).
 *
 *   build/tests/bench_store_retain [OLD] [RECORDS] [DIR]
 *
 * Fills a fresh store in DIR (default $TMPDIR or /tmp) with OLD hops
 * (default 3,000,000) dated 100 days ago, through the writer. Then three
 * phases, each a writer committing RECORDS fresh hops (default 300,000)
 * as fast as its ring takes them (as bench_store_log.c):
 *   alone    no pruning: the reference;
 *   prune    a second connection runs store_prune_step() in a loop
 *            beside it, as `hstsproxy prune --older-than 90d` does
 *            (1000 rows per step, a 20 ms pause between steps);
 *   retain   the writer itself prunes (run --retain 90d: a step of 1000
 *            rows every 10 ms between its batches).
 * Prints per phase the hops per second and the old rows deleted
 * meanwhile; then how fast `prune` deletes with no writer beside it
 * (for IDLE_PRUNE_S seconds). Not run by ctest.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_hops.h"
#include "store.h"
#include "store_retain.h"
#include "store_writer.h"

#define DEFAULT_OLD     3000000L
#define DEFAULT_RECORDS 1000000L
#define IDLE_PRUNE_S    3 /* `prune` with no writer: its own pace */
#define MAX_RECORDS     100000000L
#define PATH_MAX_BENCH  512
#define DAY_MS          INT64_C(86400000)
#define OLD_DAYS        100
#define RETAIN_DAYS     90
#define PRUNE_PAUSE_NS  20000000L /* as cmd_store.c's prune */

static double seconds(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ns(long ns)
{
  struct timespec ts = { 0, ns };

  nanosleep(&ts, NULL);
}

static void submit(struct store_writer *w, long n, int64_t age_ms, long base)
{
  bench_submit_hops(w, n, age_ms, base, NULL);
}

struct pruner {
  const char *db;
  atomic_int stop;
  struct store_prune_counts c;
  int failed;
};

/* `hstsproxy prune` beside the writer, on its own connection. */
static void *prune_main(void *arg)
{
  struct pruner *p = arg;
  struct store *s = NULL;
  int more = 1;

  if (store_open(p->db, 0, &s) != STORE_OK) {
    fprintf(stderr, "bench: %s\n", store_errmsg(s));
    p->failed = 1;
    store_close(&s);
    return NULL;
  }
  while (more && !atomic_load(&p->stop)) {
    if (store_prune_step(s, bench_wall_ms() - RETAIN_DAYS * DAY_MS,
                         STORE_PRUNE_BATCH, 1, &p->c, &more) != STORE_OK) {
      p->failed++;
      more = 1;
    }
    sleep_ns(PRUNE_PAUSE_NS);
  }
  store_close(&s);
  return NULL;
}

/* One phase: RECORDS fresh hops through a writer; returns hops/s. */
static double phase(const char *db, long n, long base, int64_t retain_ms,
                    uint64_t *pruned)
{
  struct store_writer_config cfg = { 0 };
  struct store_writer_stats st;
  struct store_writer *w = NULL;
  char err[STORE_ERRMSG_MAX];
  double t0;

  cfg.db_path = db;
  cfg.retain_ms = retain_ms;
  if (store_writer_open(&cfg, &w, err, sizeof(err)) != STORE_OK) {
    fprintf(stderr, "bench: %s\n", err);
    exit(EXIT_FAILURE);
  }
  t0 = seconds();
  submit(w, n, 0, base);
  store_writer_stats(w, &st);
  while (st.queued > 0) {
    sleep_ns(BENCH_FULL_WAIT_NS);
    store_writer_stats(w, &st);
  }
  t0 = seconds() - t0;
  *pruned = st.pruned;
  store_writer_close(&w);
  return (double)n / t0;
}

static long arg_long(int argc, char **argv, int i, long def)
{
  char *end;
  long v;

  if (argc <= i)
    return def;
  v = strtol(argv[i], &end, 10);
  if (*end != '\0' || v < 1 || v > MAX_RECORDS) {
    fprintf(stderr, "bench: argument %d: 1 to %ld\n", i, MAX_RECORDS);
    exit(EXIT_FAILURE);
  }
  return v;
}

int main(int argc, char **argv)
{
  long old = arg_long(argc, argv, 1, DEFAULT_OLD);
  long n = arg_long(argc, argv, 2, DEFAULT_RECORDS);
  const char *dir = argc > 3 ? argv[3] : getenv("TMPDIR");
  struct pruner p;
  pthread_t t;
  uint64_t pruned = 0;
  char db[PATH_MAX_BENCH];
  double fill, alone, beside, retain, t0;

  snprintf(db, sizeof(db), "%s/bench-retain-%ld.db", dir != NULL ? dir : "/tmp",
           (long)getpid());
  t0 = seconds();
  (void)phase(db, 0, 0, 0, &pruned); /* creates the store */
  {
    struct store_writer_config cfg = { 0 };
    struct store_writer *w = NULL;
    char err[STORE_ERRMSG_MAX];

    cfg.db_path = db;
    if (store_writer_open(&cfg, &w, err, sizeof(err)) != STORE_OK) {
      fprintf(stderr, "bench: %s\n", err);
      return EXIT_FAILURE;
    }
    submit(w, old, OLD_DAYS * DAY_MS, 0);
    store_writer_close(&w);
  }
  fill = seconds() - t0;
  printf("filled %ld hops dated %d days ago in %.1f s\n", old, OLD_DAYS, fill);
  alone = phase(db, n, old, 0, &pruned);
  printf("alone:  %.0f hops/s\n", alone);
  memset(&p, 0, sizeof(p));
  p.db = db;
  pthread_create(&t, NULL, prune_main, &p);
  beside = phase(db, n, old + n, 0, &pruned);
  atomic_store(&p.stop, 1);
  pthread_join(t, NULL);
  printf("prune:  %.0f hops/s (%.2f of alone) while `prune` deleted %llu "
         "old hops beside it (%d steps found the store locked)\n",
         beside, beside / alone, (unsigned long long)p.c.hops, p.failed);
  retain = phase(db, n, old + 2 * n, RETAIN_DAYS * DAY_MS, &pruned);
  printf("retain: %.0f hops/s (%.2f of alone) while the writer deleted "
         "%llu old rows between its batches\n",
         retain, retain / alone, (unsigned long long)pruned);
  memset(&p, 0, sizeof(p));
  p.db = db;
  pthread_create(&t, NULL, prune_main, &p);
  sleep(IDLE_PRUNE_S);
  atomic_store(&p.stop, 1);
  pthread_join(t, NULL);
  printf("prune alone: %.0f old hops/s deleted (no writer)\n",
         (double)p.c.hops / IDLE_PRUNE_S);
  bench_remove_store(db);
  return EXIT_SUCCESS;
}
