/*
 * store_json_scan.c - a validating JSON scanner that builds nothing.
 *
 * SQLite's JSON1 functions extract the Chromium list's entries, but
 * json_valid() only answers yes or no and json_each() knows no line
 * numbers. This scanner walks the text once (RFC 8259 grammar, UTF-8
 * checked, nesting bounded) to find where the first syntax error is, and
 * records the byte offset of each element of the top-level "entries" array
 * so that a bad entry can be reported with its line. It also refuses a
 * repeated "entries" member and repeated keys inside an entry, which
 * json_extract() would silently resolve one way, and "\u0000", which
 * SQLite would silently cut a string at.
 */
#include <stdlib.h>
#include <string.h>

#include "hsts_utf8.h"
#include "store_import_int.h"

#define ENTRIES_KEY        "entries"
#define ENTRY_KEYS_CHECKED 32 /* keys of one entry checked for repeats */
#define OFFSETS_INITIAL    1024

struct scan {
  const unsigned char *start, *p, *end;
  const char *error; /* first error, static */
  const unsigned char *error_at;
  int capture_next; /* the next array is $.entries */
  struct store__json_scan *out;
  size_t cap; /* of out->entry_offsets */
  int nomem;
};

static int fail(struct scan *sc, const char *what)
{
  if (sc->error == NULL) {
    sc->error = what;
    sc->error_at = sc->p;
  }
  return -1;
}

static void skip_ws(struct scan *sc)
{
  while (sc->p < sc->end &&
         (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
    sc->p++;
}

static int is_hex(unsigned char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

/* The escape at sc->p (a backslash); errors point at the backslash. */
static int scan_escape(struct scan *sc)
{
  const unsigned char *at = sc->p;
  const char *why = NULL;

  if (sc->end - sc->p < 2) {
    sc->p = sc->end;
    return fail(sc, "the file ends inside a string (truncated?)");
  }
  if (sc->p[1] == 'u') {
    if (sc->end - sc->p < 6 || !is_hex(sc->p[2]) || !is_hex(sc->p[3]) ||
        !is_hex(sc->p[4]) || !is_hex(sc->p[5]))
      why = "bad \\u escape in a string";
    else if (memcmp(sc->p + 2, "0000", 4) == 0)
      why = "\\u0000 (a NUL character) in a string";
    else
      sc->p += 6;
  } else if (sc->p[1] == '\0' || strchr("\"\\/bfnrt", sc->p[1]) == NULL) {
    why = "bad escape in a string";
  } else {
    sc->p += 2;
  }
  if (why == NULL)
    return 0;
  sc->p = at;
  return fail(sc, why);
}

/* A string; its raw bytes (between the quotes) in *raw and *rawlen. */
static int scan_string(struct scan *sc, const unsigned char **raw,
                       size_t *rawlen)
{
  size_t n;
  int err;

  sc->p++; /* the opening quote */
  *raw = sc->p;
  while (sc->p < sc->end && *sc->p != '"') {
    if (*sc->p < 0x20)
      return fail(sc, "control character in a string (unterminated?)");
    if (*sc->p == '\\') {
      err = scan_escape(sc);
      if (err != 0)
        return err;
      continue;
    }
    n = hsts_utf8_len(sc->p, (size_t)(sc->end - sc->p));
    if (n == 0)
      return fail(sc, "invalid UTF-8 in a string");
    sc->p += n;
  }
  if (sc->p >= sc->end)
    return fail(sc, "the file ends inside a string (truncated?)");
  *rawlen = (size_t)(sc->p - *raw);
  sc->p++;
  return 0;
}

static int digits(struct scan *sc)
{
  const unsigned char *start = sc->p;

  while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9')
    sc->p++;
  return sc->p > start ? 0 : fail(sc, "malformed number");
}

static int scan_number(struct scan *sc)
{
  if (*sc->p == '-')
    sc->p++;
  if (sc->p < sc->end && *sc->p == '0')
    sc->p++;
  else if (digits(sc) != 0)
    return -1;
  if (sc->p < sc->end && *sc->p == '.') {
    sc->p++;
    if (digits(sc) != 0)
      return -1;
  }
  if (sc->p < sc->end && (*sc->p == 'e' || *sc->p == 'E')) {
    sc->p++;
    if (sc->p < sc->end && (*sc->p == '+' || *sc->p == '-'))
      sc->p++;
    if (digits(sc) != 0)
      return -1;
  }
  return 0;
}

static int scan_literal(struct scan *sc, const char *word)
{
  size_t n = strlen(word);

  if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n) != 0)
    return fail(sc, "unexpected character (expected a value)");
  sc->p += n;
  return 0;
}

static int scan_value(struct scan *sc, int depth);

static int push_offset(struct scan *sc)
{
  struct store__json_scan *o = sc->out;

  if (o->nentries == sc->cap) {
    size_t ncap = sc->cap == 0 ? OFFSETS_INITIAL : sc->cap * 2;
    size_t *n = realloc(o->entry_offsets, ncap * sizeof(*n));

    if (n == NULL) {
      sc->nomem = 1;
      return fail(sc, "out of memory");
    }
    o->entry_offsets = n;
    sc->cap = ncap;
  }
  o->entry_offsets[o->nentries++] = (size_t)(sc->p - sc->start);
  return 0;
}

static int scan_array(struct scan *sc, int depth)
{
  int capture = sc->capture_next;

  sc->capture_next = 0;
  sc->p++;
  skip_ws(sc);
  if (sc->p < sc->end && *sc->p == ']') {
    sc->p++;
    return 0;
  }
  for (;;) {
    skip_ws(sc);
    if (capture && push_offset(sc) != 0)
      return -1;
    if (scan_value(sc, depth + 1) != 0)
      return -1;
    skip_ws(sc);
    if (sc->p >= sc->end)
      return fail(sc, "unexpected end of file in an array (truncated?)");
    if (*sc->p == ']') {
      sc->p++;
      return 0;
    }
    if (*sc->p != ',')
      return fail(sc, "expected ',' or ']' in an array");
    sc->p++;
  }
}

/* Records key k of an entry object; refuses a repeat of an earlier one. */
static int check_key(struct scan *sc, const unsigned char *keys[],
                     size_t lens[], size_t *nkeys, const unsigned char *k,
                     size_t len)
{
  size_t i;

  for (i = 0; i < *nkeys; i++)
    if (lens[i] == len && memcmp(keys[i], k, len) == 0)
      return fail(sc, "repeated key in an object");
  if (*nkeys < ENTRY_KEYS_CHECKED) {
    keys[*nkeys] = k;
    lens[(*nkeys)++] = len;
  }
  return 0;
}

static int scan_member(struct scan *sc, int depth, const unsigned char *keys[],
                       size_t lens[], size_t *nkeys)
{
  const unsigned char *key, *at = sc->p;
  size_t keylen;

  if (sc->p >= sc->end || *sc->p != '"')
    return fail(sc, "expected a string key in an object");
  if (scan_string(sc, &key, &keylen) != 0)
    return -1;
  if (check_key(sc, keys, lens, nkeys, key, keylen) != 0) {
    sc->error_at = at;
    return -1;
  }
  skip_ws(sc);
  if (sc->p >= sc->end || *sc->p != ':')
    return fail(sc, "expected ':' after a key");
  sc->p++;
  skip_ws(sc);
  if (depth == 1 && keylen == sizeof(ENTRIES_KEY) - 1 &&
      memcmp(key, ENTRIES_KEY, keylen) == 0) {
    sc->out->entries_found = 1;
    sc->out->entries_array = sc->p < sc->end && *sc->p == '[';
    sc->capture_next = sc->out->entries_array;
  }
  return scan_value(sc, depth + 1);
}

static int scan_object(struct scan *sc, int depth)
{
  const unsigned char *keys[ENTRY_KEYS_CHECKED];
  size_t lens[ENTRY_KEYS_CHECKED], nkeys = 0;

  sc->p++;
  skip_ws(sc);
  if (sc->p < sc->end && *sc->p == '}') {
    sc->p++;
    return 0;
  }
  for (;;) {
    skip_ws(sc);
    if (scan_member(sc, depth, keys, lens, &nkeys) != 0)
      return -1;
    skip_ws(sc);
    if (sc->p >= sc->end)
      return fail(sc, "unexpected end of file in an object (truncated?)");
    if (*sc->p == '}') {
      sc->p++;
      return 0;
    }
    if (*sc->p != ',')
      return fail(sc, "expected ',' or '}' in an object");
    sc->p++;
  }
}

static int scan_value(struct scan *sc, int depth)
{
  const unsigned char *raw;
  size_t rawlen;

  skip_ws(sc);
  if (depth > STORE_JSON_DEPTH_MAX)
    return fail(sc, "nested too deeply");
  if (sc->p >= sc->end)
    return fail(sc, "unexpected end of file (truncated?)");
  switch (*sc->p) {
  case '{':
    return scan_object(sc, depth);
  case '[':
    return scan_array(sc, depth);
  case '"':
    return scan_string(sc, &raw, &rawlen);
  case 't':
    return scan_literal(sc, "true");
  case 'f':
    return scan_literal(sc, "false");
  case 'n':
    return scan_literal(sc, "null");
  default:
    if (*sc->p == '-' || (*sc->p >= '0' && *sc->p <= '9'))
      return scan_number(sc);
    return fail(sc, "unexpected character (expected a value)");
  }
}

int store__json_scan(const char *text, size_t len, struct store__json_scan *out)
{
  struct scan sc;

  memset(out, 0, sizeof(*out));
  memset(&sc, 0, sizeof(sc));
  sc.start = sc.p = (const unsigned char *)text;
  sc.end = sc.start + len;
  sc.out = out;
  skip_ws(&sc);
  out->top_object = sc.p < sc.end && *sc.p == '{';
  if (scan_value(&sc, 1) == 0) {
    skip_ws(&sc);
    if (sc.p < sc.end)
      fail(&sc, "unexpected content after the end of the document");
  }
  if (sc.nomem) {
    store__json_scan_cleanup(out);
    return STORE_ENOMEM;
  }
  out->ok = sc.error == NULL;
  if (!out->ok) {
    out->error = sc.error;
    out->error_offset = (size_t)(sc.error_at - sc.start);
  }
  return STORE_OK;
}

void store__json_scan_cleanup(struct store__json_scan *sc)
{
  if (sc == NULL)
    return;
  free(sc->entry_offsets);
  sc->entry_offsets = NULL;
  sc->nentries = 0;
}
