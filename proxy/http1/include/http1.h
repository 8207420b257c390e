/*
 * http1.h - a strict, incremental HTTP/1.1 message parser (RFC 9112).
 *
 * Pure: no sockets, no allocation, no clock. The caller keeps the bytes of
 * a message head contiguous in its read buffer and calls http1_parse_*
 * each time more arrive; the parser remembers how far it has scanned, so
 * feeding a head one byte at a time costs linear time. Each line is
 * checked as soon as its CRLF arrives (a bad request line is refused
 * without waiting for the blank line); the views are filled in one pass
 * once the head is complete, so the buffer may move between calls. On
 * success the message struct holds views into that buffer, valid until
 * the caller moves or reuses those bytes.
 *
 * The parser rejects rather than repairs (every one a smuggling vector in
 * a proxy): Content-Length with Transfer-Encoding, differing or malformed
 * Content-Length, a Transfer-Encoding whose final coding is not chunked,
 * whitespace before a colon, obs-fold, control bytes in values, bare LF
 * line endings, missing (1.1) or repeated Host, bad method tokens, HTTP/0.9
 * and unknown versions, bad or overflowing chunk sizes.
 *
 * Choices where the RFCs leave room: up to any number of empty lines
 * before a request line are skipped (RFC 9112 section 2.2), counted in
 * head_len and HTTP1_MAX_HEAD; never before a status line. Content-Length
 * may repeat (as a list or as several fields) only with one value
 * (RFC 9110 section 8.6, as browsers do). Transfer codings take no
 * parameters; a request naming a coding other than chunked, gzip, deflate,
 * compress (x-gzip, x-compress) gets 501. A status line may omit the space
 * before an empty reason. A request target is printable ASCII without '#'.
 *
 * Bodies: after the head, an http1_body tracks the framing. The proxy
 * forwards body bytes as they came (chunk framing included), so the body
 * decoder only finds where the body ends, validating as it goes.
 */
#ifndef HTTP1_H
#define HTTP1_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HTTP1_MAX_REQUEST_LINE 8192  /* bytes, request or status line */
#define HTTP1_MAX_HEAD         65536 /* bytes, the whole head */
#define HTTP1_MAX_FIELDS       100   /* header fields per message */
#define HTTP1_MAX_CHUNK_LINE   4096  /* chunk size line with extensions */
#define HTTP1_MAX_CHUNK_DIGITS 16    /* hex digits of a chunk size */
#define HTTP1_MAX_TRAILER      16384 /* bytes, trailer section */

/* Results. HTTP1_OK and HTTP1_AGAIN are not errors. Sizes and lengths
 * above INT64_MAX are refused (ECL, ECHUNK_OVERFLOW). */
enum http1_err {
  HTTP1_OK = 0,
  HTTP1_AGAIN = 1,             /* need more bytes */
  HTTP1_EBAD = -1,             /* malformed request line or version */
  HTTP1_EMETHOD = -2,          /* invalid method token */
  HTTP1_ETARGET = -3,          /* invalid request target */
  HTTP1_EVERSION = -4,         /* HTTP/0.9 or an unknown version (505) */
  HTTP1_ELINE_TOO_LONG = -5,   /* request/status line over the limit */
  HTTP1_EHEAD_TOO_LARGE = -6,  /* head over HTTP1_MAX_HEAD */
  HTTP1_ETOO_MANY_FIELDS = -7, /* over HTTP1_MAX_FIELDS */
  HTTP1_EFIELD_NAME = -8,      /* bad field name, or no colon */
  HTTP1_EFIELD_VALUE = -9,     /* NUL, CR, or another control byte */
  HTTP1_EOBS_FOLD = -10,       /* a continuation line */
  HTTP1_EHOST = -11,           /* Host missing in HTTP/1.1 */
  HTTP1_ECL = -12,             /* malformed Content-Length */
  HTTP1_ECL_TE = -13,          /* both Content-Length and Transfer-Encoding */
  HTTP1_ETE = -14,             /* request's final coding is not chunked */
  HTTP1_ECHUNK = -15,          /* bad chunk size line */
  HTTP1_ESTATUS = -16,         /* bad status line in a response */
  HTTP1_EBARE_LF = -17,        /* a line ending in LF without CR */
  HTTP1_EFIELD_SPACE = -18,    /* whitespace between field name and ':' */
  HTTP1_EHOST_DUP = -19,       /* more than one Host field */
  HTTP1_EHOST_VALUE = -20,     /* Host is not host[:port] */
  HTTP1_ECL_CONFLICT = -21,    /* Content-Length values differ */
  HTTP1_ETE_UNKNOWN = -22,     /* request names an unknown coding (501) */
  HTTP1_ETE_TWICE = -23,       /* chunked applied more than once */
  HTTP1_ETE_SYNTAX = -24,      /* empty element, parameters, bad token */
  HTTP1_ETE_HTTP10 = -25,      /* Transfer-Encoding in an HTTP/1.0 request */
  HTTP1_ETARGET_FORM = -26,    /* form not allowed for the method */
  HTTP1_ECONNECT_BODY = -27,   /* CONNECT with a body */
  HTTP1_ECHUNK_OVERFLOW = -28, /* chunk size too large or too many digits */
  HTTP1_ECHUNK_LINE_TOO_LONG = -29, /* over HTTP1_MAX_CHUNK_LINE */
  HTTP1_ECHUNK_CRLF = -30,          /* chunk data not followed by CRLF */
  HTTP1_ETRAILER_TOO_LARGE = -31    /* over HTTP1_MAX_TRAILER */
};

/* A static English description, e.g. "Content-Length with
 * Transfer-Encoding". Never NULL, also for unknown values. */
const char *http1_strerror(int err);

/* The HTTP status a proxy answers a request error with: 414 (line too
 * long), 431 (head, field count or trailer too large), 501 (unknown
 * Transfer-Encoding), 505 (version), 400 for every other error. Returns 0
 * for HTTP1_OK and HTTP1_AGAIN. */
int http1_error_status(int err);

struct http1_field {
  const char *name; /* views into the caller's buffer */
  size_t name_len;
  const char *value; /* leading and trailing whitespace excluded */
  size_t value_len;
};

enum http1_body_kind {
  HTTP1_BODY_NONE = 0, /* no body (also Content-Length: 0) */
  HTTP1_BODY_LENGTH,   /* Content-Length bytes, at least one */
  HTTP1_BODY_CHUNKED,  /* chunked, final coding */
  HTTP1_BODY_CLOSE     /* responses only: until the connection closes */
};

/* Body framing state. Zero it, or let http1_parse_* set it up. */
struct http1_body {
  enum http1_body_kind kind;
  uint64_t remaining; /* LENGTH: bytes left; CHUNKED: of the current chunk */
  int state;          /* CHUNKED: decoder state (private) */
  size_t line_len;    /* CHUNKED: bytes of the current framing line */
  size_t trailer_len; /* CHUNKED: bytes of trailer section so far */
};

/* Connection-header tokens and other facts the proxy acts on. */
#define HTTP1_CONN_CLOSE      0x01u
#define HTTP1_CONN_KEEP_ALIVE 0x02u
#define HTTP1_CONN_UPGRADE    0x04u

enum http1_target_form {
  HTTP1_FORM_ORIGIN = 0, /* "/path?q" */
  HTTP1_FORM_ABSOLUTE,   /* "http://host/path" */
  HTTP1_FORM_AUTHORITY,  /* "host:port" (CONNECT only, and required) */
  HTTP1_FORM_ASTERISK    /* "*" (OPTIONS only) */
};

struct http1_request {
  const char *method;
  size_t method_len;
  const char *target;
  size_t target_len;
  enum http1_target_form form;
  int version_minor; /* HTTP/1.0 or HTTP/1.1 */
  size_t head_len;   /* bytes of the head, final CRLF included */
  size_t nfields;    /* valid once HTTP1_OK is returned */
  struct http1_field fields[HTTP1_MAX_FIELDS];
  const struct http1_field *host; /* the Host field, or NULL */
  unsigned conn_flags;            /* HTTP1_CONN_* from Connection */
  int keep_alive;                 /* persistent per version and Connection */
  int expect_continue;            /* Expect: 100-continue (HTTP/1.1 only) */
  int is_connect;                 /* method CONNECT */
  int is_head;                    /* method HEAD */
  struct http1_body body;         /* framing of the request body */
  size_t scanned;                 /* private: bytes already scanned */
  size_t line_start;              /* private: start of the line being scanned */
  int started;                    /* private: the request line was seen */
};

struct http1_response {
  int version_minor;
  int status; /* 100-999 */
  const char *reason;
  size_t reason_len;
  size_t head_len;
  size_t nfields;
  struct http1_field fields[HTTP1_MAX_FIELDS];
  unsigned conn_flags;
  int keep_alive;         /* the origin lets the connection persist */
  struct http1_body body; /* set by http1_parse_response() */
  size_t scanned;         /* private */
  size_t line_start;      /* private */
  int started;            /* private */
};

/*
 * Parses a request head from buf[0..len). Zero *req before the first call
 * for a new message; call again with the same, longer buffer on
 * HTTP1_AGAIN. Returns HTTP1_OK (req->head_len bytes consumed, body
 * framing in req->body), HTTP1_AGAIN, or a negative http1_err. The result
 * does not depend on how the bytes were split across calls. After an
 * error *req is unspecified.
 */
int http1_parse_request(const char *buf, size_t len, struct http1_request *req);

/*
 * Parses a response head, as http1_parse_request(). `request_is_head` and
 * the status decide that a response has no body (HEAD, 1xx, 204, 304);
 * a response with neither length nor chunked is delimited by close, and
 * then keep_alive is 0. A 1xx response is complete in itself: parse the
 * next head after it. Not for a 2xx answer to CONNECT (a tunnel).
 */
int http1_parse_response(const char *buf, size_t len, int request_is_head,
                         struct http1_response *resp);

/*
 * Feeds body bytes. Returns how many of the `len` bytes at buf belong to
 * the body (the rest start the next message), and sets *done (may be
 * NULL) to 1 when the body's end was reached; or a negative http1_err,
 * which sticks. For CHUNKED every framing byte (sizes, extensions, CRLFs,
 * trailers) is counted as body. HTTP1_BODY_CLOSE bodies consume everything
 * and end only at EOF.
 */
ssize_t http1_body_feed(struct http1_body *b, const char *buf, size_t len,
                        int *done);

/* Case-insensitive lookup of the first field named `name`, or NULL. */
const struct http1_field *http1_find_field(const struct http1_field *fields,
                                           size_t nfields, const char *name);

/* Case-insensitive comparison of a view with a C string: 1 if equal. */
int http1_token_eq(const char *s, size_t len, const char *lit);

/*
 * Iterates over a comma-separated field value (RFC 9110 section 5.6.1):
 * start with *pos = 0; each call returns 1 with the next element, OWS
 * trimmed, possibly empty, or 0 when none is left. An empty value has one
 * empty element. Quoted commas are not special.
 */
int http1_list_next(const char *s, size_t len, size_t *pos, const char **elem,
                    size_t *elem_len);

#endif /* HTTP1_H */
