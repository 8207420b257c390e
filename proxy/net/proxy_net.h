/*
 * proxy_net.h - the network helpers of the proxy library: addresses,
 * write requests and head buffers (proxy_buf.c), name resolution
 * (proxy_dns.c), base64 (proxy_base64.c), and the --map lookup that
 * every origin connection starts with (proxy_config.c). Nothing here
 * knows a client connection: the engine, the probe and the fetch use
 * them alike.
 *
 * Lifetimes (libuv's rule: memory is released only in callbacks):
 * - struct proxy_wreq owns the bytes of one uv_write and is freed in its
 *   write callback, which libuv runs (with UV_ECANCELED at the latest)
 *   before the stream's close callback.
 * - struct proxy_dns_query belongs to the resolver until its callback; a
 *   waiter that goes away detaches from it with proxy__dns_detach().
 */
#ifndef PROXY_NET_H
#define PROXY_NET_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "proxy.h"

/* An address of any family, small enough to keep arrays of. */
union proxy_sockaddr {
  struct sockaddr sa;
  struct sockaddr_in in;
  struct sockaddr_in6 in6;
};

/* Addresses to try in turn when connecting to an origin. */
struct proxy_addrs {
  size_t n;
  union proxy_sockaddr a[PROXY_DNS_MAX_ADDRS];
};

/* Sets the port of a (AF_INET or AF_INET6) address. */
static inline void proxy__addr_set_port(union proxy_sockaddr *a, unsigned port)
{
  if (a->sa.sa_family == AF_INET6)
    a->in6.sin6_port = htons((uint16_t)port);
  else
    a->in.sin_port = htons((uint16_t)port);
}

/* The port of a (AF_INET or AF_INET6) address. */
static inline unsigned proxy__addr_port(const union proxy_sockaddr *a)
{
  return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port : a->in.sin_port);
}

/* ---- proxy_buf.c: write requests and head buffers ---- */

/* One write and the bytes it owns (freed in the write callback). */
struct proxy_wreq {
  uv_write_t req;
  size_t len; /* bytes used in data */
  char data[];
};

struct proxy_wreq *proxy__wreq_new(size_t cap);
struct proxy_wreq *proxy__wreq_of(const char *data); /* data of a wreq */
/*
 * Writes bufs[0..nbufs) (under INT_MAX bytes) to s: with direct set,
 * first at once (uv_try_write, which also refuses while writes are
 * queued, so order is kept): what the socket takes then needs no write
 * callback and no change to what the loop polls (libuv 1.44 re-arms a
 * stream's poll after every uv_write). The rest goes with uv_write(req,
 * ..., cb), bufs adjusted in place. Returns the bytes left to cb (0: all
 * written, cb is not called), or a libuv error (maybe partly written).
 */
int proxy__write(uv_stream_t *s, uv_write_t *req, uv_buf_t *bufs,
                 unsigned nbufs, int direct, uv_write_cb cb);
/* proxy__write() of w's bytes with w->req: 0 when all went at once (w
 * freed), else the bytes left (now w->len), or a libuv error (w not
 * freed). */
int proxy__wreq_send(uv_stream_t *s, struct proxy_wreq *w, int direct,
                     uv_write_cb cb);
void proxy__wreq_free(struct proxy_wreq *w);
/* Grows *buf so that it has room past *len; never beyond max bytes.
 * Returns the room, or 0 when full or out of memory. */
size_t proxy__buf_room(char **buf, size_t *cap, size_t len, size_t max);
/* Gives a head buffer back (kept for reuse by this thread when it has the
 * first size); *buf NULL and *cap 0 afterwards. Worker threads only. */
void proxy__buf_free(char **buf, size_t *cap);
uint64_t proxy__ms(unsigned seconds);

/* ---- proxy_dns.c: one loop's resolver and cache ---- */

typedef void (*proxy__dns_cb)(void *arg, int status,
                              const struct proxy_addrs *addrs);

struct proxy_dns_entry {
  char host[PROXY_HOST_MAX + 1]; /* "" when the slot is free */
  int status;                    /* 0, or the lookup's libuv error */
  uint64_t expires_ms;           /* uv_now() deadline */
  struct proxy_addrs addrs;
};

struct proxy_dns_query;

struct proxy_dns {
  uv_loop_t *loop;
  struct proxy_dns_query *queries; /* in flight; each owns itself */
  struct proxy_dns_entry entries[PROXY_DNS_CACHE_ENTRIES];
};

void proxy__dns_init(struct proxy_dns *dns, uv_loop_t *loop);
/* Cancels lookups not yet started (their callbacks still run). */
void proxy__dns_cancel_all(struct proxy_dns *dns);

/*
 * Resolves `host` (normalized, no brackets): an IP literal at once, a
 * cached answer at once, else a uv_getaddrinfo on the thread pool.
 * Returns 0 with *out filled, a negative libuv error (a cached failure),
 * or 1 when a lookup was started: cb(arg, status, addrs) then runs later
 * unless proxy__dns_detach(*query) is called first. Ports in the
 * addresses are 0.
 */
int proxy__dns_resolve(struct proxy_dns *dns, const char *host,
                       struct proxy_addrs *out, proxy__dns_cb cb, void *arg,
                       struct proxy_dns_query **query);
/* The waiter goes away: the answer is still cached, cb is not called. */
void proxy__dns_detach(struct proxy_dns_query *q);

/* ---- proxy_config.c: where to connect ---- */

/* The first --map entry of maps[0..n) for host:port (an entry without a
 * port matches any), as `run` and the probes pick it; NULL when none. */
const struct proxy_map *proxy__map_find(const struct proxy_map *maps, size_t n,
                                        const char *host, unsigned port);
/* Where host:port goes by --map: returns 1 with its one address in *out
 * and the port to connect to in *to_port, or 0 (no entry: resolve). */
int proxy__map_route(const struct proxy_map *maps, size_t n, const char *host,
                     unsigned port, struct proxy_addrs *out, unsigned *to_port);

/* ---- proxy_mark.c: the firewall mark of outgoing connections ---- */

/* Whether a socket can carry SO_MARK mark here: 0, or a negative libuv
 * error (UV_EPERM without CAP_NET_ADMIN). */
int proxy__mark_check(unsigned mark);
/* Gives tcp (initialized, not yet connected or opened) a socket of family
 * marked with mark; mark 0 does nothing. Returns 0 or a negative libuv
 * error (tcp is then left as it was). */
int proxy__tcp_mark(uv_tcp_t *tcp, int family, unsigned mark);

/* ---- proxy_base64.c ---- */

/*
 * Decodes strict base64 (RFC 4648 section 4: the standard alphabet,
 * padded to whole quanta, '=' only at the end) from in[0..len) into out
 * (cap bytes; out may be NULL to check only). With lines set, CR and LF
 * anywhere are skipped (MIME line breaks, as Gitiles sends). Returns the
 * decoded length, or -1 when the text is not such base64 or the result
 * does not fit in cap bytes. Pure.
 */
ssize_t proxy__base64_decode(const char *in, size_t len, int lines, char *out,
                             size_t cap);

#endif /* PROXY_NET_H */
