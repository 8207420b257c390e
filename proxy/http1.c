/*
 * http1.c - the strict, incremental HTTP/1.1 parser (RFC 9112, RFC 9110).
 *
 * Three parts. The head scanner finds the end of a request or response
 * head, resuming where the last call stopped: it looks for each LF, checks
 * the line ending, the limits and the line itself (start line or field
 * line), and stores nothing that points into the buffer. Once the blank
 * line is in, the head parser walks the head again from the start, fills
 * the views and decides the body framing (RFC 9112 section 6). The chunked
 * decoder is a byte-wise state machine that validates the framing while the
 * proxy forwards it, so nothing needs to be buffered.
 *
 * Every check depends only on the bytes before the point where it fails,
 * and the scanner visits lines in order, so the result never depends on
 * how the input was split across calls.
 */
#include "http1.h"

#include <limits.h>
#include <string.h>

#define CR              '\r'
#define LF              '\n'
#define SP              ' '
#define HT              '\t'
#define DEL             0x7f
#define VERSION_LEN     8 /* "HTTP/1.1" */
#define STATUS_CODE_LEN 3 /* "200" */
#define PORT_MAX        65535u
#define PORT_DIGITS_MAX 5
#define HEAD_END        1 /* scan_line(): the blank line ending a head */
#define HTTP_NAME       "HTTP/"
#define HTTP_NAME_LEN   5
#define BAD_HOST        ((size_t)-1) /* host_end(): malformed */

/* ---- character classes (RFC 9110 section 5.6.2, RFC 3986) ---- */

static int is_ws(int c)
{
  return c == SP || c == HT;
}

static int is_digit(int c)
{
  return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int hex_value(int c)
{
  if (is_digit(c)) {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

static int is_tchar(int c)
{
  return is_alpha(c) || is_digit(c) ||
         (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* HTAB, SP, VCHAR and obs-text: what a field value or reason may hold. */
static int is_field_char(int c)
{
  return c == HT || (c >= SP && c != DEL);
}

/* unreserved and sub-delims of RFC 3986: a reg-name without '%'. */
static int is_host_char(int c)
{
  return is_alpha(c) || is_digit(c) ||
         (c != 0 && strchr("-._~!$&'()*+,;=", c) != NULL);
}

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
  while (start < end && is_ws((unsigned char)s[start])) {
    start++;
  }
  while (end > start && is_ws((unsigned char)s[end - 1])) {
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

/* ---- start lines ---- */

struct request_line {
  const char *method;
  size_t method_len;
  const char *target;
  size_t target_len;
  enum http1_target_form form;
  int version_minor;
};

struct status_line {
  int version_minor;
  int status;
  const char *reason;
  size_t reason_len;
};

/* "HTTP/" DIGIT "." DIGIT, of which 1.0 and 1.1 are supported. Returns
 * `malformed` when the syntax is wrong. */
static int parse_version(const char *v, size_t n, int malformed, int *minor)
{
  if (n != VERSION_LEN || memcmp(v, HTTP_NAME, HTTP_NAME_LEN) != 0 ||
      !is_digit((unsigned char)v[5]) || v[6] != '.' ||
      !is_digit((unsigned char)v[7])) {
    return malformed;
  }
  if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) {
    return HTTP1_EVERSION;
  }
  *minor = v[7] - '0';
  return HTTP1_OK;
}

/* Up to five digits, at most 65535; `required`: at least one digit. */
static int check_port(const char *s, size_t n, int required)
{
  unsigned value = 0;
  size_t i;

  if (n > PORT_DIGITS_MAX || (required && n == 0)) {
    return -1;
  }
  for (i = 0; i < n; i++) {
    if (!is_digit((unsigned char)s[i])) {
      return -1;
    }
    value = value * 10 + (unsigned)(s[i] - '0');
  }
  return value <= PORT_MAX ? 0 : -1;
}

/* The end of a reg-name (unreserved, sub-delims, pct-encoded) at s, or
 * of a bracketed IP literal; BAD_HOST if malformed. */
static size_t host_end(const char *s, size_t n)
{
  size_t i = 0;

  if (n > 0 && s[0] == '[') {
    for (i = 1; i < n && s[i] != ']'; i++) {
      if (!is_host_char((unsigned char)s[i]) && s[i] != ':') {
        return BAD_HOST;
      }
    }
    return i < n && i > 1 ? i + 1 : BAD_HOST;
  }
  while (i < n && s[i] != ':') {
    if (s[i] == '%') {
      if (n - i < 3 || hex_value((unsigned char)s[i + 1]) < 0 ||
          hex_value((unsigned char)s[i + 2]) < 0) {
        return BAD_HOST;
      }
      i += 3;
    } else if (is_host_char((unsigned char)s[i])) {
      i++;
    } else {
      return BAD_HOST;
    }
  }
  return i;
}

/* uri-host [":" port] (Host), or uri-host ":" port with a non-empty host
 * and port (CONNECT's authority-form). Returns 0 or -1. */
static int check_authority(const char *s, size_t n, int connect)
{
  size_t end = host_end(s, n);

  if (end == BAD_HOST || (connect && end == 0)) {
    return -1;
  }
  if (end == n) {
    return connect ? -1 : 0;
  }
  if (s[end] != ':') {
    return -1;
  }
  return check_port(s + end + 1, n - end - 1, connect);
}

/* scheme "://" authority...: the absolute-form (RFC 9112 section 3.2.2). */
static int is_absolute(const char *t, size_t n)
{
  size_t i = 1;

  if (!is_alpha((unsigned char)t[0])) {
    return 0;
  }
  while (i < n &&
         (is_alpha((unsigned char)t[i]) || is_digit((unsigned char)t[i]) ||
          t[i] == '+' || t[i] == '-' || t[i] == '.')) {
    i++;
  }
  if (n - i < 4 || memcmp(t + i, "://", 3) != 0) {
    return 0;
  }
  return t[i + 3] != '/' && t[i + 3] != '?';
}

static int check_target(struct request_line *rl)
{
  const char *t = rl->target;
  size_t i, n = rl->target_len;
  int is_connect =
      rl->method_len == 7 && memcmp(rl->method, "CONNECT", rl->method_len) == 0;
  int is_options =
      rl->method_len == 7 && memcmp(rl->method, "OPTIONS", rl->method_len) == 0;

  if (n == 0) {
    return HTTP1_ETARGET;
  }
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)t[i];
    if (c <= SP || c >= DEL || c == '#') {
      return HTTP1_ETARGET;
    }
  }
  if (is_connect) {
    rl->form = HTTP1_FORM_AUTHORITY;
    return check_authority(t, n, 1) == 0 ? HTTP1_OK : HTTP1_ETARGET_FORM;
  }
  if (n == 1 && t[0] == '*') {
    rl->form = HTTP1_FORM_ASTERISK;
    return is_options ? HTTP1_OK : HTTP1_ETARGET_FORM;
  }
  if (t[0] == '/') {
    rl->form = HTTP1_FORM_ORIGIN;
    return HTTP1_OK;
  }
  rl->form = HTTP1_FORM_ABSOLUTE;
  return is_absolute(t, n) ? HTTP1_OK : HTTP1_ETARGET;
}

/* method SP request-target SP HTTP-version (RFC 9112 section 3). The
 * version follows the last space, so a space in the target is reported
 * as a bad target; a line with one space is HTTP/0.9. */
static int parse_request_line(const char *line, size_t n,
                              struct request_line *rl)
{
  const char *sp1 = memchr(line, SP, n);
  size_t i, m, sp2;
  int rc;

  if (sp1 == NULL) {
    return HTTP1_EBAD;
  }
  m = (size_t)(sp1 - line);
  if (m == 0) {
    return HTTP1_EMETHOD;
  }
  for (i = 0; i < m; i++) {
    if (!is_tchar((unsigned char)line[i])) {
      return HTTP1_EMETHOD;
    }
  }
  rl->method = line;
  rl->method_len = m;
  sp2 = n - 1;
  while (sp2 > m && line[sp2] != SP) {
    sp2--;
  }
  if (sp2 == m) {
    return HTTP1_EVERSION;
  }
  rc = parse_version(line + sp2 + 1, n - sp2 - 1, HTTP1_EBAD,
                     &rl->version_minor);
  if (rc != HTTP1_OK) {
    return rc;
  }
  rl->target = line + m + 1;
  rl->target_len = sp2 - m - 1;
  return check_target(rl);
}

/* HTTP-version SP 3DIGIT [SP reason-phrase] (RFC 9112 section 4). */
static int parse_status_line(const char *line, size_t n, struct status_line *sl)
{
  const char *sp = memchr(line, SP, n);
  size_t i, vlen = sp != NULL ? (size_t)(sp - line) : n;
  int rc = parse_version(line, vlen, HTTP1_ESTATUS, &sl->version_minor);

  if (rc != HTTP1_OK) {
    return rc;
  }
  if (n < VERSION_LEN + 1 + STATUS_CODE_LEN) {
    return HTTP1_ESTATUS;
  }
  sl->status = 0;
  for (i = VERSION_LEN + 1; i < VERSION_LEN + 1 + STATUS_CODE_LEN; i++) {
    if (!is_digit((unsigned char)line[i])) {
      return HTTP1_ESTATUS;
    }
    sl->status = sl->status * 10 + (line[i] - '0');
  }
  if (line[VERSION_LEN + 1] == '0') {
    return HTTP1_ESTATUS;
  }
  if (i < n && line[i] != SP) {
    return HTTP1_ESTATUS;
  }
  i = i < n ? i + 1 : i;
  sl->reason = line + i;
  sl->reason_len = n - i;
  for (; i < n; i++) {
    if (!is_field_char((unsigned char)line[i])) {
      return HTTP1_ESTATUS;
    }
  }
  return HTTP1_OK;
}

/* ---- field lines ---- */

/* field-name ":" OWS field-value OWS (RFC 9112 section 5); n > 0. */
static int parse_field_line(const char *line, size_t n, struct http1_field *f)
{
  size_t i = 0, end;

  if (is_ws((unsigned char)line[0])) {
    return HTTP1_EOBS_FOLD;
  }
  while (i < n && is_tchar((unsigned char)line[i])) {
    i++;
  }
  if (i == n || i == 0) {
    return HTTP1_EFIELD_NAME;
  }
  if (line[i] != ':') {
    while (i < n && is_ws((unsigned char)line[i])) {
      i++;
    }
    return i < n && line[i] == ':' && is_ws((unsigned char)line[i - 1])
               ? HTTP1_EFIELD_SPACE
               : HTTP1_EFIELD_NAME;
  }
  f->name = line;
  f->name_len = i;
  i++;
  for (end = i; end < n; end++) {
    if (!is_field_char((unsigned char)line[end])) {
      return HTTP1_EFIELD_VALUE;
    }
  }
  while (i < n && is_ws((unsigned char)line[i])) {
    i++;
  }
  while (end > i && is_ws((unsigned char)line[end - 1])) {
    end--;
  }
  f->value = line + i;
  f->value_len = end - i;
  return HTTP1_OK;
}

/* ---- the head scanner ---- */

/* The private progress of one head, inside a request or a response. */
struct scan {
  size_t *scanned;
  size_t *line_start;
  size_t *nfields; /* field lines so far */
  int *started;
  int is_request;
};

/* Checks one complete line (CRLF excluded). Returns HTTP1_OK, HEAD_END
 * for the blank line ending the head, or an error. */
static int scan_line(const struct scan *s, const char *line, size_t n)
{
  struct request_line rl;
  struct status_line sl;
  struct http1_field f;
  int rc;

  if (!*s->started) {
    if (n == 0) {
      return s->is_request ? HTTP1_OK : HTTP1_ESTATUS;
    }
    rc = s->is_request ? parse_request_line(line, n, &rl)
                       : parse_status_line(line, n, &sl);
    if (rc == HTTP1_OK) {
      *s->started = 1;
    }
    return rc;
  }
  if (n == 0) {
    return HEAD_END;
  }
  if (*s->nfields == HTTP1_MAX_FIELDS) {
    return HTTP1_ETOO_MANY_FIELDS;
  }
  rc = parse_field_line(line, n, &f);
  if (rc == HTTP1_OK) {
    (*s->nfields)++;
  }
  return rc;
}

/* Resumes the scan of buf[0..len). Returns HTTP1_OK with *head_len set
 * once the blank line is in, HTTP1_AGAIN, or an error. A line is too
 * long when more than max + 1 bytes (CR included) come before its LF. */
static int scan_head(const struct scan *s, const char *buf, size_t len,
                     size_t *head_len)
{
  size_t limit = len < HTTP1_MAX_HEAD ? len : HTTP1_MAX_HEAD;
  size_t pos = *s->scanned;
  int rc;

  while (pos < limit) {
    const char *lf = memchr(buf + pos, LF, limit - pos);
    size_t p, start = *s->line_start;

    if (lf == NULL) {
      pos = limit;
      break;
    }
    p = (size_t)(lf - buf);
    if (!*s->started && p - start > HTTP1_MAX_REQUEST_LINE + 1) {
      return HTTP1_ELINE_TOO_LONG;
    }
    if (p == start || buf[p - 1] != CR) {
      return HTTP1_EBARE_LF;
    }
    rc = scan_line(s, buf + start, p - 1 - start);
    if (rc < 0) {
      return rc;
    }
    pos = p + 1;
    *s->line_start = pos;
    *s->scanned = pos;
    if (rc == HEAD_END) {
      *head_len = pos;
      return HTTP1_OK;
    }
  }
  *s->scanned = pos;
  if (!*s->started && pos - *s->line_start > HTTP1_MAX_REQUEST_LINE + 1) {
    return HTTP1_ELINE_TOO_LONG;
  }
  return len > HTTP1_MAX_HEAD ? HTTP1_EHEAD_TOO_LARGE : HTTP1_AGAIN;
}

/* ---- the head parser ---- */

/* The line at buf[*pos..head_len): its length without CRLF; advances
 * *pos. Returns -1 if the bytes changed since the scan (caller's bug). */
static int next_line(const char *buf, size_t head_len, size_t *pos, size_t *n)
{
  const char *lf = memchr(buf + *pos, LF, head_len - *pos);
  size_t p;

  if (lf == NULL || lf == buf + *pos || lf[-1] != CR) {
    return -1;
  }
  p = (size_t)(lf - buf);
  *n = p - 1 - *pos;
  *pos = p + 1;
  return 0;
}

/* Fills fields[] from the field lines at buf[pos..head_len). */
static int parse_fields(const char *buf, size_t pos, size_t head_len,
                        struct http1_field *fields, size_t *nfields)
{
  size_t n, start;
  int rc;

  *nfields = 0;
  for (;;) {
    start = pos;
    if (next_line(buf, head_len, &pos, &n) != 0) {
      return HTTP1_EBAD;
    }
    if (n == 0) {
      return pos == head_len ? HTTP1_OK : HTTP1_EBAD;
    }
    if (*nfields == HTTP1_MAX_FIELDS) {
      return HTTP1_ETOO_MANY_FIELDS;
    }
    rc = parse_field_line(buf + start, n, &fields[*nfields]);
    if (rc != HTTP1_OK) {
      return rc;
    }
    (*nfields)++;
  }
}

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
    if (!is_digit((unsigned char)s[i]) || v > ((uint64_t)INT64_MAX - d) / 10) {
      return -1;
    }
    v = v * 10 + d;
  }
  *value = v;
  return 0;
}

/* What the framing fields say (RFC 9112 section 6). */
struct framing {
  int has_cl;
  uint64_t cl;
  int has_te;
  int chunked_final; /* the last coding is chunked */
  int unknown;       /* a coding we do not know */
};

/* Every Content-Length element, across fields, must be the same number. */
static int parse_cl_field(const struct http1_field *f, struct framing *fr)
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

static int parse_te_field(const struct http1_field *f, struct framing *fr)
{
  const char *e;
  size_t i, elen, pos = 0;

  while (http1_list_next(f->value, f->value_len, &pos, &e, &elen)) {
    if (elen == 0) {
      return HTTP1_ETE_SYNTAX;
    }
    for (i = 0; i < elen; i++) {
      if (!is_tchar((unsigned char)e[i])) {
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

/* Reads Content-Length and Transfer-Encoding; refuses them together. */
static int parse_framing(const struct http1_field *fields, size_t nfields,
                         struct framing *fr)
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
static unsigned conn_flags(const struct http1_field *fields, size_t nfields)
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
static int keep_alive(int version_minor, unsigned flags)
{
  if (flags & HTTP1_CONN_CLOSE) {
    return 0;
  }
  return version_minor == 1 || (flags & HTTP1_CONN_KEEP_ALIVE) != 0;
}

static int has_element(const struct http1_field *fields, size_t nfields,
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

/* ---- requests ---- */

static int check_host(struct http1_request *req)
{
  size_t i;

  req->host = NULL;
  for (i = 0; i < req->nfields; i++) {
    const struct http1_field *f = &req->fields[i];
    if (!http1_token_eq(f->name, f->name_len, "host")) {
      continue;
    }
    if (req->host != NULL) {
      return HTTP1_EHOST_DUP;
    }
    req->host = f;
  }
  if (req->host == NULL) {
    return req->version_minor == 1 ? HTTP1_EHOST : HTTP1_OK;
  }
  return check_authority(req->host->value, req->host->value_len, 0) == 0
             ? HTTP1_OK
             : HTTP1_EHOST_VALUE;
}

/* RFC 9112 section 6.3, rules 3 to 6, for a request. */
static int request_body(struct http1_request *req)
{
  struct framing fr;
  int rc = parse_framing(req->fields, req->nfields, &fr);

  if (rc != HTTP1_OK) {
    return rc;
  }
  memset(&req->body, 0, sizeof(req->body));
  if (fr.has_te) {
    if (req->version_minor == 0) {
      return HTTP1_ETE_HTTP10;
    }
    if (fr.unknown) {
      return HTTP1_ETE_UNKNOWN;
    }
    if (!fr.chunked_final) {
      return HTTP1_ETE;
    }
    req->body.kind = HTTP1_BODY_CHUNKED;
  } else if (fr.has_cl && fr.cl > 0) {
    req->body.kind = HTTP1_BODY_LENGTH;
    req->body.remaining = fr.cl;
  }
  if (req->is_connect && req->body.kind != HTTP1_BODY_NONE) {
    return HTTP1_ECONNECT_BODY;
  }
  return HTTP1_OK;
}

/* The full parse of a complete request head at buf[0..head_len). */
static int parse_request_head(const char *buf, size_t head_len,
                              struct http1_request *req)
{
  struct request_line rl;
  size_t start, n, pos = 0;
  int rc;

  do {
    start = pos;
    if (next_line(buf, head_len, &pos, &n) != 0) {
      return HTTP1_EBAD;
    }
  } while (n == 0);
  rc = parse_request_line(buf + start, n, &rl);
  if (rc != HTTP1_OK) {
    return rc;
  }
  req->method = rl.method;
  req->method_len = rl.method_len;
  req->target = rl.target;
  req->target_len = rl.target_len;
  req->form = rl.form;
  req->version_minor = rl.version_minor;
  req->is_connect = rl.form == HTTP1_FORM_AUTHORITY;
  req->is_head = rl.method_len == 4 && memcmp(rl.method, "HEAD", 4) == 0;
  rc = parse_fields(buf, pos, head_len, req->fields, &req->nfields);
  if (rc == HTTP1_OK) {
    rc = check_host(req);
  }
  if (rc == HTTP1_OK) {
    rc = request_body(req);
  }
  if (rc != HTTP1_OK) {
    return rc;
  }
  req->conn_flags = conn_flags(req->fields, req->nfields);
  req->keep_alive = keep_alive(req->version_minor, req->conn_flags);
  req->expect_continue =
      req->version_minor == 1 &&
      has_element(req->fields, req->nfields, "expect", "100-continue");
  req->head_len = head_len;
  return HTTP1_OK;
}

int http1_parse_request(const char *buf, size_t len, struct http1_request *req)
{
  struct scan s = { &req->scanned, &req->line_start, &req->nfields,
                    &req->started, 1 };
  size_t head_len = req->head_len;
  int rc = HTTP1_OK;

  if (len < req->scanned) {
    return HTTP1_EBAD;
  }
  if (head_len == 0) {
    rc = scan_head(&s, buf, len, &head_len);
  }
  return rc == HTTP1_OK ? parse_request_head(buf, head_len, req) : rc;
}

/* ---- responses ---- */

/* RFC 9112 section 6.3, rules 1 to 8, for a response. */
static int response_body(struct http1_response *resp, int request_is_head)
{
  struct framing fr;
  int status = resp->status;
  int rc = parse_framing(resp->fields, resp->nfields, &fr);

  if (rc != HTTP1_OK) {
    return rc;
  }
  memset(&resp->body, 0, sizeof(resp->body));
  if (request_is_head || status < 200 || status == 204 || status == 304) {
    resp->body.kind = HTTP1_BODY_NONE;
  } else if (fr.has_te) {
    /* RFC 9112 section 6.1: TE in HTTP/1.0 means faulty framing. */
    resp->body.kind = fr.chunked_final && resp->version_minor == 1
                          ? HTTP1_BODY_CHUNKED
                          : HTTP1_BODY_CLOSE;
  } else if (fr.has_cl) {
    resp->body.kind = fr.cl > 0 ? HTTP1_BODY_LENGTH : HTTP1_BODY_NONE;
    resp->body.remaining = fr.cl;
  } else {
    resp->body.kind = HTTP1_BODY_CLOSE;
  }
  resp->conn_flags = conn_flags(resp->fields, resp->nfields);
  resp->keep_alive = keep_alive(resp->version_minor, resp->conn_flags) &&
                     resp->body.kind != HTTP1_BODY_CLOSE &&
                     !(fr.has_te && resp->version_minor == 0);
  return HTTP1_OK;
}

static int parse_response_head(const char *buf, size_t head_len,
                               int request_is_head, struct http1_response *resp)
{
  struct status_line sl;
  size_t n, pos = 0;
  int rc;

  if (next_line(buf, head_len, &pos, &n) != 0 || n == 0) {
    return HTTP1_ESTATUS;
  }
  rc = parse_status_line(buf, n, &sl);
  if (rc != HTTP1_OK) {
    return rc;
  }
  resp->version_minor = sl.version_minor;
  resp->status = sl.status;
  resp->reason = sl.reason;
  resp->reason_len = sl.reason_len;
  rc = parse_fields(buf, pos, head_len, resp->fields, &resp->nfields);
  if (rc == HTTP1_OK) {
    rc = response_body(resp, request_is_head);
  }
  if (rc == HTTP1_OK) {
    resp->head_len = head_len;
  }
  return rc;
}

int http1_parse_response(const char *buf, size_t len, int request_is_head,
                         struct http1_response *resp)
{
  struct scan s = { &resp->scanned, &resp->line_start, &resp->nfields,
                    &resp->started, 0 };
  size_t head_len = resp->head_len;
  int rc = HTTP1_OK;

  if (len < resp->scanned) {
    return HTTP1_EBAD;
  }
  if (head_len == 0) {
    rc = scan_head(&s, buf, len, &head_len);
  }
  return rc == HTTP1_OK
             ? parse_response_head(buf, head_len, request_is_head, resp)
             : rc;
}

/* ---- bodies ---- */

/* Chunked decoder states (RFC 9112 section 7.1). A negative state is the
 * error that stopped the decoder. */
enum chunk_state {
  CS_SIZE_START = 0, /* first hex digit of a chunk size */
  CS_SIZE,           /* more hex digits */
  CS_EXT_WS,         /* BWS: only more BWS or ';' may follow */
  CS_EXT_NAME_START, /* after ';' */
  CS_EXT_NAME,
  CS_EXT_NAME_WS, /* BWS after a name: '=' or ';' */
  CS_EXT_VALUE_START,
  CS_EXT_TOKEN,
  CS_EXT_QUOTED,
  CS_EXT_QUOTED_ESC,
  CS_EXT_AFTER_VALUE,
  CS_SIZE_LF, /* CR of the size line seen */
  CS_DATA,
  CS_DATA_CR,
  CS_DATA_LF,
  CS_TRAILER_START, /* start of a trailer line, or of the final CRLF */
  CS_TRAILER_NAME,
  CS_TRAILER_NAME_WS,
  CS_TRAILER_VALUE,
  CS_TRAILER_LF,
  CS_END_LF,
  CS_DONE
};

/* After a value or a size: ';', BWS, or the CR ending the line. */
static int ext_next(int c)
{
  if (c == ';') {
    return CS_EXT_NAME_START;
  }
  if (is_ws(c)) {
    return CS_EXT_WS;
  }
  return c == CR ? CS_SIZE_LF : HTTP1_ECHUNK;
}

static int size_digit(struct http1_body *b, int c)
{
  int d = hex_value(c);

  if (d < 0) {
    return ext_next(c);
  }
  if (b->line_len > HTTP1_MAX_CHUNK_DIGITS ||
      b->remaining > ((uint64_t)INT64_MAX - (uint64_t)d) / 16) {
    return HTTP1_ECHUNK_OVERFLOW;
  }
  b->remaining = b->remaining * 16 + (uint64_t)d;
  return CS_SIZE;
}

/* One byte of chunk-size [chunk-ext] CRLF; returns the next state. */
static int size_line_step(struct http1_body *b, int c)
{
  if (b->state != CS_SIZE_LF && c != CR &&
      ++b->line_len > HTTP1_MAX_CHUNK_LINE) {
    return HTTP1_ECHUNK_LINE_TOO_LONG;
  }
  switch (b->state) {
  case CS_SIZE_START:
    return hex_value(c) < 0 ? HTTP1_ECHUNK : size_digit(b, c);
  case CS_SIZE:
    return size_digit(b, c);
  case CS_EXT_WS:
    return is_ws(c) ? CS_EXT_WS : c == ';' ? CS_EXT_NAME_START : HTTP1_ECHUNK;
  case CS_EXT_NAME_START:
    return is_ws(c)      ? CS_EXT_NAME_START
           : is_tchar(c) ? CS_EXT_NAME
                         : HTTP1_ECHUNK;
  case CS_EXT_NAME:
    if (is_tchar(c)) {
      return CS_EXT_NAME;
    }
    return c == '='   ? CS_EXT_VALUE_START
           : is_ws(c) ? CS_EXT_NAME_WS
                      : ext_next(c);
  case CS_EXT_NAME_WS:
    return is_ws(c)   ? CS_EXT_NAME_WS
           : c == '=' ? CS_EXT_VALUE_START
           : c == ';' ? CS_EXT_NAME_START
                      : HTTP1_ECHUNK;
  case CS_EXT_VALUE_START:
    if (is_ws(c)) {
      return CS_EXT_VALUE_START;
    }
    return c == '"' ? CS_EXT_QUOTED : is_tchar(c) ? CS_EXT_TOKEN : HTTP1_ECHUNK;
  case CS_EXT_TOKEN:
    return is_tchar(c) ? CS_EXT_TOKEN : ext_next(c);
  case CS_EXT_QUOTED:
    if (c == '"') {
      return CS_EXT_AFTER_VALUE;
    }
    return c == '\\'          ? CS_EXT_QUOTED_ESC
           : is_field_char(c) ? CS_EXT_QUOTED
                              : HTTP1_ECHUNK;
  case CS_EXT_QUOTED_ESC:
    return is_field_char(c) ? CS_EXT_QUOTED : HTTP1_ECHUNK;
  case CS_EXT_AFTER_VALUE:
    return ext_next(c);
  default: /* CS_SIZE_LF */
    if (c != LF) {
      return HTTP1_ECHUNK;
    }
    b->line_len = 0;
    return b->remaining == 0 ? CS_TRAILER_START : CS_DATA;
  }
}

/* One byte of the trailer section, checked as header field lines. */
static int trailer_step(struct http1_body *b, int c)
{
  if (++b->trailer_len > HTTP1_MAX_TRAILER) {
    return HTTP1_ETRAILER_TOO_LARGE;
  }
  if (c == LF && b->state != CS_TRAILER_LF && b->state != CS_END_LF) {
    return HTTP1_EBARE_LF;
  }
  switch (b->state) {
  case CS_TRAILER_START:
    if (c == CR) {
      return CS_END_LF;
    }
    return is_ws(c)      ? HTTP1_EOBS_FOLD
           : is_tchar(c) ? CS_TRAILER_NAME
                         : HTTP1_EFIELD_NAME;
  case CS_TRAILER_NAME:
    if (c == ':') {
      return CS_TRAILER_VALUE;
    }
    return is_tchar(c) ? CS_TRAILER_NAME
           : is_ws(c)  ? CS_TRAILER_NAME_WS
                       : HTTP1_EFIELD_NAME;
  case CS_TRAILER_NAME_WS:
    return is_ws(c)   ? CS_TRAILER_NAME_WS
           : c == ':' ? HTTP1_EFIELD_SPACE
                      : HTTP1_EFIELD_NAME;
  case CS_TRAILER_VALUE:
    return c == CR            ? CS_TRAILER_LF
           : is_field_char(c) ? CS_TRAILER_VALUE
                              : HTTP1_EFIELD_VALUE;
  case CS_TRAILER_LF:
    return c == LF ? CS_TRAILER_START : HTTP1_EFIELD_VALUE;
  default: /* CS_END_LF: a CR opening a line that is not the last */
    return c == LF ? CS_DONE : HTTP1_EFIELD_NAME;
  }
}

/* One framing byte outside chunk data; returns the next state. */
static int chunk_step(struct http1_body *b, int c)
{
  switch (b->state) {
  case CS_DATA_CR:
    return c == CR ? CS_DATA_LF : HTTP1_ECHUNK_CRLF;
  case CS_DATA_LF:
    return c == LF ? CS_SIZE_START : HTTP1_ECHUNK_CRLF;
  default:
    break;
  }
  if (b->state >= CS_TRAILER_START) {
    return trailer_step(b, c);
  }
  if (c == LF && b->state != CS_SIZE_LF) {
    return HTTP1_EBARE_LF;
  }
  return size_line_step(b, c);
}

static ssize_t chunked_feed(struct http1_body *b, const char *buf, size_t len,
                            int *done)
{
  size_t n, i = 0;

  while (i < len && b->state >= 0 && b->state != CS_DONE) {
    if (b->state == CS_DATA) {
      n = b->remaining < len - i ? (size_t)b->remaining : len - i;
      b->remaining -= n;
      i += n;
      b->state = b->remaining == 0 ? CS_DATA_CR : CS_DATA;
    } else {
      b->state = chunk_step(b, (unsigned char)buf[i]);
      i++;
    }
  }
  if (b->state < 0) {
    return b->state;
  }
  *done = b->state == CS_DONE;
  return (ssize_t)i;
}

ssize_t http1_body_feed(struct http1_body *b, const char *buf, size_t len,
                        int *done)
{
  int fin = 0;
  ssize_t n;

  if (len > SSIZE_MAX) {
    len = SSIZE_MAX;
  }
  switch (b->kind) {
  case HTTP1_BODY_NONE:
    n = 0;
    fin = 1;
    break;
  case HTTP1_BODY_LENGTH:
    n = (ssize_t)(b->remaining < len ? b->remaining : len);
    b->remaining -= (uint64_t)n;
    fin = b->remaining == 0;
    break;
  case HTTP1_BODY_CHUNKED:
    n = chunked_feed(b, buf, len, &fin);
    break;
  default: /* HTTP1_BODY_CLOSE */
    n = (ssize_t)len;
    break;
  }
  if (done != NULL) {
    *done = n >= 0 && fin;
  }
  return n;
}
