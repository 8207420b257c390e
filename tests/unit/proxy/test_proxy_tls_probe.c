/*
 * test_proxy_tls_probe.c - a probe's lifetime on a real loop.
 *
 * proxy_probe_start() against loopback servers on the same loop, reached
 * through a --map entry (no DNS in tests): the deadline bounds a silent
 * server, cancel ends a probe at once, a refusing port fails it; in every
 * case on_done runs exactly once (never from inside proxy_probe_start),
 * nothing is learned-worthy (ok 0, the cause in error), and
 * uv_loop_close() succeeds afterwards. Refused parameters (an IP literal,
 * port 0) give UV_EINVAL and no callback. Exchanges with real TLS origins
 * are in tests/integration/test_probe.py.
 */
#include <string.h>
#include <uv.h>

#include "proxy_probe.h"
#include "proxy_tls.h"
#include "testlib.h"

#define DEADLINE_MS 300u

struct result {
  int calls;
  struct store_probe r;
};

static void on_done(const struct store_probe *r, void *arg)
{
  struct result *res = arg;

  res->calls++;
  res->r = *r;
}

static const struct proxy_probe_cb cb = { on_done };

static void on_accept(uv_stream_t *l, int status)
{
  uv_tcp_t *peer = l->data;

  if (status == 0 && uv_accept(l, (uv_stream_t *)peer) != 0)
    CHECK(0);
}

struct fixture {
  uv_loop_t loop;
  uv_tcp_t listener, peer; /* peer: the accepted, silent connection */
  struct proxy_config cfg;
  struct proxy_tls_ctx *tls;
  struct proxy_probe_params pp;
  struct result res;
};

/* A loopback port mapped from secure.test: listening and silent, or only
 * bound (connections are refused). */
static void setup(struct fixture *f, int listen)
{
  struct sockaddr_in a;
  struct sockaddr_storage got;
  char map[64], err[PROXY_TLS_ERROR_MAX];
  const char *why = NULL;
  int len = sizeof(got);

  memset(f, 0, sizeof(*f));
  uv_loop_init(&f->loop);
  uv_tcp_init(&f->loop, &f->listener);
  uv_tcp_init(&f->loop, &f->peer);
  f->listener.data = &f->peer;
  uv_ip4_addr("127.0.0.1", 0, &a);
  CHECK(uv_tcp_bind(&f->listener, (const struct sockaddr *)&a, 0) == 0);
  if (listen)
    CHECK(uv_listen((uv_stream_t *)&f->listener, 4, on_accept) == 0);
  uv_tcp_getsockname(&f->listener, (struct sockaddr *)&got, &len);
  snprintf(map, sizeof(map), "secure.test=127.0.0.1:%u",
           (unsigned)ntohs(((struct sockaddr_in *)&got)->sin_port));
  proxy_config_init(&f->cfg);
  CHECK(proxy_config_add_map(&f->cfg, map, &why) == 0);
  CHECK(proxy_tls_ctx_new(NULL, &f->tls, err, sizeof(err)) == 0);
  f->pp.host = "Secure.Test.";
  f->pp.port = PROXY_PROBE_PORT;
  f->pp.timeout_ms = DEADLINE_MS;
  f->pp.maps = f->cfg.maps;
  f->pp.nmaps = f->cfg.nmaps;
  f->pp.tls = f->tls;
}

static void teardown(struct fixture *f)
{
  uv_close((uv_handle_t *)&f->listener, NULL);
  uv_close((uv_handle_t *)&f->peer, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  CHECK_INT(uv_loop_close(&f->loop), 0);
  proxy_tls_ctx_free(&f->tls);
}

/* Runs the loop until the probe is done; the servers stay open. */
static void run_until_done(struct fixture *f)
{
  while (f->res.calls == 0 && uv_run(&f->loop, UV_RUN_ONCE) != 0)
    ;
  CHECK_INT(f->res.calls, 1);
  CHECK(f->res.r.ok == 0);
  CHECK(strcmp(f->res.r.host, "secure.test") == 0); /* normalized */
  CHECK_INT(f->res.r.port, PROXY_PROBE_PORT);
  CHECK(f->res.r.time > 0);
}

static void test_deadline_bounds_a_silent_server(void)
{
  struct fixture f;
  uint64_t t0;

  setup(&f, 1);
  t0 = uv_hrtime();
  CHECK(proxy_probe_start(&f.loop, &f.pp, &cb, &f.res, NULL) == 0);
  CHECK_INT(f.res.calls, 0);
  run_until_done(&f);
  CHECK((uv_hrtime() - t0) / 1000000u >= DEADLINE_MS - 10);
  CHECK(strstr(f.res.r.error,
               "secure.test:443: timed out after 300 ms "
               "before the TLS handshake completed") == f.res.r.error);
  CHECK(f.res.r.cert_error == 0);
  CHECK(f.res.r.tls_version[0] == '\0' && f.res.r.status == 0);
  teardown(&f);
  CHECK_INT(f.res.calls, 1);
}

static void test_cancel(void)
{
  struct fixture f;
  struct proxy_probe *p = NULL;

  setup(&f, 1);
  f.pp.timeout_ms = 60000;
  CHECK(proxy_probe_start(&f.loop, &f.pp, &cb, &f.res, &p) == 0);
  CHECK(p != NULL);
  uv_run(&f.loop, UV_RUN_NOWAIT); /* connecting */
  proxy_probe_cancel(p);
  CHECK_INT(f.res.calls, 0); /* never from inside cancel */
  run_until_done(&f);
  CHECK(strstr(f.res.r.error, "canceled") != NULL);
  teardown(&f);
  CHECK_INT(f.res.calls, 1);
}

static void test_refused(void)
{
  struct fixture f;

  setup(&f, 0);
  f.pp.timeout_ms = 60000;
  CHECK(proxy_probe_start(&f.loop, &f.pp, &cb, &f.res, NULL) == 0);
  run_until_done(&f);
  CHECK(strstr(f.res.r.error, "cannot connect: connection refused") != NULL);
  CHECK(strncmp(f.res.r.address, "127.0.0.1:", 10) == 0);
  teardown(&f);
}

struct bad_row {
  const char *host;
  unsigned port, timeout_ms;
};

static const struct bad_row bad_rows[] = {
  { "127.0.0.1", 443, 1000 }, { "::1", 443, 1000 },
  { "[::1]", 443, 1000 },     { "a..b", 443, 1000 },
  { "secure.test", 0, 1000 }, { "secure.test", 65536, 1000 },
  { "secure.test", 443, 0 },  { NULL, 0, 0 } /* sentinel */
};

static void test_refused_parameters(void)
{
  const struct bad_row *r;
  struct fixture f;

  setup(&f, 0);
  for (r = bad_rows; r->host != NULL; r++) {
    struct proxy_probe *p = (struct proxy_probe *)&f;

    f.pp.host = r->host;
    f.pp.port = r->port;
    f.pp.timeout_ms = r->timeout_ms;
    CHECK_ROW(proxy_probe_start(&f.loop, &f.pp, &cb, &f.res, &p) == UV_EINVAL,
              r - bad_rows);
    CHECK_ROW(p == NULL, r - bad_rows);
  }
  uv_run(&f.loop, UV_RUN_NOWAIT);
  CHECK_INT(f.res.calls, 0);
  teardown(&f);
}

TEST_MAIN({ "deadline_bounds_a_silent_server",
            test_deadline_bounds_a_silent_server },
          { "cancel", test_cancel }, { "refused", test_refused },
          { "refused_parameters", test_refused_parameters })
