/*
 * hsts_host.h - host name normalization (RFC 6797 section 8.3, RFC 1035).
 *
 * Names are compared case-insensitively with one trailing dot dropped.
 * Internationalized names arrive as punycode ("xn--...") and are ordinary
 * labels here. IPv4 and IPv6 literals are recognised so that callers can
 * refuse them: they are never HSTS hosts.
 */
#ifndef HSTS_HOST_H
#define HSTS_HOST_H

#include "hsts.h"

#define HSTS_HOST_MAX  253 /* octets in a name, without a trailing dot */
#define HSTS_LABEL_MAX 63  /* octets in one label */

enum hsts_host_kind {
  HSTS_HOST_NAME = 0, /* a DNS name */
  HSTS_HOST_IPV4,     /* dotted-quad IPv4 literal */
  HSTS_HOST_IPV6      /* IPv6 literal, with or without [brackets] */
};

/*
 * Normalizes the `len` bytes at `in` into `out` (NUL-terminated, at most
 * HSTS_HOST_MAX + 1 bytes written): lowercase, one trailing dot dropped.
 * Sets *kind. An IPv6 literal is written without brackets, lowercased.
 * Returns HSTS_OK, or HSTS_EHOST_* / HSTS_ELABEL_* naming the defect.
 * `in` need not be NUL-terminated. Underscores are accepted in labels (they
 * occur in real DNS names); anything else outside [A-Za-z0-9-] is refused.
 * IPv4 means exactly four decimal parts 0-255 without leading zeros; a name
 * whose last label is numeric in any other way ("127.1", "0x7f.0.0.1",
 * "010.0.0.1", "example.123") is what browsers treat as an IPv4 shorthand,
 * and is refused with HSTS_EHOST_IP. IPv6 zone identifiers are refused.
 */
int hsts_host_normalize(const char *in, size_t len, char out[HSTS_HOST_MAX + 1],
                        enum hsts_host_kind *kind);

/* Returns 1 when `host` (normalized) is "localhost" or below it. */
int hsts_host_is_localhost(const char *host);

#endif /* HSTS_HOST_H */
