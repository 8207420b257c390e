/*
 * proxy_conn.h - one client connection, and the phase interface its
 * request runs through (proxy_conn.c is the hub; each phase is owned by
 * the file that implements it).
 *
 * A phase is a const struct proxy_phase of callbacks: where the next read
 * of either side lands and whether that side is read at all, what a read
 * does, what the end of a write to the client or a failed write to the
 * origin means, and what the phase's timeout does. The hub calls them and
 * knows no phase by name; a phase is entered through proxy__conn_enter(),
 * which sets the phase's timer and what the loop reads. The phases, and
 * the files that own them:
 *
 *   head      proxy_head.c      reading and parsing a request head
 *   auth      proxy_auth.c      credentials checked on the thread pool
 *   connect   proxy_connect.c   resolving and connecting to the origin
 *   forward   proxy_exchange.c  request body up, response down
 *   respond   proxy_answer.c    an answer is written; waiting for it
 *   discard   proxy_upgrade.c   a 307 is written; the body is dropped
 *   tunnel    proxy_tunnel.c    bytes spliced both ways
 *   linger    proxy_answer.c    write side shut; input dropped, then close
 *   hello     proxy_intercept.c a redirected TLS client's ClientHello
 *
 * What runs next after a head is parsed is proxy_route.c's handler table.
 * Asynchronous steps take a continuation (proxy__conn_cb): it runs when
 * the step succeeded; a failure is answered by the step itself.
 *
 * Lifetimes (libuv's rule: memory is released only in close callbacks):
 * struct proxy_conn embeds its uv handles; only proxy__conn_close()
 * closes them, and the last close callback frees it. While attached,
 * conn->up owns the origin connection (proxy_upstream.h).
 */
#ifndef PROXY_CONN_H
#define PROXY_CONN_H

#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "http1.h"
#include "hsts_url.h"
#include "proxy.h"
#include "proxy_net.h"
#include "proxy_splice.h"

struct proxy_auth_job;
struct proxy_console_job;
struct proxy_conn;
struct proxy_listener;
struct proxy_upstream;
struct proxy_worker;

#define PROXY_AUTH_DIGEST 32 /* SHA-256 */

/* What one side's next read lands in (the phase says, the hub allocates). */
enum proxy_rbuf {
  PROXY_RBUF_DISCARD = 0, /* the worker's scratch area: dropped */
  PROXY_RBUF_HEAD,        /* the head buffer: conn->in, or up->in */
  PROXY_RBUF_CHUNK,       /* a fresh wreq that carries it on, uncopied */
  PROXY_RBUF_NEXT         /* client: conn->in's spare room, the next
                             request (the hub reads it, see proxy_conn.c) */
};

/* A continuation: the asynchronous step it waited for succeeded. */
typedef void (*proxy__conn_cb)(struct proxy_conn *conn);

/* A stage's answer (proxy_route.c's handlers, proxy__auth_check). */
enum proxy_next {
  PROXY_NEXT = 0, /* not mine: the next handler decides */
  PROXY_DONE,     /* handled: answered, or a phase runs the request now */
  PROXY_PENDING   /* waiting: a continuation resumes the request later */
};

/*
 * The callbacks of a phase; NULL ones mean "nothing": reads land in the
 * discard area, the side is not read, a timeout does nothing.
 * `reading` tells whether the side is read now (for hysteresis).
 */
struct proxy_phase {
  const char *name;
  enum proxy_rbuf (*client_buf)(const struct proxy_conn *conn);
  int (*client_wants)(const struct proxy_conn *conn, int reading);
  void (*client_read)(struct proxy_conn *conn, ssize_t nread, char *base);
  enum proxy_rbuf (*up_buf)(const struct proxy_conn *conn);
  int (*up_wants)(const struct proxy_conn *conn, int reading);
  void (*up_read)(struct proxy_conn *conn, ssize_t nread, char *base);
  /* A write to the client ended well; conn->client_wpending is updated. */
  void (*client_wrote)(struct proxy_conn *conn);
  /* A write to the origin failed: NULL lets the read side decide. */
  void (*up_write_failed)(struct proxy_conn *conn, int status);
  /* While conn->splicing: a polled descriptor is ready (proxy_splice.h);
   * the phase moves its bytes and says what it waits for next. */
  void (*polled)(struct proxy_conn *conn);
  /* Runs last in proxy__conn_enter(), instead of syncing the reads. */
  void (*start)(struct proxy_conn *conn);
  void (*timeout)(struct proxy_conn *conn);
};

/* The parsed destination of a forwarded request or a CONNECT. */
struct proxy_target {
  char host[PROXY_HOST_MAX + 1]; /* normalized, IPv6 without brackets */
  int is_ipv6;
  int is_ip; /* an IPv4 or IPv6 literal: never an HSTS host */
  unsigned port;
  const char *path; /* view into conn->in: path and query, may be empty */
  size_t path_len;
  struct hsts_url url; /* absolute-form: views into conn->in (route) */
  char authority[PROXY_AUTHORITY_MAX]; /* Host value: host[:port] */
  char key[PROXY_KEY_MAX];             /* "host:port": pool key, messages */
};

struct proxy_conn {
  struct proxy_worker *worker;    /* not owned */
  struct proxy_conn *prev, *next; /* worker->conns */
  uint64_t id;
  uv_tcp_t client;
  uv_timer_t timer; /* the one timeout of the current phase */
  uv_shutdown_t shutdown_req;
  int closing;
  int pending_closes;
  const struct proxy_phase *phase; /* never NULL */
  unsigned route_next;             /* proxy_route.c: the next handler */
  proxy__conn_cb connected;        /* proxy_connect.c: its continuation */
  proxy__conn_cb parent_cb;        /* proxy_parent.c: after the parent's 2xx */
  char *in; /* owned: request head, then what follows it */
  size_t in_len, in_cap;
  size_t head_len;          /* the current request's head is in[0..head_len) */
  struct http1_request req; /* views into in */
  struct proxy_target target;
  unsigned requests;
  int64_t req_ms;             /* wall clock (Unix ms): head complete */
  uint64_t req_ns;            /* uv_hrtime() then: hop durations */
  union proxy_sockaddr local; /* where the client connected to */
  char peer[PROXY_ADDR_TEXT];
  char peer_ip[PROXY_ADDR_TEXT]; /* the client's address alone */
  /* proxy_auth.c: the SHA-256 of the Proxy-Authorization value this
   * connection last proved, and the users' generation (0: none). */
  unsigned char auth_digest[PROXY_AUTH_DIGEST];
  uint64_t auth_gen;
  struct proxy_auth_job *auth_job; /* the check in flight, or NULL */
  /* proxy_console_*.c: a console job (reading its body, or on the
   * thread pool), or NULL; a live hop stream and its feed cursor. */
  struct proxy_console_job *console_job;
  uint64_t console_seq;
  unsigned console_stream : 1;
  /* The internal 307 (proxy_upgrade.c): one write at a time, from memory
   * the connection keeps for its life, so steady state allocates nothing. */
  uv_write_t upg_req;
  size_t upg_len; /* bytes of the 307 in flight */
  char *upg_buf;  /* owned: Location and the tail of the head */
  size_t upg_cap;
  uint64_t discarded;           /* request body bytes dropped after a 307 */
  size_t client_wpending;       /* bytes queued to the client */
  uint64_t active_ms;           /* uv_now() of the last bytes moved */
  uint64_t sent;                /* bytes queued to the client for the
                                   request (proxy_alog.c) */
  struct proxy_upstream *up;    /* owned while attached */
  struct proxy_dns_query *dnsq; /* owned by the resolver */
  struct proxy_addrs addrs;     /* connect candidates */
  size_t addr_next;
  unsigned connect_port;
  int connect_err;
  char connect_addr[PROXY_ADDR_TEXT]; /* last address tried */
  /* Whole networks (proxy_intercept.c): the listener's kind (enum
   * proxy_listen_kind), and where a redirected client meant to go: the
   * only address its requests are ever sent to. */
  int kind;
  union proxy_sockaddr orig_dst; /* SO_ORIGINAL_DST, when orig_ok */
  struct http1_body req_body;    /* request body framing, live */
  /* proxy_splice.c: bulk bytes through pipes while the descriptors are
   * polled; owned, allocated at the first splice (an idle connection
   * carries none), freed with the conn. */
  struct proxy_bulk *bulk;
  unsigned client_reading : 1;
  unsigned client_eof : 1;
  unsigned req_done : 1;
  unsigned resp_started : 1; /* a final response head went to the client */
  unsigned resp_done : 1;
  unsigned keep_alive : 1; /* the client connection continues */
  unsigned is_tunnel : 1;  /* CONNECT */
  unsigned ws_upgrade : 1; /* a WebSocket upgrade request */
  unsigned retried : 1;    /* already retried on a fresh connection */
  unsigned up_bad : 1;     /* the origin connection must not be reused */
  unsigned tunnel_up_eof : 1;
  unsigned tunnel_shutdowns : 2; /* write sides shut down so far */
  unsigned lingering : 1;
  unsigned orig_ok : 1;   /* orig_dst was read and is not the proxy itself */
  unsigned alog_open : 1; /* the request owes its access-log line */
  unsigned splicing : 1;  /* libuv reads neither side: the phase polls */
  unsigned splice_refused : 1; /* splice() refused: copy from now on */
};

/* The one rule for "no body bytes are to come": no body at all, or
 * Content-Length: 0. */
static inline int proxy__body_empty(const struct http1_body *b)
{
  return b->kind == HTTP1_BODY_NONE ||
         (b->kind == HTTP1_BODY_LENGTH && b->remaining == 0);
}

/* Whether request body bytes remain unread on the client connection. */
static inline int proxy__body_unread(const struct proxy_conn *conn)
{
  return !conn->req_done && !proxy__body_empty(&conn->req.body);
}

/* Hysteresis: stop past the high-water mark, resume below the low one. */
static inline int proxy__flow_ok(int reading, size_t pending)
{
  return pending < (reading ? PROXY_WRITE_HIGH_WATER : PROXY_WRITE_LOW_WATER);
}

/* ---- proxy_conn.c: the hub ---- */

/* A listener has a connection and a --max-conns slot for it (the
 * worker's admission): accepts it into a new conn, which holds the slot
 * from now on. Returns 0; 1 when uv_accept() failed (the conn closes and
 * gives the slot back; the listener must listen again); -1 out of memory
 * (the connection waits in the listener; the slot is still the
 * caller's). */
int proxy__conn_accept(struct proxy_listener *l);
/* Enters phase: its timer (timeout_ms > 0; 0 leaves the timer as it
 * is), the activity clock, then phase->start or what the loop reads. */
void proxy__conn_enter(struct proxy_conn *conn, const struct proxy_phase *p,
                       uint64_t timeout_ms);
/* The only way a conn dies: idempotent; drops the origin side too. */
void proxy__conn_close(struct proxy_conn *conn, const char *reason);
/* Gives up the request's origin side (a lookup, or the connection,
 * closed with reason); the client connection stays. */
void proxy__conn_drop_origin(struct proxy_conn *conn, const char *reason);
/* Starts or stops reading from the client as the phase wants. */
void proxy__conn_sync_read(struct proxy_conn *conn);
void proxy__conn_timer(struct proxy_conn *conn, uint64_t ms);
/* Bytes moved: a timer that measures silence restarts from now. */
void proxy__conn_activity(struct proxy_conn *conn);
/* For a timeout that measures silence: 1 when nothing moved for ms;
 * else 0, and the timer runs again for the rest. */
int proxy__conn_silent(struct proxy_conn *conn, uint64_t ms);
/* proxy__write() to the client, at once unless a pipelined request
 * waits in conn->in (its answer would recurse); bufs is adjusted. */
int proxy__conn_write_bufs(struct proxy_conn *conn, uv_write_t *req,
                           uv_buf_t *bufs, unsigned nbufs, uv_write_cb cb);
/* A write to the client ended (status < 0: failed): len bytes less are
 * queued; the phase hears of it. For writes that are not wreqs. */
void proxy__conn_wrote(struct proxy_conn *conn, size_t len, int status);
/* Queues w to the client; takes ownership of w. */
void proxy__conn_write(struct proxy_conn *conn, struct proxy_wreq *w);
void proxy__conn_write_copy(struct proxy_conn *conn, const char *p, size_t len);

/* ---- proxy_head.c: the head phase ---- */

extern const struct proxy_phase proxy__phase_head;
/* Closes an idle keep-alive connection (drain); returns 1 if it did. */
int proxy__head_close_if_idle(struct proxy_conn *conn);

/* ---- proxy_answer.c: answers the proxy writes, and their end ---- */

/* The answer is complete on our side: when the client has taken every
 * queued byte, the next request is read (keep_alive) or the connection
 * closes gracefully (respond, then linger). */
void proxy__conn_answered(struct proxy_conn *conn);
/* Writes a complete answer (extra: header lines, "" for none; a HEAD
 * request gets no body) and ends the exchange: the origin side is
 * dropped; the connection continues only when keep-alive allows it,
 * nothing of the request is unread, and force_close is 0. */
void proxy__answer(struct proxy_conn *conn, int status, const char *extra,
                   const char *type, const char *body, size_t len,
                   int force_close);
/* A short text/plain error answer naming the cause (counted, logged);
 * closes the connection afterwards when force_close or the request
 * cannot be followed by another; after a response head, only closes. */
void proxy__conn_error(struct proxy_conn *conn, int status, int force_close,
                       const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* 407 Proxy Authentication Required, Basic realm "hstsproxy". */
void proxy__answer_407(struct proxy_conn *conn);
/* 401 Unauthorized, Basic realm "hstsproxy" (the console). */
void proxy__answer_401(struct proxy_conn *conn);
const char *proxy__reason(int status);

#endif /* PROXY_CONN_H */
