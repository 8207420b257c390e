/*
 * store_static.c - the active static list: description, loading, walking,
 * and the builtin list used when nothing was imported.
 *
 * The builtin list holds the top-level domains that Chromium preloads with
 * "mode": "force-https" and "include_subdomains": true under its
 * "gTLDs and eTLDs are welcome to preload" section (policy
 * "public-suffix"). Checked against two recent copies of
 * net/http/transport_security_state_static.json in Chromium-derived trees
 * (benji-cannot-code/fast-vc-chromium-benchmark-run-4 at 01531fbb: android
 * through microsoft, 40 names; cinagroup/CinaBrowser at b3278698: the same
 * plus the Amazon and Fujitsu TLDs, 51 names). Google Registry describes
 * further TLDs (e.g. prod, how, soy) as HTTPS-only, but they are not
 * entries of that section, so they are not listed here. Importing a real
 * list replaces this one.
 */
#include <stdio.h>
#include <string.h>

#include "store_internal.h"
#include "store_preload.h"

static const char *const builtin_tlds[] = {
  "android",
  "app",
  "bank",
  "chrome",
  "dev",
  "foo",
  "gle",
  "gmail",
  "google",
  "hangout",
  "insurance",
  "meet",
  "new",
  "page",
  "play",
  "search",
  "youtube",
  "esq",
  "fly",
  "rsvp",
  "eat",
  "nexus",
  "ing",
  "meme",
  "phd",
  "prof",
  "boo",
  "dad",
  "day",
  "channel",
  "hotmail",
  "mov",
  "zip",
  "windows",
  "skype",
  "azure",
  "office",
  "bing",
  "xbox",
  "microsoft",
  "amazon",
  "audible",
  "fire",
  "imdb",
  "kindle",
  "prime",
  "silk",
  "zappos",
  "xn--cckwcxetd",  /* アマゾン (Amazon, Japanese) */
  "xn--jlq480n2rg", /* 亚马逊 (Amazon, Chinese) */
  "fujitsu",
  NULL
};

#define BUILTIN_NAME "builtin"

size_t store_builtin_count(void)
{
  return sizeof(builtin_tlds) / sizeof(builtin_tlds[0]) - 1;
}

void store_builtin_entry(size_t i, struct hsts_entry *out)
{
  memset(out, 0, sizeof(*out));
  out->host = builtin_tlds[i];
  out->source = HSTS_SOURCE_BUILTIN;
  out->include_subdomains = 1;
  out->force_https = 1;
}

static const char SQL_ACTIVE[] =
    "SELECT i.id, i.name, i.source, i.format, i.sha256, i.bytes, i.imported,"
    " i.entries, i.with_subdomains, i.force_https, i.duplicates"
    " FROM preload_active AS a JOIN preload_import AS i ON i.id = a.list_id";

static void builtin_info(struct store_list_info *out)
{
  size_t imports = out->imports;

  memset(out, 0, sizeof(*out));
  snprintf(out->name, sizeof(out->name), "%s", BUILTIN_NAME);
  out->builtin = 1;
  out->entries = out->with_subdomains = out->force_https =
      store_builtin_count();
  out->imports = imports;
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
  if (rc == SQLITE_ROW)
    row_info(st, out);
  else if (rc == SQLITE_DONE)
    builtin_info(out);
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
  struct hsts_entry e;
  size_t i;

  for (i = 0; i < store_builtin_count(); i++) {
    store_builtin_entry(i, &e);
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
  const char *sorted[sizeof(builtin_tlds) / sizeof(builtin_tlds[0])];
  struct hsts_entry e;
  size_t i, j, n = store_builtin_count();
  int rc;

  for (i = 0; i < n; i++) { /* insertion sort: 51 names */
    const char *v = builtin_tlds[i];

    for (j = i; j > 0 && strcmp(sorted[j - 1], v) > 0; j--)
      sorted[j] = sorted[j - 1];
    sorted[j] = v;
  }
  for (i = 0; i < n; i++) {
    store_builtin_entry(0, &e);
    e.host = sorted[i];
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
