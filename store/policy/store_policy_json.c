/*
 * store_policy_json.c - `policy import` of either format `policy export`
 * writes: curl's --hsts cache (store_curl.c) or hstsproxy's own JSON.
 *
 * The format is detected from content: JSON starts with '{' (after blanks
 * and an optional UTF-8 BOM), which no curl cache line can. The JSON is
 * read with SQLite's JSON1 functions: json_valid() for the whole text,
 * then json_each() over $.policies, one row per entry with each field's
 * JSON type, so that a field of the wrong type is refused by name rather
 * than coerced. Every entry becomes a manual policy (how "json") keeping
 * its include_subdomains, max-age and expiry; it runs in one transaction,
 * so a malformed entry changes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "store_import_int.h"
#include "store_policy.h"

#define FORMAT_NAME    "hstsproxy-policies"
#define FORMAT_VERSION 1
#define HOW_JSON       "json"
#define BOM            "\xef\xbb\xbf"
#define WHY_MAX        384
#define NAME_SHOWN     80 /* bytes of a bad host quoted in a message */

static const char SQL_HEAD[] =
    "SELECT v, CASE WHEN v THEN json_type(?1) END,"
    " CASE WHEN v THEN json_extract(?1, '$.format') END,"
    " CASE WHEN v THEN json_extract(?1, '$.version') END,"
    " CASE WHEN v THEN json_type(?1, '$.policies') END"
    " FROM (SELECT json_valid(?1) AS v)";

static const char SQL_ENTRIES[] =
    "SELECT key + 1, json_type(value), json_type(value, '$.host'),"
    " json_extract(value, '$.host'),"
    " json_type(value, '$.include_subdomains'),"
    " json_type(value, '$.max_age'), json_extract(value, '$.max_age'),"
    " json_type(value, '$.expires'),"
    " unixepoch(json_extract(value, '$.expires'))"
    " FROM json_each(?1, '$.policies') ORDER BY key";

struct json_import {
  struct store *s;
  const char *path;
  int64_t now;
  size_t imported, expired;
};

static int bad(struct json_import *c, int64_t n, const char *why)
{
  if (n == 0)
    return store__fail(c->s, STORE_EFORMAT, "%s: %s", c->path, why);
  return store__fail(c->s, STORE_EFORMAT, "%s: policies[%lld]: %s", c->path,
                     (long long)n, why);
}

static int is_type(sqlite3_stmt *st, int col, const char *type)
{
  const unsigned char *t = sqlite3_column_text(st, col);

  return t != NULL && strcmp((const char *)t, type) == 0;
}

/* The document's head: a JSON object of our format and version. */
static int head(struct json_import *c, const char *text, size_t len)
{
  sqlite3_stmt *st;
  const char *why = NULL;
  const unsigned char *format;
  int err = store__prepare(c->s, SQL_HEAD, &st);

  if (err != STORE_OK)
    return err;
  sqlite3_bind_text(st, 1, text, (int)len, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_ROW) {
    err = store__dbfail(c->s, "cannot read the JSON");
  } else if (sqlite3_column_int(st, 0) == 0) {
    why = "not valid JSON (nor a curl HSTS cache: it starts with '{')";
  } else if (!is_type(st, 1, "object")) {
    why = "the JSON is not an object";
  } else if ((format = sqlite3_column_text(st, 2)) == NULL ||
             strcmp((const char *)format, FORMAT_NAME) != 0) {
    why = "\"format\" is not \"" FORMAT_NAME "\" (policy export "
          "--format json)";
  } else if (sqlite3_column_type(st, 3) != SQLITE_INTEGER ||
             sqlite3_column_int64(st, 3) != FORMAT_VERSION) {
    why = "\"version\" is not 1";
  } else if (!is_type(st, 4, "array")) {
    why = "\"policies\" is not an array";
  }
  sqlite3_finalize(st);
  if (err == STORE_OK && why != NULL)
    err = bad(c, 0, why);
  return err;
}

/* Fills *p from one entry's row; returns NULL, or why it is refused. */
static const char *entry_fields(sqlite3_stmt *st, struct store_policy *p,
                                const char **host)
{
  int64_t max_age;

  if (!is_type(st, 1, "object"))
    return "not an object";
  if (!is_type(st, 2, "text"))
    return "\"host\" is missing or not a string";
  *host = (const char *)sqlite3_column_text(st, 3);
  if (!is_type(st, 4, "true") && !is_type(st, 4, "false"))
    return "\"include_subdomains\" is missing or not a boolean";
  p->include_subdomains = is_type(st, 4, "true");
  if (is_type(st, 5, "integer")) {
    max_age = sqlite3_column_int64(st, 6);
    if (max_age < 1 || max_age > (int64_t)UINT32_MAX)
      return "\"max_age\" is not between 1 and 4294967295";
    p->has_max_age = 1;
    p->max_age = (uint32_t)max_age;
  } else if (sqlite3_column_type(st, 5) != SQLITE_NULL &&
             !is_type(st, 5, "null")) {
    return "\"max_age\" is not an integer or null";
  }
  if (sqlite3_column_type(st, 7) == SQLITE_NULL || is_type(st, 7, "null"))
    p->expires = STORE_NEVER;
  else if (is_type(st, 7, "text") && sqlite3_column_type(st, 8) != SQLITE_NULL)
    p->expires = sqlite3_column_int64(st, 8);
  else
    return "\"expires\" is not an RFC 3339 time or null";
  return NULL;
}

static int entry(struct json_import *c, sqlite3_stmt *st)
{
  int64_t n = sqlite3_column_int64(st, 0);
  struct store_policy p;
  const char *host = NULL, *why;
  char shown[NAME_SHOWN], text[WHY_MAX];

  memset(&p, 0, sizeof(p));
  why = entry_fields(st, &p, &host);
  if (why != NULL)
    return bad(c, n, why);
  if (store_policy_host(host, strlen(host), p.host, &why) != STORE_OK) {
    store__printable(host, strlen(host), shown, sizeof(shown));
    snprintf(text, sizeof(text), "\"%s\": %s", shown, why);
    return bad(c, n, text);
  }
  if (p.expires != STORE_NEVER && p.expires < c->now) {
    c->expired++;
    return STORE_OK;
  }
  p.source = HSTS_SOURCE_MANUAL;
  p.observed = c->now;
  snprintf(p.how, sizeof(p.how), "%s", HOW_JSON);
  c->imported++;
  return store__policy_put_manual(c->s, &p);
}

static int entries(struct json_import *c, const char *text, size_t len)
{
  sqlite3_stmt *st;
  int err = store__prepare(c->s, SQL_ENTRIES, &st), rc = SQLITE_DONE;

  if (err != STORE_OK)
    return err;
  sqlite3_bind_text(st, 1, text, (int)len, SQLITE_STATIC);
  while (err == STORE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
    err = entry(c, st);
  if (err == STORE_OK && rc != SQLITE_DONE)
    err = store__dbfail(c->s, "cannot read the JSON policies");
  sqlite3_finalize(st);
  return err;
}

static int import_json(struct json_import *c, const char *text, size_t len)
{
  int err;

  if (len > (size_t)INT32_MAX)
    return bad(c, 0, "too large");
  if (memchr(text, '\0', len) != NULL)
    return bad(c, 0, "NUL byte: binary data, not JSON");
  err = head(c, text, len);
  if (err != STORE_OK)
    return err;
  err = store__begin(c->s, "cannot start the import");
  if (err != STORE_OK)
    return err;
  err = entries(c, text, len);
  if (err == STORE_OK)
    return store__commit(c->s);
  store__rollback(c->s);
  return err;
}

/* Where the JSON text starts (after a BOM), or NULL when it is not JSON. */
static const char *json_start(const char *data, size_t len)
{
  size_t i = 0;

  if (len >= sizeof(BOM) - 1 && memcmp(data, BOM, sizeof(BOM) - 1) == 0)
    i = sizeof(BOM) - 1;
  for (; i < len; i++) {
    if (data[i] == '{')
      return data + i;
    if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r' && data[i] != '\n')
      return NULL;
  }
  return NULL;
}

int store_policy_import(struct store *s, const char *path, int64_t now,
                        size_t *imported, size_t *expired,
                        enum store_policy_format *format)
{
  struct json_import c;
  const char *text;
  char *data;
  size_t len;
  int err = store__read_file(s, path, &data, &len);

  if (err != STORE_OK)
    return err;
  text = json_start(data, len);
  if (format != NULL)
    *format = text != NULL ? STORE_POLICY_JSON : STORE_POLICY_CURL;
  if (text == NULL) {
    err = store_policy_import_curl_text(s, path, data, len, now, imported,
                                        expired);
    free(data);
    return err;
  }
  memset(&c, 0, sizeof(c));
  c.s = s;
  c.path = path;
  c.now = now;
  err = import_json(&c, text, len - (size_t)(text - data));
  free(data);
  if (err == STORE_OK && imported != NULL)
    *imported = c.imported;
  if (err == STORE_OK && expired != NULL)
    *expired = c.expired;
  return err;
}
