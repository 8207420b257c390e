/*
 * fuzz_preload_import.c - libFuzzer target for the preload importer,
 * store_preload_import_mem(), in each of its format modes.
 *
 * The input is a preload list file of any format. One in-memory store
 * serves the whole run (opening a store per input would dominate the
 * time); each input is imported with format detection, then as Chromium
 * JSON, as Mozilla .inc and as text. A rejected import is fine; what
 * aborts (invariants from store_preload.h and store.h):
 *   - a result that is no store_err, or an error other than a format
 *     error (the store is in memory, nothing else can fail);
 *   - a failed import that changed the active list or the history:
 *     store_preload_info() must match, field by field, what it said before;
 *   - a detailed message that is empty or not one printable ASCII line;
 *   - a successful import whose list is not the format asked for, is not
 *     active, has no entries or counts above its entries, or whose entries
 *     (store_preload_foreach) are not exactly `entries` distinct, sorted,
 *     normalized host names.
 * Crashes, leaks and undefined behaviour are caught by the sanitizers.
 * scripts/fuzz.sh runs it with -max_len=4096: SQLite makes every import
 * slow, and the parsers work line by line, so short inputs reach them all.
 */
#include "hsts_host.h"
#include "store.h"
#include "store_preload.h"
#include "fuzz_util.h"

#define FUZZ_NOW    1700000000 /* the import time, fixed */
#define FUZZ_SOURCE "fuzz-input"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *store; /* the one store of the run */

static void close_store(void)
{
  store_close(&store);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  int rc = store_open(":memory:", 0, &store);

  if (rc != STORE_OK) {
    fprintf(stderr, "fuzz_preload_import: cannot open a :memory: store: %s\n",
            store != NULL ? store_errmsg(store) : store_strerror(rc));
    abort();
  }
  atexit(close_store);
  return 0;
}

static int same_info(const struct store_list_info *a,
                     const struct store_list_info *b)
{
  return strcmp(a->name, b->name) == 0 && a->builtin == b->builtin &&
         a->id == b->id && strcmp(a->source, b->source) == 0 &&
         a->format == b->format && strcmp(a->sha256, b->sha256) == 0 &&
         a->imported == b->imported && a->bytes == b->bytes &&
         a->entries == b->entries && a->with_subdomains == b->with_subdomains &&
         a->force_https == b->force_https && a->duplicates == b->duplicates &&
         a->imports == b->imports;
}

static int is_one_printable_line(const char *msg)
{
  size_t i;

  for (i = 0; msg[i] != '\0'; i++) {
    if (msg[i] < ' ' || msg[i] > '~') {
      return 0;
    }
  }
  return i > 0;
}

/* What store_preload_foreach() shows of the active list. */
struct walk {
  size_t entries;
  size_t with_subdomains;
  size_t force_https;
  char last[HSTS_HOST_MAX + 1]; /* the previous host, "" at first */
};

static int on_entry(const struct hsts_entry *e, void *arg)
{
  struct walk *w = arg;
  char again[HSTS_HOST_MAX + 1];
  enum hsts_host_kind kind;
  size_t n = strlen(e->host);

  FUZZ_CHECK(hsts_host_normalize(e->host, n, again, &kind) == HSTS_OK);
  FUZZ_CHECK(kind == HSTS_HOST_NAME && strcmp(again, e->host) == 0);
  FUZZ_CHECK(w->entries == 0 || strcmp(w->last, e->host) < 0);
  memcpy(w->last, e->host, n + 1);
  w->entries++;
  w->with_subdomains += e->include_subdomains;
  w->force_https += e->force_https;
  return 0;
}

static void check_success(const struct store_list_info *before,
                          const struct store_list_info *out,
                          enum store_format format, size_t size)
{
  struct store_list_info now;
  struct walk w;

  FUZZ_CHECK(out->format != STORE_FORMAT_AUTO);
  FUZZ_CHECK(format == STORE_FORMAT_AUTO || out->format == format);
  /* "FORMAT-DATE", as "chromium-2026-06-01" */
  FUZZ_CHECK(strncmp(out->name, store_format_name(out->format),
                     strlen(store_format_name(out->format))) == 0);
  FUZZ_CHECK(strlen(out->list_date) == 10);
  FUZZ_CHECK(!out->builtin && out->id > 0 && out->id != before->id);
  FUZZ_CHECK(strcmp(out->source, FUZZ_SOURCE) == 0);
  FUZZ_CHECK(out->imported == FUZZ_NOW && out->bytes == size);
  FUZZ_CHECK(strlen(out->sha256) == 64);
  FUZZ_CHECK(out->imports == before->imports + 1);
  FUZZ_CHECK(out->entries > 0 && out->with_subdomains <= out->entries &&
             out->force_https <= out->entries);
  FUZZ_CHECK(store_preload_info(store, &now) == STORE_OK);
  FUZZ_CHECK(same_info(out, &now));
  memset(&w, 0, sizeof(w));
  FUZZ_CHECK(store_preload_foreach(store, 0, on_entry, &w) == 0);
  FUZZ_CHECK(w.entries == out->entries);
  FUZZ_CHECK(w.with_subdomains == out->with_subdomains);
  FUZZ_CHECK(w.force_https == out->force_https);
}

static void import_as(const char *buf, size_t size, enum store_format format)
{
  struct store_list_info before, out, after;
  int rc;

  FUZZ_CHECK(store_preload_info(store, &before) == STORE_OK);
  memset(&out, 0, sizeof(out));
  rc = store_preload_import_mem(store, buf, size, FUZZ_SOURCE, format, FUZZ_NOW,
                                &out);
  FUZZ_CHECK(store_strerror(rc) != NULL);
  if (rc == STORE_OK) {
    check_success(&before, &out, format, size);
    return;
  }
  FUZZ_CHECK(rc == STORE_EFORMAT);
  FUZZ_CHECK(is_one_printable_line(store_errmsg(store)));
  FUZZ_CHECK(store_preload_info(store, &after) == STORE_OK);
  FUZZ_CHECK(same_info(&before, &after));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const enum store_format formats[] = { STORE_FORMAT_AUTO,
                                               STORE_FORMAT_CHROMIUM,
                                               STORE_FORMAT_MOZILLA,
                                               STORE_FORMAT_TEXT };
  char *buf = fuzz_copy(data, size);
  size_t i;

  for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
    import_as(buf, size, formats[i]);
  }
  free(buf);
  return 0;
}
