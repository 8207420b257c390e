/*
 * proxy_alog.h - the access log (--access-log): one line per request,
 * written off the event loops (proxy_alog_writer.c), in Squid's native
 * format, the combined format of nginx and Apache, or JSON
 * (proxy_alog_format.c); what a request's end tells it (proxy_alog.c).
 *
 * A loop describes a finished request with a struct proxy_alog_rec and
 * hands it to the writer, which copies it into a bounded byte ring under
 * a mutex held only for that copy; a full ring drops the record and
 * counts it. The writer thread formats the lines and appends them to the
 * file in batches; a failed write (full disk, I/O error) drops the
 * batch's lines, counts them, says so once on stderr and tries again with
 * the next batch. proxy_alog_reopen() (SIGUSR1, SIGHUP) reopens the file
 * by its name, creating it: after `mv` by logrotate, or a removal.
 */
#ifndef PROXY_ALOG_H
#define PROXY_ALOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROXY_ALOG_QUEUE_BYTES (4u << 20) /* the ring */
#define PROXY_ALOG_BATCH_MS    50u        /* longest wait before a write */
#define PROXY_ALOG_FILE_MODE   0640       /* browsing history */
/* Longest value kept per field (bytes); longer ones are cut. */
#define PROXY_ALOG_URL_MAX   8192u
#define PROXY_ALOG_TEXT_MAX  1024u /* user agent, referer */
#define PROXY_ALOG_SHORT_MAX 256u  /* the other strings */

enum proxy_alog_format {
  PROXY_ALOG_SQUID = 0, /* default */
  PROXY_ALOG_COMBINED,
  PROXY_ALOG_JSON
};

/* The result codes of Squid's access.log, and the one HSTS adds. */
enum proxy_alog_action {
  PROXY_ALOG_NONE = 0,     /* "NONE": an error answer of the proxy */
  PROXY_ALOG_UPGRADE,      /* "TCP_HSTS_UPGRADE": the internal 307 */
  PROXY_ALOG_MISS,         /* "TCP_MISS": forwarded to the origin */
  PROXY_ALOG_TUNNEL,       /* "TCP_TUNNEL": CONNECT */
  PROXY_ALOG_DENIED,       /* "TCP_DENIED": 403, 407 */
  PROXY_ALOG_LOCAL,        /* "TCP_MEM_HIT": status page, PAC file */
  PROXY_ALOG_MISS_ABORTED, /* "TCP_MISS_ABORTED": cut off mid-way */
  PROXY_ALOG_NONE_ABORTED, /* "NONE_ABORTED": ended before an answer */
  PROXY_ALOG_ACTION_COUNT
};

/* The strings of a record, in wire order. */
enum proxy_alog_str {
  PROXY_ALOG_CLIENT = 0,
  PROXY_ALOG_METHOD,
  PROXY_ALOG_URL,
  PROXY_ALOG_USER,
  PROXY_ALOG_PEER, /* the origin's address, or NULL */
  PROXY_ALOG_TYPE, /* the response's Content-Type, or NULL */
  PROXY_ALOG_REFERER,
  PROXY_ALOG_AGENT,
  PROXY_ALOG_STR_COUNT
};

/* One finished request. Strings may be NULL; (len, ptr) pairs need no
 * NUL; the writer copies them. */
struct proxy_alog_rec {
  int64_t time_ms;    /* Unix ms: the request head was complete */
  int64_t elapsed_ms; /* from then to the end */
  uint64_t bytes;     /* sent to the client, heads included */
  int status;         /* 0: none was sent */
  enum proxy_alog_action action;
  int http_minor; /* HTTP/1.<minor> of the request; -1: none parsed */
  const char *s[PROXY_ALOG_STR_COUNT];
  size_t len[PROXY_ALOG_STR_COUNT];
};

struct proxy_alog_stats {
  uint64_t written;       /* lines appended */
  uint64_t dropped_queue; /* the ring was full */
  uint64_t dropped_write; /* a write failed */
  int failing;            /* the last write failed */
};

struct proxy_alog;

/* "TCP_HSTS_UPGRADE" ...; the name of a format ("squid" ...). */
const char *proxy_alog_action_name(enum proxy_alog_action a);
/* Parses "squid", "combined" or "json"; returns 0, or -1. */
int proxy_alog_format_parse(const char *name, enum proxy_alog_format *out);

/*
 * proxy_alog_format.c. Appends the line of r (with its '\n') in format f
 * to out[0..cap), at most cap - 1 bytes and a NUL; fields too long are
 * cut. Returns the length written. Pure: r's strings are read only.
 */
size_t proxy_alog_format_line(enum proxy_alog_format f,
                              const struct proxy_alog_rec *r, char *out,
                              size_t cap);

/*
 * CONSTRUCTOR (proxy_alog_writer.c). Opens path ("-": stdout) for
 * appending, creating it (PROXY_ALOG_FILE_MODE), and starts the writer
 * thread; failures go to `errors` (stderr when NULL). Returns 0, or -1
 * with why (whysz bytes) naming the file and the cause; *out NULL then.
 */
int proxy_alog_open(const char *path, enum proxy_alog_format f, FILE *errors,
                    struct proxy_alog **out, char *why, size_t whysz);
/* DESTRUCTOR. Writes what is queued, joins, closes; NULL accepted; sets
 * *al to NULL. No submit may run concurrently or afterwards. */
void proxy_alog_close(struct proxy_alog **al);
/* Queues a copy of r. Any thread; never blocks on I/O. Returns 0, or -1
 * when the ring is full (dropped and counted). */
int proxy_alog_submit(struct proxy_alog *al, const struct proxy_alog_rec *r);
/* Asks the writer to reopen the file by its name (between batches). Any
 * thread; async-signal-unsafe (takes the mutex). */
void proxy_alog_reopen(struct proxy_alog *al);
/* A consistent snapshot of the counters. Any thread. */
void proxy_alog_stats(struct proxy_alog *al, struct proxy_alog_stats *out);

/* ---- proxy_alog.c: the engine's hooks, one call per outcome ---- */

struct proxy_conn;

/* A request head was parsed: its line is owed from now on. */
void proxy__alog_begin(struct proxy_conn *conn);
/* The request ended with `action` and `status` (0: the one the origin
 * sent), `type` the answer's Content-Type (NULL: the origin's): its line
 * goes to the writer, once. Also for an answer to no parsed request (a
 * malformed head, a refused client). */
void proxy__alog_end(struct proxy_conn *conn, enum proxy_alog_action action,
                     int status, const char *type);
/* The connection closes: a request still owed a line gets one (a tunnel,
 * or an exchange cut off). */
void proxy__alog_closing(struct proxy_conn *conn);

#endif /* PROXY_ALOG_H */
