/*
 * proxy_tls.h - the asynchronous TLS client (RFC 8446, RFC 5246).
 *
 * OpenSSL 3 driven from a libuv loop through a pair of memory BIOs over a
 * uv_tcp_t: the loop never blocks on a handshake, and no thread is made
 * per connection. One module for every TLS connection hstsproxy makes
 * itself: the probe (proxy_probe.h), `preload update` (proxy_fetch.h) and
 * later the proxy's own probes.
 *
 * Security: TLS 1.2 at least; the chain verified against the system's
 * trust store or a --ca-file PEM; the host name verified (SAN dNSName, or
 * iPAddress for an IP literal; no partial wildcards); SNI for names
 * (never for IP literals, RFC 6066 section 3); ALPN "http/1.1". A
 * verification failure fails the handshake (SSL_VERIFY_PEER), so no byte
 * of the response is ever read over an unverified connection.
 *
 * Lifetimes (docs/ARCHITECTURE.md): a struct proxy_tls_conn embeds its uv
 * handles; proxy_tls_close() and proxy_tls_abort() are the only ways to
 * end it from outside, and whatever ends it, on_close runs exactly once,
 * from the last close callback, after which the conn is freed.
 */
#ifndef PROXY_TLS_H
#define PROXY_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proxy_limits.h" /* PROXY_TLS_*: its caps */

/* How a connection ended (on_close's status). */
enum proxy_tls_err {
  PROXY_TLS_OK = 0,     /* proxy_tls_close() after the handshake */
  PROXY_TLS_EOF,        /* the server closed cleanly (close_notify) */
  PROXY_TLS_ECONNECT,   /* no address accepted the TCP connection */
  PROXY_TLS_ETIMEOUT,   /* connect and handshake, or a read, too slow */
  PROXY_TLS_EVERIFY,    /* the certificate chain or name did not verify */
  PROXY_TLS_EHANDSHAKE, /* another handshake failure (a reset too) */
  PROXY_TLS_EIO,        /* a read, write or TLS error after the handshake */
  PROXY_TLS_ETRUNCATED, /* TCP closed without a close_notify */
  PROXY_TLS_EABORT      /* proxy_tls_abort() */
};

/* A static English description of a proxy_tls_err. Never NULL. */
const char *proxy_tls_strerror(int err);

struct proxy_tls_ctx;  /* an SSL_CTX and its trust store */
struct proxy_tls_conn; /* one connection */
struct proxy_addrs;    /* proxy_net.h: addresses to try in turn */

/*
 * CONSTRUCTOR. Builds the client context once per process (per --ca-file
 * setting) and shares it: connections only read it, from any thread.
 * `ca_file` (may be NULL: the system's default verify paths) is a PEM file
 * of trusted certificates that replaces the system's store. Returns 0 with
 * *out set, or -1 with *out NULL and a one-line cause in err (naming the
 * file and OpenSSL's reason).
 */
int proxy_tls_ctx_new(const char *ca_file, struct proxy_tls_ctx **out,
                      char *err, size_t errsz);

/* DESTRUCTOR. NULL accepted; sets *ctx to NULL. No conn may use it. */
void proxy_tls_ctx_free(struct proxy_tls_ctx **ctx);

struct proxy_tls_options {
  const char *host;  /* normalized name or IP literal without brackets:
                        SNI, name verification, messages (copied) */
  unsigned port;     /* 1-65535, on every address */
  const char *label; /* how messages name the peer (copied), e.g. the
                        "host:port" asked for when --map redirected it;
                        NULL: host:port */
  uint64_t connect_timeout_ms; /* all TCP connects and the handshake;
                                  0: none */
  uint64_t read_timeout_ms;    /* silence after the handshake; 0: none */
  unsigned mark;               /* SO_MARK of its sockets; 0: none */
  /* Through a parent proxy (--upstream-proxy), or all NULL/0: direct.
   * addrs are then the parent's, connected to on tunnel_port; after the
   * TCP connect, tunnel_request (a whole CONNECT request head, at most
   * PROXY_TLS_TUNNEL_REQ_MAX bytes, copied) is sent and the handshake
   * starts only after a 2xx answer; anything else ends the conn with
   * PROXY_TLS_ECONNECT and a message naming tunnel_name (copied). */
  const char *tunnel_request;
  unsigned tunnel_port;
  const char *tunnel_name; /* "parent proxy HOST:PORT" */
};

/* Callbacks, all on the loop's thread, never from inside proxy_tls_open(),
 * proxy_tls_write(), proxy_tls_close() or proxy_tls_abort(). */
struct proxy_tls_callbacks {
  /* The handshake completed and verified; proxy_tls_write() may start. */
  void (*on_open)(struct proxy_tls_conn *c, void *arg);
  /* Plaintext from the server; `data` is valid during the call only. */
  void (*on_read)(struct proxy_tls_conn *c, const char *data, size_t len,
                  void *arg);
  /* Exactly once, last: the handles are closed and c is freed when this
   * returns. `message` names host, port and cause ("" for PROXY_TLS_OK);
   * valid during the call only. */
  void (*on_close)(struct proxy_tls_conn *c, int status, const char *message,
                   void *arg);
};

/*
 * Connects to each of addrs in turn (o->port on each) until one accepts
 * the TCP connection, then performs the handshake. Returns 0 with *out
 * set (the callbacks will run: on_close at least), or a negative libuv
 * error (UV_EINVAL: no address, a bad host; UV_ENOMEM) with no callback
 * ever. `addrs`, `o` and `cb` are copied; ctx and arg must outlive the
 * conn.
 */
int proxy_tls_open(uv_loop_t *loop, struct proxy_tls_ctx *ctx,
                   const struct proxy_addrs *addrs,
                   const struct proxy_tls_options *o,
                   const struct proxy_tls_callbacks *cb, void *arg,
                   struct proxy_tls_conn **out);

/*
 * Encrypts and queues `len` bytes (copied). Only between on_open and the
 * end. Returns 0, or a negative libuv error (UV_ENOTCONN before on_open or
 * once closing); a failure ends the conn with PROXY_TLS_EIO.
 */
int proxy_tls_write(struct proxy_tls_conn *c, const char *data, size_t len);

/* Bytes of ciphertext queued to the socket and not yet written. */
size_t proxy_tls_queued(const struct proxy_tls_conn *c);

/*
 * Ends the conn cleanly: after the handshake, sends close_notify, waits
 * for the queued writes and shuts the TCP write side down (at most
 * PROXY_TLS_SHUTDOWN_MS), then closes (status PROXY_TLS_OK). Before the
 * handshake it is proxy_tls_abort(). Idempotent; no on_read afterwards.
 */
void proxy_tls_close(struct proxy_tls_conn *c);

/* Ends the conn at once, with PROXY_TLS_EABORT and `why` (copied) as the
 * cause. Idempotent: an end already under way keeps its own status (a
 * clean shutdown in progress is cut short). */
void proxy_tls_abort(struct proxy_tls_conn *c, const char *why);

/* The negotiated version ("TLSv1.3"), "" before the handshake. */
const char *proxy_tls_version(const struct proxy_tls_conn *c);

/* The address last connected to or tried ("127.0.0.1:443"), or "". */
const char *proxy_tls_peer(const struct proxy_tls_conn *c);

#endif /* PROXY_TLS_H */
