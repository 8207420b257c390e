/*
 * proxy_alog_format.c - the access log's three line formats (pure).
 *
 * squid (Squid's native access.log, its logformat "squid"):
 *   time.ms elapsed client action/code bytes method URL user
 *   hierarchy/peer type
 * e.g. "1733472000.123      0 127.0.0.1 TCP_HSTS_UPGRADE/307 215 GET
 * http://example.com/ - HIER_NONE/- -". Fields are separated by spaces:
 * a byte below 0x21, DEL and '%' inside a field are written as %XX; an
 * empty or absent field is "-". The hierarchy is HIER_DIRECT with the
 * origin's address when one was connected to, else HIER_NONE/-.
 *
 * combined (nginx's and Apache's "combined"):
 *   client - user [06/Dec/2026:08:00:00 +0000] "METHOD URL HTTP/1.1"
 *   status bytes "referer" "user-agent"
 * with '"', '\' and bytes outside printable ASCII written as \xHH, as
 * nginx does; times in UTC.
 *
 * json: one object per line, every field named (null when absent),
 * strings escaped as JSON and invalid UTF-8 written as U+FFFD.
 *
 * Every append is bounded by the caller's buffer: a line that does not
 * fit is cut, and always ends with '\n'.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hsts.h"
#include "hsts_utf8.h"
#include "proxy_alog.h"

#define HEX       "0123456789ABCDEF"
#define TIME_TEXT 64
#define STATUS_NO 0

static const char *const action_names[PROXY_ALOG_ACTION_COUNT] = {
  [PROXY_ALOG_NONE] = "NONE",
  [PROXY_ALOG_UPGRADE] = "TCP_HSTS_UPGRADE",
  [PROXY_ALOG_MISS] = "TCP_MISS",
  [PROXY_ALOG_TUNNEL] = "TCP_TUNNEL",
  [PROXY_ALOG_DENIED] = "TCP_DENIED",
  [PROXY_ALOG_LOCAL] = "TCP_MEM_HIT",
  [PROXY_ALOG_MISS_ABORTED] = "TCP_MISS_ABORTED",
  [PROXY_ALOG_NONE_ABORTED] = "NONE_ABORTED",
};

static const char *const format_names[] = { "squid", "combined", "json", NULL };

static const char *const months[] = {
  "Jan", "Feb", "Mar", "Apr", "May", "Jun",
  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

const char *proxy_alog_action_name(enum proxy_alog_action a)
{
  return (unsigned)a < PROXY_ALOG_ACTION_COUNT ? action_names[a] : "NONE";
}

int proxy_alog_format_parse(const char *name, enum proxy_alog_format *out)
{
  int i;

  for (i = 0; format_names[i] != NULL; i++)
    if (strcmp(name, format_names[i]) == 0) {
      *out = (enum proxy_alog_format)i;
      return 0;
    }
  return -1;
}

/* The output: appends stop at cap - 2 (room for '\n' and the NUL). */
struct out {
  char *p;
  size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
  size_t room = o->cap - 2 - o->len;

  if (n > room)
    n = room;
  memcpy(o->p + o->len, s, n);
  o->len += n;
}

static void puts_(struct out *o, const char *s)
{
  put(o, s, strlen(s));
}

static void putc_(struct out *o, char c)
{
  put(o, &c, 1);
}

static void putf(struct out *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void putf(struct out *o, const char *fmt, ...)
{
  char buf[TIME_TEXT];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n > 0)
    put(o, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Decimal digits of v, at least `width` (zero-padded when zero is set,
 * else space-padded): the hot path, without printf. */
static void put_num(struct out *o, uint64_t v, int width, int zero)
{
  char buf[24]; /* UINT64_MAX has 20 digits */
  char *end = buf + sizeof(buf), *p = end;

  do {
    *--p = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0 && p > buf);
  while (end - p < width && p > buf)
    *--p = zero ? '0' : ' ';
  put(o, p, (size_t)(end - p));
}

static void put_hex(struct out *o, const char *prefix, unsigned char c)
{
  char h[2] = { HEX[c >> 4], HEX[c & 15] };

  puts_(o, prefix);
  put(o, h, 2);
}

static int has(const struct proxy_alog_rec *r, enum proxy_alog_str i)
{
  return r->s[i] != NULL && r->len[i] > 0;
}

/* Field i, "-" when absent; the bytes `escape` picks as prefix+XX. */
static void put_field(struct out *o, const struct proxy_alog_rec *r,
                      enum proxy_alog_str i, int (*escape)(unsigned char),
                      const char *prefix)
{
  const unsigned char *s = (const unsigned char *)r->s[i];
  size_t k = 0, run;

  if (!has(r, i)) {
    putc_(o, '-');
    return;
  }
  while (k < r->len[i]) { /* runs that need no escape go in one copy */
    for (run = k; run < r->len[i] && !escape(s[run]); run++)
      ;
    put(o, (const char *)s + k, run - k);
    if (run == r->len[i])
      break;
    put_hex(o, prefix, s[run]);
    k = run + 1;
  }
}

/* ---- squid ---- */

static int squid_escape(unsigned char c)
{
  return c <= ' ' || c == 0x7f || c == '%';
}

static void squid_field(struct out *o, const struct proxy_alog_rec *r,
                        enum proxy_alog_str i)
{
  put_field(o, r, i, squid_escape, "%");
}

static uint64_t nonneg(int64_t v)
{
  return v > 0 ? (uint64_t)v : 0;
}

static void squid_line(struct out *o, const struct proxy_alog_rec *r)
{
  put_num(o, nonneg(r->time_ms) / HSTS_MS_PER_S, 0, 0);
  putc_(o, '.');
  put_num(o, nonneg(r->time_ms) % HSTS_MS_PER_S, 3, 1);
  putc_(o, ' ');
  put_num(o, nonneg(r->elapsed_ms), 6, 0);
  putc_(o, ' ');
  squid_field(o, r, PROXY_ALOG_CLIENT);
  putc_(o, ' ');
  puts_(o, proxy_alog_action_name(r->action));
  putc_(o, '/');
  put_num(o, (uint64_t)(r->status > 0 ? r->status : 0), 3, 1);
  putc_(o, ' ');
  put_num(o, r->bytes, 0, 0);
  putc_(o, ' ');
  squid_field(o, r, PROXY_ALOG_METHOD);
  putc_(o, ' ');
  squid_field(o, r, PROXY_ALOG_URL);
  putc_(o, ' ');
  squid_field(o, r, PROXY_ALOG_USER);
  puts_(o, has(r, PROXY_ALOG_PEER) ? " HIER_DIRECT/" : " HIER_NONE/");
  squid_field(o, r, PROXY_ALOG_PEER);
  putc_(o, ' ');
  squid_field(o, r, PROXY_ALOG_TYPE);
}

/* ---- combined ---- */

static int combined_escape(unsigned char c)
{
  return c < ' ' || c >= 0x7f || c == '"' || c == '\\';
}

static void combined_text(struct out *o, const struct proxy_alog_rec *r,
                          enum proxy_alog_str i)
{
  put_field(o, r, i, combined_escape, "\\x");
}

static void combined_line(struct out *o, const struct proxy_alog_rec *r)
{
  time_t t = (time_t)(r->time_ms / HSTS_MS_PER_S);
  struct tm tm;

  gmtime_r(&t, &tm);
  combined_text(o, r, PROXY_ALOG_CLIENT);
  puts_(o, " - ");
  combined_text(o, r, PROXY_ALOG_USER);
  putf(o, " [%02d/%s/%04d:%02d:%02d:%02d +0000] \"", tm.tm_mday,
       months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  combined_text(o, r, PROXY_ALOG_METHOD);
  putc_(o, ' ');
  combined_text(o, r, PROXY_ALOG_URL);
  if (r->http_minor >= 0)
    putf(o, " HTTP/1.%d", r->http_minor);
  putf(o, "\" %03d %" PRIu64 " \"", r->status, r->bytes);
  combined_text(o, r, PROXY_ALOG_REFERER);
  puts_(o, "\" \"");
  combined_text(o, r, PROXY_ALOG_AGENT);
  putc_(o, '"');
}

/* ---- json ---- */

static void json_string(struct out *o, const struct proxy_alog_rec *r,
                        enum proxy_alog_str i)
{
  const unsigned char *p = (const unsigned char *)r->s[i];
  size_t k = 0, n;

  if (r->s[i] == NULL) {
    puts_(o, "null");
    return;
  }
  putc_(o, '"');
  while (k < r->len[i]) {
    unsigned char c = p[k];

    n = hsts_utf8_len(p + k, r->len[i] - k);
    if (n == 0) {
      puts_(o, "\\ufffd");
      k++;
    } else if (c == '"' || c == '\\') {
      putc_(o, '\\');
      putc_(o, (char)c);
      k++;
    } else if (c < ' ' || c == 0x7f) {
      put_hex(o, "\\u00", c);
      k++;
    } else {
      put(o, (const char *)p + k, n);
      k += n;
    }
  }
  putc_(o, '"');
}

static void json_field(struct out *o, const char *name,
                       const struct proxy_alog_rec *r, enum proxy_alog_str i)
{
  putf(o, ",\"%s\":", name);
  json_string(o, r, i);
}

static void json_line(struct out *o, const struct proxy_alog_rec *r)
{
  time_t t = (time_t)(r->time_ms / HSTS_MS_PER_S);
  struct tm tm;

  gmtime_r(&t, &tm);
  putf(o, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"",
       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
       tm.tm_sec, (int)(r->time_ms % HSTS_MS_PER_S));
  putf(o, ",\"time_ms\":%" PRId64 ",\"elapsed_ms\":%" PRId64, r->time_ms,
       r->elapsed_ms);
  json_field(o, "client", r, PROXY_ALOG_CLIENT);
  putf(o, ",\"action\":\"%s\"", proxy_alog_action_name(r->action));
  if (r->status != STATUS_NO)
    putf(o, ",\"status\":%d", r->status);
  else
    puts_(o, ",\"status\":null");
  putf(o, ",\"bytes\":%" PRIu64, r->bytes);
  json_field(o, "method", r, PROXY_ALOG_METHOD);
  json_field(o, "url", r, PROXY_ALOG_URL);
  if (r->http_minor >= 0)
    putf(o, ",\"http_version\":\"HTTP/1.%d\"", r->http_minor);
  else
    puts_(o, ",\"http_version\":null");
  json_field(o, "user", r, PROXY_ALOG_USER);
  putf(o, ",\"hierarchy\":\"%s\"",
       has(r, PROXY_ALOG_PEER) ? "HIER_DIRECT" : "HIER_NONE");
  json_field(o, "peer", r, PROXY_ALOG_PEER);
  json_field(o, "type", r, PROXY_ALOG_TYPE);
  json_field(o, "referer", r, PROXY_ALOG_REFERER);
  json_field(o, "user_agent", r, PROXY_ALOG_AGENT);
  putc_(o, '}');
}

size_t proxy_alog_format_line(enum proxy_alog_format f,
                              const struct proxy_alog_rec *r, char *buf,
                              size_t cap)
{
  struct out o = { buf, 0, cap };

  if (cap < 2) {
    if (cap == 1)
      buf[0] = '\0';
    return 0;
  }
  if (f == PROXY_ALOG_COMBINED)
    combined_line(&o, r);
  else if (f == PROXY_ALOG_JSON)
    json_line(&o, r);
  else
    squid_line(&o, r);
  o.p[o.len++] = '\n';
  o.p[o.len] = '\0';
  return o.len;
}
