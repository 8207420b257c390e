/*
 * proxy_console.c - the console's front door: which paths it owns, who
 * may use it, the CSRF rule, the embedded pages and GET /api/status.
 *
 * Pages: /console (the overview), /hops, /hsts, /audit, and their script
 * and style under /console/ (the files of console/, turned into C
 * arrays at build time: proxy_console_assets.c, see CMakeLists.txt). The
 * API lives under /api/ (docs/CLI.md, "The console"). The status page
 * (/) and the PAC file stay proxy_local.c's.
 *
 * Rules, in order, for every console path:
 *  - a client outside --console-allow (default: loopback) gets 403;
 *  - a method the path does not serve gets 405 with Allow;
 *  - a state-changing request (POST, DELETE) needs
 *    `Content-Type: application/json` and `X-CSRF-Token` equal to this
 *    process's token (random, from GET /api/status): else 403. A page of
 *    another origin can send neither without a CORS preflight, which the
 *    proxy never answers with permission.
 * Every answer says no-store, nosniff, and carries a strict
 * Content-Security-Policy: scripts and styles only from the console's own
 * files, no inline code, connections only to the proxy itself.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy_auth.h"
#include "proxy_conn.h"
#include "proxy_console.h"
#include "proxy_server.h"
#include "store_writer.h"

#define HTML_TYPE   "text/html; charset=utf-8"
#define CSS_TYPE    "text/css; charset=utf-8"
#define JS_TYPE     "text/javascript; charset=utf-8"
#define STATUS_MAX  2048
#define HEX_DIGITS  "0123456789abcdef"
#define NIBBLE_BITS 4
#define NIBBLE_MASK 0xfu
#define PARAM_HEX   16
#define COMMON_HEADS                                               \
  "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n" \
  "Referrer-Policy: no-referrer\r\n"
#define PAGE_CSP                                                     \
  "Content-Security-Policy: default-src 'none'; script-src 'self'; " \
  "style-src 'self'; connect-src 'self'; img-src 'self' data:; "     \
  "frame-src 'self'; base-uri 'none'; form-action 'self'; "          \
  "frame-ancestors 'none'\r\n"

/* proxy_console_assets.c (generated): the files of console/. */
struct proxy_console_asset {
  const char *name;
  const unsigned char *data;
  size_t len;
};
extern const struct proxy_console_asset proxy__console_assets[];
extern const size_t proxy__console_nassets;

enum route {
  R_PAGE,   /* an embedded file */
  R_STATUS, /* GET /api/status */
  R_HOPS,   /* GET /api/hops */
  R_STREAM, /* GET /api/hops/stream */
  R_POLICY, /* GET, POST, DELETE /api/policy */
  R_AUDIT   /* GET /api/audit: the report, in the /audit page's frame */
};

struct path {
  const char *path;
  enum route route;
  const char *asset; /* R_PAGE */
  const char *allow; /* the methods served, for 405 */
};

#define GET_ONLY "GET, HEAD"

static const struct path paths[] = {
  { "/console", R_PAGE, "overview.html", GET_ONLY },
  { "/console/", R_PAGE, "overview.html", GET_ONLY },
  { "/hops", R_PAGE, "hops.html", GET_ONLY },
  { "/hsts", R_PAGE, "hsts.html", GET_ONLY },
  { "/audit", R_PAGE, "audit.html", GET_ONLY },
  { "/console/console.css", R_PAGE, "console.css", GET_ONLY },
  { "/console/console.js", R_PAGE, "console.js", GET_ONLY },
  { "/console/icon.svg", R_PAGE, "icon.svg", GET_ONLY },
  { "/api/status", R_STATUS, NULL, GET_ONLY },
  { "/api/hops", R_HOPS, NULL, GET_ONLY },
  { "/api/hops/stream", R_STREAM, NULL, "GET" },
  { "/api/policy", R_POLICY, NULL, "GET, HEAD, POST, DELETE" },
  { "/api/audit", R_AUDIT, NULL, GET_ONLY },
};

/* ---- answers ---- */

void proxy__console_json(struct proxy_conn *conn, int status, const char *body,
                         size_t len)
{
  proxy__answer(conn, status, COMMON_HEADS, PROXY_CONSOLE_JSON_TYPE, body, len,
                0);
}

void proxy__console_fail(struct proxy_conn *conn, int status, const char *why)
{
  char body[PROXY_ERROR_BODY_MAX];
  size_t i, n = 0;

  /* {"error":"..."}: why is ours, but may quote what the client sent */
  n += (size_t)snprintf(body, sizeof(body), "{\"error\":\"");
  for (i = 0; why[i] != '\0' && n + 8 < sizeof(body); i++) {
    unsigned char ch = (unsigned char)why[i];

    if (ch == '"' || ch == '\\')
      body[n++] = '\\';
    body[n++] = ch < ' ' ? ' ' : (char)ch;
  }
  n += (size_t)snprintf(body + n, sizeof(body) - n, "\"}\n");
  atomic_fetch_add_explicit(&conn->worker->server->stats.errors, 1,
                            memory_order_relaxed);
  proxy__console_json(conn, status, body, n);
}

static const char *type_of(const char *name)
{
  const char *dot = strrchr(name, '.');

  if (dot != NULL && strcmp(dot, ".css") == 0)
    return CSS_TYPE;
  if (dot != NULL && strcmp(dot, ".js") == 0)
    return JS_TYPE;
  if (dot != NULL && strcmp(dot, ".svg") == 0)
    return "image/svg+xml";
  return HTML_TYPE;
}

static void serve_asset(struct proxy_conn *conn, const char *name)
{
  size_t i;

  for (i = 0; i < proxy__console_nassets; i++) {
    const struct proxy_console_asset *a = &proxy__console_assets[i];

    if (strcmp(a->name, name) == 0) {
      proxy__answer(conn, 200, COMMON_HEADS PAGE_CSP, type_of(name),
                    (const char *)a->data, a->len, 0);
      return;
    }
  }
  proxy__console_fail(conn, 500, "console file missing from the build");
}

/* ---- GET /api/status ---- */

static void status_json(struct proxy_conn *conn)
{
  struct proxy_server *s = conn->worker->server;
  const struct proxy_stats *st = &s->stats;
  struct store_writer_stats ws;
  struct proxy_store_counts pc;
  char body[STATUS_MAX];
  int n;

  memset(&ws, 0, sizeof(ws));
  if (s->writer != NULL)
    store_writer_stats(s->writer, &ws);
  proxy__hsts_counts(conn->worker->hsts, &pc);
  n = snprintf(
      body, sizeof(body),
      "{\"version\":\"%s\",\"time_ms\":%lld,\"uptime_s\":%llu,"
      "\"workers\":%zu,\"csrf_token\":\"%s\","
      "\"counters\":{\"connections_open\":%llu,\"connections_total\":%llu,"
      "\"requests\":%llu,\"upgrades\":%llu,\"tunnels\":%llu,\"errors\":%llu,"
      "\"local\":%llu},"
      "\"preload\":{\"name\":\"%s\",\"hosts\":%zu,\"stale_days\":%d},"
      "\"policies\":{\"learned\":%zu,\"manual\":%zu},"
      "\"writer\":{\"written\":%llu,\"dropped\":%llu,\"failed\":%llu,"
      "\"pending\":%llu,\"failing\":%s},\"streams\":%u}\n",
      HSTSPROXY_VERSION, (long long)time(NULL) * 1000,
      (unsigned long long)((uv_hrtime() - s->start_ns) / HSTS_NS_PER_S),
      s->nworkers, s->console->token,
      (unsigned long long)atomic_load(&st->conns_active),
      (unsigned long long)atomic_load(&st->conns_total),
      (unsigned long long)atomic_load(&st->requests),
      (unsigned long long)atomic_load(&st->upgrades),
      (unsigned long long)atomic_load(&st->tunnels),
      (unsigned long long)atomic_load(&st->errors),
      (unsigned long long)atomic_load(&s->console->local),
      pc.preload_name != NULL ? pc.preload_name : "none", pc.preload_hosts,
      pc.preload_stale_days, pc.learned, pc.manual,
      (unsigned long long)ws.hops_written, (unsigned long long)ws.hops_dropped,
      (unsigned long long)ws.hops_failed, (unsigned long long)ws.hops_queued,
      ws.failing ? "true" : "false", atomic_load(&s->console->streams));
  if (n < 0 || (size_t)n >= sizeof(body)) {
    proxy__console_fail(conn, 500, "status too long");
    return;
  }
  proxy__console_json(conn, 200, body, (size_t)n);
}

/* ---- the request's parts ---- */

static int hexval(char c)
{
  const char *p = c != '\0' ? strchr(HEX_DIGITS, c | ' ') : NULL;

  return p != NULL ? (int)(p - HEX_DIGITS) : -1;
}

/* Percent-decodes v (n bytes) into out; returns the length, or -2 for
 * a bad escape or a value too long. */
static int decode(const char *v, size_t n, char *out, size_t size)
{
  size_t i, o = 0;
  int hi, lo;

  for (i = 0; i < n; i++) {
    char ch = v[i];

    if (ch == '%') {
      if (i + 2 >= n)
        return -2;
      hi = hexval(v[i + 1]);
      lo = hexval(v[i + 2]);
      if (hi < 0 || lo < 0)
        return -2;
      ch = (char)(hi * PARAM_HEX + lo);
      i += 2;
    } else if (ch == '+') {
      ch = ' ';
    }
    if (o + 1 >= size || ch == '\0')
      return -2;
    out[o++] = ch;
  }
  out[o] = '\0';
  return (int)o;
}

int proxy__console_param(const struct proxy_conn *conn, const char *name,
                         char *out, size_t size)
{
  const char *p = conn->target.path, *end = p + conn->target.path_len;
  const char *q = memchr(p, '?', conn->target.path_len), *amp, *eq;
  size_t nlen = strlen(name);

  for (p = q != NULL ? q + 1 : end; p < end; p = amp + 1) {
    amp = memchr(p, '&', (size_t)(end - p));
    if (amp == NULL)
      amp = end;
    eq = memchr(p, '=', (size_t)(amp - p));
    if (eq != NULL && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0)
      return decode(eq + 1, (size_t)(amp - eq - 1), out, size);
  }
  return -1;
}

static const struct http1_field *field(const struct proxy_conn *conn,
                                       const char *name)
{
  const struct http1_request *req = &conn->req;
  size_t i;

  for (i = 0; i < req->nfields; i++)
    if (http1_token_eq(req->fields[i].name, req->fields[i].name_len, name))
      return &req->fields[i];
  return NULL;
}

/* The CSRF rule of a state-changing request; NULL when it is met. */
static const char *csrf_fault(const struct proxy_conn *conn)
{
  const struct proxy_console *c = conn->worker->server->console;
  const struct http1_field *type = field(conn, "Content-Type");
  const struct http1_field *tok = field(conn, "X-CSRF-Token");
  size_t jl = strlen(PROXY_CONSOLE_JSON_TYPE);

  if (type == NULL || type->value_len < jl ||
      !http1_token_eq(type->value, jl, PROXY_CONSOLE_JSON_TYPE) ||
      (type->value_len > jl && type->value[jl] != ';' &&
       type->value[jl] != ' '))
    return "a state-changing request needs Content-Type: application/json";
  if (tok == NULL)
    return "missing X-CSRF-Token (take csrf_token from GET /api/status)";
  if (tok->value_len != strlen(c->token) ||
      CRYPTO_memcmp(tok->value, c->token, tok->value_len) != 0)
    return "wrong X-CSRF-Token (take csrf_token from GET /api/status)";
  return NULL;
}

static int method_allowed(const struct proxy_conn *conn, const char *allow)
{
  const struct http1_request *req = &conn->req;
  const char *p = allow;
  size_t n;

  while (*p != '\0') {
    n = strcspn(p, ",");
    if (n == req->method_len && memcmp(p, req->method, n) == 0)
      return 1;
    p += n;
    while (*p == ',' || *p == ' ')
      p++;
  }
  return 0;
}

static int changes_state(const struct proxy_conn *conn)
{
  const struct http1_request *req = &conn->req;

  return !http1_token_eq(req->method, req->method_len, "GET") && !req->is_head;
}

static void run(struct proxy_conn *conn, const struct path *p)
{
  switch (p->route) {
  case R_PAGE:
    serve_asset(conn, p->asset);
    return;
  case R_STATUS:
    status_json(conn);
    return;
  case R_HOPS:
    proxy__console_hops(conn);
    return;
  case R_STREAM:
    proxy__console_stream(conn);
    return;
  case R_POLICY:
    proxy__console_policy(conn);
    return;
  case R_AUDIT:
    proxy__console_audit(conn);
    return;
  }
}

/* --console-allow: asked of the socket (the console's requests are few). */
static int client_allowed(struct proxy_conn *conn,
                          const struct proxy_config *cfg)
{
  union proxy_sockaddr peer;
  int len = sizeof(peer);

  memset(&peer, 0, sizeof(peer));
  if (uv_tcp_getpeername(&conn->client, &peer.sa, &len) != 0)
    return 0;
  return proxy__cidr_allowed(cfg->console_allow, cfg->nconsole_allow, &peer.sa);
}

static const struct path *find(const char *path, size_t len)
{
  size_t i;

  for (i = 0; i < sizeof(paths) / sizeof(*paths); i++)
    if (strlen(paths[i].path) == len && memcmp(paths[i].path, path, len) == 0)
      return &paths[i];
  return NULL;
}

/* The method and CSRF rules, then the route. */
static void checked(struct proxy_conn *conn, const struct path *p)
{
  char allow[64];
  const char *fault;

  if (!method_allowed(conn, p->allow)) {
    snprintf(allow, sizeof(allow), "Allow: %s\r\n", p->allow);
    atomic_fetch_add_explicit(&conn->worker->server->stats.errors, 1,
                              memory_order_relaxed);
    proxy__answer(conn, 405, allow, PROXY_CONSOLE_JSON_TYPE,
                  "{\"error\":\"method not allowed here\"}\n",
                  strlen("{\"error\":\"method not allowed here\"}\n"), 0);
    return;
  }
  fault = changes_state(conn) ? csrf_fault(conn) : NULL;
  if (fault != NULL) {
    proxy__console_fail(conn, 403, fault);
    return;
  }
  run(conn, p);
}

/* The credentials were proved: the same request again. */
static void resume(struct proxy_conn *conn)
{
  const char *path = conn->target.path;
  const char *q = memchr(path, '?', conn->target.path_len);
  size_t len = q != NULL ? (size_t)(q - path) : conn->target.path_len;

  checked(conn, find(path, len));
}

int proxy__console_serve(struct proxy_conn *conn, const char *path, size_t len)
{
  const struct proxy_config *cfg = conn->worker->server->cfg;
  const struct path *p = find(path, len);

  if (p == NULL)
    return 0;
  if (!client_allowed(conn, cfg)) {
    proxy__console_fail(conn, 403,
                        "this client may not use the console "
                        "(--console-allow)");
    return 1;
  }
  /* --auth-file: the browser sees an origin, so Authorization and 401 */
  if (cfg->auth != NULL && conn->req.form == HTTP1_FORM_ORIGIN &&
      proxy__auth_check_console(conn, resume) != PROXY_NEXT)
    return 1; /* answered, or the check runs and resume() comes back */
  checked(conn, p);
  return 1;
}

/* ---- life ---- */

int proxy__console_open(struct proxy_server *s, struct proxy_error *e)
{
  unsigned char raw[PROXY_CONSOLE_TOKEN_BYTES];
  struct proxy_console *c = calloc(1, sizeof(*c));
  size_t i;

  if (c == NULL || RAND_bytes(raw, sizeof(raw)) != 1 || uv_mutex_init(&c->mu)) {
    free(c);
    snprintf(e->what, sizeof(e->what), "console");
    snprintf(e->why, sizeof(e->why), "%s",
             c == NULL ? "out of memory" : "no random token");
    return UV_ENOMEM;
  }
  if (uv_cond_init(&c->applied_cond) != 0) {
    uv_mutex_destroy(&c->mu);
    free(c);
    snprintf(e->what, sizeof(e->what), "console");
    snprintf(e->why, sizeof(e->why), "cannot make a condition variable");
    return UV_ENOMEM;
  }
  for (i = 0; i < sizeof(raw); i++) {
    c->token[2 * i] = HEX_DIGITS[raw[i] >> NIBBLE_BITS];
    c->token[2 * i + 1] = HEX_DIGITS[raw[i] & NIBBLE_MASK];
  }
  c->server = s;
  s->console = c;
  return 0;
}

int proxy__console_start(struct proxy_server *s, struct proxy_error *e)
{
  struct proxy_console *c = s->console;
  int err = uv_async_init(&s->loop, &c->async, proxy__console_publish);

  if (err < 0) {
    snprintf(e->what, sizeof(e->what), "console");
    snprintf(e->why, sizeof(e->why), "%s", uv_strerror(err));
    return err;
  }
  c->async.data = c;
  uv_mutex_lock(&c->mu);
  c->async_open = 1;
  uv_mutex_unlock(&c->mu);
  return 0;
}

void proxy__console_stop(struct proxy_server *s)
{
  struct proxy_console *c = s->console;

  if (c == NULL)
    return;
  uv_mutex_lock(&c->mu);
  if (c->async_open)
    uv_close((uv_handle_t *)&c->async, NULL);
  c->async_open = 0;
  uv_cond_broadcast(&c->applied_cond); /* nobody waits for a publication */
  uv_mutex_unlock(&c->mu);
}

void proxy__console_close(struct proxy_server *s)
{
  struct proxy_console *c = s->console;

  if (c == NULL)
    return;
  proxy__console_feed_free(c);
  uv_cond_destroy(&c->applied_cond);
  uv_mutex_destroy(&c->mu);
  free(c);
  s->console = NULL;
}
