/*
 * proxy_intercept.c - whole networks: connections a gateway's firewall
 * redirected to the proxy (nftables or iptables `redirect`/`dnat`), for
 * clients that cannot be configured to use a proxy.
 *
 * Owns what is particular to them; everything else is the engine's
 * usual path:
 *  - the original destination, read back from the kernel's connection
 *    tracking (SO_ORIGINAL_DST for IPv4, IP6T_SO_ORIGINAL_DST for IPv6)
 *    when the connection is accepted. It is the only address the
 *    connection's requests or bytes ever go to (proxy_connect.c connects
 *    to it instead of resolving a name), so a spoofed Host or SNI reaches
 *    nothing the client could not reach anyway. A connection that was not
 *    redirected (its original destination is the proxy's own address, or
 *    the kernel has none) has nowhere to go: plain HTTP is answered 400
 *    by the route (proxy_route.c), TLS is closed.
 *  - --intercept (plain HTTP): the head phase and the route's intercept
 *    table (proxy_route.c): origin-form requests with Host, the same
 *    internal 307 for HSTS hosts, the rest forwarded.
 *  - --intercept-tls: the hello phase below reads the ClientHello without
 *    consuming it (the bytes stay in conn->in and are sent on first, by
 *    the tunnel phase), across TCP segments, for at most PROXY_HELLO_MAX
 *    bytes and --timeout-header; its SNI (proxy_hello.c) names the host
 *    for the --verbose log, the traffic counters and a probe
 *    (proxy_learn.c, at the original destination). Then the connect phase
 *    to the original destination and the tunnel phase splice the bytes
 *    untouched. No SNI, a hello that is not TLS, or one over the cap:
 *    passed through all the same, named by its address and logged as
 *    such. A client that closes or falls silent before its hello is
 *    complete is closed, and nothing is dialled for it.
 *  - the firewall mark (SO_MARK, proxy_mark.c) of the proxy's own
 *    outgoing connections, so the gateway's rules can exempt them rather
 *    than redirect them back to the proxy.
 */
#include "proxy_intercept.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hsts_host.h"
#include "proxy_conn.h"
#include "proxy_debug.h"
#include "proxy_hello.h"
#include "proxy_learn.h"
#include "proxy_log.h"
#include "proxy_phases.h"
#include "proxy_server.h"
#include "proxy_upstream.h"

/* linux/netfilter_ipv4.h and linux/netfilter_ipv6/ip6_tables.h; named
 * here because those headers clash with the C library's. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

#define NEEDS_CAP " (it needs CAP_NET_ADMIN or CAP_NET_RAW)"
/* What one intercepting address adds to the announce line at most. */
#define ANNOUNCE_ITEM (PROXY_ADDR_TEXT + sizeof(", (http)"))

static const struct proxy_config *cfg_of(const struct proxy_conn *conn)
{
  return conn->worker->server->cfg;
}

/* ---- start-up ---- */

int proxy__intercept_open(struct proxy_server *s, struct proxy_error *e)
{
  const struct proxy_config *cfg = s->cfg;
  unsigned mark = cfg->outgoing_mark;
  int err;

  if (!cfg->outgoing_mark_given) {
    if (cfg->nintercept + cfg->nintercept_tls == 0)
      return 0;
    mark = PROXY_DEFAULT_OUTGOING_MARK;
  }
  if (mark == 0) /* --outgoing-mark 0: none */
    return 0;
  err = proxy__mark_check(mark);
  if (err == 0) {
    s->mark = mark;
    return 0;
  }
  if (cfg->outgoing_mark_given) {
    snprintf(e->what, sizeof(e->what), "--outgoing-mark %#x", mark);
    snprintf(e->why, sizeof(e->why),
             "cannot mark the proxy's connections (SO_MARK): %s%s",
             uv_strerror(err), err == UV_EPERM ? NEEDS_CAP : "");
    return err;
  }
  fprintf(stderr,
          "hstsproxy: warning: outgoing connections are not marked "
          "(SO_MARK %#x: %s): the gateway cannot exempt them by mark\n",
          mark, uv_strerror(err));
  return 0;
}

void proxy__intercept_announce(FILE *f, const struct proxy_server *s,
                               const char *const *names, size_t n)
{
  char line[PROXY_MAX_LISTENERS * ANNOUNCE_ITEM + PROXY_ERROR_TEXT];
  size_t len, i, shown = 0;

  len = (size_t)snprintf(line, sizeof(line), "hstsproxy: intercepting on ");
  for (i = 0; i < n && len < sizeof(line); i++) {
    if (s->kinds[i] == PROXY_LISTEN_PROXY)
      continue;
    len += (size_t)snprintf(
        line + len, sizeof(line) - len, "%s%s (%s)", shown++ > 0 ? ", " : "",
        names[i], s->kinds[i] == PROXY_LISTEN_INTERCEPT ? "http" : "tls");
  }
  if (shown == 0 || len >= sizeof(line))
    return;
  if (s->mark != 0)
    snprintf(line + len, sizeof(line) - len, "; outgoing mark %#x\n", s->mark);
  else
    snprintf(line + len, sizeof(line) - len,
             "; outgoing connections "
             "unmarked\n");
  fputs(line, f);
  fflush(f);
}

/* ---- the original destination ---- */

static int same_endpoint(const union proxy_sockaddr *a,
                         const union proxy_sockaddr *b)
{
  if (a->sa.sa_family != b->sa.sa_family)
    return 0;
  if (a->sa.sa_family == AF_INET6)
    return a->in6.sin6_port == b->in6.sin6_port &&
           memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr,
                  sizeof(a->in6.sin6_addr)) == 0;
  return a->in.sin_port == b->in.sin_port &&
         a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
}

/* conn->orig_dst from the kernel; orig_ok unless it has none, or it is
 * the proxy's own address (the client came here directly). */
static void read_orig(struct proxy_conn *conn)
{
  union proxy_sockaddr *o = &conn->orig_dst;
  socklen_t len = sizeof(*o);
  uv_os_fd_t fd;
  int rc = -1;

  memset(o, 0, sizeof(*o));
  if (uv_fileno((uv_handle_t *)&conn->client, &fd) == 0)
    rc = conn->local.sa.sa_family == AF_INET6
             ? getsockopt(fd, IPPROTO_IPV6, IP6T_SO_ORIGINAL_DST, &o->in6, &len)
             : getsockopt(fd, IPPROTO_IP, SO_ORIGINAL_DST, &o->in, &len);
  if (rc < 0) {
    proxy__debug(conn->worker, "conn %llu %s: no original destination: %s",
                 (unsigned long long)conn->id, conn->peer, strerror(errno));
    return;
  }
  conn->orig_ok = !same_endpoint(o, &conn->local);
}

/* ---- the hello phase (--intercept-tls) ---- */

static const char *orig_text(const struct proxy_conn *conn, char *buf,
                             size_t size)
{
  return proxy_addr_format(&conn->orig_dst.sa, buf, size);
}

/* conn->target: the SNI when it is a host name, else the address. */
static void name_target(struct proxy_conn *conn, const char *sni)
{
  struct proxy_target *t = &conn->target;
  enum hsts_host_kind kind = HSTS_HOST_IPV4;

  memset(t, 0, sizeof(*t));
  t->port = proxy__addr_port(&conn->orig_dst);
  orig_text(conn, t->key, sizeof(t->key));
  if (sni == NULL ||
      hsts_host_normalize(sni, strlen(sni), t->host, &kind) != HSTS_OK ||
      kind != HSTS_HOST_NAME) {
    if (conn->orig_dst.sa.sa_family == AF_INET6)
      uv_ip6_name(&conn->orig_dst.in6, t->host, sizeof(t->host));
    else
      uv_ip4_name(&conn->orig_dst.in, t->host, sizeof(t->host));
    t->is_ip = 1;
    t->is_ipv6 = conn->orig_dst.sa.sa_family == AF_INET6;
  }
  snprintf(t->authority, sizeof(t->authority), "%s", t->key);
}

/* The hello is read (or given up on): name it, count it, connect. */
static void hello_done(struct proxy_conn *conn, enum proxy_hello_status st,
                       const char *sni)
{
  name_target(conn, st == PROXY_HELLO_SNI ? sni : NULL);
  proxy__debug(conn->worker, "conn %llu %s: intercepted TLS to %s: %s%s%s",
               (unsigned long long)conn->id, conn->peer, conn->target.key,
               proxy_hello_strstatus(st), st == PROXY_HELLO_SNI ? " " : "",
               st == PROXY_HELLO_SNI ? conn->target.host
                                     : ", passed through unnamed");
  conn->req_ms = proxy__wall_ms();
  conn->req_ns = uv_hrtime();
  conn->head_len = 0; /* every byte read is sent on first */
  conn->is_tunnel = 1;
  conn->resp_started = 1; /* a failure closes: no HTTP answer in TLS */
  proxy__log_traffic(conn, 1);
  if (!conn->target.is_ip)
    proxy__learn_connect(conn); /* a probe at the original destination */
  proxy__origin_connect(conn, proxy__tunnel_start);
}

static void hello_read(struct proxy_conn *conn, ssize_t nread, char *base)
{
  char sni[PROXY_HELLO_NAME_MAX];
  enum proxy_hello_status st;

  (void)base; /* conn->in: the buffer was made when the phase began */
  if (nread == 0)
    return;
  if (nread < 0) {
    conn->client_eof = 1;
    proxy__conn_close(conn, conn->in_len > 0
                                ? "client left before its ClientHello ended"
                                : "client closed");
    return;
  }
  conn->in_len += (size_t)nread;
  st = proxy_hello_sni((const unsigned char *)conn->in, conn->in_len, sni);
  if (st == PROXY_HELLO_MORE && conn->in_len >= PROXY_HELLO_MAX)
    st = PROXY_HELLO_TOO_BIG;
  if (st != PROXY_HELLO_MORE)
    hello_done(conn, st, sni);
}

static void hello_timeout(struct proxy_conn *conn)
{
  proxy__conn_close(conn, conn->in_len > 0
                              ? "ClientHello incomplete in time: refused"
                              : "no ClientHello in time");
}

static enum proxy_rbuf hello_buf(const struct proxy_conn *conn)
{
  (void)conn;
  return PROXY_RBUF_HEAD;
}

static int hello_wants(const struct proxy_conn *conn, int reading)
{
  (void)reading;
  return !conn->client_eof;
}

static const struct proxy_phase phase_hello = {
  .name = "hello",
  .client_buf = hello_buf,
  .client_wants = hello_wants,
  .client_read = hello_read,
  .timeout = hello_timeout,
};

void proxy__intercept_accepted(struct proxy_conn *conn)
{
  char dst[PROXY_ADDR_TEXT];

  read_orig(conn);
  if (conn->kind == PROXY_LISTEN_INTERCEPT) {
    proxy__conn_enter(conn, &proxy__phase_head, 0); /* route: 400 if !ok */
    return;
  }
  if (!conn->orig_ok) {
    proxy__conn_close(conn, "TLS connection not redirected to the proxy: "
                            "nowhere to pass it on to");
    return;
  }
  if (proxy__buf_room(&conn->in, &conn->in_cap, 0, PROXY_IN_MAX) == 0) {
    proxy__conn_close(conn, "out of memory");
    return;
  }
  proxy__debug(conn->worker, "conn %llu %s: intercepted TLS to %s",
               (unsigned long long)conn->id, conn->peer,
               orig_text(conn, dst, sizeof(dst)));
  proxy__conn_enter(conn, &phase_hello,
                    proxy__ms(cfg_of(conn)->timeout_header_s));
}
