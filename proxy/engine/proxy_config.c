/*
 * proxy_config.c - option values of `hstsproxy run`, parsed strictly,
 * and the one lookup into them that connecting needs (--map).
 *
 * Owns nothing beyond the caller's struct proxy_config: every parser
 * validates its whole argument before it stores anything, so a rejected
 * option leaves the configuration as it was. Addresses are IP literals,
 * with one exception: a --listen host name is resolved here, on the
 * calling (main) thread before any loop runs, and every address it
 * resolves to is listened on. --map exists to connect without any lookup
 * (like curl's --connect-to).
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "hsts_host.h"
#include "hsts_idna.h"
#include "proxy_alog.h"
#include "proxy_net.h"

#define DECIMAL_BASE 10u

void proxy_config_init(struct proxy_config *cfg)
{
  unsigned cpus = uv_available_parallelism();

  memset(cfg, 0, sizeof(*cfg));
  if (cpus < 1)
    cpus = 1;
  if (cpus > PROXY_MAX_WORKERS)
    cpus = PROXY_MAX_WORKERS;
  cfg->workers = cpus;
  cfg->connect_ports[0] = PROXY_DEFAULT_CONNECT_PORT;
  cfg->nconnect_ports = 1;
  cfg->max_conns = PROXY_DEFAULT_MAX_CONNS;
  cfg->timeout_header_s = PROXY_DEFAULT_TIMEOUT_HEADER_S;
  cfg->timeout_idle_s = PROXY_DEFAULT_TIMEOUT_IDLE_S;
  cfg->timeout_connect_s = PROXY_DEFAULT_TIMEOUT_CONNECT_S;
  cfg->timeout_response_s = PROXY_DEFAULT_TIMEOUT_RESPONSE_S;
  cfg->timeout_tunnel_s = PROXY_DEFAULT_TIMEOUT_TUNNEL_S;
  cfg->preload_refresh_ms = PROXY_PRELOAD_REFRESH_DEFAULT_MS;
  cfg->retain_s = PROXY_DEFAULT_RETAIN_S;
}

/* Parses s[0..len) as decimal digits within [min, max]. */
static int parse_uint_n(const char *s, size_t len, unsigned min, unsigned max,
                        unsigned *out, const char **why)
{
  unsigned long v = 0;
  size_t i;

  if (len == 0) {
    *why = "empty number";
    return -1;
  }
  for (i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') {
      *why = "not a decimal number";
      return -1;
    }
    v = v * DECIMAL_BASE + (unsigned long)(s[i] - '0');
    if (v > max) {
      *why = "number out of range";
      return -1;
    }
  }
  if (v < min) {
    *why = "number out of range";
    return -1;
  }
  *out = (unsigned)v;
  return 0;
}

int proxy_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out,
                     const char **why)
{
  return parse_uint_n(s, strlen(s), min, max, out, why);
}

/*
 * Splits "ADDR:PORT", "[V6]:PORT", "ADDR" or "[V6]" (port optional when
 * port_optional) into the address text (brackets removed) and the port
 * text. Returns 0, or -1 with *why.
 */
static int split_hostport(const char *s, size_t len, int port_optional,
                          const char **host, size_t *hlen, const char **port,
                          size_t *plen, const char **why)
{
  const char *colon;

  *port = NULL;
  *plen = 0;
  if (len > 0 && s[0] == '[') {
    const char *end = memchr(s, ']', len);

    if (end == NULL) {
      *why = "missing ']' after an IPv6 address";
      return -1;
    }
    *host = s + 1;
    *hlen = (size_t)(end - s - 1);
    colon = end + 1 < s + len ? end + 1 : NULL;
    if (colon != NULL && *colon != ':') {
      *why = "expected ':' after ']'";
      return -1;
    }
  } else {
    colon = memchr(s, ':', len);
    *host = s;
    *hlen = colon != NULL ? (size_t)(colon - s) : len;
  }
  if (colon != NULL) {
    *port = colon + 1;
    *plen = (size_t)(s + len - *port);
  } else if (!port_optional) {
    *why = "missing :PORT";
    return -1;
  }
  return 0;
}

/* Parses an IP literal (IPv6 only when `v6`) into ss with port 0. */
static int parse_ip(const char *s, size_t len, int v6,
                    struct sockaddr_storage *ss, const char **why)
{
  char text[INET6_ADDRSTRLEN];

  memset(ss, 0, sizeof(*ss));
  if (len == 0 || len >= sizeof(text)) {
    *why = "not an IP address";
    return -1;
  }
  memcpy(text, s, len);
  text[len] = '\0';
  if (v6) {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

    a6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, text, &a6->sin6_addr) == 1)
      return 0;
    *why = "not an IPv6 address";
  } else {
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

    a4->sin_family = AF_INET;
    if (inet_pton(AF_INET, text, &a4->sin_addr) == 1)
      return 0;
    *why = "not an IPv4 address (IPv6 goes in brackets; names are "
           "not resolved)";
  }
  return -1;
}

static void set_port(struct sockaddr_storage *ss, unsigned port)
{
  if (ss->ss_family == AF_INET6)
    ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
  else
    ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

/* Parses "ADDR[:PORT]" with ADDR an IP literal. */
static int parse_addr_port(const char *s, size_t len, int port_optional,
                           unsigned min_port, struct sockaddr_storage *ss,
                           unsigned *port, const char **why)
{
  const char *h, *p;
  size_t hlen, plen;

  if (split_hostport(s, len, port_optional, &h, &hlen, &p, &plen, why) < 0)
    return -1;
  if (parse_ip(h, hlen, s[0] == '[', ss, why) < 0)
    return -1;
  *port = 0;
  if (p != NULL &&
      parse_uint_n(p, plen, min_port, PROXY_PORT_MAX, port, why) < 0) {
    *why = min_port == 0 ? "port is not a number 0-65535"
                         : "port is not a number 1-65535";
    return -1;
  }
  set_port(ss, *port);
  return 0;
}

/* ---- --listen NAME:PORT ---- */

/* Adds ss unless an equal address is there already. Returns 0, or -1
 * when the table is full. */
static int listen_add_unique(struct proxy_config *cfg,
                             const struct sockaddr_storage *ss)
{
  size_t i, len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                            : sizeof(struct sockaddr_in);

  for (i = 0; i < cfg->nlisten; i++)
    if (memcmp(&cfg->listen[i], ss, len) == 0)
      return 0;
  if (cfg->nlisten >= PROXY_MAX_LISTEN)
    return -1;
  cfg->listen[cfg->nlisten++] = *ss;
  return 0;
}

/* Adds every address of res with the port; all or nothing. */
static int listen_add_all(struct proxy_config *cfg, const struct addrinfo *res,
                          unsigned port, const char **why)
{
  size_t before = cfg->nlisten;
  const struct addrinfo *ai;
  struct sockaddr_storage ss;

  for (ai = res; ai != NULL; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
      continue;
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    set_port(&ss, port);
    if (listen_add_unique(cfg, &ss) < 0) {
      cfg->nlisten = before;
      *why = "too many --listen addresses";
      return -1;
    }
  }
  if (cfg->nlisten == before) {
    *why = "the name has no IPv4 or IPv6 address";
    return -1;
  }
  return 0;
}

/*
 * "NAME:PORT": a host name resolved now (getaddrinfo blocks: this runs on
 * the main thread, before any loop), each address listened on. Anything
 * that is not a host name keeps the literal parser's *why.
 */
static int listen_name(struct proxy_config *cfg, const char *arg,
                       const char **why)
{
  static char gai_why[PROXY_ERROR_TEXT]; /* main thread only */
  char host[PROXY_HOST_MAX + 1];
  const char *colon = strrchr(arg, ':');
  struct addrinfo hints, *res = NULL;
  enum hsts_host_kind kind;
  unsigned port;
  int rc;

  if (arg[0] == '[' || colon == NULL ||
      hsts_host_normalize(arg, (size_t)(colon - arg), host, &kind) != HSTS_OK ||
      kind != HSTS_HOST_NAME || memchr(arg, ':', (size_t)(colon - arg)))
    return -1;
  if (parse_uint_n(colon + 1, strlen(colon + 1), 0, PROXY_PORT_MAX, &port,
                   why) < 0) {
    *why = "port is not a number 0-65535";
    return -1;
  }
  memset(&hints, 0, sizeof(hints));
  hints.ai_socktype = SOCK_STREAM;
  rc = getaddrinfo(host, NULL, &hints, &res);
  if (rc != 0) {
    snprintf(gai_why, sizeof(gai_why), "cannot resolve the name: %s",
             gai_strerror(rc));
    *why = gai_why;
    return -1;
  }
  rc = listen_add_all(cfg, res, port, why);
  freeaddrinfo(res);
  return rc;
}

int proxy_config_add_listen(struct proxy_config *cfg, const char *arg,
                            const char **why)
{
  struct sockaddr_storage ss;
  unsigned port;

  if (cfg->nlisten >= PROXY_MAX_LISTEN) {
    *why = "too many --listen addresses";
    return -1;
  }
  if (parse_addr_port(arg, strlen(arg), 0, 0, &ss, &port, why) < 0)
    return listen_name(cfg, arg, why);
  cfg->listen[cfg->nlisten++] = ss;
  return 0;
}

/* ---- whole networks: --intercept, --intercept-tls, --outgoing-mark ---- */

int proxy_config_add_intercept(struct proxy_config *cfg, const char *arg,
                               int tls, const char **why)
{
  struct sockaddr_storage ss, *list = tls ? cfg->intercept_tls : cfg->intercept;
  size_t *n = tls ? &cfg->nintercept_tls : &cfg->nintercept;
  unsigned port;

  if (*n >= PROXY_MAX_INTERCEPT) {
    *why = "too many addresses";
    return -1;
  }
  if (parse_addr_port(arg, strlen(arg), 0, 0, &ss, &port, why) < 0)
    return -1;
  list[(*n)++] = ss;
  return 0;
}

#define HEX_BASE   16u
#define MARK_MAX   0xffffffffu
#define HEX_PREFIX "0x"

/* A hex digit's value, or -1. */
static int hex_value(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + (int)DECIMAL_BASE;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + (int)DECIMAL_BASE;
  return -1;
}

int proxy_config_set_outgoing_mark(struct proxy_config *cfg, const char *arg,
                                   const char **why)
{
  unsigned long v = 0;
  const char *p = arg + strlen(HEX_PREFIX);

  if (strncmp(arg, HEX_PREFIX, strlen(HEX_PREFIX)) != 0) {
    if (parse_uint_n(arg, strlen(arg), 0, MARK_MAX, &cfg->outgoing_mark, why) <
        0)
      return -1;
    cfg->outgoing_mark_given = 1;
    return 0;
  }
  if (*p == '\0') {
    *why = "no hex digits after 0x";
    return -1;
  }
  for (; *p != '\0'; p++) {
    int d = hex_value(*p);

    if (d < 0 || v > MARK_MAX / HEX_BASE) {
      *why = d < 0 ? "not a hex number" : "number out of range";
      return -1;
    }
    v = v * HEX_BASE + (unsigned long)d;
  }
  cfg->outgoing_mark = (unsigned)v;
  cfg->outgoing_mark_given = 1;
  return 0;
}

/* Parses the HOST[:PORT] side of a map into m->host and m->port. */
static int parse_map_source(const char *s, size_t len, struct proxy_map *m,
                            const char **why)
{
  const char *h, *p;
  size_t hlen, plen;
  enum hsts_host_kind kind;

  if (split_hostport(s, len, 1, &h, &hlen, &p, &plen, why) < 0)
    return -1;
  if (hsts_host_normalize_idna(h, hlen, m->host, &kind, NULL) != HSTS_OK) {
    *why = "HOST is not a valid host name or IP address";
    return -1;
  }
  m->port = 0;
  if (p != NULL &&
      parse_uint_n(p, plen, 1, PROXY_PORT_MAX, &m->port, why) < 0) {
    *why = "HOST's port is not a number 1-65535";
    return -1;
  }
  return 0;
}

int proxy_config_add_map(struct proxy_config *cfg, const char *arg,
                         const char **why)
{
  struct proxy_map m;
  const char *eq = strchr(arg, '=');

  if (cfg->nmaps >= PROXY_MAX_MAPS) {
    *why = "too many --map entries";
    return -1;
  }
  if (eq == NULL || eq == arg || eq[1] == '\0') {
    *why = "expected HOST[:PORT]=ADDR[:PORT]";
    return -1;
  }
  memset(&m, 0, sizeof(m));
  if (parse_map_source(arg, (size_t)(eq - arg), &m, why) < 0)
    return -1;
  if (parse_addr_port(eq + 1, strlen(eq + 1), 1, 1, &m.addr, &m.to_port, why) <
      0)
    return -1;
  cfg->maps[cfg->nmaps++] = m;
  return 0;
}

int proxy_config_set_connect_ports(struct proxy_config *cfg, const char *arg,
                                   const char **why)
{
  unsigned ports[PROXY_MAX_CONNECT_PORTS];
  size_t n = 0;
  const char *s = arg;

  for (;;) {
    const char *comma = strchr(s, ',');
    size_t len = comma != NULL ? (size_t)(comma - s) : strlen(s);

    if (n >= PROXY_MAX_CONNECT_PORTS) {
      *why = "too many ports";
      return -1;
    }
    if (parse_uint_n(s, len, 1, PROXY_PORT_MAX, &ports[n], why) < 0) {
      *why = "expected a comma-separated list of ports 1-65535";
      return -1;
    }
    n++;
    if (comma == NULL)
      break;
    s = comma + 1;
  }
  memcpy(cfg->connect_ports, ports, n * sizeof(ports[0]));
  cfg->nconnect_ports = n;
  return 0;
}

char *proxy_addr_format(const struct sockaddr *sa, char *buf, size_t size)
{
  char ip[INET6_ADDRSTRLEN] = "?";

  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;

    uv_ip6_name(a6, ip, sizeof(ip));
    snprintf(buf, size, "[%s]:%u", ip, (unsigned)ntohs(a6->sin6_port));
  } else {
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;

    uv_ip4_name(a4, ip, sizeof(ip));
    snprintf(buf, size, "%s:%u", ip, (unsigned)ntohs(a4->sin_port));
  }
  return buf;
}

const struct proxy_map *proxy__map_find(const struct proxy_map *maps, size_t n,
                                        const char *host, unsigned port)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (strcmp(maps[i].host, host) == 0 &&
        (maps[i].port == 0 || maps[i].port == port))
      return &maps[i];
  return NULL;
}

int proxy__map_route(const struct proxy_map *maps, size_t n, const char *host,
                     unsigned port, struct proxy_addrs *out, unsigned *to_port)
{
  const struct proxy_map *m = proxy__map_find(maps, n, host, port);

  *to_port = port;
  if (m == NULL)
    return 0;
  memcpy(&out->a[0], &m->addr, sizeof(out->a[0]));
  out->n = 1;
  if (m->to_port != 0)
    *to_port = m->to_port;
  return 1;
}

int proxy_config_set_access_log_format(struct proxy_config *cfg,
                                       const char *arg, const char **why)
{
  enum proxy_alog_format f;

  if (proxy_alog_format_parse(arg, &f) < 0) {
    *why = "expected squid, combined or json";
    return -1;
  }
  cfg->access_log_format = (int)f;
  return 0;
}
