/*
 * proxy_log.h - hop and traffic records for the store's hop log
 * (proxy_log.c), and the request ids they carry. Not the stderr debug
 * log: that is proxy_debug.h.
 */
#ifndef PROXY_LOG_H
#define PROXY_LOG_H

#include <stdint.h>

#include "hsts_index.h"
#include "http1.h"

struct proxy_conn;
struct proxy_worker;

/* A random salt for this run's request ids (proxy_server.c, at start). */
uint64_t proxy__request_salt(void);
/* Wall clock, Unix milliseconds. */
int64_t proxy__wall_ms(void);
/* A request id unique across workers and, with the run's salt, runs. */
uint64_t proxy__request_id(struct proxy_worker *w);
/* Submits the hop of an internal upgrade to location (per r's winner). */
void proxy__log_upgrade(struct proxy_conn *conn, const struct hsts_result *r,
                        const char *location);
/* Submits the hop of an origin's 3xx with a Location, if resp is one. */
void proxy__log_redirect(struct proxy_conn *conn,
                         const struct http1_response *resp);
/* Submits a traffic count: a plain-HTTP request, or a CONNECT. */
void proxy__log_traffic(struct proxy_conn *conn, int connect);

#endif /* PROXY_LOG_H */
