/*
 * proxy_fetch.h - a small HTTPS GET for `preload update`.
 *
 * Downloads one https:// URL with the TLS client (proxy_tls.h: chain and
 * host name verified, IP literals checked against the certificate's IP
 * addresses). HTTP/1.1 with Connection: close; the body may be framed by
 * Content-Length, chunked or the end of the connection, and is capped.
 * Only status 200 is a success; no redirect is followed (a 3xx is an
 * error naming its Location, so the user can decide to use it). A body
 * delimited by the connection's end must end with a TLS close_notify,
 * else it may have been truncated and is refused.
 *
 * Also here: recognizing and decoding a base64 body (Chromium's gitiles
 * serves files as base64 with ?format=TEXT).
 */
#ifndef PROXY_FETCH_H
#define PROXY_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "proxy_tls.h"

struct proxy_parent; /* proxy.h: --upstream-proxy */

/* Its caps are in proxy_limits.h (PROXY_FETCH_*). */
#define PROXY_FETCH_USER_AGENT "hstsproxy/" HSTSPROXY_VERSION

struct proxy_fetch_options {
  const char *url;           /* https://host[:port]/path?query */
  struct proxy_tls_ctx *tls; /* not owned */
  size_t body_max;           /* at most PROXY_FETCH_BODY_MAX */
  unsigned timeout_ms;       /* connect and handshake; read silence */
  /* Called as body bytes arrive (may be NULL): received so far, and the
   * Content-Length (0 when unknown). */
  void (*on_progress)(uint64_t received, uint64_t total, void *arg);
  void *arg;
  const struct proxy_parent *parent; /* through this parent proxy with
                                        CONNECT (not owned), or NULL */
};

struct proxy_fetch_result {
  int status; /* HTTP status of the final response; 0 none */
  char *body; /* owned: the decoded body (NUL-terminated), or NULL */
  size_t len; /* bytes of body */
  char error[PROXY_FETCH_ERROR_MAX]; /* "" on success */
};

/*
 * Blocking: runs a private libuv loop until the download ends (never call
 * it on a loop thread). Returns 0 with out->body set, or -1 with
 * out->error naming the URL's host and the cause (DNS, connect, TLS, an
 * HTTP status other than 200, a malformed or over-long response). The
 * caller calls proxy_fetch_result_cleanup() in both cases.
 */
int proxy_fetch_get(const struct proxy_fetch_options *o,
                    struct proxy_fetch_result *out);

/* Returns 0 when proxy_fetch_get() would accept url (https, a valid
 * host, no user name), else -1 with *why a static English reason. */
int proxy_fetch_url_check(const char *url, const char **why);

/* DESTRUCTOR of the result's body. NULL accepted. */
void proxy_fetch_result_cleanup(struct proxy_fetch_result *r);

/*
 * Returns 1 when data looks like base64 text rather than a list: the
 * first non-blank byte is not '{', every byte is in the base64 alphabet
 * (A-Z a-z 0-9 + /) or a line break, '=' only as the final padding, and
 * the characters other than line breaks are a non-zero multiple of 4.
 */
int proxy_fetch_is_base64(const char *data, size_t len);

/*
 * Decodes base64 text (line breaks allowed) into a new buffer *out
 * (NUL-terminated, freed by the caller) of *outlen bytes. Returns 0, or
 * -1 (malformed input, out of memory) with *out NULL.
 */
int proxy_fetch_base64_decode(const char *data, size_t len, char **out,
                              size_t *outlen);

#endif /* PROXY_FETCH_H */
