/*
 * proxy_upgrade.h - the internal 307 to https for HSTS hosts, and the
 * discard phase that drops the request body after it (proxy_upgrade.c).
 */
#ifndef PROXY_UPGRADE_H
#define PROXY_UPGRADE_H

#include <stddef.h>
#include <uv.h>

#include "hsts_url.h"
#include "proxy.h"

struct proxy_conn;

/* How the 307 ends its head. */
enum proxy_conn_mode {
  PROXY_CONN_PERSIST = 0, /* HTTP/1.1 default: nothing to say */
  PROXY_CONN_KEEP_ALIVE,  /* HTTP/1.0 keep-alive: say so */
  PROXY_CONN_CLOSE        /* the connection ends after the answer */
};

/* Bytes proxy__upgrade_build() needs for u and an Origin of origin_len. */
size_t proxy__upgrade_need(const struct hsts_url *u, size_t origin_len);

/*
 * Builds the 307 head for the upgraded u into buf (cap bytes, at least
 * proxy__upgrade_need()) and points out[0..PROXY_UPGRADE_BUFS) at it and
 * at static text; origin (may be NULL) is echoed in
 * Access-Control-Allow-Origin. Sets *total to the head's length and
 * *loc, *loc_len to the Location (NUL-terminated, in buf). Returns 0, or
 * -1 when buf is too small. Pure.
 */
int proxy__upgrade_build(const struct hsts_url *u, const char *origin,
                         size_t origin_len, enum proxy_conn_mode mode,
                         char *buf, size_t cap,
                         uv_buf_t out[PROXY_UPGRADE_BUFS], size_t *total,
                         const char **loc, size_t *loc_len);

/*
 * The HSTS stage: when conn->target is an HSTS host per the worker's
 * snapshot, answers the internal 307 for conn->target.url (no DNS, no
 * origin), logs the hop, discards the request body, and returns 1.
 * Returns 0: forward.
 */
int proxy__upgrade(struct proxy_conn *conn);

#endif /* PROXY_UPGRADE_H */
