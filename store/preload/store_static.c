/*
 * store_static.c - the active static list: description, loading, walking,
 * and the built-in list used when nothing was imported (or after a reset).
 *
 * The built-in list is Chromium's snapshot that the build front-codes into
 * the binary (store_builtin.h, gen_builtin.c). It is decoded in one pass,
 * in name order, straight into an index: no SQLite, a few milliseconds for
 * 94,599 names. An imported list lives in preload_entry; its history row
 * says what it is. A history row marked builtin records a reset: the list
 * it activates is the built-in one of the running binary.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store_builtin.h"
#include "store_import_int.h"
#include "store_preload.h"

#define SECONDS_PER_DAY 86400

size_t store_builtin_count(void)
{
  return store__builtin_count;
}

/* Walks the front-coded names in order. */
struct builtin_it {
  size_t i, off;
  char host[HSTS_HOST_MAX + 1];
};

static int builtin_next(struct builtin_it *it, struct hsts_entry *e)
{
  const unsigned char *p = store__builtin_names + it->off;
  size_t shared, len;

  if (it->i >= store__builtin_count || store__builtin_names_len - it->off < 3)
    return 0;
  shared = p[1];
  len = p[2];
  if (shared + len > HSTS_HOST_MAX ||
      store__builtin_names_len - it->off - 3 < len)
    return 0; /* cannot happen: gen_builtin wrote it */
  memcpy(it->host + shared, p + 3, len);
  it->host[shared + len] = '\0';
  memset(e, 0, sizeof(*e));
  e->host = it->host;
  e->source = HSTS_SOURCE_BUILTIN;
  e->include_subdomains = (p[0] & STORE_BUILTIN_SUBDOMAINS) != 0;
  e->force_https = (p[0] & STORE_BUILTIN_FORCE_HTTPS) != 0;
  it->off += 3 + len;
  it->i++;
  return 1;
}

/* The start (Unix s, UTC) of in->list_date, or -1 when it is not a date. */
static int64_t list_day(const struct store_list_info *in)
{
  struct tm tm;

  memset(&tm, 0, sizeof(tm));
  if (sscanf(in->list_date, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon,
             &tm.tm_mday) != 3)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return (int64_t)timegm(&tm);
}

int store_list_age_days(const struct store_list_info *in, int64_t now)
{
  int64_t t = list_day(in);

  return t >= 0 && now > t ? (int)((now - t) / SECONDS_PER_DAY) : 0;
}

int64_t store_list_time(const struct store_list_info *in)
{
  int64_t t = list_day(in);

  if (in->imported != 0 && t <= in->imported &&
      in->imported < t + SECONDS_PER_DAY)
    return in->imported; /* dated the day it was imported: to the second */
  return t < 0 ? in->imported : t;
}

int store_list_stale(const struct store_list_info *in, int64_t now)
{
  return store_list_age_days(in, now) > STORE_PRELOAD_STALE_DAYS;
}

static const char SQL_ACTIVE[] =
    "SELECT i.id, i.name, i.source, i.format, i.sha256, i.bytes, i.imported,"
    " i.entries, i.with_subdomains, i.force_https, i.duplicates,"
    " i.list_date, i.builtin, i.skipped"
    " FROM preload_active AS a JOIN preload_import AS i ON i.id = a.list_id";

static void builtin_info(struct store_list_info *out)
{
  size_t imports = out->imports;

  memset(out, 0, sizeof(*out));
  snprintf(out->name, sizeof(out->name), "%s", store__builtin_name);
  snprintf(out->list_date, sizeof(out->list_date), "%s", store__builtin_date);
  out->builtin = 1;
  out->format = STORE_FORMAT_CHROMIUM;
  out->entries = out->force_https = store__builtin_count;
  out->with_subdomains = store__builtin_subdomains;
  out->skipped = store__builtin_skipped;
  out->imports = imports;
}

void store__builtin_info(struct store_list_info *out)
{
  memset(out, 0, sizeof(*out));
  builtin_info(out);
}

static void copy_text(sqlite3_stmt *st, int col, char *out, size_t size)
{
  const unsigned char *t = sqlite3_column_text(st, col);

  snprintf(out, size, "%s", t != NULL ? (const char *)t : "");
}

static void row_info(sqlite3_stmt *st, struct store_list_info *out)
{
  char format[16];

  out->builtin = 0;
  out->id = sqlite3_column_int64(st, 0);
  copy_text(st, 1, out->name, sizeof(out->name));
  copy_text(st, 2, out->source, sizeof(out->source));
  copy_text(st, 3, format, sizeof(format));
  if (store_format_parse(format, &out->format) != STORE_OK)
    out->format = STORE_FORMAT_AUTO;
  copy_text(st, 4, out->sha256, sizeof(out->sha256));
  out->bytes = (uint64_t)sqlite3_column_int64(st, 5);
  out->imported = sqlite3_column_int64(st, 6);
  out->entries = (size_t)sqlite3_column_int64(st, 7);
  out->with_subdomains = (size_t)sqlite3_column_int64(st, 8);
  out->force_https = (size_t)sqlite3_column_int64(st, 9);
  out->duplicates = (size_t)sqlite3_column_int64(st, 10);
  copy_text(st, 11, out->list_date, sizeof(out->list_date));
  out->skipped = (size_t)sqlite3_column_int64(st, 13);
}

int store_preload_info(struct store *s, struct store_list_info *out)
{
  sqlite3_stmt *st;
  int err, rc;

  memset(out, 0, sizeof(*out));
  err = store__prepare(s, "SELECT count(*) FROM preload_import", &st);
  if (err != STORE_OK)
    return err;
  if (sqlite3_step(st) == SQLITE_ROW)
    out->imports = (size_t)sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  err = store__prepare(s, SQL_ACTIVE, &st);
  if (err != STORE_OK)
    return err;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && sqlite3_column_int(st, 12) == 0)
    row_info(st, out);
  else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    builtin_info(out); /* never imported, or reset */
  else
    err = store__dbfail(s, "cannot read the active preload list");
  sqlite3_finalize(st);
  return err;
}

/* 1 when `name` is `host` or one of its parent domains. */
static int names_host_or_parent(const char *name, const char *host)
{
  size_t n = strlen(name), h = strlen(host);

  if (n > h)
    return 0;
  if (n == h)
    return strcmp(name, host) == 0;
  return host[h - n - 1] == '.' && strcmp(host + h - n, name) == 0;
}

static int put_builtin(const char *only_host, struct hsts_index *ix)
{
  struct builtin_it it;
  struct hsts_entry e;

  memset(&it, 0, sizeof(it));
  while (builtin_next(&it, &e)) {
    if (only_host != NULL && !names_host_or_parent(e.host, only_host))
      continue;
    if (hsts_index_put(ix, &e) != HSTS_OK)
      return STORE_ENOMEM;
  }
  return STORE_OK;
}

static const char SQL_ALL[] =
    "SELECT host, include_subdomains, subdomains_for_pinning, force_https"
    " FROM preload_entry WHERE list_id = ?1";
static const char SQL_ONE[] =
    "SELECT host, include_subdomains, subdomains_for_pinning, force_https"
    " FROM preload_entry WHERE list_id = ?1 AND host = ?2";
static const char SQL_SORTED[] =
    "SELECT host, include_subdomains, subdomains_for_pinning, force_https"
    " FROM preload_entry WHERE list_id = ?1 ORDER BY host";

static void row_entry(sqlite3_stmt *st, struct hsts_entry *e)
{
  memset(e, 0, sizeof(*e));
  e->host = (const char *)sqlite3_column_text(st, 0);
  e->source = HSTS_SOURCE_PRELOAD;
  e->include_subdomains = sqlite3_column_int(st, 1) != 0;
  e->include_subdomains_for_pinning = sqlite3_column_int(st, 2) != 0;
  e->force_https = sqlite3_column_int(st, 3) != 0;
}

/* Steps `st` to the end, putting every row into ix. */
static int put_rows(struct store *s, sqlite3_stmt *st, struct hsts_index *ix)
{
  struct hsts_entry e;
  int rc;

  for (;;) {
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
      break;
    row_entry(st, &e);
    if (e.host == NULL || hsts_index_put(ix, &e) != HSTS_OK)
      return store__fail(s, STORE_ENOMEM,
                         "%s: out of memory loading the "
                         "preload list",
                         s->path);
  }
  return rc == SQLITE_DONE ? STORE_OK
                           : store__dbfail(s, "cannot read the preload list");
}

static int put_list(struct store *s, int64_t id, const char *only_host,
                    struct hsts_index *ix)
{
  sqlite3_stmt *st;
  const char *p = only_host;
  int err = store__prepare(s, only_host != NULL ? SQL_ONE : SQL_ALL, &st);

  if (err != STORE_OK)
    return err;
  sqlite3_bind_int64(st, 1, id);
  if (only_host == NULL)
    err = put_rows(s, st, ix);
  /* Each label suffix of the host: "a.b.c", "b.c", "c". */
  while (p != NULL && err == STORE_OK) {
    sqlite3_reset(st);
    sqlite3_bind_text(st, 2, p, -1, SQLITE_STATIC);
    err = put_rows(s, st, ix);
    p = strchr(p, '.');
    if (p != NULL)
      p++;
  }
  sqlite3_finalize(st);
  return err;
}

int store_load_static(struct store *s, const char *only_host,
                      struct hsts_index **out, struct store_list_info *info)
{
  struct store_list_info local;
  struct store_list_info *in = info != NULL ? info : &local;
  int err = store_preload_info(s, in);

  *out = NULL;
  if (err != STORE_OK)
    return err;
  if (hsts_index_new(only_host != NULL ? 8 : in->entries, out) != HSTS_OK)
    return store__fail(s, STORE_ENOMEM, "%s: out of memory", s->path);
  if (in->builtin)
    err = put_builtin(only_host, *out);
  else
    err = put_list(s, in->id, only_host, *out);
  if (err == STORE_ENOMEM && in->builtin)
    store__fail(s, err, "%s: out of memory", s->path);
  if (err != STORE_OK)
    hsts_index_free(out);
  return err;
}

static int foreach_builtin(int (*fn)(const struct hsts_entry *e, void *arg),
                           void *arg)
{
  struct builtin_it it;
  struct hsts_entry e;
  int rc;

  memset(&it, 0, sizeof(it));
  while (builtin_next(&it, &e)) { /* sorted by gen_builtin */
    rc = fn(&e, arg);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int store_preload_foreach(struct store *s, int builtin,
                          int (*fn)(const struct hsts_entry *e, void *arg),
                          void *arg)
{
  struct store_list_info in;
  struct hsts_entry e;
  sqlite3_stmt *st;
  int err, rc = 0, step = SQLITE_DONE;

  if (builtin)
    return foreach_builtin(fn, arg);
  err = store_preload_info(s, &in);
  if (err != STORE_OK || in.builtin)
    return err;
  err = store__prepare(s, SQL_SORTED, &st);
  if (err != STORE_OK)
    return err;
  sqlite3_bind_int64(st, 1, in.id);
  while (rc == 0) {
    step = sqlite3_step(st);
    if (step != SQLITE_ROW)
      break;
    row_entry(st, &e);
    rc = fn(&e, arg);
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = store__dbfail(s, "cannot read the preload list");
  sqlite3_finalize(st);
  return rc;
}

int store__static_exact(struct store *s, const char *host, struct hsts_entry *e,
                        char *list, size_t listsz)
{
  struct store_list_info in;
  struct hsts_index *ix;
  int found;

  if (store_load_static(s, host, &ix, &in) != STORE_OK)
    return -1;
  found = hsts_index_get(ix, host, strlen(host), e);
  if (found) {
    e->host = NULL; /* points into ix, freed below */
    snprintf(list, listsz, "%s", in.name);
  }
  hsts_index_free(&ix);
  return found;
}
