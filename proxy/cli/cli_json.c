/*
 * cli_json.c - the streaming JSON writer behind every --json output.
 *
 * State is a stack of open containers (object or array, empty or not) and
 * whether a key awaits its value; each value first writes the separator
 * its position needs. See cli_json.h for the escaping rules.
 */
#include "cli_json.h"

#include <inttypes.h>
#include <string.h>

#include "cli_time.h"
#include "hsts_utf8.h"
#include "store.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

void cli_json_init(struct cli_json *j, FILE *f)
{
  memset(j, 0, sizeof(*j));
  j->f = f;
}

/* Writes what must precede a value here; returns 0 when a value may go. */
static int before_value(struct cli_json *j)
{
  if (j->failed)
    return -1;
  if (j->depth > 0 && j->is_object[j->depth - 1]) {
    if (!j->key_pending) {
      j->failed = 1; /* a value where a key is due */
      return -1;
    }
    j->key_pending = 0;
    return 0;
  }
  if (j->depth > 0 && j->count[j->depth - 1]++ > 0)
    fputc(',', j->f);
  return 0;
}

/* After a value: a finished top-level value ends its line. */
static void after_value(struct cli_json *j)
{
  if (j->depth == 0)
    fputc('\n', j->f);
}

static void open_container(struct cli_json *j, int is_object, char c)
{
  if (before_value(j) != 0)
    return;
  if (j->depth >= CLI_JSON_DEPTH_MAX) {
    j->failed = 1;
    return;
  }
  fputc(c, j->f);
  j->is_object[j->depth] = (unsigned char)is_object;
  j->count[j->depth] = 0;
  j->depth++;
}

static void close_container(struct cli_json *j, int is_object, char c)
{
  if (j->failed)
    return;
  if (j->depth == 0 || j->is_object[j->depth - 1] != is_object ||
      j->key_pending) {
    j->failed = 1;
    return;
  }
  j->depth--;
  fputc(c, j->f);
  after_value(j);
}

void cli_json_object_begin(struct cli_json *j)
{
  open_container(j, 1, '{');
}

void cli_json_object_end(struct cli_json *j)
{
  close_container(j, 1, '}');
}

void cli_json_array_begin(struct cli_json *j)
{
  open_container(j, 0, '[');
}

void cli_json_array_end(struct cli_json *j)
{
  close_container(j, 0, ']');
}

void cli_json_key(struct cli_json *j, const char *key)
{
  if (j->failed)
    return;
  if (j->depth == 0 || !j->is_object[j->depth - 1] || j->key_pending) {
    j->failed = 1;
    return;
  }
  if (j->count[j->depth - 1]++ > 0)
    fputc(',', j->f);
  fputc('"', j->f);
  cli_json_escape(j->f, key, strlen(key));
  fputs("\":", j->f);
  j->key_pending = 1;
}

void cli_json_escape(FILE *f, const char *s, size_t len)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, n;

  while (i < len) {
    unsigned char c = p[i];

    if (c == '"' || c == '\\') {
      fputc('\\', f);
      fputc(c, f);
    } else if (c == '\n') {
      fputs("\\n", f);
    } else if (c == '\r') {
      fputs("\\r", f);
    } else if (c == '\t') {
      fputs("\\t", f);
    } else if (c == '\b') {
      fputs("\\b", f);
    } else if (c == '\f') {
      fputs("\\f", f);
    } else if (c < 0x20 || c == 0x7f) {
      fprintf(f, "\\u%04x", c);
    } else if (c < 0x80) {
      fputc(c, f);
    } else {
      n = hsts_utf8_len(p + i, len - i);
      if (n == 0) {
        fputs(REPLACEMENT, f);
      } else if (n == 3 && c == 0xe2 && p[i + 1] == 0x80 &&
                 (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
        fprintf(f, "\\u%04x", p[i + 2] == 0xa8 ? 0x2028 : 0x2029);
        i += n;
        continue;
      } else {
        fwrite(p + i, 1, n, f);
        i += n;
        continue;
      }
    }
    i++;
  }
}

void cli_json_string_len(struct cli_json *j, const char *s, size_t len)
{
  if (before_value(j) != 0)
    return;
  fputc('"', j->f);
  cli_json_escape(j->f, s, len);
  fputc('"', j->f);
  after_value(j);
}

void cli_json_string(struct cli_json *j, const char *s)
{
  if (s == NULL)
    cli_json_null(j);
  else
    cli_json_string_len(j, s, strlen(s));
}

void cli_json_int(struct cli_json *j, int64_t v)
{
  if (before_value(j) != 0)
    return;
  fprintf(j->f, "%" PRId64, v);
  after_value(j);
}

void cli_json_uint(struct cli_json *j, uint64_t v)
{
  if (before_value(j) != 0)
    return;
  fprintf(j->f, "%" PRIu64, v);
  after_value(j);
}

void cli_json_bool(struct cli_json *j, int v)
{
  if (before_value(j) != 0)
    return;
  fputs(v ? "true" : "false", j->f);
  after_value(j);
}

void cli_json_null(struct cli_json *j)
{
  if (before_value(j) != 0)
    return;
  fputs("null", j->f);
  after_value(j);
}

void cli_json_kstring(struct cli_json *j, const char *key, const char *s)
{
  cli_json_key(j, key);
  cli_json_string(j, s);
}

void cli_json_kint(struct cli_json *j, const char *key, int64_t v)
{
  cli_json_key(j, key);
  cli_json_int(j, v);
}

void cli_json_kuint(struct cli_json *j, const char *key, uint64_t v)
{
  cli_json_key(j, key);
  cli_json_uint(j, v);
}

void cli_json_kbool(struct cli_json *j, const char *key, int v)
{
  cli_json_key(j, key);
  cli_json_bool(j, v);
}

void cli_json_knull(struct cli_json *j, const char *key)
{
  cli_json_key(j, key);
  cli_json_null(j);
}

void cli_json_ktime(struct cli_json *j, const char *key, int64_t t)
{
  char buf[CLI_TIME_MAX];

  if (t == STORE_NEVER) {
    cli_json_knull(j, key);
    return;
  }
  cli_time_rfc3339(t, buf);
  cli_json_kstring(j, key, buf);
}
