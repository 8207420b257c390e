/*
 * http1_body.c - finds where an HTTP/1.1 message body ends (RFC 9112
 * sections 6.3 and 7).
 *
 * Owns http1_body_feed(). A Content-Length body is counted down; a body
 * delimited by close takes everything. The chunked decoder is a byte-wise
 * state machine, kept in struct http1_body between calls, that validates
 * the chunk sizes, extensions, CRLFs and trailer section while the proxy
 * forwards the bytes unchanged, so nothing needs to be buffered and the
 * result never depends on how the body was split across reads.
 */
#include "http1_int.h"

#include <limits.h>
#include <stdint.h>

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
  CS_SIZE_LF, /* HTTP1__CR of the size line seen */
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

/* After a value or a size: ';', BWS, or the HTTP1__CR ending the line. */
static int ext_next(int c)
{
  if (c == ';') {
    return CS_EXT_NAME_START;
  }
  if (http1__is_ws(c)) {
    return CS_EXT_WS;
  }
  return c == HTTP1__CR ? CS_SIZE_LF : HTTP1_ECHUNK;
}

static int size_digit(struct http1_body *b, int c)
{
  int d = http1__hex_value(c);

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
  if (b->state != CS_SIZE_LF && c != HTTP1__CR &&
      ++b->line_len > HTTP1_MAX_CHUNK_LINE) {
    return HTTP1_ECHUNK_LINE_TOO_LONG;
  }
  switch (b->state) {
  case CS_SIZE_START:
    return http1__hex_value(c) < 0 ? HTTP1_ECHUNK : size_digit(b, c);
  case CS_SIZE:
    return size_digit(b, c);
  case CS_EXT_WS:
    return http1__is_ws(c) ? CS_EXT_WS
           : c == ';'      ? CS_EXT_NAME_START
                           : HTTP1_ECHUNK;
  case CS_EXT_NAME_START:
    return http1__is_ws(c)      ? CS_EXT_NAME_START
           : http1__is_tchar(c) ? CS_EXT_NAME
                                : HTTP1_ECHUNK;
  case CS_EXT_NAME:
    if (http1__is_tchar(c)) {
      return CS_EXT_NAME;
    }
    return c == '='          ? CS_EXT_VALUE_START
           : http1__is_ws(c) ? CS_EXT_NAME_WS
                             : ext_next(c);
  case CS_EXT_NAME_WS:
    return http1__is_ws(c) ? CS_EXT_NAME_WS
           : c == '='      ? CS_EXT_VALUE_START
           : c == ';'      ? CS_EXT_NAME_START
                           : HTTP1_ECHUNK;
  case CS_EXT_VALUE_START:
    if (http1__is_ws(c)) {
      return CS_EXT_VALUE_START;
    }
    return c == '"'             ? CS_EXT_QUOTED
           : http1__is_tchar(c) ? CS_EXT_TOKEN
                                : HTTP1_ECHUNK;
  case CS_EXT_TOKEN:
    return http1__is_tchar(c) ? CS_EXT_TOKEN : ext_next(c);
  case CS_EXT_QUOTED:
    if (c == '"') {
      return CS_EXT_AFTER_VALUE;
    }
    return c == '\\'                 ? CS_EXT_QUOTED_ESC
           : http1__is_field_char(c) ? CS_EXT_QUOTED
                                     : HTTP1_ECHUNK;
  case CS_EXT_QUOTED_ESC:
    return http1__is_field_char(c) ? CS_EXT_QUOTED : HTTP1_ECHUNK;
  case CS_EXT_AFTER_VALUE:
    return ext_next(c);
  default: /* CS_SIZE_LF */
    if (c != HTTP1__LF) {
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
  if (c == HTTP1__LF && b->state != CS_TRAILER_LF && b->state != CS_END_LF) {
    return HTTP1_EBARE_LF;
  }
  switch (b->state) {
  case CS_TRAILER_START:
    if (c == HTTP1__CR) {
      return CS_END_LF;
    }
    return http1__is_ws(c)      ? HTTP1_EOBS_FOLD
           : http1__is_tchar(c) ? CS_TRAILER_NAME
                                : HTTP1_EFIELD_NAME;
  case CS_TRAILER_NAME:
    if (c == ':') {
      return CS_TRAILER_VALUE;
    }
    return http1__is_tchar(c) ? CS_TRAILER_NAME
           : http1__is_ws(c)  ? CS_TRAILER_NAME_WS
                              : HTTP1_EFIELD_NAME;
  case CS_TRAILER_NAME_WS:
    return http1__is_ws(c) ? CS_TRAILER_NAME_WS
           : c == ':'      ? HTTP1_EFIELD_SPACE
                           : HTTP1_EFIELD_NAME;
  case CS_TRAILER_VALUE:
    return c == HTTP1__CR            ? CS_TRAILER_LF
           : http1__is_field_char(c) ? CS_TRAILER_VALUE
                                     : HTTP1_EFIELD_VALUE;
  case CS_TRAILER_LF:
    return c == HTTP1__LF ? CS_TRAILER_START : HTTP1_EFIELD_VALUE;
  default: /* CS_END_LF: a HTTP1__CR opening a line that is not the last */
    return c == HTTP1__LF ? CS_DONE : HTTP1_EFIELD_NAME;
  }
}

/* One framing byte outside chunk data; returns the next state. */
static int chunk_step(struct http1_body *b, int c)
{
  switch (b->state) {
  case CS_DATA_CR:
    return c == HTTP1__CR ? CS_DATA_LF : HTTP1_ECHUNK_CRLF;
  case CS_DATA_LF:
    return c == HTTP1__LF ? CS_SIZE_START : HTTP1_ECHUNK_CRLF;
  default:
    break;
  }
  if (b->state >= CS_TRAILER_START) {
    return trailer_step(b, c);
  }
  if (c == HTTP1__LF && b->state != CS_SIZE_LF) {
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
