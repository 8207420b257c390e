/*
 * hsts.h - common definitions of the HSTS engine (RFC 6797).
 *
 * hsts/ is pure logic: it does no I/O, reads no clock (callers pass `now`
 * as Unix seconds) and allocates only where a function says so. It is used
 * by store/ (import, learned policies) and proxy/ (the hot-path lookup).
 *
 * Modules: hsts_host.h (host names), hsts_header.h (the STS header),
 * hsts_index.h (policy index and Chromium-order lookup), hsts_url.h
 * (absolute URLs and the https upgrade), hsts_idna.h (names people type
 * with U-labels, IDNA 2008 through libidn2).
 */
#ifndef HSTS_H
#define HSTS_H

#include <stddef.h>
#include <stdint.h>

/* Error codes of every hsts_ function. 0 is success. */
enum hsts_err {
  HSTS_OK = 0,
  HSTS_EHOST_EMPTY,     /* empty host name */
  HSTS_EHOST_TOO_LONG,  /* over 253 octets */
  HSTS_ELABEL_EMPTY,    /* empty label ("a..b", ".a") */
  HSTS_ELABEL_TOO_LONG, /* label over 63 octets */
  HSTS_EHOST_CHAR,      /* a byte outside letters, digits, '-', '_' */
  HSTS_EHOST_IP,        /* an IP literal where a name is required */
  HSTS_EHEADER_INVALID, /* the STS header is invalid (see problems) */
  HSTS_EURL,            /* malformed URL */
  HSTS_ENOSPC,          /* output buffer too small */
  HSTS_ENOMEM,          /* allocation failed */
  HSTS_ENOTFOUND,       /* no such entry */
  HSTS_EHOST_IDNA       /* not a valid internationalized name */
};

/* Returns a static English description of an hsts_err. Never NULL. */
const char *hsts_strerror(int err);

/* Where a policy comes from. Preload and builtin are "static" (from a
 * list); learned and manual are "dynamic" (stored by this program). */
enum hsts_source {
  HSTS_SOURCE_NONE = 0,
  HSTS_SOURCE_BUILTIN,
  HSTS_SOURCE_PRELOAD,
  HSTS_SOURCE_LEARNED,
  HSTS_SOURCE_MANUAL
};

/* "none", "builtin", "preload", "learned", "manual". */
const char *hsts_source_name(enum hsts_source source);

/* Parses a name as above; returns HSTS_SOURCE_NONE for anything else. */
enum hsts_source hsts_source_parse(const char *name);

/* One year: RFC 6797 max-age values above it are capped (as Chromium). */
#define HSTS_MAX_AGE_CAP 31536000u

/* Units of time: the one definition every layer uses. */
#define HSTS_MS_PER_S  1000
#define HSTS_NS_PER_S  1000000000L
#define HSTS_NS_PER_MS 1000000L

#endif /* HSTS_H */
