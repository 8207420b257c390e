/*
 * test_proxy_tls_conn.c - the TLS client's lifetimes on a real loop.
 *
 * Loopback servers on the same libuv loop (a port that refuses, a
 * listener that accepts and stays silent, one that answers plain text,
 * one that hangs up) drive every way a connection can end before its
 * handshake completes. Each case asserts the callbacks exactly (on_open
 * never, on_close once, with the expected status and message) and that
 * uv_loop_close() succeeds: every handle was closed and freed. The
 * successful handshake and the HTTP exchanges are covered by the
 * integration tests against real TLS origins (test_probe.py).
 */
#include <string.h>
#include <uv.h>

#include "proxy_net.h"
#include "proxy_tls.h"
#include "testlib.h"

#define SHORT_TIMEOUT_MS 200u
#define LONG_TIMEOUT_MS  10000u
#define ANSWER           "HTTP/1.1 400 Bad Request\r\n\r\nnot TLS\n"

enum server_kind { SRV_SILENT, SRV_PLAIN, SRV_HANGUP };

struct server {
  uv_tcp_t listener;
  uv_tcp_t peer; /* the accepted connection */
  uv_write_t write_req;
  enum server_kind kind;
  int accepted;
};

struct counts {
  int opened, reads, closed, status;
  char message[PROXY_TLS_ERROR_MAX];
  struct server *srv; /* closed with the conn, or NULL */
};

static void on_open(struct proxy_tls_conn *c, void *arg)
{
  struct counts *n = arg;

  (void)c;
  n->opened++;
}

static void on_read(struct proxy_tls_conn *c, const char *d, size_t len,
                    void *arg)
{
  struct counts *n = arg;

  (void)c;
  (void)d;
  (void)len;
  n->reads++;
}

static void on_close(struct proxy_tls_conn *c, int status, const char *msg,
                     void *arg)
{
  struct counts *n = arg;

  (void)c;
  n->closed++;
  n->status = status;
  snprintf(n->message, sizeof(n->message), "%s", msg);
  if (n->srv != NULL) {
    uv_close((uv_handle_t *)&n->srv->listener, NULL);
    if (n->srv->accepted)
      uv_close((uv_handle_t *)&n->srv->peer, NULL);
  }
}

static const struct proxy_tls_callbacks cbs = { on_open, on_read, on_close };

static void on_srv_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
  static char sink[PROXY_TLS_READ_CHUNK];

  (void)h;
  (void)size;
  *buf = uv_buf_init(sink, sizeof(sink));
}

/* SRV_HANGUP: the ClientHello is read, then the connection closed (a FIN,
 * not a reset: nothing is left unread). */
static void on_srv_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
  struct server *s = st->data;

  (void)b;
  if (nread <= 0 || !s->accepted)
    return;
  uv_read_stop(st);
  s->accepted = 0; /* closing now, not again in on_close */
  uv_close((uv_handle_t *)st, NULL);
}

static void on_accept(uv_stream_t *l, int status)
{
  struct server *s = l->data;
  uv_buf_t b = uv_buf_init((char *)ANSWER, sizeof(ANSWER) - 1);

  if (status < 0 || s->accepted)
    return;
  uv_tcp_init(l->loop, &s->peer);
  s->peer.data = s;
  if (uv_accept(l, (uv_stream_t *)&s->peer) != 0)
    return;
  s->accepted = 1;
  if (s->kind == SRV_PLAIN)
    uv_write(&s->write_req, (uv_stream_t *)&s->peer, &b, 1, NULL);
  else if (s->kind == SRV_HANGUP)
    uv_read_start((uv_stream_t *)&s->peer, on_srv_alloc, on_srv_read);
}

/* A loopback port: listening (a server), or bound only (refuses). */
static unsigned bind_port(uv_loop_t *loop, uv_tcp_t *t, int listen)
{
  struct sockaddr_in a;
  struct sockaddr_storage got;
  int len = sizeof(got);

  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_init(loop, t);
  CHECK(uv_tcp_bind(t, (const struct sockaddr *)&a, 0) == 0);
  if (listen)
    CHECK(uv_listen((uv_stream_t *)t, 8, on_accept) == 0);
  uv_tcp_getsockname(t, (struct sockaddr *)&got, &len);
  return ntohs(((struct sockaddr_in *)&got)->sin_port);
}

static void loopback(struct proxy_addrs *a, size_t n)
{
  size_t i;

  memset(a, 0, sizeof(*a));
  for (i = 0; i < n; i++)
    uv_ip4_addr("127.0.0.1", 0, &a->a[i].in);
  a->n = n;
}

/* Opens a conn to host:port (every address 127.0.0.1) and runs the loop
 * until everything is closed; returns the counts. */
static void run(uv_loop_t *loop, unsigned port, size_t naddrs,
                uint64_t timeout_ms, int abort_at_once, struct counts *n)
{
  struct proxy_tls_ctx *ctx = NULL;
  struct proxy_tls_options o;
  struct proxy_tls_conn *c = NULL;
  struct proxy_addrs a;
  char err[PROXY_TLS_ERROR_MAX];

  CHECK(proxy_tls_ctx_new(NULL, &ctx, err, sizeof(err)) == 0);
  loopback(&a, naddrs);
  memset(&o, 0, sizeof(o));
  o.host = "secure.test";
  o.port = port;
  o.connect_timeout_ms = timeout_ms;
  CHECK(proxy_tls_open(loop, ctx, &a, &o, &cbs, n, &c) == 0);
  CHECK(c != NULL);
  CHECK(n->closed == 0); /* never from inside proxy_tls_open */
  CHECK(proxy_tls_write(c, "x", 1) == UV_ENOTCONN);
  if (abort_at_once) {
    proxy_tls_abort(c, "stop here");
    proxy_tls_abort(c, "twice"); /* idempotent */
    CHECK(n->closed == 0);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  proxy_tls_ctx_free(&ctx);
  CHECK_INT(n->opened, 0);
  CHECK_INT(n->reads, 0);
  CHECK_INT(n->closed, 1);
}

static void test_refused_every_address(void)
{
  uv_loop_t loop;
  uv_tcp_t bound;
  struct counts n;
  unsigned port;

  memset(&n, 0, sizeof(n));
  uv_loop_init(&loop);
  port = bind_port(&loop, &bound, 0);
  run(&loop, port, 3, LONG_TIMEOUT_MS, 0, &n);
  CHECK_INT(n.status, PROXY_TLS_ECONNECT);
  CHECK(strstr(n.message, "secure.test:") == n.message);
  CHECK(strstr(n.message, "(127.0.0.1:") != NULL);
  CHECK(strstr(n.message, "cannot connect: connection refused") != NULL);
  uv_close((uv_handle_t *)&bound, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(uv_loop_close(&loop), 0);
}

static void server_case(enum server_kind kind, int abort_at_once,
                        int want_status, const char *want_text)
{
  uv_loop_t loop;
  struct server srv;
  struct counts n;
  unsigned port;

  memset(&n, 0, sizeof(n));
  memset(&srv, 0, sizeof(srv));
  srv.kind = kind;
  srv.listener.data = &srv;
  n.srv = &srv;
  uv_loop_init(&loop);
  port = bind_port(&loop, &srv.listener, 1);
  srv.listener.data = &srv;
  run(&loop, port, 1, SHORT_TIMEOUT_MS, abort_at_once, &n);
  CHECK_INT(n.status, want_status);
  if (strstr(n.message, want_text) == NULL)
    fprintf(stderr, "  message: %s\n", n.message);
  CHECK(strstr(n.message, want_text) != NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(uv_loop_close(&loop), 0);
}

static void test_silent_server_times_out(void)
{
  server_case(SRV_SILENT, 0, PROXY_TLS_ETIMEOUT,
              "timed out in the TLS handshake");
}

static void test_plain_text_server(void)
{
  server_case(SRV_PLAIN, 0, PROXY_TLS_EHANDSHAKE, "TLS handshake failed: ");
}

static void test_server_hangs_up(void)
{
  server_case(SRV_HANGUP, 0, PROXY_TLS_EHANDSHAKE,
              "the server closed the connection during the TLS handshake");
}

static void test_abort_before_connect(void)
{
  server_case(SRV_SILENT, 1, PROXY_TLS_EABORT, "stop here");
}

static void test_open_refuses_bad_arguments(void)
{
  struct proxy_tls_ctx *ctx = NULL;
  struct proxy_tls_options o;
  struct proxy_tls_conn *c = NULL;
  struct proxy_addrs a;
  struct counts n;
  uv_loop_t loop;
  char err[PROXY_TLS_ERROR_MAX];

  memset(&n, 0, sizeof(n));
  uv_loop_init(&loop);
  CHECK(proxy_tls_ctx_new(NULL, &ctx, err, sizeof(err)) == 0);
  memset(&o, 0, sizeof(o));
  o.host = "secure.test";
  o.port = 443;
  loopback(&a, 0);
  CHECK(proxy_tls_open(&loop, ctx, &a, &o, &cbs, &n, &c) == UV_EINVAL);
  loopback(&a, 1);
  o.port = 0;
  CHECK(proxy_tls_open(&loop, ctx, &a, &o, &cbs, &n, &c) == UV_EINVAL);
  CHECK(c == NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(n.closed, 0); /* no callback after a refusal */
  proxy_tls_ctx_free(&ctx);
  CHECK_INT(uv_loop_close(&loop), 0);
}

TEST_MAIN({ "refused_every_address", test_refused_every_address },
          { "silent_server_times_out", test_silent_server_times_out },
          { "plain_text_server", test_plain_text_server },
          { "server_hangs_up", test_server_hangs_up },
          { "abort_before_connect", test_abort_before_connect },
          { "open_refuses_bad_arguments", test_open_refuses_bad_arguments })
