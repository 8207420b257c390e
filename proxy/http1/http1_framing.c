/*
 * http1_framing.c - what the header fields say about framing and the
 * connection (RFC 9112 sections 6 and 9, RFC 9110 section 7.6.1).
 *
 * Owns the reading of Content-Length (one bounded number, repeated only
 * with the same value), of Transfer-Encoding (tokens without parameters,
 * chunked at most once) and of Connection options. The decision of how
 * a given request or response body is delimited stays in http1.c, which
 * knows the method, the status and the version.
 */
#include "http1_int.h"

#include <string.h>

/* 1*DIGIT up to INT64_MAX. */
static int parse_length(const char *s, size_t n, uint64_t *value)
{
  uint64_t v = 0;
  size_t i;

  if (n == 0) {
    return -1;
  }
  for (i = 0; i < n; i++) {
    unsigned d = (unsigned)(s[i] - '0');
    if (!http1__is_digit((unsigned char)s[i]) ||
        v > ((uint64_t)INT64_MAX - d) / 10) {
      return -1;
    }
    v = v * 10 + d;
  }
  *value = v;
  return 0;
}

/* Every Content-Length element, across fields, must be the same number. */
static int parse_cl_field(const struct http1_field *f,
                          struct http1__framing *fr)
{
  const char *e;
  size_t elen, pos = 0;
  uint64_t v;

  while (http1_list_next(f->value, f->value_len, &pos, &e, &elen)) {
    if (parse_length(e, elen, &v) != 0) {
      return HTTP1_ECL;
    }
    if (fr->has_cl && v != fr->cl) {
      return HTTP1_ECL_CONFLICT;
    }
    fr->has_cl = 1;
    fr->cl = v;
  }
  return HTTP1_OK;
}

static int is_known_coding(const char *e, size_t n)
{
  static const char *const codings[] = { "gzip",   "deflate",    "compress",
                                         "x-gzip", "x-compress", NULL };
  size_t i;

  for (i = 0; codings[i] != NULL; i++) {
    if (http1_token_eq(e, n, codings[i])) {
      return 1;
    }
  }
  return 0;
}

static int parse_te_field(const struct http1_field *f,
                          struct http1__framing *fr)
{
  const char *e;
  size_t i, elen, pos = 0;

  while (http1_list_next(f->value, f->value_len, &pos, &e, &elen)) {
    if (elen == 0) {
      return HTTP1_ETE_SYNTAX;
    }
    for (i = 0; i < elen; i++) {
      if (!http1__is_tchar((unsigned char)e[i])) {
        return HTTP1_ETE_SYNTAX;
      }
    }
    if (http1_token_eq(e, elen, "chunked")) {
      if (fr->chunked_final) {
        return HTTP1_ETE_TWICE;
      }
      fr->chunked_final = 1;
    } else {
      if (fr->chunked_final) {
        fr->chunked_final = -1; /* chunked, then something else */
      }
      fr->unknown |= !is_known_coding(e, elen);
    }
  }
  return HTTP1_OK;
}

int http1__parse_framing(const struct http1_field *fields, size_t nfields,
                         struct http1__framing *fr)
{
  size_t i;
  int rc = HTTP1_OK;

  memset(fr, 0, sizeof(*fr));
  if (http1_find_field(fields, nfields, "content-length") != NULL &&
      http1_find_field(fields, nfields, "transfer-encoding") != NULL) {
    return HTTP1_ECL_TE;
  }
  for (i = 0; i < nfields && rc == HTTP1_OK; i++) {
    const struct http1_field *f = &fields[i];
    if (http1_token_eq(f->name, f->name_len, "content-length")) {
      rc = parse_cl_field(f, fr);
    } else if (http1_token_eq(f->name, f->name_len, "transfer-encoding")) {
      fr->has_te = 1;
      rc = parse_te_field(f, fr);
    }
  }
  if (fr->chunked_final < 0) {
    fr->chunked_final = 0;
  }
  return rc;
}

/* Connection tokens (any number of fields); malformed elements are
 * ignored, as they name no option we act on. */
unsigned http1__conn_flags(const struct http1_field *fields, size_t nfields)
{
  unsigned flags = 0;
  const char *e;
  size_t i, elen, pos;

  for (i = 0; i < nfields; i++) {
    if (!http1_token_eq(fields[i].name, fields[i].name_len, "connection")) {
      continue;
    }
    pos = 0;
    while (http1_list_next(fields[i].value, fields[i].value_len, &pos, &e,
                           &elen)) {
      if (http1_token_eq(e, elen, "close")) {
        flags |= HTTP1_CONN_CLOSE;
      } else if (http1_token_eq(e, elen, "keep-alive")) {
        flags |= HTTP1_CONN_KEEP_ALIVE;
      } else if (http1_token_eq(e, elen, "upgrade")) {
        flags |= HTTP1_CONN_UPGRADE;
      }
    }
  }
  return flags;
}

/* RFC 9112 section 9.3: 1.1 persists unless "close"; 1.0 only with
 * "keep-alive". */
int http1__keep_alive(int version_minor, unsigned flags)
{
  if (flags & HTTP1_CONN_CLOSE) {
    return 0;
  }
  return version_minor == 1 || (flags & HTTP1_CONN_KEEP_ALIVE) != 0;
}

int http1__has_element(const struct http1_field *fields, size_t nfields,
                       const char *name, const char *token)
{
  const char *e;
  size_t i, elen, pos;

  for (i = 0; i < nfields; i++) {
    if (!http1_token_eq(fields[i].name, fields[i].name_len, name)) {
      continue;
    }
    pos = 0;
    while (http1_list_next(fields[i].value, fields[i].value_len, &pos, &e,
                           &elen)) {
      if (http1_token_eq(e, elen, token)) {
        return 1;
      }
    }
  }
  return 0;
}
