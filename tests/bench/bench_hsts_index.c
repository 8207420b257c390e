/*
 * bench_hsts_index.c - size and speed of the policy index at today's scale.
 *
 * Builds a synthetic static index of 150,000 entries (about ten times the
 * 2016 Chromium list, as today's list is) plus a few hundred dynamic
 * entries, then times hsts_lookup() on one core over a mix of exact hits,
 * subdomain hits and misses, the way a proxy sees traffic. Prints the build
 * time, bytes per entry, the process's peak RSS and lookups per second.
 * A benchmark program, not a timed test: run it by hand.
 *
 *   bench_hsts_index [LOOKUPS]     (default 8,000,000)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "hsts_index.h"

#define STATIC_ENTRIES     150000
#define DYNAMIC_ENTRIES    400
#define QUERIES            65536 /* distinct query strings, cycled */
#define DEFAULT_LOOKUPS    8000000L
#define NAME_MAX_LEN       96
#define NOW                1700000000
#define YEAR               31536000
#define LABEL_MIN          4
#define LABEL_SPAN         9 /* label lengths 4..12 */
#define PERCENT            100
#define SUBDOMAINS_PERCENT 90
#define PIN_ONLY_PERCENT   2
#define NS_PER_S           1e9
#define KIB                1024.0
#define PER_MILLION        1e6

static const char *const tlds[] = { "com", "org", "net", "de", "io", "co.uk",
                                    "fr",  "app", "dev", "nl", "eu", "com.br" };
#define NTLDS (sizeof(tlds) / sizeof(tlds[0]))

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rng(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}

static size_t random_label(char *p)
{
  size_t n = LABEL_MIN + rng() % LABEL_SPAN, i;

  for (i = 0; i < n; i++) {
    p[i] = (char)('a' + rng() % 26);
  }
  return n;
}

/* "label.tld", "label-label.tld" or "label.label.tld". */
static void random_name(char *buf)
{
  size_t n = random_label(buf);
  uint32_t shape = rng() % 4;

  if (shape == 0) {
    buf[n++] = '-';
    n += random_label(buf + n);
  } else if (shape == 1) {
    buf[n++] = '.';
    n += random_label(buf + n);
  }
  snprintf(buf + n, NAME_MAX_LEN - n, ".%s", tlds[rng() % NTLDS]);
}

static double seconds_since(clockid_t clock, const struct timespec *t0)
{
  struct timespec t1;

  clock_gettime(clock, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) +
         (double)(t1.tv_nsec - t0->tv_nsec) / NS_PER_S;
}

static int fill(struct hsts_index *ix, char (*names)[NAME_MAX_LEN], int n,
                int dynamic)
{
  struct hsts_entry e;
  int i, rc;

  for (i = 0; i < n; i++) {
    memset(&e, 0, sizeof(e));
    random_name(names[i]);
    e.host = names[i];
    e.force_https = 1;
    e.include_subdomains = rng() % PERCENT < SUBDOMAINS_PERCENT;
    if (dynamic) {
      e.source = HSTS_SOURCE_LEARNED;
      e.max_age = YEAR;
      e.observed = NOW - (int64_t)(rng() % YEAR);
      e.expires = e.observed + YEAR;
    } else {
      e.source = HSTS_SOURCE_PRELOAD;
      if (rng() % PERCENT < PIN_ONLY_PERCENT) {
        e.force_https = 0;
      }
    }
    rc = hsts_index_put(ix, &e);
    if (rc != HSTS_OK) {
      fprintf(stderr, "bench_hsts_index: put %s: %s\n", names[i],
              hsts_strerror(rc));
      return rc;
    }
  }
  return HSTS_OK;
}

/* Query strings packed back to back, as hosts sit in request buffers. */
struct queries {
  char *text;                /* owned; NUL-terminated names */
  const char *name[QUERIES]; /* views into text */
};

/* A third exact hits, a third subdomain hits, a third misses. */
static int make_queries(struct queries *q, char (*names)[NAME_MAX_LEN])
{
  char one[NAME_MAX_LEN];
  size_t used = 0, cap = (size_t)QUERIES * NAME_MAX_LEN;
  int i;

  q->text = malloc(cap);
  if (q->text == NULL) {
    fprintf(stderr, "bench_hsts_index: out of memory\n");
    return -1;
  }
  for (i = 0; i < QUERIES; i++) {
    const char *hit = names[rng() % STATIC_ENTRIES];

    switch (rng() % 3) {
    case 0:
      snprintf(one, sizeof(one), "%s", hit);
      break;
    case 1:
      snprintf(one, sizeof(one), "%s%s", rng() % 2 ? "www." : "a.cdn.", hit);
      break;
    default:
      random_name(one);
      break;
    }
    q->name[i] = q->text + used;
    memcpy(q->text + used, one, strlen(one) + 1);
    used += strlen(one) + 1;
  }
  return 0;
}

/* A positive decimal count, or -1. */
static long parse_count(const char *s)
{
  char *end;
  long v;

  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v <= 0) {
    return -1;
  }
  return v;
}

static void report_rss(void)
{
  struct rusage ru;

  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    printf("peak RSS (whole bench, incl. name arrays): %.1f MiB\n",
           (double)ru.ru_maxrss / KIB);
  }
}

int main(int argc, char **argv)
{
  static char names[STATIC_ENTRIES][NAME_MAX_LEN];
  static char dyn_names[DYNAMIC_ENTRIES][NAME_MAX_LEN];
  static struct queries queries;
  struct hsts_index *st = NULL, *dyn = NULL;
  struct hsts_result res;
  struct timespec t0, c0;
  long lookups = argc > 1 ? parse_count(argv[1]) : DEFAULT_LOOKUPS;
  long i, upgrades = 0, statics = 0;
  double build_s, lookup_s, cpu_s;
  int rc = EXIT_FAILURE;

  if (lookups <= 0) {
    fprintf(stderr, "bench_hsts_index: LOOKUPS must be a positive number\n");
    return EXIT_FAILURE;
  }
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (hsts_index_new(STATIC_ENTRIES, &st) != HSTS_OK ||
      fill(st, names, STATIC_ENTRIES, 0) != HSTS_OK) {
    goto done;
  }
  build_s = seconds_since(CLOCK_MONOTONIC, &t0);
  if (hsts_index_new(DYNAMIC_ENTRIES, &dyn) != HSTS_OK ||
      fill(dyn, dyn_names, DYNAMIC_ENTRIES, 1) != HSTS_OK) {
    goto done;
  }
  if (make_queries(&queries, names) != 0) {
    goto done;
  }
  clock_gettime(CLOCK_MONOTONIC, &t0);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
  for (i = 0; i < lookups; i++) {
    upgrades += hsts_lookup(dyn, st, queries.name[i % QUERIES], NOW, &res);
    statics += res.has_static;
  }
  lookup_s = seconds_since(CLOCK_MONOTONIC, &t0);
  cpu_s = seconds_since(CLOCK_THREAD_CPUTIME_ID, &c0);
  printf("static index: %zu entries built in %.1f ms\n", hsts_index_count(st),
         build_s * HSTS_MS_PER_S);
  printf("static index: %zu bytes, %.1f bytes/entry\n", hsts_index_bytes(st),
         (double)hsts_index_bytes(st) / (double)hsts_index_count(st));
  printf("dynamic index: %zu entries, %zu bytes\n", hsts_index_count(dyn),
         hsts_index_bytes(dyn));
  printf("lookups: %ld in %.3f s wall = %.2f million/s; %.3f s CPU = %.2f "
         "million/s on one core\n",
         lookups, lookup_s, (double)lookups / lookup_s / PER_MILLION, cpu_s,
         (double)lookups / cpu_s / PER_MILLION);
  printf("mix: a third exact, a third subdomain, a third misses: %.1f%% "
         "upgraded, %.1f%% with a static entry\n",
         100.0 * (double)upgrades / (double)lookups,
         100.0 * (double)statics / (double)lookups);
  report_rss();
  rc = EXIT_SUCCESS;
done:
  hsts_index_free(&st);
  hsts_index_free(&dyn);
  free(queries.text);
  return rc;
}
