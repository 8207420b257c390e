/*
 * http1_same.h - whether two parses of the same bytes agree, shared by
 * the http1 unit tests (tests/unit/test_http1_*.c) and the parser fuzzers
 * (tests/fuzz/fuzz_http1_*.c): the incremental parse (one byte at a time,
 * or split anywhere) must give the whole parse's result, with every view
 * at the same offset of its own buffer.
 */
#ifndef HTTP1_SAME_H
#define HTTP1_SAME_H

#include <stddef.h>

#include "http1.h"

/* p's offset in base; (size_t)-1 for NULL (an absent view). */
static inline size_t http1_same_off(const char *p, const char *base)
{
  return p == NULL ? (size_t)-1 : (size_t)(p - base);
}

static inline int http1_same_fields(const struct http1_field *a,
                                    const char *abuf,
                                    const struct http1_field *b,
                                    const char *bbuf, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (http1_same_off(a[i].name, abuf) != http1_same_off(b[i].name, bbuf) ||
        a[i].name_len != b[i].name_len ||
        http1_same_off(a[i].value, abuf) != http1_same_off(b[i].value, bbuf) ||
        a[i].value_len != b[i].value_len)
      return 0;
  return 1;
}

/* 1 when two request parses of the same bytes in a and b agree. */
static inline int http1_same_request(const struct http1_request *a,
                                     const char *abuf,
                                     const struct http1_request *b,
                                     const char *bbuf)
{
  return http1_same_off(a->method, abuf) == http1_same_off(b->method, bbuf) &&
         a->method_len == b->method_len &&
         http1_same_off(a->target, abuf) == http1_same_off(b->target, bbuf) &&
         a->target_len == b->target_len && a->form == b->form &&
         a->version_minor == b->version_minor && a->head_len == b->head_len &&
         a->nfields == b->nfields && a->conn_flags == b->conn_flags &&
         a->keep_alive == b->keep_alive &&
         a->expect_continue == b->expect_continue &&
         a->is_connect == b->is_connect && a->is_head == b->is_head &&
         a->body.kind == b->body.kind &&
         a->body.remaining == b->body.remaining &&
         (a->host == NULL) == (b->host == NULL) &&
         (a->host == NULL || a->host - a->fields == b->host - b->fields) &&
         http1_same_fields(a->fields, abuf, b->fields, bbuf, a->nfields);
}

/* 1 when two response parses of the same bytes in a and b agree. */
static inline int http1_same_response(const struct http1_response *a,
                                      const char *abuf,
                                      const struct http1_response *b,
                                      const char *bbuf)
{
  return a->version_minor == b->version_minor && a->status == b->status &&
         http1_same_off(a->reason, abuf) == http1_same_off(b->reason, bbuf) &&
         a->reason_len == b->reason_len && a->head_len == b->head_len &&
         a->nfields == b->nfields && a->conn_flags == b->conn_flags &&
         a->keep_alive == b->keep_alive && a->body.kind == b->body.kind &&
         a->body.remaining == b->body.remaining &&
         http1_same_fields(a->fields, abuf, b->fields, bbuf, a->nfields);
}

#endif
