/*
 * bench_store_import.c - how fast the store imports and loads a preload
 * list the size of today's Chromium list (about ten times the 2016 one).
 *
 *   build/tests/bench_store_import [ENTRIES] [DIR]
 *
 * Writes a synthetic Chromium-format list of ENTRIES (default 150000)
 * entries, with comment lines and the real file's mix of flags, into DIR
 * (default $TMPDIR or /tmp), imports it into a fresh store there, loads
 * the full static index, and prints the wall-clock time of each step. The
 * same list in text format is imported too. Not run by ctest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hsts_index.h"
#include "store.h"
#include "store_preload.h"

#define DEFAULT_ENTRIES 150000L
#define MAX_ENTRIES     10000000L
#define PATH_MAX_BENCH  512
#define LOOKUPS         1000000L

static double seconds(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Entry i: most force-https with subdomains, some exact, a few pins. */
static void write_lists(const char *json, const char *text, long n)
{
  FILE *j = fopen(json, "w"), *t = fopen(text, "w");
  long i;

  if (j == NULL || t == NULL) {
    perror("bench: cannot write the lists");
    exit(EXIT_FAILURE);
  }
  fprintf(j, "// Synthetic list for bench_store_import.\n{\n"
             "  \"pinsets\": [],\n  \"entries\": [\n");
  for (i = 0; i < n; i++) {
    if (i % 1000 == 0)
      fprintf(j, "    // Section %ld.\n", i / 1000);
    if (i % 50 == 0)
      fprintf(j,
              "    { \"name\": \"pin%ld.example\", \"policy\": \"custom\", "
              "\"include_subdomains\": true, \"pins\": \"google\" }",
              i);
    else
      fprintf(j,
              "    { \"name\": \"host%ld.example%ld.test\", \"policy\": "
              "\"bulk-1-year\", \"mode\": \"force-https\"%s }",
              i, i % 97, i % 10 == 0 ? "" : ", \"include_subdomains\": true");
    fputs(i + 1 < n ? ",\n" : "\n", j);
    fprintf(t, "host%ld.example%ld.test%s\n", i, i % 97,
            i % 10 == 0 ? "" : " includeSubDomains");
  }
  fprintf(j, "  ]\n}\n");
  if (fclose(j) != 0 || fclose(t) != 0) {
    perror("bench: writing the lists");
    exit(EXIT_FAILURE);
  }
}

static void run(struct store *s, const char *file, const char *label)
{
  struct store_list_info in;
  struct hsts_index *ix;
  struct hsts_result r;
  double t0 = seconds(), t1, t2, t3;
  long i, hits = 0;
  char host[64];

  if (store_preload_import_file(s, file, STORE_FORMAT_AUTO, time(NULL), &in) !=
      STORE_OK) {
    fprintf(stderr, "bench: %s\n", store_errmsg(s));
    exit(EXIT_FAILURE);
  }
  t1 = seconds();
  if (store_load_static(s, NULL, &ix, NULL) != STORE_OK) {
    fprintf(stderr, "bench: %s\n", store_errmsg(s));
    exit(EXIT_FAILURE);
  }
  t2 = seconds();
  for (i = 0; i < LOOKUPS; i++) {
    snprintf(host, sizeof(host), "www.host%ld.example%ld.test",
             i % (long)in.entries, (i % (long)in.entries) % 97);
    hits += hsts_lookup(NULL, ix, host, 0, &r);
  }
  t3 = seconds();
  printf("%-8s import %zu entries (%llu bytes): %.3f s\n", label, in.entries,
         (unsigned long long)in.bytes, t1 - t0);
  printf("%-8s load the static index (%zu entries, %zu bytes): %.3f s\n", label,
         hsts_index_count(ix), hsts_index_bytes(ix), t2 - t1);
  printf("%-8s %ld lookups (%ld upgrades): %.3f s, %.0f ns each\n", label,
         LOOKUPS, hits, t3 - t2, (t3 - t2) * 1e9 / LOOKUPS);
  hsts_index_free(&ix);
}

int main(int argc, char **argv)
{
  const char *dir = argc > 2 ? argv[2] : getenv("TMPDIR");
  char json[PATH_MAX_BENCH], text[PATH_MAX_BENCH], db[PATH_MAX_BENCH];
  char aux[PATH_MAX_BENCH + 8];
  long n = DEFAULT_ENTRIES;
  struct store *s;
  char *end;

  if (argc > 1) {
    n = strtol(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || n < 1 || n > MAX_ENTRIES) {
      fprintf(stderr, "usage: bench_store_import [ENTRIES 1-%ld] [DIR]\n",
              MAX_ENTRIES);
      return EXIT_FAILURE;
    }
  }
  if (dir == NULL || *dir == '\0')
    dir = "/tmp";
  snprintf(json, sizeof(json), "%s/bench-preload-%ld.json", dir,
           (long)getpid());
  snprintf(text, sizeof(text), "%s/bench-preload-%ld.txt", dir, (long)getpid());
  snprintf(db, sizeof(db), "%s/bench-store-%ld.db", dir, (long)getpid());
  write_lists(json, text, n);
  if (store_open(db, 0, &s) != STORE_OK) {
    fprintf(stderr, "bench: %s\n", store_errmsg(s));
    return EXIT_FAILURE;
  }
  run(s, json, "chromium");
  run(s, text, "text");
  run(s, json, "chromium");
  store_close(&s);
  unlink(json);
  unlink(text);
  unlink(db);
  snprintf(aux, sizeof(aux), "%s-wal", db);
  unlink(aux);
  snprintf(aux, sizeof(aux), "%s-shm", db);
  unlink(aux);
  return EXIT_SUCCESS;
}
