/*
 * hsts_host.c - host name normalization and IP literal detection.
 *
 * Every host that reaches the policy index passes through
 * hsts_host_normalize(): it lowercases, drops one trailing dot and rejects
 * what is not a DNS name (RFC 1035 lengths, letters, digits, '-' and '_').
 * IP literals are recognised with our own strict parsers (no inet_pton, so
 * the rules are the same on every libc): a dotted quad of four decimal
 * parts without leading zeros, and RFC 4291 text for IPv6 (one "::" at
 * most, an optional trailing dotted quad, no zone identifier).
 *
 * A name whose last label is numeric ("127.1", "0x7f.0.0.1", "010.0.0.1")
 * is what browsers parse as an IPv4 address in a shorthand form (WHATWG URL
 * "ends in a number"); we refuse it with HSTS_EHOST_IP rather than guess.
 */
#include <string.h>

#include "hsts_host.h"

#define IPV4_PARTS        4
#define IPV4_PART_DIGITS  3
#define IPV4_PART_MAX     255
#define IPV6_GROUPS       8
#define IPV6_GROUP_DIGITS 4
#define IPV6_TEXT_MAX     45 /* "ffff:...:ffff:255.255.255.255" */
#define LOCALHOST         "localhost"
#define LOCALHOST_SUFFIX  ".localhost"

static int is_digit(unsigned char c)
{
  return c >= '0' && c <= '9';
}

static int is_hex(unsigned char c)
{
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned char to_lower(unsigned char c)
{
  return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static int is_name_char(unsigned char c)
{
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         c == '-' || c == '_';
}

/* 1 when s[0..n) is exactly four decimal parts 0-255, no leading zeros. */
static int ipv4_strict(const char *s, size_t n)
{
  size_t i = 0;
  int part;

  for (part = 0; part < IPV4_PARTS; part++) {
    size_t start = i;
    unsigned value = 0;

    while (i < n && is_digit((unsigned char)s[i]) &&
           i - start < IPV4_PART_DIGITS) {
      value = value * 10 + (unsigned)(s[i] - '0');
      i++;
    }
    if (i == start || value > IPV4_PART_MAX) {
      return 0;
    }
    if (s[start] == '0' && i - start > 1) {
      return 0; /* leading zero: octal in inet_aton, refused here */
    }
    if (part < IPV4_PARTS - 1) {
      if (i >= n || s[i] != '.') {
        return 0;
      }
      i++;
    }
  }
  return i == n;
}

/* 1 when s[0..n) is IPv6 text (RFC 4291 section 2.2), no zone. */
static int ipv6_valid(const char *s, size_t n)
{
  size_t i = 0;
  int groups = 0, gap = 0;

  if (n == 0 || n > IPV6_TEXT_MAX) {
    return 0;
  }
  if (n >= 2 && s[0] == ':' && s[1] == ':') {
    gap = 1;
    i = 2;
  }
  while (i < n) {
    size_t start = i;

    while (i < n && is_hex((unsigned char)s[i])) {
      i++;
    }
    if (i < n && s[i] == '.') {
      /* A trailing dotted quad stands for the last two groups. */
      if (!ipv4_strict(s + start, n - start)) {
        return 0;
      }
      groups += 2;
      break;
    }
    if (i == start || i - start > IPV6_GROUP_DIGITS) {
      return 0;
    }
    groups++;
    if (i == n) {
      break;
    }
    if (s[i] != ':' || i + 1 == n) {
      return 0;
    }
    i++;
    if (s[i] == ':') {
      if (gap) {
        return 0;
      }
      gap = 1;
      i++;
    }
  }
  return gap ? groups < IPV6_GROUPS : groups == IPV6_GROUPS;
}

/* WHATWG "ends in a number": the last label is decimal or 0x-hex. */
static int last_label_numeric(const char *s, size_t n)
{
  size_t start = n, i;

  while (start > 0 && s[start - 1] != '.') {
    start--;
  }
  if (n - start >= 2 && s[start] == '0' && to_lower(s[start + 1]) == 'x') {
    for (i = start + 2; i < n; i++) {
      if (!is_hex((unsigned char)s[i])) {
        return 0;
      }
    }
    return 1;
  }
  for (i = start; i < n; i++) {
    if (!is_digit((unsigned char)s[i])) {
      return 0;
    }
  }
  return n > start;
}

static int normalize_ipv6(const char *in, size_t len,
                          char out[HSTS_HOST_MAX + 1],
                          enum hsts_host_kind *kind)
{
  size_t i;

  if (len == 0) {
    return HSTS_EHOST_EMPTY;
  }
  if (!ipv6_valid(in, len)) {
    return HSTS_EHOST_CHAR;
  }
  for (i = 0; i < len; i++) {
    out[i] = (char)to_lower((unsigned char)in[i]);
  }
  out[len] = '\0';
  *kind = HSTS_HOST_IPV6;
  return HSTS_OK;
}

/* Copies and lowercases a name, checking every label. */
static int normalize_name(const char *in, size_t len,
                          char out[HSTS_HOST_MAX + 1])
{
  size_t i, label = 0;

  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)in[i];

    if (c == '.') {
      if (label == 0) {
        return HSTS_ELABEL_EMPTY;
      }
      label = 0;
    } else if (!is_name_char(c)) {
      return HSTS_EHOST_CHAR;
    } else if (++label > HSTS_LABEL_MAX) {
      return HSTS_ELABEL_TOO_LONG;
    }
    out[i] = (char)to_lower(c);
  }
  if (label == 0) {
    return HSTS_ELABEL_EMPTY;
  }
  out[len] = '\0';
  return HSTS_OK;
}

int hsts_host_normalize(const char *in, size_t len, char out[HSTS_HOST_MAX + 1],
                        enum hsts_host_kind *kind)
{
  int err;

  *kind = HSTS_HOST_NAME;
  out[0] = '\0';
  if (len == 0) {
    return HSTS_EHOST_EMPTY;
  }
  if (in[0] == '[') {
    if (len < 2 || in[len - 1] != ']') {
      return HSTS_EHOST_CHAR;
    }
    return normalize_ipv6(in + 1, len - 2, out, kind);
  }
  if (memchr(in, ':', len) != NULL) {
    return normalize_ipv6(in, len, out, kind);
  }
  if (in[len - 1] == '.') {
    len--; /* one trailing dot: the DNS root */
  }
  if (len == 0) {
    return HSTS_EHOST_EMPTY;
  }
  if (len > HSTS_HOST_MAX) {
    return HSTS_EHOST_TOO_LONG;
  }
  err = normalize_name(in, len, out);
  if (err != HSTS_OK) {
    out[0] = '\0';
    return err;
  }
  if (last_label_numeric(out, len)) {
    if (!ipv4_strict(out, len)) {
      out[0] = '\0';
      return HSTS_EHOST_IP;
    }
    *kind = HSTS_HOST_IPV4;
  }
  return HSTS_OK;
}

int hsts_host_is_localhost(const char *host)
{
  size_t n, suffix = sizeof(LOCALHOST_SUFFIX) - 1;

  if (host == NULL) {
    return 0;
  }
  if (strcmp(host, LOCALHOST) == 0) {
    return 1;
  }
  n = strlen(host);
  return n > suffix && strcmp(host + n - suffix, LOCALHOST_SUFFIX) == 0;
}
