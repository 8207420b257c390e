/*
 * hsts_url.h - absolute URLs as a proxy sees them, and the https upgrade.
 *
 * Only what a forward proxy needs of RFC 3986: splitting an absolute-form
 * request target (RFC 9112 section 3.2.2) or an authority (CONNECT,
 * section 3.2.3), building the upgraded URL (RFC 6797 section 8.3), and
 * resolving a Location reference against the request URL (RFC 3986
 * section 5.2) for the hop log. Results are views into the input.
 */
#ifndef HSTS_URL_H
#define HSTS_URL_H

#include "hsts.h"

/* A split absolute URL. All pointers are views into the parsed input. */
struct hsts_url {
  const char *scheme; /* "http" or "https" as sent (any case) */
  size_t scheme_len;
  const char *userinfo; /* NULL when absent; never copied on upgrade */
  size_t userinfo_len;
  const char *host; /* IPv6 literals without their brackets */
  size_t host_len;
  int is_ipv6;      /* host was a [bracketed] literal */
  unsigned port;    /* explicit port, or 0 when none was given */
  const char *path; /* path and query as sent; may be empty */
  size_t path_len;
};

/*
 * Splits the absolute URL `url` (`len` bytes, any scheme). Refuses what a
 * strict proxy must not guess at: no "//", empty host, a port that is not
 * 1-65535 digits, bytes that cannot appear in a request target, a
 * fragment. Returns HSTS_OK or HSTS_EURL.
 * Accepted in path and query: any visible ASCII byte but '#' (browsers
 * send '|', '{', '^' raw); refused anywhere: space, controls, DEL, bytes
 * over 0x7f. The host must match RFC 3986 reg-name (letters, digits,
 * "-._~!$&'()*+,;=", %XX) or be a bracketed IPv6 literal (no zone, no
 * IPvFuture); callers still normalize it with hsts_host_normalize().
 */
int hsts_url_parse(const char *url, size_t len, struct hsts_url *out);

/*
 * Splits an authority "host:port" (port required, as in CONNECT); IPv6 as
 * "[::1]:443". Returns HSTS_OK or HSTS_EURL.
 */
int hsts_authority_parse(const char *s, size_t len, struct hsts_url *out);

/* Scheme's default port: 80 for http, 443 for https, 0 otherwise. */
unsigned hsts_url_default_port(const struct hsts_url *u);

/*
 * Writes the upgraded URL "https://host[:port]path" into out (`outsz`
 * bytes, NUL-terminated) and its length to *outlen: userinfo dropped, the
 * host lowercased (IPv6 in brackets), port 80 or none becomes none, any
 * other port kept except 443, https's default, which Chromium's URL
 * canonicalization drops too; path and query byte for byte, with "/" put
 * before them when the path is empty ("http://h?q" -> "https://h/?q").
 * Returns HSTS_OK or HSTS_ENOSPC (out is then ""; outlen may be NULL).
 */
int hsts_url_upgrade(const struct hsts_url *u, char *out, size_t outsz,
                     size_t *outlen);

/*
 * Resolves the reference `ref` (a Location value) against the absolute URL
 * `base` (RFC 3986 section 5.2, strict: a ref with a scheme stands alone,
 * dot segments removed) into out (`outsz` bytes, NUL-terminated). A
 * fragment in `ref` is kept. Both inputs must be visible ASCII: a Location
 * with spaces or raw UTF-8 is refused, never escaped. Returns HSTS_OK,
 * HSTS_EURL (also when base has no scheme) or HSTS_ENOSPC.
 */
int hsts_url_resolve(const char *base, size_t base_len, const char *ref,
                     size_t ref_len, char *out, size_t outsz);

#endif /* HSTS_URL_H */
