/*
 * store_import.c - replacing the active preload list, atomically.
 *
 * An import runs in one IMMEDIATE transaction: a history row is inserted,
 * the format's parser feeds every entry through store__import_add() (which
 * normalizes the name and inserts it under the new list's id), then the
 * counts are written, the active marker moves to the new list and the old
 * list's entries are deleted. A name that can never apply (an IP literal
 * such as Chromium's "1.0.0.1", an invalid name) is skipped and counted;
 * broken syntax rolls the whole transaction back, so the store is
 * unchanged. Binary input (a NUL byte) is refused before parsing; a UTF-8
 * byte order mark is ignored; the format is sniffed from the content when
 * not given. The list's date is the "as of YYYY-MM-DD" of its head comment
 * when it has one (the built-in snapshot's does), else the import's day.
 * A reset inserts a history row marked builtin and drops all entries.
 * The text and Mozilla parsers are here; the Chromium JSON parser is in
 * store_chromium.c.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsts_host.h"
#include "store_import_int.h"

#define WHY_MAX         384
#define NAME_SHOWN      80 /* bytes of a bad name quoted in a message */
#define MOZILLA_FENCE   "%%"
#define TEXT_SUBDOMAINS "includeSubDomains"
#define UTF8_BOM        "\xef\xbb\xbf"
#define DATE_MARK       "as of "
#define DATE_LEN        10   /* YYYY-MM-DD */
#define HEAD_SCAN       4096 /* bytes of head comment searched for a date */

static const char *const format_names[] = { "auto", "chromium", "mozilla",
                                            "text", NULL };

const char *store_format_name(enum store_format format)
{
  if ((unsigned)format > STORE_FORMAT_TEXT)
    return "auto";
  return format_names[format];
}

int store_format_parse(const char *name, enum store_format *out)
{
  int i;

  for (i = 0; format_names[i] != NULL; i++) {
    if (strcmp(format_names[i], name) == 0) {
      *out = (enum store_format)i;
      return STORE_OK;
    }
  }
  return STORE_EINVAL;
}

/* Counts a skipped name and keeps the first ones, comma-separated. */
static void skip(struct store_list_info *in, const char *shown)
{
  size_t used = strlen(in->skipped_names);

  in->skipped++;
  if (used + strlen(shown) + 8 >= sizeof(in->skipped_names)) {
    if (used > 0 && strcmp(in->skipped_names + used - 3, "...") != 0)
      snprintf(in->skipped_names + used, sizeof(in->skipped_names) - used,
               ", ...");
    return;
  }
  snprintf(in->skipped_names + used, sizeof(in->skipped_names) - used, "%s%s",
           used > 0 ? ", " : "", shown);
}

int store__import_add(struct store__import *imp, const char *name, size_t len,
                      int include_subdomains, int subdomains_for_pinning,
                      int force_https, char *why, size_t whysz)
{
  char host[HSTS_HOST_MAX + 1], shown[NAME_SHOWN];
  enum hsts_host_kind kind;
  int herr = hsts_host_normalize(name, len, host, &kind);
  sqlite3_stmt *st = imp->insert;

  if (herr != HSTS_OK || kind != HSTS_HOST_NAME) {
    store__printable(name, len, shown, sizeof(shown));
    skip(&imp->info, shown);
    return STORE_OK;
  }
  sqlite3_reset(st);
  sqlite3_bind_int64(st, 1, imp->list_id);
  sqlite3_bind_text(st, 2, host, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(st, 3, include_subdomains != 0);
  sqlite3_bind_int(st, 4, subdomains_for_pinning != 0);
  sqlite3_bind_int(st, 5, force_https != 0);
  if (sqlite3_step(st) != SQLITE_DONE)
    return store__dbfail(imp->s, "cannot insert a preload entry");
  if (sqlite3_changes(imp->s->db) == 0) {
    /* The same host again: merge when identical, refuse otherwise. */
    st = imp->existing;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, imp->list_id);
    sqlite3_bind_text(st, 2, host, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_ROW)
      return store__dbfail(imp->s, "cannot read a preload entry");
    if (sqlite3_column_int(st, 0) != (include_subdomains != 0) ||
        sqlite3_column_int(st, 1) != (subdomains_for_pinning != 0) ||
        sqlite3_column_int(st, 2) != (force_https != 0)) {
      snprintf(why, whysz,
               "\"%s\" repeats an earlier entry with different "
               "flags",
               host);
      return STORE_EFORMAT;
    }
    imp->info.duplicates++;
    return STORE_OK;
  }
  imp->info.entries++;
  imp->info.with_subdomains += include_subdomains != 0;
  imp->info.force_https += force_https != 0;
  return STORE_OK;
}

/* Skips blanks; returns the next word of line[*i..len) (empty at end). */
static size_t next_word(const char *line, size_t len, size_t *i,
                        const char **word)
{
  size_t start;

  while (*i < len && (line[*i] == ' ' || line[*i] == '\t'))
    (*i)++;
  start = *i;
  while (*i < len && line[*i] != ' ' && line[*i] != '\t')
    (*i)++;
  *word = line + start;
  return *i - start;
}

static int line_fail(struct store__import *imp, size_t lineno, const char *why)
{
  return store__fail(imp->s, STORE_EFORMAT, "%s: line %zu: %s",
                     imp->info.source, lineno, why);
}

static int too_long(struct store__import *imp, size_t lineno, size_t len)
{
  char why[WHY_MAX];

  snprintf(why, sizeof(why), "longer than %d bytes (%zu)", STORE_LINE_MAX, len);
  return line_fail(imp, lineno, why);
}

/* One text line: "host [includeSubDomains] [# comment]". */
static int text_line(struct store__import *imp, const char *line, size_t len,
                     size_t lineno)
{
  const char *host, *word;
  size_t i = 0, hostlen, wlen;
  int subdomains = 0, err;
  char why[WHY_MAX], shown[NAME_SHOWN];

  hostlen = next_word(line, len, &i, &host);
  if (hostlen == 0 || host[0] == '#')
    return STORE_OK;
  wlen = next_word(line, len, &i, &word);
  if (wlen > 0 && word[0] != '#') {
    if (wlen != sizeof(TEXT_SUBDOMAINS) - 1 ||
        strncasecmp(word, TEXT_SUBDOMAINS, wlen) != 0) {
      store__printable(word, wlen, shown, sizeof(shown));
      snprintf(why, sizeof(why),
               "unexpected \"%s\" after the host (only "
               "includeSubDomains may follow it)",
               shown);
      return line_fail(imp, lineno, why);
    }
    subdomains = 1;
    wlen = next_word(line, len, &i, &word);
  }
  if (wlen > 0 && word[0] != '#') {
    store__printable(word, wlen, shown, sizeof(shown));
    snprintf(why, sizeof(why), "unexpected \"%s\" at the end of the line",
             shown);
    return line_fail(imp, lineno, why);
  }
  err =
      store__import_add(imp, host, hostlen, subdomains, 0, 1, why, sizeof(why));
  return err == STORE_EFORMAT ? line_fail(imp, lineno, why) : err;
}

int store__import_text(struct store__import *imp, const char *data, size_t len)
{
  struct store__lines it;
  const char *line;
  size_t n;
  int err;

  store__lines_init(&it, data, len);
  while (store__lines_next(&it, &line, &n)) {
    if (n > STORE_LINE_MAX)
      return too_long(imp, it.lineno, n);
    err = text_line(imp, line, n, it.lineno);
    if (err != STORE_OK)
      return err;
  }
  return STORE_OK;
}

/* One Mozilla line: "host, 0" or "host, 1". */
static int mozilla_line(struct store__import *imp, const char *line, size_t len,
                        size_t lineno)
{
  const char *comma = memchr(line, ',', len), *word;
  size_t i, wlen;
  char why[WHY_MAX], flag;
  int err;

  if (comma == NULL || comma == line)
    return line_fail(imp, lineno, "expected \"host, 0\" or \"host, 1\"");
  i = (size_t)(comma - line) + 1;
  wlen = next_word(line, len, &i, &word);
  if (wlen != 1 || (word[0] != '0' && word[0] != '1'))
    return line_fail(imp, lineno, "the flag after the comma must be 0 or 1");
  flag = word[0];
  if (next_word(line, len, &i, &word) != 0)
    return line_fail(imp, lineno, "unexpected text after the flag");
  err = store__import_add(imp, line, (size_t)(comma - line), flag == '1', 0, 1,
                          why, sizeof(why));
  return err == STORE_EFORMAT ? line_fail(imp, lineno, why) : err;
}

static int is_fence(const char *line, size_t len)
{
  while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
    len--;
  return len == sizeof(MOZILLA_FENCE) - 1 &&
         memcmp(line, MOZILLA_FENCE, len) == 0;
}

int store__import_mozilla(struct store__import *imp, const char *data,
                          size_t len)
{
  struct store__lines it;
  const char *line;
  size_t n, opened = 0;
  int err;

  store__lines_init(&it, data, len);
  while (store__lines_next(&it, &line, &n)) {
    if (n > STORE_LINE_MAX)
      return too_long(imp, it.lineno, n);
    if (is_fence(line, n)) {
      if (opened != 0)
        return STORE_OK; /* what follows the closing fence is ignored */
      opened = it.lineno;
      continue;
    }
    if (opened == 0)
      continue; /* the C preamble before the first fence */
    err = mozilla_line(imp, line, n, it.lineno);
    if (err != STORE_OK)
      return err;
  }
  if (opened == 0)
    return line_fail(imp, it.lineno,
                     "no \"%%\" line: not a Mozilla "
                     "nsSTSPreloadList.inc file");
  return line_fail(imp, it.lineno,
                   "the file ends before the closing \"%%\" "
                   "line (truncated?)");
}

/* Chromium when the first non-blank, non-comment byte opens an object;
 * Mozilla when a line is exactly "%%"; text otherwise. */
static enum store_format sniff(const char *data, size_t len)
{
  struct store__lines it;
  const char *line;
  size_t n, i;

  store__lines_init(&it, data, len);
  while (store__lines_next(&it, &line, &n)) {
    for (i = 0; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
      ;
    if (i == n || (n - i >= 2 && line[i] == '/' && line[i + 1] == '/'))
      continue;
    if (line[i] == '{')
      return STORE_FORMAT_CHROMIUM;
    break;
  }
  store__lines_init(&it, data, len);
  while (store__lines_next(&it, &line, &n))
    if (is_fence(line, n))
      return STORE_FORMAT_MOZILLA;
  return STORE_FORMAT_TEXT;
}

int store_sha256_hex(const char *data, size_t len, char out[65])
{
  static const char hex[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0, i;

  if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
    return -1;
  for (i = 0; i < n; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 0xf];
  }
  out[64] = '\0';
  return 0;
}

/* Refuses a NUL byte (binary data) and an empty file before parsing. */
static int precheck(struct store__import *imp, const char *data, size_t len)
{
  const char *nul = memchr(data, '\0', len);

  if (len == 0)
    return store__fail(imp->s, STORE_EFORMAT, "%s: the file is empty",
                       imp->info.source);
  if (nul != NULL)
    return line_fail(imp, store__line_of(data, (size_t)(nul - data), NULL),
                     "NUL byte: binary data, not a preload list");
  return STORE_OK;
}

static const char SQL_HISTORY[] =
    "INSERT INTO preload_import (name, source, format, sha256, bytes, "
    "imported, entries, with_subdomains, force_https, duplicates, "
    "list_date, builtin) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, 0, 0, ?7, ?8)";
static const char SQL_INSERT[] =
    "INSERT INTO preload_entry (list_id, host, include_subdomains, "
    "subdomains_for_pinning, force_https) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT (list_id, host) DO NOTHING";
static const char SQL_EXISTING[] =
    "SELECT include_subdomains, subdomains_for_pinning, force_https "
    "FROM preload_entry WHERE list_id = ?1 AND host = ?2";
static const char SQL_COUNTS[] =
    "UPDATE preload_import SET entries = ?2, with_subdomains = ?3, "
    "force_https = ?4, duplicates = ?5, skipped = ?6 WHERE id = ?1";
static const char SQL_ACTIVATE[] =
    "INSERT INTO preload_active (singleton, list_id) VALUES (1, ?1) "
    "ON CONFLICT (singleton) DO UPDATE SET list_id = excluded.list_id";
static const char SQL_DROP_OLD[] =
    "DELETE FROM preload_entry WHERE list_id <> ?1";

/* Inserts the history row (counts filled at the end). */
static int start(struct store__import *imp)
{
  struct store_list_info *in = &imp->info;
  sqlite3_stmt *st;
  int err = store__prepare(imp->s, SQL_HISTORY, &st);

  if (err != STORE_OK)
    return err;
  sqlite3_bind_text(st, 1, in->name, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, in->source, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, store_format_name(in->format), -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, in->sha256, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 5, (sqlite3_int64)in->bytes);
  sqlite3_bind_int64(st, 6, in->imported);
  sqlite3_bind_text(st, 7, in->list_date, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 8, in->builtin);
  if (sqlite3_step(st) != SQLITE_DONE)
    err = store__dbfail(imp->s, "cannot record the import");
  sqlite3_finalize(st);
  if (err != STORE_OK)
    return err;
  imp->list_id = sqlite3_last_insert_rowid(imp->s->db);
  in->id = imp->list_id;
  if (in->builtin)
    return STORE_OK; /* a reset: no entries */
  err = store__prepare(imp->s, SQL_INSERT, &imp->insert);
  if (err == STORE_OK)
    err = store__prepare(imp->s, SQL_EXISTING, &imp->existing);
  return err;
}

static int run1(struct store *s, const char *sql, int64_t a, const size_t *v,
                int nv)
{
  sqlite3_stmt *st;
  int i, err = store__prepare(s, sql, &st);

  if (err != STORE_OK)
    return err;
  sqlite3_bind_int64(st, 1, a);
  for (i = 0; i < nv; i++)
    sqlite3_bind_int64(st, i + 2, (sqlite3_int64)v[i]);
  if (sqlite3_step(st) != SQLITE_DONE)
    err = store__dbfail(s, "cannot activate the new list");
  sqlite3_finalize(st);
  return err;
}

/* Writes the counts, moves the active marker, drops the old entries. */
static int finish(struct store__import *imp)
{
  struct store_list_info *in = &imp->info;
  size_t counts[5];
  int err;

  if (in->entries == 0 && !in->builtin)
    return store__fail(imp->s, STORE_EFORMAT,
                       "%s: no entries found (a %s "
                       "list with no hosts would disable preloading)",
                       in->source, store_format_name(in->format));
  if (2 * in->entries < imp->active_entries)
    return store__fail(imp->s, STORE_ESHRINK,
                       "%s: %zu %s, fewer than half the %zu of the active "
                       "list: refused (a truncated list must not shrink "
                       "protection; import it with --force to override)",
                       in->source, in->entries,
                       in->entries == 1 ? "entry" : "entries",
                       imp->active_entries);
  counts[0] = in->entries;
  counts[1] = in->with_subdomains;
  counts[2] = in->force_https;
  counts[3] = in->duplicates;
  counts[4] = in->skipped;
  err = run1(imp->s, SQL_COUNTS, imp->list_id, counts, 5);
  if (err == STORE_OK)
    err = run1(imp->s, SQL_ACTIVATE, imp->list_id, NULL, 0);
  if (err == STORE_OK)
    err = run1(imp->s, SQL_DROP_OLD, imp->list_id, NULL, 0);
  return err;
}

static int parse(struct store__import *imp, const char *data, size_t len)
{
  switch (imp->info.format) {
  case STORE_FORMAT_CHROMIUM:
    return store__import_chromium(imp, data, len);
  case STORE_FORMAT_MOZILLA:
    return store__import_mozilla(imp, data, len);
  default:
    return store__import_text(imp, data, len);
  }
}

/* 3 when data starts with a UTF-8 byte order mark, else 0. */
static size_t bom_len(const char *data, size_t len)
{
  size_t n = sizeof(UTF8_BOM) - 1;

  return len >= n && memcmp(data, UTF8_BOM, n) == 0 ? n : 0;
}

/* 1 when p holds YYYY-MM-DD. */
static int is_date(const char *p, size_t n)
{
  size_t i;

  if (n < DATE_LEN)
    return 0;
  for (i = 0; i < DATE_LEN; i++) {
    if (i == 4 || i == 7) {
      if (p[i] != '-')
        return 0;
    } else if (p[i] < '0' || p[i] > '9') {
      return 0;
    }
  }
  return 1;
}

/* The "as of YYYY-MM-DD" of the head comment, else the UTC day of now. */
static void list_date(const char *data, size_t len, int64_t now,
                      char out[STORE_LIST_DATE_MAX])
{
  size_t n = len < HEAD_SCAN ? len : HEAD_SCAN, m = strlen(DATE_MARK), i;
  time_t t = (time_t)now;
  struct tm tm;

  for (i = 0; i + m < n && data[i] != '{'; i++) {
    if (memcmp(data + i, DATE_MARK, m) == 0 &&
        is_date(data + i + m, n - i - m)) {
      memcpy(out, data + i + m, DATE_LEN);
      out[DATE_LEN] = '\0';
      return;
    }
  }
  if (gmtime_r(&t, &tm) == NULL ||
      strftime(out, STORE_LIST_DATE_MAX, "%Y-%m-%d", &tm) == 0)
    snprintf(out, STORE_LIST_DATE_MAX, "1970-01-01");
}

static int fill_info(struct store__import *imp, const char *data, size_t len,
                     const char *source, enum store_format format, int64_t now)
{
  struct store_list_info *in = &imp->info;

  memset(in, 0, sizeof(*in));
  snprintf(in->source, sizeof(in->source), "%s", source);
  in->format = format != STORE_FORMAT_AUTO
                   ? format
                   : sniff(data + bom_len(data, len), len - bom_len(data, len));
  list_date(data, len, now, in->list_date);
  snprintf(in->name, sizeof(in->name), "%s-%s", store_format_name(in->format),
           in->list_date);
  in->imported = now;
  in->bytes = len;
  if (store_sha256_hex(data, len, in->sha256) != 0)
    return store__fail(imp->s, STORE_EIO, "%s: SHA-256 failed", source);
  return STORE_OK;
}

/* Runs the import (or, for info.builtin, the reset) in one transaction. */
static int transact(struct store__import *imp, const char *data, size_t len,
                    struct store_list_info *out)
{
  int err = store__begin(imp->s, "cannot start the import");

  if (err != STORE_OK)
    return err;
  err = start(imp);
  if (err == STORE_OK && !imp->info.builtin)
    err = parse(imp, data, len);
  if (err == STORE_OK)
    err = finish(imp);
  sqlite3_finalize(imp->insert);
  sqlite3_finalize(imp->existing);
  if (err == STORE_OK)
    err = store__commit(imp->s);
  else
    store__rollback(imp->s);
  if (err != STORE_OK || out == NULL)
    return err;
  *out = imp->info;
  err = store_preload_info(imp->s, out);
  if (err == STORE_OK && !out->builtin) {
    out->skipped = imp->info.skipped;
    memcpy(out->skipped_names, imp->info.skipped_names,
           sizeof(out->skipped_names));
  }
  return err;
}

int store_preload_import_mem_flags(struct store *s, const char *data,
                                   size_t len, const char *source,
                                   enum store_format format, int64_t now,
                                   unsigned flags, struct store_list_info *out)
{
  struct store__import imp;
  struct store_list_info active;
  size_t bom;
  int err;

  memset(&imp, 0, sizeof(imp));
  imp.s = s;
  if ((flags & STORE_IMPORT_GUARD) != 0) {
    err = store_preload_info(s, &active);
    if (err != STORE_OK)
      return err;
    imp.active_entries = active.entries;
  }
  err = fill_info(&imp, data, len, source, format, now);
  if (err == STORE_OK)
    err = precheck(&imp, data, len);
  if (err != STORE_OK)
    return err;
  bom = bom_len(data, len); /* the digest covers the bytes as they came */
  return transact(&imp, data + bom, len - bom, out);
}

int store_preload_import_mem(struct store *s, const char *data, size_t len,
                             const char *source, enum store_format format,
                             int64_t now, struct store_list_info *out)
{
  return store_preload_import_mem_flags(s, data, len, source, format, now, 0,
                                        out);
}

int store_preload_reset(struct store *s, int64_t now,
                        struct store_list_info *out)
{
  struct store__import imp;

  memset(&imp, 0, sizeof(imp));
  imp.s = s;
  store__builtin_info(&imp.info);
  snprintf(imp.info.source, sizeof(imp.info.source), "builtin");
  imp.info.imported = now;
  return transact(&imp, NULL, 0, out);
}

int store_preload_import_file_flags(struct store *s, const char *path,
                                    enum store_format format, int64_t now,
                                    unsigned flags, struct store_list_info *out)
{
  char *data;
  size_t len;
  int err = store__read_file(s, path, &data, &len);

  if (err != STORE_OK)
    return err;
  err = store_preload_import_mem_flags(s, data, len, path, format, now, flags,
                                       out);
  free(data);
  return err;
}

int store_preload_import_file(struct store *s, const char *path,
                              enum store_format format, int64_t now,
                              struct store_list_info *out)
{
  return store_preload_import_file_flags(s, path, format, now, 0, out);
}
