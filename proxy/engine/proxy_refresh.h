/*
 * proxy_refresh.h - the preload list's refresh in `run`
 * (--preload-refresh, --preload-url): proxy_refresh.c.
 *
 * Main thread only. start arms the refresh timer on the server's loop
 * (nothing when it is off); stop closes it once the workers have ended;
 * free releases it after the loop is closed (NULL-safe).
 */
#ifndef PROXY_REFRESH_H
#define PROXY_REFRESH_H

#include "proxy_server.h"

int proxy__refresh_start(struct proxy_server *s, struct proxy_error *e);
void proxy__refresh_stop(struct proxy_server *s);
void proxy__refresh_free(struct proxy_server *s);
/* The URL a refresh downloads: cfg's, or the default. */
const char *proxy__refresh_url(const struct proxy_config *cfg);

#endif /* PROXY_REFRESH_H */
