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
 * on a fresh store in DIR (default $TMPDIR or /tmp), over HOSTS distinct
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

#include "store.h"
#include "store_writer.h"

#define DEFAULT_RECORDS 500000L
#define MAX_RECORDS     100000000L
#define HOSTS           1000
#define MAX_BATCH       1000000L
#define PATH_MAX_BENCH  512
#define TEXT_MAX        256
#define US_PER_S        1e6
#define FULL_WAIT_NS    200000L /* a full ring: let the writer catch up */

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

static int64_t wall_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long full_waits;

static void full_wait(void)
{
  struct timespec ts = { 0, FULL_WAIT_NS };

  full_waits++;
  nanosleep(&ts, NULL);
}

/* Submits one record, waiting while the ring is full. */
static void submit_hop(struct store_writer *w, const struct store_hop *h)
{
  while (store_writer_hop(w, h) == STORE_EFULL)
    full_wait();
}

static void run(struct store_writer *w, long n)
{
  char host[TEXT_MAX / 2], url[TEXT_MAX], loc[TEXT_MAX];
  struct store_hop h = { 0 };
  long i;

  h.client = "127.0.0.1";
  h.user_agent = "wrk";
  h.method = "GET";
  h.http_version = "HTTP/1.1";
  h.status = 307;
  h.reason = "Internal Redirect";
  h.kind = STORE_HOP_UPGRADE;
  h.policy_source = HSTS_SOURCE_BUILTIN;
  h.policy_host = "dev";
  h.include_subdomains = 1;
  for (i = 0; i < n; i++) {
    snprintf(host, sizeof(host), "host%ld.dev", i % HOSTS);
    snprintf(url, sizeof(url), "http://%s/path/%ld", host, i);
    snprintf(loc, sizeof(loc), "https://%s/path/%ld", host, i);
    h.time_ms = wall_ms();
    h.request_id = (uint64_t)i + 1;
    h.url = url;
    h.location = loc;
    submit_hop(w, &h);
  }
}

int main(int argc, char **argv)
{
  const char *dir = getenv("TMPDIR");
  struct store_writer_config cfg = { 0 };
  struct store_writer *w = NULL;
  char db[PATH_MAX_BENCH], err[STORE_ERRMSG_MAX], side[PATH_MAX_BENCH + 8];
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
  unlink(db);
  snprintf(side, sizeof(side), "%s-wal", db);
  unlink(side);
  snprintf(side, sizeof(side), "%s-shm", db);
  unlink(side);
  return EXIT_SUCCESS;
}
