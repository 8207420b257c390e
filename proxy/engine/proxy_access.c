/*
 * proxy_access.c - which clients may use the proxy: --allow CIDR lists.
 *
 * A forward proxy reachable by strangers is abused within hours, so the
 * default is loopback clients only (127.0.0.0/8 and ::1), and listening
 * on an address that is not loopback without any --allow is refused at
 * startup (proxy_config_check_open). Each accepted client's address is
 * matched against the list before a byte of its request is read: IPv4
 * networks as 4 bytes, IPv6 as 16, and an IPv4-mapped IPv6 client
 * (::ffff:a.b.c.d, from a dual-stack listener) compared as the IPv4
 * address it is (RFC 4291 section 2.5.5.2). Parsing is strict: a network
 * with host bits set ("10.0.0.1/8") is rejected rather than masked, since
 * it usually means a typo. Denials are logged to stderr at most once per
 * PROXY_DENY_LOG_MS, with the count of those left unlogged.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "proxy_server.h"

#define V4_LEN          4
#define V6_LEN          16
#define V4_BITS         32u
#define V6_BITS         128u
#define BITS_PER_BYTE   8u
#define CIDR_TEXT_MAX   64  /* an IPv6 address, "/128" and NUL fit */
#define V4_LOOPBACK_NET 127 /* 127.0.0.0/8 */
#define MAPPED_PREFIX   12  /* ::ffff:0:0/96 is 12 bytes */

static const unsigned char v4_mapped[MAPPED_PREFIX] = {
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};
static const unsigned char v6_loopback[V6_LEN] = { 0, 0, 0, 0, 0, 0, 0, 0,
                                                   0, 0, 0, 0, 0, 0, 0, 1 };

/* Whether the bits of a past the first `prefix` are all zero. */
static int host_bits_zero(const unsigned char *a, size_t len, unsigned prefix)
{
  size_t i;

  for (i = 0; i < len; i++) {
    unsigned first = (unsigned)i * BITS_PER_BYTE;
    unsigned char mask;

    if (first + BITS_PER_BYTE <= prefix)
      continue;
    mask = first >= prefix ? 0xff : (unsigned char)(0xff >> (prefix - first));
    if ((a[i] & mask) != 0)
      return 0;
  }
  return 1;
}

/* Whether the first `prefix` bits of a and b agree. */
static int prefix_match(const unsigned char *a, const unsigned char *b,
                        unsigned prefix)
{
  unsigned whole = prefix / BITS_PER_BYTE, rest = prefix % BITS_PER_BYTE;
  unsigned char mask;

  if (memcmp(a, b, whole) != 0)
    return 0;
  if (rest == 0)
    return 1;
  mask = (unsigned char)(0xff << (BITS_PER_BYTE - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

int proxy__cidr_parse(const char *arg, struct proxy_cidr *out, const char **why)
{
  char text[CIDR_TEXT_MAX];
  const char *slash = strchr(arg, '/');
  size_t alen = slash != NULL ? (size_t)(slash - arg) : strlen(arg);
  unsigned maxbits;

  memset(out, 0, sizeof(*out));
  if (alen == 0 || alen >= sizeof(text)) {
    *why = alen == 0 ? "empty address" : "address too long";
    return -1;
  }
  memcpy(text, arg, alen);
  text[alen] = '\0';
  out->v6 = strchr(text, ':') != NULL;
  if (inet_pton(out->v6 ? AF_INET6 : AF_INET, text, out->addr) != 1) {
    *why = out->v6 ? "not an IPv6 address (no brackets)"
                   : "not an IPv4 address (a.b.c.d)";
    return -1;
  }
  maxbits = out->v6 ? V6_BITS : V4_BITS;
  out->prefix = maxbits;
  if (slash != NULL &&
      proxy_parse_uint(slash + 1, 0, maxbits, &out->prefix, why) < 0) {
    *why = out->v6 ? "bad prefix length (expected /0-/128)"
                   : "bad prefix length (expected /0-/32)";
    return -1;
  }
  if (!host_bits_zero(out->addr, out->v6 ? V6_LEN : V4_LEN, out->prefix)) {
    *why = "address has bits set past the prefix length (host bits)";
    return -1;
  }
  return 0;
}

/* Appends arg to a list of at most PROXY_MAX_ALLOW networks. */
static int add_cidr(struct proxy_cidr *list, size_t *n, const char *arg,
                    const char *full, const char **why)
{
  struct proxy_cidr c;

  if (*n >= PROXY_MAX_ALLOW) {
    *why = full;
    return -1;
  }
  if (proxy__cidr_parse(arg, &c, why) < 0)
    return -1;
  list[(*n)++] = c;
  return 0;
}

int proxy_config_add_allow(struct proxy_config *cfg, const char *arg,
                           const char **why)
{
  return add_cidr(cfg->allow, &cfg->nallow, arg, "too many --allow networks",
                  why);
}

/*
 * Reduces sa to the bytes to match: 4 for IPv4 and IPv4-mapped IPv6,
 * 16 for other IPv6. Returns the length, or 0 for another family.
 */
static size_t addr_bytes(const struct sockaddr *sa, unsigned char out[V6_LEN])
{
  const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
  const unsigned char *b;

  if (sa->sa_family == AF_INET) {
    memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, V4_LEN);
    return V4_LEN;
  }
  if (sa->sa_family != AF_INET6)
    return 0;
  b = in6->sin6_addr.s6_addr;
  if (memcmp(b, v4_mapped, MAPPED_PREFIX) == 0) {
    memcpy(out, b + MAPPED_PREFIX, V4_LEN);
    return V4_LEN;
  }
  memcpy(out, b, V6_LEN);
  return V6_LEN;
}

static int is_loopback(const unsigned char *a, size_t len)
{
  if (len == V4_LEN)
    return a[0] == V4_LOOPBACK_NET;
  return len == V6_LEN && memcmp(a, v6_loopback, V6_LEN) == 0;
}

int proxy_config_add_console_allow(struct proxy_config *cfg, const char *arg,
                                   const char **why)
{
  return add_cidr(cfg->console_allow, &cfg->nconsole_allow, arg,
                  "too many --console-allow networks", why);
}

int proxy__cidr_match(const struct proxy_cidr *list, size_t n,
                      const struct sockaddr *sa)
{
  unsigned char a[V6_LEN];
  size_t len = addr_bytes(sa, a), i;

  for (i = 0; len > 0 && i < n; i++) {
    const struct proxy_cidr *c = &list[i];

    if ((c->v6 ? V6_LEN : V4_LEN) == len && prefix_match(a, c->addr, c->prefix))
      return 1;
  }
  return 0;
}

int proxy__cidr_allowed(const struct proxy_cidr *list, size_t n,
                        const struct sockaddr *sa)
{
  unsigned char a[V6_LEN];
  size_t len = addr_bytes(sa, a);

  if (len == 0)
    return 0;
  if (n == 0)
    return is_loopback(a, len);
  return proxy__cidr_match(list, n, sa);
}

int proxy__access_allowed(const struct proxy_config *cfg,
                          const struct sockaddr *sa)
{
  return proxy__cidr_allowed(cfg->allow, cfg->nallow, sa);
}

/* The first of addrs[0..n) that is not loopback, or NULL. */
static const struct sockaddr *open_address(const struct sockaddr_storage *addrs,
                                           size_t n)
{
  unsigned char a[V6_LEN];
  size_t i;

  for (i = 0; i < n; i++) {
    const struct sockaddr *sa = (const struct sockaddr *)&addrs[i];

    if (!is_loopback(a, addr_bytes(sa, a)))
      return sa;
  }
  return NULL;
}

int proxy_config_check_open(const struct proxy_config *cfg,
                            struct proxy_error *err)
{
  const struct sockaddr *sa = NULL;
  const char *opt = "--listen";
  char text[PROXY_ADDR_TEXT];

  if (cfg->nallow > 0)
    return 0;
  sa = open_address(cfg->listen, cfg->nlisten);
  if (sa == NULL) { /* interception: the same rule for its listeners */
    opt = "--intercept";
    sa = open_address(cfg->intercept, cfg->nintercept);
  }
  if (sa == NULL) {
    opt = "--intercept-tls";
    sa = open_address(cfg->intercept_tls, cfg->nintercept_tls);
  }
  if (sa == NULL)
    return 0;
  proxy_addr_format(sa, text, sizeof(text));
  snprintf(err->what, sizeof(err->what), "%s %s", opt, text);
  snprintf(err->why, sizeof(err->why),
           "not a loopback address; refusing to run an open proxy "
           "without --allow CIDR");
  return -1;
}

void proxy__access_denied(struct proxy_server *s, const char *client)
{
  struct proxy_access_log *l = &s->deny_log;
  uint64_t now = uv_hrtime() / HSTS_NS_PER_MS;
  uint64_t last = atomic_load_explicit(&l->last_ms, memory_order_relaxed);
  uint64_t skipped;

  if (last != 0 && now - last < PROXY_DENY_LOG_MS) {
    atomic_fetch_add_explicit(&l->suppressed, 1, memory_order_relaxed);
    return;
  }
  if (!atomic_compare_exchange_strong(&l->last_ms, &last, now)) {
    atomic_fetch_add_explicit(&l->suppressed, 1, memory_order_relaxed);
    return;
  }
  skipped = atomic_exchange(&l->suppressed, 0);
  if (skipped > 0)
    fprintf(stderr,
            "hstsproxy: client %s: refused (not in --allow); %llu more "
            "refused since the last line\n",
            client, (unsigned long long)skipped);
  else
    fprintf(stderr, "hstsproxy: client %s: refused (not in --allow)\n", client);
}
