/*
 * proxy_probe.h - one TLS probe of a host: does it send HSTS?
 *
 * Connects to HOST:PORT (a --map entry first, as `run` does, else DNS
 * with uv_getaddrinfo, each address in turn), verifies the certificate
 * chain and name (proxy_tls.h), sends `HEAD / HTTP/1.1` with Host, and
 * reads the response head with http1_parse_response. A 405 or 501 answer
 * is retried once, on a new connection, with GET (the head is read, the
 * body discarded by closing). No redirect is followed: the probe is about
 * the host itself. The result is a struct store_probe (store_probe.h):
 * TLS version, status, the first Strict-Transport-Security value (and how
 * many came), its parse; store_probe_record() then decides what it
 * teaches. Never for an IP literal (RFC 6797 section 8.1).
 *
 * A probe never takes longer than its timeout: DNS, every connect, the
 * handshakes and the response head together. It runs on the caller's
 * loop and allocates only its own state.
 */
#ifndef PROXY_PROBE_H
#define PROXY_PROBE_H

#include <stddef.h>
#include <uv.h>

#include "proxy.h"
#include "store_probe.h"

/* Its caps and defaults are in proxy_limits.h (PROXY_PROBE_*). */
#define PROXY_PROBE_USER_AGENT "hstsproxy/" HSTSPROXY_VERSION " (HSTS probe)"

struct proxy_tls_ctx;
struct proxy_dns;
struct proxy_probe;

struct proxy_probe_params {
  const char *host;             /* normalized DNS name (copied) */
  unsigned port;                /* 1-65535 */
  unsigned timeout_ms;          /* the whole probe; at least 1 */
  const struct proxy_map *maps; /* --map entries (may be NULL); not owned:
                                   read at start only */
  size_t nmaps;
  struct proxy_tls_ctx *tls;   /* not owned; outlives the probe */
  struct proxy_dns *dns;       /* a worker's resolver (not owned; outlives
                                  the probe), or NULL: a private one */
  const struct sockaddr *addr; /* connect here, at `port` (an intercepted
                                  connection's destination), instead of
                                  --map or DNS; NULL: those. Copied. */
  unsigned mark;               /* SO_MARK of its sockets; 0: none */
  /* --upstream-proxy to go through (not owned), or NULL: direct. */
  const struct proxy_parent *parent;
};

/*
 * Called once with the result (valid during the call only); r->ok says
 * whether the probe completed. The probe may still be releasing its
 * resources afterwards (an unfinished DNS lookup is waited for, not
 * abandoned), so a loop run to completion also ends the probe.
 */
struct proxy_probe_cb {
  void (*on_done)(const struct store_probe *r, void *arg);
};

/*
 * Starts a probe on `loop`. Returns 0 with *out set (may be NULL when
 * the caller does not keep it; valid until on_done), or a negative libuv
 * error with no callback ever: UV_EINVAL for an IP literal, an invalid
 * name, a port or timeout out of range; UV_ENOMEM.
 */
int proxy_probe_start(uv_loop_t *loop, const struct proxy_probe_params *p,
                      const struct proxy_probe_cb *cb, void *arg,
                      struct proxy_probe **out);

/* Ends the probe now (before on_done only): on_done follows with the
 * error "canceled". */
void proxy_probe_cancel(struct proxy_probe *probe);

#endif /* PROXY_PROBE_H */
