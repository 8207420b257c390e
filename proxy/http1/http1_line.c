/*
 * http1_line.c - checks one line of an HTTP/1.1 head (RFC 9112 sections
 * 3 to 5).
 *
 * Owns the syntax of the request line (method token, request target and
 * its four forms, version), of the status line, and of a field line, plus
 * the authority syntax shared by CONNECT targets and Host values
 * (RFC 3986 section 3.2). Each function gets one complete line without
 * its CRLF and returns views into it; http1.c calls them twice per head,
 * once while scanning (to refuse early) and once while filling the
 * message struct.
 */
#include "http1_int.h"

#include <string.h>

#define VERSION_LEN     8 /* "HTTP/1.1" */
#define STATUS_CODE_LEN 3 /* "200" */
#define PORT_MAX        65535u
#define PORT_DIGITS_MAX 5
#define HTTP_NAME       "HTTP/"
#define HTTP_NAME_LEN   5
#define BAD_HOST        ((size_t)-1) /* host_end(): malformed */

/* unreserved and sub-delims of RFC 3986: a reg-name without '%'. */
static int is_host_char(int c)
{
  return http1__is_alpha(c) || http1__is_digit(c) ||
         (c != 0 && strchr("-._~!$&'()*+,;=", c) != NULL);
}

/* ---- start lines ---- */

/* "HTTP/" DIGIT "." DIGIT, of which 1.0 and 1.1 are supported. Returns
 * `malformed` when the syntax is wrong. */
static int parse_version(const char *v, size_t n, int malformed, int *minor)
{
  if (n != VERSION_LEN || memcmp(v, HTTP_NAME, HTTP_NAME_LEN) != 0 ||
      !http1__is_digit((unsigned char)v[5]) || v[6] != '.' ||
      !http1__is_digit((unsigned char)v[7])) {
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
    if (!http1__is_digit((unsigned char)s[i])) {
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
      if (n - i < 3 || http1__hex_value((unsigned char)s[i + 1]) < 0 ||
          http1__hex_value((unsigned char)s[i + 2]) < 0) {
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
int http1__check_authority(const char *s, size_t n, int connect)
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

  if (!http1__is_alpha((unsigned char)t[0])) {
    return 0;
  }
  while (i < n && (http1__is_alpha((unsigned char)t[i]) ||
                   http1__is_digit((unsigned char)t[i]) || t[i] == '+' ||
                   t[i] == '-' || t[i] == '.')) {
    i++;
  }
  if (n - i < 4 || memcmp(t + i, "://", 3) != 0) {
    return 0;
  }
  return t[i + 3] != '/' && t[i + 3] != '?';
}

static int check_target(struct http1__request_line *rl)
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
    if (c <= HTTP1__SP || c >= HTTP1__DEL || c == '#') {
      return HTTP1_ETARGET;
    }
  }
  if (is_connect) {
    rl->form = HTTP1_FORM_AUTHORITY;
    return http1__check_authority(t, n, 1) == 0 ? HTTP1_OK : HTTP1_ETARGET_FORM;
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

/* method HTTP1__SP request-target HTTP1__SP HTTP-version (RFC 9112 section 3).
 * The version follows the last space, so a space in the target is reported as a
 * bad target; a line with one space is HTTP/0.9. */
int http1__parse_request_line(const char *line, size_t n,
                              struct http1__request_line *rl)
{
  const char *sp1 = memchr(line, HTTP1__SP, n);
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
    if (!http1__is_tchar((unsigned char)line[i])) {
      return HTTP1_EMETHOD;
    }
  }
  rl->method = line;
  rl->method_len = m;
  sp2 = n - 1;
  while (sp2 > m && line[sp2] != HTTP1__SP) {
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

/* HTTP-version HTTP1__SP 3DIGIT [HTTP1__SP reason-phrase] (RFC 9112 section 4).
 */
int http1__parse_status_line(const char *line, size_t n,
                             struct http1__status_line *sl)
{
  const char *sp = memchr(line, HTTP1__SP, n);
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
    if (!http1__is_digit((unsigned char)line[i])) {
      return HTTP1_ESTATUS;
    }
    sl->status = sl->status * 10 + (line[i] - '0');
  }
  if (line[VERSION_LEN + 1] == '0') {
    return HTTP1_ESTATUS;
  }
  if (i < n && line[i] != HTTP1__SP) {
    return HTTP1_ESTATUS;
  }
  i = i < n ? i + 1 : i;
  sl->reason = line + i;
  sl->reason_len = n - i;
  for (; i < n; i++) {
    if (!http1__is_field_char((unsigned char)line[i])) {
      return HTTP1_ESTATUS;
    }
  }
  return HTTP1_OK;
}

/* ---- field lines ---- */

/* field-name ":" OWS field-value OWS (RFC 9112 section 5); n > 0. */
int http1__parse_field_line(const char *line, size_t n, struct http1_field *f)
{
  size_t i = 0, end;

  if (http1__is_ws((unsigned char)line[0])) {
    return HTTP1_EOBS_FOLD;
  }
  while (i < n && http1__is_tchar((unsigned char)line[i])) {
    i++;
  }
  if (i == n || i == 0) {
    return HTTP1_EFIELD_NAME;
  }
  if (line[i] != ':') {
    while (i < n && http1__is_ws((unsigned char)line[i])) {
      i++;
    }
    return i < n && line[i] == ':' && http1__is_ws((unsigned char)line[i - 1])
               ? HTTP1_EFIELD_SPACE
               : HTTP1_EFIELD_NAME;
  }
  f->name = line;
  f->name_len = i;
  i++;
  for (end = i; end < n; end++) {
    if (!http1__is_field_char((unsigned char)line[end])) {
      return HTTP1_EFIELD_VALUE;
    }
  }
  while (i < n && http1__is_ws((unsigned char)line[i])) {
    i++;
  }
  while (end > i && http1__is_ws((unsigned char)line[end - 1])) {
    end--;
  }
  f->value = line + i;
  f->value_len = end - i;
  return HTTP1_OK;
}
