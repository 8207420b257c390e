/*
 * proxy_config.c - option values of `hstsproxy run`, parsed strictly,
 * and the one lookup into them that connecting needs (--map).
 *
 * Owns nothing beyond the caller's struct proxy_config: every parser
 * validates its whole argument before it stores anything, so a rejected
 * option leaves the configuration as it was. Addresses are IP literals
 * only: the proxy never resolves a name at startup, and --map exists to
 * connect without any lookup (like curl's --connect-to).
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "hsts_host.h"
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
    return -1;
  cfg->listen[cfg->nlisten++] = ss;
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
  if (hsts_host_normalize(h, hlen, m->host, &kind) != HSTS_OK) {
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
