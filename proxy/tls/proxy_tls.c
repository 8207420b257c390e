/*
 * proxy_tls.c - the asynchronous TLS client (see proxy_tls.h).
 *
 * Design: OpenSSL never touches the socket. Bytes read by libuv go into
 * the SSL's read BIO (a memory BIO), then SSL_do_handshake or SSL_read
 * consume them; whatever OpenSSL wants to send appears in the write BIO
 * and is moved to the socket by flush() as one uv_write that owns its
 * bytes (a proxy_wreq, freed in the write callback). So the handshake is
 * a sequence of loop callbacks and never blocks.
 *
 * A conn walks CONNECT (each address in turn: the embedded uv_tcp_t is
 * closed and initialized again between attempts, which libuv allows once
 * its close callback has run), TUNNEL (through a parent proxy only: our
 * CONNECT request written, its answer read up to a 2xx), HANDSHAKE, OPEN, then
 * ends through tls_end(), the one place that records the outcome: a clean end
 * sends close_notify and shuts the TCP write side down first; every end reaches
 * close_handles(), whose last close callback runs on_close and frees the
 * conn. One timer serves the phase: connect and handshake deadline, read
 * silence, then the shutdown bound.
 *
 * OpenSSL's error queue is per thread and shared by every connection on
 * it, so it is cleared before each SSL call whose failure is reported.
 */
#include "proxy_tls.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy_net.h"

#define ALPN_HTTP11     "\x08http/1.1"
#define ALPN_HTTP11_LEN 9
#define REASON_MAX      256

struct proxy_tls_ctx {
  SSL_CTX *ssl_ctx; /* owned */
};

enum phase { PH_CONNECT = 0, PH_TUNNEL, PH_HANDSHAKE, PH_OPEN };

struct proxy_tls_conn {
  uv_loop_t *loop; /* not owned */
  struct proxy_tls_callbacks cb;
  void *arg; /* not owned */
  char host[PROXY_HOST_MAX + 1];
  unsigned port;
  char label[PROXY_AUTHORITY_MAX]; /* messages start with it */
  char who[PROXY_AUTHORITY_MAX + PROXY_ADDR_TEXT + 4]; /* label (peer) */
  uint64_t read_timeout_ms;
  unsigned mark; /* SO_MARK of the socket; 0: none */
  SSL *ssl;      /* owned; owns its two BIOs */
  BIO *rbio, *wbio;
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_shutdown_t shutdown_req;
  uv_timer_t timer;
  struct proxy_addrs addrs;
  size_t next_addr;
  int last_connect_err;
  enum phase phase;
  unsigned closing : 1;         /* tls_end() ran: the outcome is fixed */
  unsigned handles_closing : 1; /* close_handles() ran */
  unsigned tcp_open : 1;        /* tcp initialized, not yet uv_close'd */
  unsigned retrying : 1;        /* tcp closing between two attempts */
  unsigned reading : 1;
  int pending_closes;
  int status; /* proxy_tls_err */
  char message[PROXY_TLS_ERROR_MAX];
  char version[PROXY_TLS_VERSION_MAX];
  char peer[PROXY_ADDR_TEXT];
  size_t queued; /* ciphertext bytes in uv_writes */
  char rbuf[PROXY_TLS_READ_CHUNK];
  char pbuf[PROXY_TLS_PLAIN_CHUNK];
  /* Through a parent proxy (proxy_tls_options.tunnel_*): PH_TUNNEL. */
  char treq[PROXY_TLS_TUNNEL_REQ_MAX]; /* the CONNECT request; "" none */
  size_t treq_len;
  unsigned tunnel_port;
  char tname[PROXY_PARENT_NAME_MAX];
  uv_write_t twrite;
  char thead[PROXY_TLS_TUNNEL_HEAD_MAX]; /* its answer, as read */
  size_t thead_len;
};

const char *proxy_tls_strerror(int err)
{
  switch (err) {
  case PROXY_TLS_OK:
    return "closed";
  case PROXY_TLS_EOF:
    return "closed by the server";
  case PROXY_TLS_ECONNECT:
    return "cannot connect";
  case PROXY_TLS_ETIMEOUT:
    return "timed out";
  case PROXY_TLS_EVERIFY:
    return "certificate verification failed";
  case PROXY_TLS_EHANDSHAKE:
    return "TLS handshake failed";
  case PROXY_TLS_EIO:
    return "connection failed";
  case PROXY_TLS_ETRUNCATED:
    return "closed without close_notify";
  case PROXY_TLS_EABORT:
    return "aborted";
  default:
    return "unknown TLS error";
  }
}

/* OpenSSL's reason for the oldest queued error (the queue is cleared). */
static void ssl_reason(char *out, size_t size, const char *fallback)
{
  unsigned long e = ERR_get_error();
  const char *r;

  ERR_clear_error();
  if (e == 0) {
    snprintf(out, size, "%s", fallback);
    return;
  }
  r = ERR_reason_error_string(e);
  if (r != NULL)
    snprintf(out, size, "%s", r);
  else
    ERR_error_string_n(e, out, size);
}

/* ---- the context ---- */

static int ctx_fail(SSL_CTX *sc, char *err, size_t errsz, const char *what,
                    const char *ca_file)
{
  char reason[REASON_MAX];

  ssl_reason(reason, sizeof(reason), "unknown OpenSSL error");
  if (ca_file != NULL)
    snprintf(err, errsz, "%s: %s: %s", ca_file, what, reason);
  else
    snprintf(err, errsz, "%s: %s", what, reason);
  SSL_CTX_free(sc);
  return -1;
}

int proxy_tls_ctx_new(const char *ca_file, struct proxy_tls_ctx **out,
                      char *err, size_t errsz)
{
  struct proxy_tls_ctx *ctx;
  SSL_CTX *sc;

  *out = NULL;
  ERR_clear_error();
  if (ca_file != NULL && access(ca_file, R_OK) != 0) {
    snprintf(err, errsz, "%s: %s", ca_file, strerror(errno));
    return -1;
  }
  sc = SSL_CTX_new(TLS_client_method());
  if (sc == NULL)
    return ctx_fail(NULL, err, errsz, "cannot create a TLS context", NULL);
  if (SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION) != 1)
    return ctx_fail(sc, err, errsz, "cannot require TLS 1.2", NULL);
  SSL_CTX_set_verify(sc, SSL_VERIFY_PEER, NULL);
  if (ca_file != NULL) {
    if (SSL_CTX_load_verify_locations(sc, ca_file, NULL) != 1)
      return ctx_fail(sc, err, errsz, "cannot load CA certificates", ca_file);
  } else if (SSL_CTX_set_default_verify_paths(sc) != 1) {
    return ctx_fail(sc, err, errsz, "cannot load the system trust store", NULL);
  }
  /* SSL_CTX_set_alpn_protos returns 0 on success. */
  if (SSL_CTX_set_alpn_protos(sc, (const unsigned char *)ALPN_HTTP11,
                              ALPN_HTTP11_LEN) != 0)
    return ctx_fail(sc, err, errsz, "cannot set ALPN", NULL);
  ctx = calloc(1, sizeof(*ctx));
  if (ctx == NULL) {
    snprintf(err, errsz, "out of memory");
    SSL_CTX_free(sc);
    return -1;
  }
  ctx->ssl_ctx = sc;
  *out = ctx;
  return 0;
}

void proxy_tls_ctx_free(struct proxy_tls_ctx **ctx)
{
  if (ctx == NULL || *ctx == NULL)
    return;
  SSL_CTX_free((*ctx)->ssl_ctx);
  free(*ctx);
  *ctx = NULL;
}

/* ---- ending ---- */

static void on_handle_closed(uv_handle_t *h)
{
  struct proxy_tls_conn *c = h->data;

  if (--c->pending_closes > 0)
    return;
  if (c->cb.on_close != NULL)
    c->cb.on_close(c, c->status, c->message, c->arg);
  SSL_free(c->ssl);
  free(c);
}

/* Closes every handle (idempotent); the last callback frees c. */
static void close_handles(struct proxy_tls_conn *c)
{
  if (c->handles_closing)
    return;
  c->handles_closing = 1;
  c->pending_closes = 1;
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
  if (c->tcp_open) {
    c->tcp_open = 0;
    c->pending_closes++;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  }
  if (c->retrying)
    c->pending_closes++; /* on_attempt_closed() counts it */
}

static void flush(struct proxy_tls_conn *c);

static void on_shutdown(uv_shutdown_t *req, int status)
{
  struct proxy_tls_conn *c = req->data;

  (void)status; /* the conn ends either way */
  close_handles(c);
}

static void on_shutdown_timeout(uv_timer_t *t)
{
  close_handles(t->data);
}

/* Sends close_notify and FIN before closing. Returns 0, or -1: close now. */
static int start_shutdown(struct proxy_tls_conn *c)
{
  ERR_clear_error();
  SSL_shutdown(c->ssl);
  ERR_clear_error();
  flush(c);
  c->shutdown_req.data = c;
  if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
    return -1;
  uv_timer_stop(&c->timer);
  uv_timer_start(&c->timer, on_shutdown_timeout, PROXY_TLS_SHUTDOWN_MS, 0);
  return 0;
}

/*
 * The one place a conn's outcome is decided (the first call wins). A
 * clean end (OK, EOF) after the handshake shuts TLS and TCP down first.
 */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
tls_end(struct proxy_tls_conn *c, int status, const char *fmt, ...)
{
  va_list ap;

  if (c->closing)
    return;
  c->closing = 1;
  c->status = status;
  va_start(ap, fmt);
  vsnprintf(c->message, sizeof(c->message), fmt, ap);
  va_end(ap);
  if (c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  }
  if ((status == PROXY_TLS_OK || status == PROXY_TLS_EOF) &&
      c->phase == PH_OPEN && start_shutdown(c) == 0)
    return;
  close_handles(c);
}

/* A socket failure: the handshake's failure while it runs. */
static int io_status(const struct proxy_tls_conn *c)
{
  return c->phase == PH_OPEN ? PROXY_TLS_EIO : PROXY_TLS_EHANDSHAKE;
}

/* ---- writing ---- */

static void on_write(uv_write_t *req, int status)
{
  struct proxy_wreq *w = (struct proxy_wreq *)req;
  struct proxy_tls_conn *c = req->handle->data;

  c->queued -= w->len;
  proxy__wreq_free(w);
  if (status < 0 && !c->closing)
    tls_end(c, io_status(c), "%s: cannot send: %s", c->who,
            uv_strerror(status));
}

/* Moves what OpenSSL wrote into the write BIO to the socket. */
static void flush(struct proxy_tls_conn *c)
{
  size_t pending;

  while ((pending = BIO_ctrl_pending(c->wbio)) > 0) {
    struct proxy_wreq *w;
    uv_buf_t buf;
    int n, err;

    if (pending > INT_MAX)
      pending = INT_MAX;
    w = proxy__wreq_new(pending);
    if (w == NULL) {
      tls_end(c, io_status(c), "%s: out of memory", c->label);
      return;
    }
    n = BIO_read(c->wbio, w->data, (int)pending);
    if (n <= 0) {
      proxy__wreq_free(w);
      return;
    }
    w->len = (size_t)n;
    buf = uv_buf_init(w->data, (unsigned)n);
    err = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_write);
    if (err < 0) {
      proxy__wreq_free(w);
      tls_end(c, io_status(c), "%s: cannot send: %s", c->who, uv_strerror(err));
      return;
    }
    c->queued += w->len;
  }
}

int proxy_tls_write(struct proxy_tls_conn *c, const char *data, size_t len)
{
  char reason[REASON_MAX];
  int n;

  if (c->closing || c->phase != PH_OPEN)
    return UV_ENOTCONN;
  if (len == 0)
    return 0;
  if (len > INT_MAX)
    return UV_EINVAL;
  ERR_clear_error();
  n = SSL_write(c->ssl, data, (int)len);
  if (n <= 0) {
    ssl_reason(reason, sizeof(reason), "SSL_write failed");
    tls_end(c, PROXY_TLS_EIO, "%s: TLS write: %s", c->label, reason);
    return UV_EIO;
  }
  flush(c);
  return c->closing ? UV_EIO : 0;
}

size_t proxy_tls_queued(const struct proxy_tls_conn *c)
{
  return c->queued;
}

/* ---- reading ---- */

static void restart_read_timer(struct proxy_tls_conn *c);

/* Why the handshake failed: the verify result first, else OpenSSL's. */
static void handshake_failed(struct proxy_tls_conn *c, int ssl_err)
{
  long v = SSL_get_verify_result(c->ssl);
  char reason[REASON_MAX];

  flush(c); /* the alert, best effort */
  if (v != X509_V_OK) {
    ERR_clear_error();
    tls_end(c, PROXY_TLS_EVERIFY, "%s: certificate verification failed: %s",
            c->who, X509_verify_cert_error_string(v));
    return;
  }
  ssl_reason(reason, sizeof(reason),
             ssl_err == SSL_ERROR_SYSCALL ? "unexpected end of stream"
                                          : "protocol error");
  tls_end(c, PROXY_TLS_EHANDSHAKE, "%s: TLS handshake failed: %s", c->who,
          reason);
}

/* Decrypts what the read BIO holds and hands it to on_read. */
static void read_plain(struct proxy_tls_conn *c)
{
  char reason[REASON_MAX];

  while (!c->closing) {
    int n, e;

    ERR_clear_error();
    n = SSL_read(c->ssl, c->pbuf, sizeof(c->pbuf));
    if (n > 0) {
      if (c->cb.on_read != NULL)
        c->cb.on_read(c, c->pbuf, (size_t)n, c->arg);
      continue;
    }
    e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
      break;
    if (e == SSL_ERROR_ZERO_RETURN) {
      tls_end(c, PROXY_TLS_EOF, "%s: closed by the server", c->label);
      return;
    }
    ssl_reason(reason, sizeof(reason), "TLS read failed");
    tls_end(c, PROXY_TLS_EIO, "%s: TLS error: %s", c->who, reason);
    return;
  }
  if (!c->closing)
    flush(c); /* post-handshake messages may want an answer */
}

static void handshake_step(struct proxy_tls_conn *c)
{
  int rc, e;

  ERR_clear_error();
  rc = SSL_do_handshake(c->ssl);
  if (rc != 1) {
    e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
      flush(c);
    else
      handshake_failed(c, e);
    return;
  }
  c->phase = PH_OPEN;
  snprintf(c->version, sizeof(c->version), "%s", SSL_get_version(c->ssl));
  flush(c);
  restart_read_timer(c);
  if (!c->closing && c->cb.on_open != NULL)
    c->cb.on_open(c, c->arg);
  if (!c->closing)
    read_plain(c); /* application data may have come with the handshake */
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct proxy_tls_conn *c = h->data;

  (void)suggested;
  *buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void on_eof(struct proxy_tls_conn *c)
{
  if (c->phase == PH_TUNNEL)
    tls_end(c, PROXY_TLS_ECONNECT,
            "%s: %s closed the connection without answering CONNECT", c->label,
            c->tname);
  else if (c->phase != PH_OPEN)
    tls_end(c, PROXY_TLS_EHANDSHAKE,
            "%s: the server closed the connection during the TLS "
            "handshake",
            c->who);
  else if ((SSL_get_shutdown(c->ssl) & SSL_RECEIVED_SHUTDOWN) != 0)
    tls_end(c, PROXY_TLS_EOF, "%s: closed by the server", c->label);
  else
    tls_end(c, PROXY_TLS_ETRUNCATED,
            "%s: the server closed the connection without a TLS "
            "close_notify",
            c->who);
}

static void tunnel_read(struct proxy_tls_conn *c, const char *p, size_t n);

static void on_tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  struct proxy_tls_conn *c = s->data;

  if (c->closing || nread == 0)
    return;
  if (nread < 0) {
    if (nread == UV_EOF)
      on_eof(c);
    else
      tls_end(c, io_status(c), "%s: cannot read: %s", c->who,
              uv_strerror((int)nread));
    return;
  }
  if (c->phase != PH_TUNNEL &&
      BIO_write(c->rbio, buf->base, (int)nread) != (int)nread) {
    tls_end(c, io_status(c), "%s: out of memory", c->label);
    return;
  }
  if (c->phase == PH_TUNNEL) {
    tunnel_read(c, buf->base, (size_t)nread);
  } else if (c->phase == PH_HANDSHAKE) {
    handshake_step(c);
  } else {
    restart_read_timer(c);
    read_plain(c);
  }
}

/* ---- through a parent proxy: CONNECT, then the handshake ---- */

static void on_tunnel_written(uv_write_t *req, int status)
{
  struct proxy_tls_conn *c = req->data;

  if (status < 0 && !c->closing)
    tls_end(c, PROXY_TLS_ECONNECT, "%s: cannot write to %s: %s", c->who,
            c->tname, uv_strerror(status));
}

static void tunnel_start(struct proxy_tls_conn *c)
{
  uv_buf_t b = uv_buf_init(c->treq, (unsigned)c->treq_len);
  int err;

  c->phase = PH_TUNNEL;
  c->twrite.data = c;
  err = uv_write(&c->twrite, (uv_stream_t *)&c->tcp, &b, 1, on_tunnel_written);
  if (err < 0)
    tls_end(c, PROXY_TLS_ECONNECT, "%s: cannot write to %s: %s", c->who,
            c->tname, uv_strerror(err));
}

/* The parent's answer: "HTTP/1.x 2xx ..." up to the blank line. */
static void tunnel_read(struct proxy_tls_conn *c, const char *p, size_t n)
{
  size_t room = sizeof(c->thead) - 1 - c->thead_len, take = n < room ? n : room;
  const char *end;
  size_t head;

  memcpy(c->thead + c->thead_len, p, take);
  c->thead_len += take;
  c->thead[c->thead_len] = '\0';
  end = strstr(c->thead, "\r\n\r\n");
  if (end == NULL) {
    if (take < n || c->thead_len == sizeof(c->thead) - 1)
      tls_end(c, PROXY_TLS_ECONNECT, "%s: %s: answer to CONNECT too long",
              c->label, c->tname);
    return;
  }
  if (strncmp(c->thead, "HTTP/1.", 7) != 0 || c->thead[8] != ' ' ||
      c->thead[9] != '2') {
    tls_end(c, PROXY_TLS_ECONNECT, "%s: %s refused CONNECT: %.*s", c->label,
            c->tname, (int)strcspn(c->thead, "\r\n"), c->thead);
    return;
  }
  head = (size_t)(end - c->thead) + 4;
  c->phase = PH_HANDSHAKE;
  if (c->thead_len > head && /* the server spoke first: TLS bytes */
      BIO_write(c->rbio, c->thead + head, (int)(c->thead_len - head)) < 0) {
    tls_end(c, io_status(c), "%s: out of memory", c->label);
    return;
  }
  if (take < n &&
      BIO_write(c->rbio, p + take, (int)(n - take)) != (int)(n - take)) {
    tls_end(c, io_status(c), "%s: out of memory", c->label);
    return;
  }
  handshake_step(c);
}

/* ---- timers ---- */

static void on_timeout(uv_timer_t *t)
{
  struct proxy_tls_conn *c = t->data;

  if (c->closing)
    return;
  if (c->phase == PH_OPEN)
    tls_end(c, PROXY_TLS_ETIMEOUT, "%s: no data for %llu ms", c->who,
            (unsigned long long)c->read_timeout_ms);
  else
    tls_end(c, PROXY_TLS_ETIMEOUT, "%s: timed out %s", c->who,
            c->phase == PH_CONNECT ? "connecting" : "in the TLS handshake");
}

static void restart_read_timer(struct proxy_tls_conn *c)
{
  uv_timer_stop(&c->timer);
  if (!c->closing && c->read_timeout_ms > 0)
    uv_timer_start(&c->timer, on_timeout, c->read_timeout_ms, 0);
}

/* ---- connecting ---- */

static void try_next(struct proxy_tls_conn *c);

static void on_attempt_closed(uv_handle_t *h)
{
  struct proxy_tls_conn *c = h->data;

  c->retrying = 0;
  if (c->handles_closing) {
    on_handle_closed(h);
    return;
  }
  try_next(c);
}

/* The attempt failed: close the handle, then try the next address. */
static void attempt_failed(struct proxy_tls_conn *c, int err)
{
  c->last_connect_err = err;
  c->tcp_open = 0;
  c->retrying = 1;
  uv_close((uv_handle_t *)&c->tcp, on_attempt_closed);
}

static void tunnel_start(struct proxy_tls_conn *c);

static void on_connect(uv_connect_t *req, int status)
{
  struct proxy_tls_conn *c = req->data;
  int err;

  if (c->closing)
    return; /* canceled by close_handles() */
  if (status < 0) {
    attempt_failed(c, status);
    return;
  }
  c->phase = PH_HANDSHAKE;
  uv_tcp_nodelay(&c->tcp, 1);
  err = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_tcp_read);
  if (err < 0) {
    tls_end(c, io_status(c), "%s: cannot read: %s", c->who, uv_strerror(err));
    return;
  }
  c->reading = 1;
  if (c->treq_len > 0)
    tunnel_start(c);
  else
    handshake_step(c);
}

/* "label (peer)", or the label alone when it is the peer already. */
static void set_who(struct proxy_tls_conn *c)
{
  if (c->peer[0] == '\0' || strcmp(c->peer, c->label) == 0)
    snprintf(c->who, sizeof(c->who), "%s", c->label);
  else
    snprintf(c->who, sizeof(c->who), "%s (%s)", c->label, c->peer);
}

static void try_next(struct proxy_tls_conn *c)
{
  union proxy_sockaddr a;
  int err;

  if (c->next_addr >= c->addrs.n) {
    tls_end(c, PROXY_TLS_ECONNECT, "%s: cannot connect: %s", c->who,
            uv_strerror(c->last_connect_err < 0 ? c->last_connect_err
                                                : UV_EHOSTUNREACH));
    return;
  }
  a = c->addrs.a[c->next_addr++];
  proxy__addr_set_port(&a, c->treq_len > 0 ? c->tunnel_port : c->port);
  proxy_addr_format(&a.sa, c->peer, sizeof(c->peer));
  set_who(c);
  err = uv_tcp_init(c->loop, &c->tcp);
  if (err < 0) {
    tls_end(c, PROXY_TLS_ECONNECT, "%s: %s", c->label, uv_strerror(err));
    return;
  }
  c->tcp.data = c;
  c->tcp_open = 1;
  c->connect_req.data = c;
  err = proxy__tcp_mark(&c->tcp, a.sa.sa_family, c->mark);
  if (err == 0)
    err = uv_tcp_connect(&c->connect_req, &c->tcp, &a.sa, on_connect);
  if (err < 0)
    attempt_failed(c, err);
}

/* ---- opening ---- */

static int is_ip_literal(const char *host)
{
  unsigned char buf[sizeof(struct in6_addr)];

  return uv_inet_pton(AF_INET, host, buf) == 0 ||
         uv_inet_pton(AF_INET6, host, buf) == 0;
}

/* The SSL object: memory BIOs, client mode, SNI, names to verify. */
static int ssl_setup(struct proxy_tls_conn *c, struct proxy_tls_ctx *ctx)
{
  c->ssl = SSL_new(ctx->ssl_ctx);
  c->rbio = BIO_new(BIO_s_mem());
  c->wbio = BIO_new(BIO_s_mem());
  if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
    BIO_free(c->rbio);
    BIO_free(c->wbio);
    return UV_ENOMEM;
  }
  /* An empty read BIO means "wait for more", not end of stream. */
  BIO_set_mem_eof_return(c->rbio, -1);
  BIO_set_mem_eof_return(c->wbio, -1);
  SSL_set_bio(c->ssl, c->rbio, c->wbio);
  SSL_set_connect_state(c->ssl);
  if (is_ip_literal(c->host))
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host) == 1
               ? 0
               : UV_EINVAL;
  SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set_tlsext_host_name(c->ssl, c->host) != 1 ||
      SSL_set1_host(c->ssl, c->host) != 1)
    return UV_EINVAL;
  return 0;
}

int proxy_tls_open(uv_loop_t *loop, struct proxy_tls_ctx *ctx,
                   const struct proxy_addrs *addrs,
                   const struct proxy_tls_options *o,
                   const struct proxy_tls_callbacks *cb, void *arg,
                   struct proxy_tls_conn **out)
{
  struct proxy_tls_conn *c;
  int err;

  *out = NULL;
  if (addrs->n == 0 || o->host == NULL || strlen(o->host) > PROXY_HOST_MAX ||
      o->port < 1 || o->port > PROXY_PORT_MAX)
    return UV_EINVAL;
  c = calloc(1, sizeof(*c));
  if (c == NULL)
    return UV_ENOMEM;
  c->loop = loop;
  c->cb = *cb;
  c->arg = arg;
  snprintf(c->host, sizeof(c->host), "%s", o->host);
  c->port = o->port;
  if (o->label != NULL)
    snprintf(c->label, sizeof(c->label), "%s", o->label);
  else if (strchr(o->host, ':') != NULL)
    snprintf(c->label, sizeof(c->label), "[%s]:%u", o->host, o->port);
  else
    snprintf(c->label, sizeof(c->label), "%s:%u", o->host, o->port);
  set_who(c);
  c->read_timeout_ms = o->read_timeout_ms;
  c->mark = o->mark;
  c->addrs = *addrs;
  if (o->tunnel_request != NULL) {
    c->treq_len = strlen(o->tunnel_request);
    if (c->treq_len == 0 || c->treq_len >= sizeof(c->treq)) {
      free(c);
      return UV_EINVAL;
    }
    memcpy(c->treq, o->tunnel_request, c->treq_len);
    c->tunnel_port = o->tunnel_port;
    snprintf(c->tname, sizeof(c->tname), "%s",
             o->tunnel_name != NULL ? o->tunnel_name : "the parent proxy");
  }
  ERR_clear_error();
  err = ssl_setup(c, ctx);
  if (err < 0) {
    ERR_clear_error();
    SSL_free(c->ssl);
    free(c);
    return err;
  }
  uv_timer_init(loop, &c->timer);
  c->timer.data = c;
  uv_update_time(loop); /* the deadline counts from now, not the loop's
                           last wake-up */
  if (o->connect_timeout_ms > 0)
    uv_timer_start(&c->timer, on_timeout, o->connect_timeout_ms, 0);
  try_next(c);
  *out = c;
  return 0;
}

void proxy_tls_close(struct proxy_tls_conn *c)
{
  if (c->phase != PH_OPEN) {
    proxy_tls_abort(c, "closed before the handshake completed");
    return;
  }
  tls_end(c, PROXY_TLS_OK, "%s", "");
}

void proxy_tls_abort(struct proxy_tls_conn *c, const char *why)
{
  if (c->closing) {
    close_handles(c); /* a clean shutdown under way ends now */
    return;
  }
  tls_end(c, PROXY_TLS_EABORT, "%s: %s", c->label,
          why != NULL ? why : "aborted");
}

const char *proxy_tls_version(const struct proxy_tls_conn *c)
{
  return c->version;
}

const char *proxy_tls_peer(const struct proxy_tls_conn *c)
{
  return c->peer;
}
