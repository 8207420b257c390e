/*
 * http1.c - the strict, incremental HTTP/1.1 head parser (RFC 9112,
 * RFC 9110): http1_parse_request() and http1_parse_response().
 *
 * Two passes. The head scanner finds the end of a request or response
 * head, resuming where the last call stopped: it looks for each LF, checks
 * the line ending, the limits and the line itself (start line or field
 * line, through http1_line.c), and stores nothing that points into the
 * buffer. Once the blank line is in, the head parser walks the head again
 * from the start, fills the views, and decides the body framing and
 * persistence from what http1_framing.c reads in the fields (RFC 9112
 * sections 6.3 and 9.3). The body decoder is in http1_body.c, the error
 * table and list helpers in http1_util.c.
 *
 * Every check depends only on the bytes before the point where it fails,
 * and the scanner visits lines in order, so the result never depends on
 * how the input was split across calls.
 */
#include "http1_int.h"

#include <string.h>

#define HEAD_END 1 /* scan_line(): the blank line ending a head */

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
  struct http1__request_line rl;
  struct http1__status_line sl;
  struct http1_field f;
  int rc;

  if (!*s->started) {
    if (n == 0) {
      return s->is_request ? HTTP1_OK : HTTP1_ESTATUS;
    }
    rc = s->is_request ? http1__parse_request_line(line, n, &rl)
                       : http1__parse_status_line(line, n, &sl);
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
  rc = http1__parse_field_line(line, n, &f);
  if (rc == HTTP1_OK) {
    (*s->nfields)++;
  }
  return rc;
}

/* Resumes the scan of buf[0..len). Returns HTTP1_OK with *head_len set
 * once the blank line is in, HTTP1_AGAIN, or an error. A line is too
 * long when more than max + 1 bytes (HTTP1__CR included) come before its
 * HTTP1__LF. */
static int scan_head(const struct scan *s, const char *buf, size_t len,
                     size_t *head_len)
{
  size_t limit = len < HTTP1_MAX_HEAD ? len : HTTP1_MAX_HEAD;
  size_t pos = *s->scanned;
  int rc;

  while (pos < limit) {
    const char *lf = memchr(buf + pos, HTTP1__LF, limit - pos);
    size_t p, start = *s->line_start;

    if (lf == NULL) {
      pos = limit;
      break;
    }
    p = (size_t)(lf - buf);
    if (!*s->started && p - start > HTTP1_MAX_REQUEST_LINE + 1) {
      return HTTP1_ELINE_TOO_LONG;
    }
    if (p == start || buf[p - 1] != HTTP1__CR) {
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
  const char *lf = memchr(buf + *pos, HTTP1__LF, head_len - *pos);
  size_t p;

  if (lf == NULL || lf == buf + *pos || lf[-1] != HTTP1__CR) {
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
    rc = http1__parse_field_line(buf + start, n, &fields[*nfields]);
    if (rc != HTTP1_OK) {
      return rc;
    }
    (*nfields)++;
  }
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
  return http1__check_authority(req->host->value, req->host->value_len, 0) == 0
             ? HTTP1_OK
             : HTTP1_EHOST_VALUE;
}

/* RFC 9112 section 6.3, rules 3 to 6, for a request. */
static int request_body(struct http1_request *req)
{
  struct http1__framing fr;
  int rc = http1__parse_framing(req->fields, req->nfields, &fr);

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
  struct http1__request_line rl;
  size_t start, n, pos = 0;
  int rc;

  do {
    start = pos;
    if (next_line(buf, head_len, &pos, &n) != 0) {
      return HTTP1_EBAD;
    }
  } while (n == 0);
  rc = http1__parse_request_line(buf + start, n, &rl);
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
  req->conn_flags = http1__conn_flags(req->fields, req->nfields);
  req->keep_alive = http1__keep_alive(req->version_minor, req->conn_flags);
  req->expect_continue =
      req->version_minor == 1 &&
      http1__has_element(req->fields, req->nfields, "expect", "100-continue");
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
  struct http1__framing fr;
  int status = resp->status;
  int rc = http1__parse_framing(resp->fields, resp->nfields, &fr);

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
  resp->conn_flags = http1__conn_flags(resp->fields, resp->nfields);
  resp->keep_alive = http1__keep_alive(resp->version_minor, resp->conn_flags) &&
                     resp->body.kind != HTTP1_BODY_CLOSE &&
                     !(fr.has_te && resp->version_minor == 0);
  return HTTP1_OK;
}

static int parse_response_head(const char *buf, size_t head_len,
                               int request_is_head, struct http1_response *resp)
{
  struct http1__status_line sl;
  size_t n, pos = 0;
  int rc;

  if (next_line(buf, head_len, &pos, &n) != 0 || n == 0) {
    return HTTP1_ESTATUS;
  }
  rc = http1__parse_status_line(buf, n, &sl);
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
