/*
 * bench_store_log.c - how many hop records a second the log writer can
 * commit, and what each costs in CPU, with nothing else on the machine
 * competing: the ceiling of the internal-upgrade load (scripts/bench.sh
 * load 1), which logs one hop per request (the hop counts the request in
 * the per-host counters too).
 *
 *   build/tests/bench_store_log [RECORDS] [DIR] [BATCH]
 *
 * One producer thread submits RECORDS internal-upgrade hops to a writer
 * on a fresh store in DIR (default $TMPDIR or /tmp), over BENCH_HOSTS distinct
 * hosts, as fast as the ring takes them (a full ring makes it wait 0.2 ms
 * and retry, so nothing is dropped); then the writer is closed
 * (everything committed). BATCH: the writer's batch_max (default: the
 * proxy's, STORE_WRITER_BATCH_MAX). Prints the wall time, the records per
 * second, and the process's CPU time per record. Not run by ctest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_hops.h"
#include "store.h"
#include "store_writer.h"

#define DEFAULT_RECORDS 500000L
#define MAX_RECORDS     100000000L
#define MAX_BATCH       1000000L
#define PATH_MAX_BENCH  512
#define US_PER_S        1e6

static double seconds(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
  struct rusage ru;

  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / US_PER_S +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / US_PER_S;
}

static long full_waits;

static void run(struct store_writer *w, long n)
{
  bench_submit_hops(w, n, 0, 0, &full_waits);
}

int main(int argc, char **argv)
{
  const char *dir = getenv("TMPDIR");
  struct store_writer_config cfg = { 0 };
  struct store_writer *w = NULL;
  char db[PATH_MAX_BENCH], err[STORE_ERRMSG_MAX];
  long n = DEFAULT_RECORDS;
  double t0, c0, wall, cpu;
  char *end;

  if (argc > 1) {
    n = strtol(argv[1], &end, 10);
    if (*end != '\0' || n < 1 || n > MAX_RECORDS) {
      fprintf(stderr, "bench: RECORDS: 1 to %ld\n", MAX_RECORDS);
      return EXIT_FAILURE;
    }
  }
  if (argc > 2)
    dir = argv[2];
  if (argc > 3) {
    long b = strtol(argv[3], &end, 10);

    if (*end != '\0' || b < 1 || b > MAX_BATCH) {
      fprintf(stderr, "bench: BATCH: 1 to %ld\n", MAX_BATCH);
      return EXIT_FAILURE;
    }
    cfg.batch_max = (unsigned)b;
  }
  snprintf(db, sizeof(db), "%s/bench-log-%ld.db", dir != NULL ? dir : "/tmp",
           (long)getpid());
  cfg.db_path = db;
  if (store_writer_open(&cfg, &w, err, sizeof(err)) != STORE_OK) {
    fprintf(stderr, "bench: %s\n", err);
    return EXIT_FAILURE;
  }
  t0 = seconds();
  c0 = cpu_seconds();
  run(w, n);
  store_writer_close(&w);
  wall = seconds() - t0;
  cpu = cpu_seconds() - c0;
  printf("%ld hops committed in %.2f s: %.0f hops/s; "
         "CPU %.2f s, %.2f us per hop (producer and writer); the ring was "
         "full %ld times\n",
         n, wall, (double)n / wall, cpu, cpu * US_PER_S / (double)n,
         full_waits);
  bench_remove_store(db);
  return EXIT_SUCCESS;
}
