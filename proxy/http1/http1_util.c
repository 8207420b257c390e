/*
 * http1_util.c - the HTTP/1.1 parser's error table and small helpers.
 *
 * Owns the one table that maps each http1_err to its English text and to
 * the status a proxy answers with (http1_strerror, http1_error_status),
 * and the public helpers every other part of the parser and the proxy
 * use on field views: case-insensitive token comparison, field lookup and
 * iteration over comma-separated lists (RFC 9110 section 5.6.1).
 */
#include "http1_int.h"

#include <string.h>

static int lower(int c)
{
  return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* ---- small public helpers ---- */

int http1_token_eq(const char *s, size_t len, const char *lit)
{
  size_t i;

  for (i = 0; i < len; i++) {
    if (lit[i] == '\0' ||
        lower((unsigned char)s[i]) != lower((unsigned char)lit[i])) {
      return 0;
    }
  }
  return lit[len] == '\0';
}

const struct http1_field *http1_find_field(const struct http1_field *fields,
                                           size_t nfields, const char *name)
{
  size_t i;

  for (i = 0; i < nfields; i++) {
    if (http1_token_eq(fields[i].name, fields[i].name_len, name)) {
      return &fields[i];
    }
  }
  return NULL;
}

int http1_list_next(const char *s, size_t len, size_t *pos, const char **elem,
                    size_t *elem_len)
{
  size_t start = *pos, end;
  const char *comma;

  if (start > len) {
    return 0;
  }
  comma = memchr(s + start, ',', len - start);
  end = comma != NULL ? (size_t)(comma - s) : len;
  *pos = end + 1;
  while (start < end && http1__is_ws((unsigned char)s[start])) {
    start++;
  }
  while (end > start && http1__is_ws((unsigned char)s[end - 1])) {
    end--;
  }
  *elem = s + start;
  *elem_len = end - start;
  return 1;
}

/* ---- errors ---- */

struct err_info {
  int err;
  int status;
  const char *text;
};

static const struct err_info err_table[] = {
  { HTTP1_OK, 0, "success" },
  { HTTP1_AGAIN, 0, "incomplete message, need more bytes" },
  { HTTP1_EBAD, 400, "malformed request line" },
  { HTTP1_EMETHOD, 400, "invalid method token" },
  { HTTP1_ETARGET, 400, "invalid request target" },
  { HTTP1_EVERSION, 505, "HTTP version missing or not supported" },
  { HTTP1_ELINE_TOO_LONG, 414, "request or status line too long" },
  { HTTP1_EHEAD_TOO_LARGE, 431, "message head too large" },
  { HTTP1_ETOO_MANY_FIELDS, 431, "too many header fields" },
  { HTTP1_EFIELD_NAME, 400, "invalid header field name or missing colon" },
  { HTTP1_EFIELD_VALUE, 400, "control character in header field value" },
  { HTTP1_EOBS_FOLD, 400, "obsolete line folding in header" },
  { HTTP1_EHOST, 400, "Host header missing in HTTP/1.1 request" },
  { HTTP1_ECL, 400, "malformed Content-Length" },
  { HTTP1_ECL_TE, 400, "Content-Length with Transfer-Encoding" },
  { HTTP1_ETE, 400, "Transfer-Encoding does not end in chunked" },
  { HTTP1_ECHUNK, 400, "malformed chunk size line" },
  { HTTP1_ESTATUS, 400, "malformed status line" },
  { HTTP1_EBARE_LF, 400, "line ends in LF without CR" },
  { HTTP1_EFIELD_SPACE, 400, "whitespace between header name and colon" },
  { HTTP1_EHOST_DUP, 400, "more than one Host header" },
  { HTTP1_EHOST_VALUE, 400, "malformed Host header" },
  { HTTP1_ECL_CONFLICT, 400, "conflicting Content-Length values" },
  { HTTP1_ETE_UNKNOWN, 501, "unsupported transfer coding" },
  { HTTP1_ETE_TWICE, 400, "chunked transfer coding applied twice" },
  { HTTP1_ETE_SYNTAX, 400, "malformed Transfer-Encoding" },
  { HTTP1_ETE_HTTP10, 400, "Transfer-Encoding in an HTTP/1.0 request" },
  { HTTP1_ETARGET_FORM, 400, "request target form not allowed for method" },
  { HTTP1_ECONNECT_BODY, 400, "CONNECT request with a body" },
  { HTTP1_ECHUNK_OVERFLOW, 400, "chunk size too large" },
  { HTTP1_ECHUNK_LINE_TOO_LONG, 400, "chunk size line too long" },
  { HTTP1_ECHUNK_CRLF, 400, "chunk data not followed by CRLF" },
  { HTTP1_ETRAILER_TOO_LARGE, 431, "chunked trailer section too large" },
  { 0, -1, NULL } /* sentinel */
};

static const struct err_info *err_lookup(int err)
{
  const struct err_info *e;

  for (e = err_table; e->text != NULL; e++) {
    if (e->err == err) {
      return e;
    }
  }
  return NULL;
}

const char *http1_strerror(int err)
{
  const struct err_info *e = err_lookup(err);

  return e != NULL ? e->text : "unknown HTTP/1 parser error";
}

int http1_error_status(int err)
{
  const struct err_info *e = err_lookup(err);

  if (e != NULL) {
    return e->status;
  }
  return err < 0 ? 400 : 0;
}
