/*
 * proxy_log.c - what the proxy tells the hop log (store_writer.h).
 *
 * The loops describe three things and hand them to the store's writer,
 * which copies them into its ring at once (never blocking on the disk;
 * a full ring drops the record and counts it):
 *  - an "hsts-upgrade" hop for every internal 307 (proxy_upgrade.c), with
 *    the policy that decided;
 *  - an "upstream-redirect" hop for every 3xx response with a Location
 *    that an origin sent (proxy_exchange.c), with the address connected
 *    to and the raw Strict-Transport-Security header; the writer resolves
 *    the Location and derives chains, scheme_change and bootstrap;
 *  - a traffic count for every plain-HTTP request (upgraded or forwarded)
 *    and every CONNECT, for the audit's per-host counters.
 * A hop says how its client came (`via`): configured to use the proxy, or
 * redirected to it by the network (proxy_intercept.c); an intercepted
 * request's URL is made absolute from its Host and origin-form target.
 * Strings reach the writer NUL-terminated, copied from views into the
 * request or response head into the worker's scratch area (one per loop
 * thread, reused: no allocation per record).
 *
 * Request ids are 64 bits, unique within a run by construction (the
 * worker's index in the top 8 bits, its own counter below) and made
 * unique across runs by XOR with a random salt drawn at start: two runs
 * collide only if their salts happen to line up, about one chance in
 * 2^64 per pair of ids.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proxy_conn.h"
#include "proxy_log.h"
#include "proxy_server.h"
#include "proxy_upstream.h"
#include "store.h"
#include "store_writer.h"

#define WORKER_SHIFT   56 /* request id: worker index above, counter below */
#define COUNTER_MASK   ((UINT64_C(1) << WORKER_SHIFT) - 1)
#define NS_PER_US      1000
#define SALT_MIX       UINT64_C(0x9E3779B97F4A7C15) /* golden ratio, odd */
#define STATUS_3XX_MIN 300
#define STATUS_3XX_MAX 399

int64_t proxy__wall_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * HSTS_MS_PER_S + ts.tv_nsec / HSTS_NS_PER_MS;
}

uint64_t proxy__request_salt(void)
{
  uint64_t salt = 0;

  if (uv_random(NULL, NULL, &salt, sizeof(salt), 0, NULL) != 0)
    salt = (uv_hrtime() ^ (uint64_t)proxy__wall_ms()) * SALT_MIX;
  return salt;
}

uint64_t proxy__request_id(struct proxy_worker *w)
{
  uint64_t n = ++w->hops & COUNTER_MASK;

  return w->server->request_salt ^ ((uint64_t)w->index << WORKER_SHIFT | n);
}

/* Copies into the worker's scratch area, NUL-terminated. */
struct pack {
  char *p;
  size_t left;
};

static void pack_init(struct pack *k, struct proxy_worker *w)
{
  k->p = w->scratch;
  k->left = sizeof(w->scratch);
}

/* A copy of s[0..len), at most max bytes of it; NULL for NULL. */
static const char *pack(struct pack *k, const char *s, size_t len, size_t max)
{
  char *out = k->p;

  if (s == NULL || k->left == 0)
    return NULL;
  if (len > max)
    len = max;
  if (len > k->left - 1)
    len = k->left - 1;
  memcpy(out, s, len);
  out[len] = '\0';
  k->p += len + 1;
  k->left -= len + 1;
  return out;
}

static const char *pack_field(struct pack *k, const struct http1_field *f,
                              size_t max)
{
  return f != NULL ? pack(k, f->value, f->value_len, max) : NULL;
}

/* An intercepted request's absolute URL: "http://" Host, then the
 * origin-form target (truncated to max bytes). */
static const char *pack_url(struct pack *k, const struct proxy_conn *conn,
                            size_t max)
{
  static const char scheme[] = "http://";
  const struct proxy_target *t = &conn->target;
  size_t alen = strlen(t->authority), n = sizeof(scheme) - 1 + alen;
  char *out = k->p;

  if (k->left < n + 1 || max < n)
    return NULL;
  memcpy(out, scheme, sizeof(scheme) - 1);
  memcpy(out + sizeof(scheme) - 1, t->authority, alen);
  k->p += n;
  k->left -= n;
  (void)pack(k, t->path, t->path_len, max - n); /* joins on: out[n] on */
  return out;
}

/* The fields every hop has, from the request on conn. */
static void hop_request(struct proxy_conn *conn, struct pack *k,
                        struct store_hop *h)
{
  const struct http1_request *req = &conn->req;

  memset(h, 0, sizeof(*h));
  h->time_ms = conn->req_ms;
  h->duration_us = (int64_t)((uv_hrtime() - conn->req_ns) / NS_PER_US);
  h->request_id = proxy__request_id(conn->worker);
  h->client = conn->peer_ip;
  h->user_agent =
      pack_field(k, http1_find_field(req->fields, req->nfields, "user-agent"),
                 STORE_HOP_TEXT_MAX);
  h->method = pack(k, req->method, req->method_len, STORE_HOP_SHORT_MAX);
  h->intercepted = conn->kind != PROXY_LISTEN_PROXY;
  h->url = h->intercepted
               ? pack_url(k, conn, STORE_HOP_URL_MAX)
               : pack(k, req->target, req->target_len, STORE_HOP_URL_MAX);
  h->http_version = req->version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
}

static void submit_hop(struct proxy_conn *conn, const struct store_hop *h)
{
  struct store_writer *wr = conn->worker->server->writer;

  if (wr != NULL) /* STORE_EFULL: dropped and counted by the writer */
    (void)store_writer_hop(wr, h);
}

void proxy__log_upgrade(struct proxy_conn *conn, const struct hsts_result *r,
                        const char *location)
{
  const struct hsts_entry *e = &r->winner;
  int dynamic =
      r->source == HSTS_SOURCE_LEARNED || r->source == HSTS_SOURCE_MANUAL;
  struct store_hop h;
  struct pack k;

  pack_init(&k, conn->worker);
  hop_request(conn, &k, &h);
  h.status = 307;
  h.reason = "Internal Redirect";
  h.location = location;
  h.kind = STORE_HOP_UPGRADE;
  h.policy_source = r->source;
  h.policy_host = e->host;
  if (!dynamic) /* the list that judged it, for an audit */
    h.policy_list = conn->worker->hsts->list_name;
  h.include_subdomains = e->include_subdomains;
  h.expires = dynamic && e->expires != STORE_NEVER ? e->expires : 0;
  submit_hop(conn, &h);
}

/* "192.0.2.1:80" -> "192.0.2.1", "[::1]:80" -> "::1". */
static const char *ip_of(struct pack *k, const char *addr)
{
  const char *colon = strrchr(addr, ':');
  size_t len = colon != NULL ? (size_t)(colon - addr) : strlen(addr);

  if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']')
    return pack(k, addr + 1, len - 2, STORE_HOP_SHORT_MAX);
  return pack(k, addr, len, STORE_HOP_SHORT_MAX);
}

void proxy__log_redirect(struct proxy_conn *conn,
                         const struct http1_response *resp)
{
  const struct http1_field *loc, *sts;
  struct store_hop h;
  struct pack k;

  if (resp->status < STATUS_3XX_MIN || resp->status > STATUS_3XX_MAX)
    return;
  loc = http1_find_field(resp->fields, resp->nfields, "location");
  if (loc == NULL)
    return;
  sts = http1_find_field(resp->fields, resp->nfields,
                         "strict-transport-security");
  pack_init(&k, conn->worker);
  hop_request(conn, &k, &h);
  h.status = resp->status;
  h.reason = pack(&k, resp->reason, resp->reason_len, STORE_HOP_SHORT_MAX);
  h.location = pack_field(&k, loc, STORE_HOP_URL_MAX);
  h.kind = STORE_HOP_REDIRECT;
  h.upstream_ip = conn->up != NULL ? ip_of(&k, conn->up->peer) : NULL;
  h.sts_header = pack_field(&k, sts, STORE_HOP_TEXT_MAX);
  submit_hop(conn, &h);
}

void proxy__log_traffic(struct proxy_conn *conn, int connect)
{
  struct store_writer *wr = conn->worker->server->writer;
  struct store_traffic t;

  if (wr == NULL)
    return;
  memset(&t, 0, sizeof(t));
  t.time_ms = conn->req_ms;
  t.host = conn->target.host;
  t.kind = connect ? STORE_TRAFFIC_CONNECT : STORE_TRAFFIC_HTTP;
  t.port = conn->target.port;
  (void)store_writer_traffic(wr, &t);
}
