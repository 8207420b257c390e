/*
 * proxy_splice.h - bulk bytes without a copy: moves bytes from one
 * descriptor to another through a pipe with splice(2) while a phase polls
 * the two descriptors (proxy_splice.c).
 *
 * A phase that moves bulk bytes (the tunnel both ways, a body up or
 * down) calls proxy__splice_begin(): the hub stops libuv's reads on both
 * handles (conn->splicing) and the descriptors are polled with the
 * uv_poll_t handles of the conn (in conn->bulk, allocated at its first
 * splice) and of the upstream (embedded), whose events
 * go to the phase's `polled` callback. The phase pumps its directions
 * there and says which events it waits for next (proxy__splice_watch);
 * proxy__splice_end() hands the descriptors back to libuv. Only one of
 * libuv's watchers may own a descriptor at a time: a splice begins only
 * when nothing is queued to either side (proxy__splice_can_begin).
 *
 * Each direction owns one pipe while it moves bytes; empty pipes are kept
 * per worker thread (PROXY_SPLICE_CACHE) so that a stream of responses
 * does not pay pipe2() and close() for each. Where splice() is refused
 * (the first call fails with EINVAL, ENOSYS or EOPNOTSUPP), the phase goes
 * back to the copying path (libuv reads and writes); counted on /metrics.
 */
#ifndef PROXY_SPLICE_H
#define PROXY_SPLICE_H

#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

struct proxy_conn;

/* No limit: bytes move until the source ends. */
#define PROXY_SPLICE_ALL UINT64_MAX

/* One direction: from -> pipe -> to. */
struct proxy_splice_dir {
  int from, to;
  int pipe[2];       /* [0] read end, [1] write end, while open */
  size_t queued;     /* bytes in the pipe */
  uint64_t left;     /* bytes still to read from `from` (PROXY_SPLICE_ALL) */
  unsigned open : 1; /* pipe is ours (proxy__splice_open) */
  unsigned eof : 1;  /* `from` ended: EOF, or `left` reached 0 */
  unsigned hold : 1; /* read no more from `from`; the pipe drains */
  unsigned watch_to : 1; /* also wake when `to` is readable (it answers) */
  unsigned err_to : 1;   /* the error was writing to `to` (else reading) */
  unsigned tried : 1;    /* splice() was called at least once */
};

/* A connection's splicing state (conn->bulk): its poll handle for the
 * client's descriptor (the upstream embeds its own) and the two
 * directions. */
struct proxy_bulk {
  uv_poll_t client_poll;        /* initialized once: client_poll_open */
  unsigned char client_poll_ev; /* the events it is started for */
  unsigned client_poll_open;
  struct proxy_splice_dir dir[2]; /* by enum proxy_splice_way */
};

/* What a pump ended with (a negative errno on failure). */
enum proxy_splice_rc {
  PROXY_SPLICE_WAIT = 0, /* more to move: wait for the watched events */
  PROXY_SPLICE_DONE,     /* the source ended (or held), the pipe empty */
  PROXY_SPLICE_REFUSED   /* splice() is not supported here: copy instead */
};

/* The directions, as indices of conn->bulk. */
enum proxy_splice_way {
  PROXY_SPLICE_UP = 0, /* client to origin */
  PROXY_SPLICE_DOWN    /* origin to client (counted in conn->sent) */
};

/* Whether conn may start splicing: an origin connection, nothing queued
 * to libuv on either side, and splice() not refused before. */
int proxy__splice_can_begin(const struct proxy_conn *conn);
/* Opens conn->bulk->dir[way] (conn->bulk allocated at the first call; a
 * pipe from the cache or a new one) to move at most left bytes; 0, or -1
 * when no memory or pipe could be had (copy instead). */
int proxy__splice_open(struct proxy_conn *conn, enum proxy_splice_way way,
                       uint64_t left);
/* Stops libuv's reads on both sides (conn->splicing, counted) and
 * prepares the poll handles; from now on the phase's `polled` runs for
 * their events. Returns 0, or -1 after closing conn. */
int proxy__splice_begin(struct proxy_conn *conn);
/* Moves what can move of d without blocking: the activity clock, the
 * counters and conn->sent follow. Returns an enum proxy_splice_rc, or a
 * negative errno (proxy__splice_fail names it). */
int proxy__splice_move(struct proxy_conn *conn, struct proxy_splice_dir *d);
/* Polls the two descriptors for what conn->bulk waits for. Returns 0,
 * or -1 after closing conn. */
int proxy__splice_watch(struct proxy_conn *conn);
/* Stops polling and gives both descriptors back to libuv: the phase's
 * reads resume (proxy__conn_sync_read, proxy__upstream_sync_read). */
void proxy__splice_end(struct proxy_conn *conn);
/* splice() was refused (PROXY_SPLICE_REFUSED): the pipes are released,
 * the refusal counted and logged, the phase's copying path resumes
 * (conn closes instead if bytes were left in a pipe). */
void proxy__splice_refused(struct proxy_conn *conn);
/* Closes conn naming the failed side of d and err (a negative errno). */
void proxy__splice_fail(struct proxy_conn *conn,
                        const struct proxy_splice_dir *d, int err);
/* 1 when bytes, EOF or an error wait on socket fd (nothing is read). */
int proxy__splice_peek(int fd);
/* Releases d's pipe: back to the cache when empty, else closed. */
void proxy__splice_close(struct proxy_splice_dir *d);
/* The thread's cached pipes are closed (a worker's loop ended). */
void proxy__splice_cache_drop(void);

#endif /* PROXY_SPLICE_H */
