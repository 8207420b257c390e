/*
 * proxy_forward.h - rewriting heads for forwarding (proxy_forward.c):
 * hop-by-hop fields out, Via in (RFC 9110 section 7.6).
 */
#ifndef PROXY_FORWARD_H
#define PROXY_FORWARD_H

#include <stddef.h>

#include "http1.h"

struct proxy_conn;
struct proxy_wreq;

/* Returns 1 when a Via field names hstsproxy as a recipient. */
int proxy__via_has_us(const struct http1_field *fields, size_t n);
/* Returns 1 for a WebSocket upgrade request. */
int proxy__is_ws_upgrade(const struct http1_request *req);
/* Builds the origin-form request head; NULL when out of memory. */
struct proxy_wreq *proxy__request_head(const struct proxy_conn *conn);
/* Builds the head for the client from the origin's response, in a wreq
 * with room more bytes after it (body bytes sent in the same write). */
struct proxy_wreq *proxy__response_head(const struct http1_response *resp,
                                        int client_minor, int keep_alive,
                                        int upgrade, size_t room);

#endif /* PROXY_FORWARD_H */
