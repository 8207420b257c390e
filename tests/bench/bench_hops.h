/*
 * bench_hops.h - what the hop-log benchmarks share (bench_store_log.c,
 * bench_store_retain.c): the wall clock, and a producer that submits
 * internal-upgrade hops over BENCH_HOSTS hosts to a writer as fast as its
 * ring takes them (a full ring makes it wait BENCH_FULL_WAIT_NS and
 * retry, so nothing is dropped); removing a store's files. Header-only: each
 * benchmark is one program.
 */
#ifndef BENCH_HOPS_H
#define BENCH_HOPS_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "store_writer.h"

#define BENCH_HOSTS        1000
#define BENCH_TEXT_MAX     256
#define BENCH_PATH_MAX     600
#define BENCH_FULL_WAIT_NS 200000L /* a full ring: let the writer catch up */

static inline int64_t bench_wall_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Submits n hops dated age_ms ago, request ids from base + 1; counts in
 * *full_waits (may be NULL) how often the ring was full. */
static inline void bench_submit_hops(struct store_writer *w, long n,
                                     int64_t age_ms, long base,
                                     long *full_waits)
{
  char host[BENCH_TEXT_MAX / 2], url[BENCH_TEXT_MAX], loc[BENCH_TEXT_MAX];
  struct timespec wait = { 0, BENCH_FULL_WAIT_NS };
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
    snprintf(host, sizeof(host), "host%ld.dev", i % BENCH_HOSTS);
    snprintf(url, sizeof(url), "http://%s/path/%ld", host, base + i);
    snprintf(loc, sizeof(loc), "https://%s/path/%ld", host, base + i);
    h.time_ms = bench_wall_ms() - age_ms;
    h.request_id = (uint64_t)(base + i) + 1;
    h.url = url;
    h.location = loc;
    while (store_writer_hop(w, &h) == STORE_EFULL) {
      if (full_waits != NULL)
        (*full_waits)++;
      nanosleep(&wait, NULL);
    }
  }
}

/* Removes the store at db and its -wal and -shm files. */
static inline void bench_remove_store(const char *db)
{
  static const char *const suffix[] = { "", "-wal", "-shm" };
  char name[BENCH_PATH_MAX];
  size_t i;

  for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
    snprintf(name, sizeof(name), "%s%s", db, suffix[i]);
    unlink(name);
  }
}

#endif /* BENCH_HOPS_H */
