/*
 * store_chromium.c - importing Chromium's transport_security_state_static.json.
 *
 * The file is JSON with `//` comment lines. A line whose first non-blank
 * bytes are `//` is blanked (same length, so offsets and line numbers stay
 * true); `//` elsewhere, as in "https://..." report URIs inside strings,
 * is data. A comment after JSON on the same line is not supported (the
 * real file has none) and is reported as a syntax error at its line.
 *
 * store__json_scan() validates the text and locates each entry; SQLite's
 * JSON1 (json_each over $.entries, json_type/json_extract per entry) then
 * extracts the fields. Each entry must be an object whose "name" is a
 * string; "include_subdomains" and "include_subdomains_for_pinning" must
 * be true or false when present; "mode", when present, must be the string
 * "force-https" (the only one Chromium's generator knows). Entries without
 * a mode are kept inert: they never upgrade, and they hide higher entries
 * in a lookup (hsts_index.h). Other fields (policy, pins, expect_ct...) are
 * ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_import_int.h"

#define WHY_MAX          384
#define NAME_SHOWN       80
#define MODE_FORCE_HTTPS "force-https"

enum {
  COL_KEY = 0,
  COL_TYPE,
  COL_NAME_TYPE,
  COL_NAME,
  COL_MODE_TYPE,
  COL_MODE,
  COL_SUB_TYPE,
  COL_PIN_TYPE
};

static const char SQL_ENTRIES[] =
    "SELECT e.key, e.type,"
    " CASE WHEN e.type = 'object' THEN json_type(e.value, '$.name') END,"
    " CASE WHEN e.type = 'object' THEN json_extract(e.value, '$.name') END,"
    " CASE WHEN e.type = 'object' THEN json_type(e.value, '$.mode') END,"
    " CASE WHEN e.type = 'object' THEN json_extract(e.value, '$.mode') END,"
    " CASE WHEN e.type = 'object' THEN"
    "   json_type(e.value, '$.include_subdomains') END,"
    " CASE WHEN e.type = 'object' THEN"
    "   json_type(e.value, '$.include_subdomains_for_pinning') END"
    " FROM json_each(?1, '$.entries') AS e";

struct ctx {
  struct store__import *imp;
  const char *text; /* the comment-blanked copy */
  struct store__json_scan scan;
};

/* Blanks every comment line of buf (in place). */
static void blank_comments(char *buf, size_t len)
{
  size_t i = 0, j;

  while (i < len) {
    j = i;
    while (j < len && (buf[j] == ' ' || buf[j] == '\t'))
      j++;
    if (len - j >= 2 && buf[j] == '/' && buf[j + 1] == '/') {
      while (j < len && buf[j] != '\n')
        buf[j++] = ' ';
    }
    while (j < len && buf[j] != '\n')
      j++;
    i = j + 1;
  }
}

/* Fails with "SOURCE: entry K [\"name\"] (line L): why", counting the
 * entries from 1 as a reader of the file does. */
static int entry_fail(struct ctx *c, sqlite3_int64 k, const char *name,
                      const char *why)
{
  char shown[NAME_SHOWN + 4] = "";
  size_t line = 0;

  if (k >= 0 && (size_t)k < c->scan.nentries)
    line = store__line_of(c->text, c->scan.entry_offsets[k], NULL);
  if (name != NULL) {
    shown[0] = ' ';
    shown[1] = '"';
    store__printable(name, strlen(name), shown + 2, NAME_SHOWN);
    strcat(shown, "\"");
  }
  return store__fail(c->imp->s, STORE_EFORMAT,
                     "%s: entry %lld%s (line %zu): "
                     "%s",
                     c->imp->info.source, (long long)k + 1, shown, line, why);
}

/* Type name of a json_type() column, "missing" when absent. */
static const char *type_of(sqlite3_stmt *st, int col)
{
  const unsigned char *t = sqlite3_column_text(st, col);

  return t != NULL ? (const char *)t : "missing";
}

/* The JSON words for a json_type() name, with an article. */
static const char *described(const char *t)
{
  if (strcmp(t, "text") == 0)
    return "a string";
  if (strcmp(t, "integer") == 0 || strcmp(t, "real") == 0)
    return "a number";
  if (strcmp(t, "true") == 0 || strcmp(t, "false") == 0)
    return "a boolean";
  if (strcmp(t, "object") == 0)
    return "an object";
  if (strcmp(t, "array") == 0)
    return "an array";
  return t; /* "null", "missing" */
}

/* A boolean field: 1 or 0 in *out, or -1 after failing on its type. */
static int boolean(struct ctx *c, sqlite3_stmt *st, int col, const char *field,
                   const char *name, int *out)
{
  const char *t = type_of(st, col);
  char why[WHY_MAX];

  if (strcmp(t, "true") == 0 || strcmp(t, "false") == 0 ||
      strcmp(t, "missing") == 0) {
    *out = strcmp(t, "true") == 0;
    return 0;
  }
  snprintf(why, sizeof(why), "\"%s\" is %s, expected true or false", field,
           described(t));
  entry_fail(c, sqlite3_column_int64(st, COL_KEY), name, why);
  return -1;
}

static int one_entry(struct ctx *c, sqlite3_stmt *st)
{
  sqlite3_int64 k = sqlite3_column_int64(st, COL_KEY);
  const char *t = type_of(st, COL_TYPE), *name, *mode;
  int sub, pin, force, err;
  char why[WHY_MAX];

  if (strcmp(t, "object") != 0) {
    snprintf(why, sizeof(why), "an entry must be an object, not %s",
             described(t));
    return entry_fail(c, k, NULL, why);
  }
  t = type_of(st, COL_NAME_TYPE);
  if (strcmp(t, "text") != 0) {
    snprintf(why, sizeof(why), "\"name\" is %s, expected a string",
             described(t));
    return entry_fail(c, k, NULL, why);
  }
  name = (const char *)sqlite3_column_text(st, COL_NAME);
  if (name == NULL)
    return store__dbfail(c->imp->s, "cannot read an entry");
  t = type_of(st, COL_MODE_TYPE);
  mode = (const char *)sqlite3_column_text(st, COL_MODE);
  if (strcmp(t, "missing") != 0 &&
      (strcmp(t, "text") != 0 || strcmp(mode, MODE_FORCE_HTTPS) != 0))
    return entry_fail(c, k, name,
                      "\"mode\" must be \"force-https\" when "
                      "present");
  force = strcmp(t, "text") == 0;
  if (boolean(c, st, COL_SUB_TYPE, "include_subdomains", name, &sub) != 0 ||
      boolean(c, st, COL_PIN_TYPE, "include_subdomains_for_pinning", name,
              &pin) != 0)
    return STORE_EFORMAT;
  err = store__import_add(c->imp, name,
                          (size_t)sqlite3_column_bytes(st, COL_NAME), sub, pin,
                          force, why, sizeof(why));
  return err == STORE_EFORMAT ? entry_fail(c, k, name, why) : err;
}

/* Syntax and shape checks before SQLite sees the text. */
static int check_shape(struct ctx *c, size_t len)
{
  const char *src = c->imp->info.source;
  size_t line, col;
  int err = store__json_scan(c->text, len, &c->scan);

  if (err != STORE_OK)
    return store__fail(c->imp->s, err, "%s: out of memory", src);
  if (!c->scan.ok) {
    line = store__line_of(c->text, c->scan.error_offset, &col);
    return store__fail(c->imp->s, STORE_EFORMAT,
                       "%s: line %zu, column %zu: invalid JSON: %s", src, line,
                       col, c->scan.error);
  }
  if (!c->scan.top_object)
    return store__fail(c->imp->s, STORE_EFORMAT,
                       "%s: the JSON document is not an object", src);
  if (!c->scan.entries_found || !c->scan.entries_array)
    return store__fail(c->imp->s, STORE_EFORMAT, "%s: %s", src,
                       c->scan.entries_found
                           ? "\"entries\" is not an array"
                           : "no \"entries\" member: not a Chromium list");
  return STORE_OK;
}

static int walk(struct ctx *c, size_t len)
{
  sqlite3_stmt *st;
  int err = store__prepare(c->imp->s, SQL_ENTRIES, &st), rc;

  if (err != STORE_OK)
    return err;
  sqlite3_bind_text(st, 1, c->text, (int)len, SQLITE_STATIC);
  for (;;) {
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
      break;
    err = one_entry(c, st);
    if (err != STORE_OK)
      break;
  }
  if (err == STORE_OK && rc != SQLITE_DONE)
    err = store__dbfail(c->imp->s, "SQLite rejected the JSON");
  sqlite3_finalize(st);
  return err;
}

int store__import_chromium(struct store__import *imp, const char *data,
                           size_t len)
{
  struct ctx c;
  char *copy;
  int err;

  if (len > (size_t)STORE_IMPORT_MAX_BYTES)
    return store__fail(imp->s, STORE_EFORMAT, "%s: too large",
                       imp->info.source);
  copy = malloc(len + 1);
  if (copy == NULL)
    return store__fail(imp->s, STORE_ENOMEM, "%s: out of memory",
                       imp->info.source);
  memcpy(copy, data, len);
  copy[len] = '\0';
  blank_comments(copy, len);
  memset(&c, 0, sizeof(c));
  c.imp = imp;
  c.text = copy;
  err = check_shape(&c, len);
  if (err == STORE_OK)
    err = walk(&c, len);
  store__json_scan_cleanup(&c.scan);
  free(copy);
  return err;
}
