/*
 * http1_int.h - private to the HTTP/1.1 parser (proxy/http1*.c).
 *
 * What the parser's files share and nothing else includes: the character
 * classes of RFC 9110 section 5.6.2 (static inline, as the chunked
 * decoder runs them on every framing byte), the start-line and field-line
 * checks of http1_line.c, and the framing rules of http1_framing.c.
 *
 * The files: http1.c scans and parses heads (the public http1_parse_*);
 * http1_line.c checks one request, status or field line; http1_framing.c
 * reads Content-Length, Transfer-Encoding and Connection; http1_body.c
 * finds the end of a body; http1_util.c holds the error table and the
 * small public helpers (token comparison, field lookup, list iteration).
 */
#ifndef HTTP1_INT_H
#define HTTP1_INT_H

#include "http1.h"

#include <stdint.h>
#include <string.h>

#define HTTP1__CR  '\r'
#define HTTP1__LF  '\n'
#define HTTP1__SP  ' '
#define HTTP1__HT  '\t'
#define HTTP1__DEL 0x7f

/* ---- character classes (RFC 9110 section 5.6.2, RFC 3986) ---- */

static inline int http1__is_ws(int c)
{
  return c == HTTP1__SP || c == HTTP1__HT;
}

static inline int http1__is_digit(int c)
{
  return c >= '0' && c <= '9';
}

static inline int http1__is_alpha(int c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The value of a hex digit, or -1. */
static inline int http1__hex_value(int c)
{
  if (http1__is_digit(c)) {
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

static inline int http1__is_tchar(int c)
{
  return http1__is_alpha(c) || http1__is_digit(c) ||
         (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* HTAB, SP, VCHAR and obs-text: what a field value or reason may hold. */
static inline int http1__is_field_char(int c)
{
  return c == HTTP1__HT || (c >= HTTP1__SP && c != HTTP1__DEL);
}

/* ---- start lines and field lines (http1_line.c) ---- */

/* Views into the line passed to http1__parse_request_line(). */
struct http1__request_line {
  const char *method;
  size_t method_len;
  const char *target;
  size_t target_len;
  enum http1_target_form form;
  int version_minor;
};

/* Views into the line passed to http1__parse_status_line(). */
struct http1__status_line {
  int version_minor;
  int status;
  const char *reason;
  size_t reason_len;
};

/*
 * Each checks one complete line line[0..n), CRLF excluded, and fills the
 * struct with views into it. Return HTTP1_OK or the http1_err naming the
 * fault; on error the struct is partly filled. parse_field_line() needs
 * n > 0.
 */
int http1__parse_request_line(const char *line, size_t n,
                              struct http1__request_line *rl);
int http1__parse_status_line(const char *line, size_t n,
                             struct http1__status_line *sl);
int http1__parse_field_line(const char *line, size_t n, struct http1_field *f);

/* uri-host [":" port] (Host), or, with `connect`, uri-host ":" port with
 * a non-empty host and port (CONNECT's authority-form). Returns 0 or -1. */
int http1__check_authority(const char *s, size_t n, int connect);

/* ---- framing fields (http1_framing.c) ---- */

/* What the framing fields say (RFC 9112 section 6). */
struct http1__framing {
  int has_cl;
  uint64_t cl;
  int has_te;
  int chunked_final; /* the last coding is chunked */
  int unknown;       /* a coding we do not know */
};

/* Reads Content-Length and Transfer-Encoding into *fr; refuses them
 * together, conflicting lengths and malformed codings. Returns HTTP1_OK
 * or an http1_err. */
int http1__parse_framing(const struct http1_field *fields, size_t nfields,
                         struct http1__framing *fr);

/* The HTTP1_CONN_* tokens of every Connection field. */
unsigned http1__conn_flags(const struct http1_field *fields, size_t nfields);

/* RFC 9112 section 9.3: whether the connection persists. */
int http1__keep_alive(int version_minor, unsigned flags);

/* 1 if a field named `name` lists the element `token`. */
int http1__has_element(const struct http1_field *fields, size_t nfields,
                       const char *name, const char *token);

#endif /* HTTP1_INT_H */
