/*
 * proxy_dns.c - name resolution for one worker, never blocking its loop.
 *
 * IP literals need no lookup. Names go to uv_getaddrinfo, which runs the
 * blocking resolver on libuv's thread pool; answers are kept in a small
 * per-worker cache (PROXY_DNS_CACHE_ENTRIES slots, PROXY_DNS_TTL_MS for
 * addresses, PROXY_DNS_NEG_TTL_MS for failures; the oldest slot is
 * reused when full). getaddrinfo reports no TTL, so ours is fixed.
 *
 * A query owns itself from uv_getaddrinfo to its callback. The waiter (a
 * client connection) may go away first: proxy__dns_detach() clears the
 * callback, and the answer is still cached for the next request.
 */
#include <stdlib.h>
#include <string.h>

#include "proxy_net.h"

struct proxy_dns_query {
  uv_getaddrinfo_t req;
  struct proxy_dns *dns;               /* not owned */
  struct proxy_dns_query *prev, *next; /* dns->queries */
  proxy__dns_cb cb;                    /* NULL once detached */
  void *arg;
  char host[PROXY_HOST_MAX + 1];
};

void proxy__dns_init(struct proxy_dns *dns, uv_loop_t *loop)
{
  memset(dns, 0, sizeof(*dns));
  dns->loop = loop;
}

void proxy__dns_cancel_all(struct proxy_dns *dns)
{
  struct proxy_dns_query *q;

  for (q = dns->queries; q != NULL; q = q->next)
    uv_cancel((uv_req_t *)&q->req);
}

void proxy__dns_detach(struct proxy_dns_query *q)
{
  if (q != NULL) {
    q->cb = NULL;
    q->arg = NULL;
  }
}

/* An IP literal: one address, no lookup. Returns 1 when host was one. */
static int literal(const char *host, struct proxy_addrs *out)
{
  memset(out, 0, sizeof(*out));
  if (uv_inet_pton(AF_INET, host, &out->a[0].in.sin_addr) == 0) {
    out->a[0].in.sin_family = AF_INET;
    out->n = 1;
    return 1;
  }
  if (uv_inet_pton(AF_INET6, host, &out->a[0].in6.sin6_addr) == 0) {
    out->a[0].in6.sin6_family = AF_INET6;
    out->n = 1;
    return 1;
  }
  return 0;
}

static struct proxy_dns_entry *cache_find(struct proxy_dns *dns,
                                          const char *host)
{
  uint64_t now = uv_now(dns->loop);
  size_t i;

  for (i = 0; i < PROXY_DNS_CACHE_ENTRIES; i++) {
    struct proxy_dns_entry *e = &dns->entries[i];

    if (e->host[0] == '\0' || strcmp(e->host, host) != 0)
      continue;
    if (e->expires_ms > now)
      return e;
    e->host[0] = '\0'; /* expired */
    return NULL;
  }
  return NULL;
}

/* The slot to (re)use for host: its own, a free one, or the oldest. */
static struct proxy_dns_entry *cache_slot(struct proxy_dns *dns,
                                          const char *host)
{
  struct proxy_dns_entry *victim = &dns->entries[0];
  size_t i;

  for (i = 0; i < PROXY_DNS_CACHE_ENTRIES; i++) {
    struct proxy_dns_entry *e = &dns->entries[i];

    if (e->host[0] == '\0' || strcmp(e->host, host) == 0)
      return e;
    if (e->expires_ms < victim->expires_ms)
      victim = e;
  }
  return victim;
}

static void copy_results(const struct addrinfo *res, struct proxy_addrs *out)
{
  const struct addrinfo *ai;

  memset(out, 0, sizeof(*out));
  for (ai = res; ai != NULL && out->n < PROXY_DNS_MAX_ADDRS; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(out->a[0].in))
      memcpy(&out->a[out->n++].in, ai->ai_addr, sizeof(out->a[0].in));
    else if (ai->ai_family == AF_INET6 &&
             ai->ai_addrlen >= sizeof(out->a[0].in6))
      memcpy(&out->a[out->n++].in6, ai->ai_addr, sizeof(out->a[0].in6));
  }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
  struct proxy_dns_query *q = req->data;
  struct proxy_dns *dns = q->dns;
  struct proxy_addrs addrs;
  proxy__dns_cb cb = q->cb;
  void *arg = q->arg;

  if (q->prev != NULL)
    q->prev->next = q->next;
  else
    dns->queries = q->next;
  if (q->next != NULL)
    q->next->prev = q->prev;

  memset(&addrs, 0, sizeof(addrs));
  if (status == 0)
    copy_results(res, &addrs);
  if (status == 0 && addrs.n == 0)
    status = UV_EAI_NODATA;
  if (status != UV_EAI_CANCELED && status != UV_ECANCELED) {
    struct proxy_dns_entry *e = cache_slot(dns, q->host);

    memcpy(e->host, q->host, sizeof(e->host));
    e->status = status;
    e->addrs = addrs;
    e->expires_ms = uv_now(dns->loop) +
                    (status == 0 ? PROXY_DNS_TTL_MS : PROXY_DNS_NEG_TTL_MS);
  }
  uv_freeaddrinfo(res);
  free(q);
  if (cb != NULL)
    cb(arg, status, &addrs);
}

int proxy__dns_resolve(struct proxy_dns *dns, const char *host,
                       struct proxy_addrs *out, proxy__dns_cb cb, void *arg,
                       struct proxy_dns_query **query)
{
  struct addrinfo hints;
  struct proxy_dns_entry *e;
  struct proxy_dns_query *q;
  int err;

  *query = NULL;
  if (literal(host, out))
    return 0;
  e = cache_find(dns, host);
  if (e != NULL) {
    *out = e->addrs;
    return e->status;
  }
  q = calloc(1, sizeof(*q));
  if (q == NULL)
    return UV_ENOMEM;
  q->dns = dns;
  q->cb = cb;
  q->arg = arg;
  q->req.data = q;
  snprintf(q->host, sizeof(q->host), "%s", host);
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  err = uv_getaddrinfo(dns->loop, &q->req, on_resolved, q->host, NULL, &hints);
  if (err < 0) {
    free(q);
    return err;
  }
  q->next = dns->queries;
  if (dns->queries != NULL)
    dns->queries->prev = q;
  dns->queries = q;
  *query = q;
  return 1;
}
