/*
 * store_curl.c - curl's --hsts cache format, for interop (curl lib/hsts.c).
 *
 * One line per host: `[.]host "YYYYMMDD HH:MM:SS"` with the expiry in UTC,
 * a leading dot when subdomains are included, "unlimited" for no expiry;
 * blank lines and lines starting with `#` are comments. The format has no
 * max-age, no observation time and no source: an imported line becomes a
 * manual policy observed now whose max-age is the time left. Parsing is
 * strict (one host, blanks, one quoted date, nothing after) and the import
 * runs in one transaction, so a malformed line changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_import_int.h"
#include "store_policy.h"

#define UNLIMITED  "unlimited"
#define DATE_LEN   17 /* "YYYYMMDD HH:MM:SS" */
#define WHY_MAX    384
#define HOW_CURL   "curl"
#define NAME_SHOWN 80 /* bytes of a bad host quoted in a message */

static int write_policy(const struct store_policy *p, void *arg)
{
  FILE *f = arg;
  struct tm tm;
  time_t t = (time_t)p->expires;

  if (p->expires == STORE_NEVER || gmtime_r(&t, &tm) == NULL) {
    fprintf(f, "%s%s \"%s\"\n", p->include_subdomains ? "." : "", p->host,
            UNLIMITED);
    return 0;
  }
  fprintf(f, "%s%s \"%04d%02d%02d %02d:%02d:%02d\"\n",
          p->include_subdomains ? "." : "", p->host, tm.tm_year + 1900,
          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return 0;
}

int store_policy_export_curl(struct store *s, FILE *f, int64_t now)
{
  int err;

  fprintf(f, "# HSTS cache in curl's --hsts format, written by hstsproxy.\n"
             "# [.]host \"YYYYMMDD HH:MM:SS\" (UTC expiry; a leading dot "
             "includes subdomains)\n");
  err = store_policy_foreach(s, HSTS_SOURCE_NONE, now, write_policy, f);
  if (err != STORE_OK)
    return err;
  if (fflush(f) != 0 || ferror(f))
    return store__fail(s, STORE_EIO, "writing the curl cache failed");
  return STORE_OK;
}

/* n ASCII digits at p as an int; -1 when one is not a digit. */
static int digits(const char *p, int n)
{
  int v = 0, i;

  for (i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9')
      return -1;
    v = v * 10 + (p[i] - '0');
  }
  return v;
}

/* "YYYYMMDD HH:MM:SS" (exactly) into Unix seconds; -1 when invalid. */
static int parse_date(const char *d, size_t len, int64_t *out)
{
  struct tm tm, back;
  time_t t;

  memset(&tm, 0, sizeof(tm));
  if (len != DATE_LEN || d[8] != ' ' || d[11] != ':' || d[14] != ':')
    return -1;
  tm.tm_year = digits(d, 4) - 1900;
  tm.tm_mon = digits(d + 4, 2) - 1;
  tm.tm_mday = digits(d + 6, 2);
  tm.tm_hour = digits(d + 9, 2);
  tm.tm_min = digits(d + 12, 2);
  tm.tm_sec = digits(d + 15, 2);
  if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mday < 1 || tm.tm_hour < 0 ||
      tm.tm_min < 0 || tm.tm_sec < 0)
    return -1;
  back = tm;
  t = timegm(&tm);
  /* timegm normalizes 31 February into March: refuse what moved. */
  if (tm.tm_year != back.tm_year || tm.tm_mon != back.tm_mon ||
      tm.tm_mday != back.tm_mday || tm.tm_hour != back.tm_hour ||
      tm.tm_min != back.tm_min || tm.tm_sec != back.tm_sec)
    return -1;
  *out = (int64_t)t;
  return 0;
}

struct curl_import {
  struct store *s;
  const char *path;
  int64_t now;
  size_t imported, expired;
};

static int bad_line(struct curl_import *c, size_t lineno, const char *why)
{
  return store__fail(c->s, STORE_EFORMAT, "%s: line %zu: %s", c->path, lineno,
                     why);
}

/* Splits `[.]host "date"` into its parts. Returns 0, or -1 with *why. */
static int split(const char *line, size_t len, const char **host,
                 size_t *hostlen, const char **date, size_t *datelen,
                 const char **why)
{
  size_t i = 0, start;
  const char *q;

  while (i < len && line[i] != ' ' && line[i] != '\t')
    i++;
  *host = line;
  *hostlen = i;
  start = i;
  while (i < len && (line[i] == ' ' || line[i] == '\t'))
    i++;
  if (i == start || i >= len || line[i] != '"') {
    *why = "expected a host, blanks, then a quoted expiry date";
    return -1;
  }
  q = memchr(line + i + 1, '"', len - i - 1);
  if (q == NULL) {
    *why = "the expiry date's closing quote is missing";
    return -1;
  }
  *date = line + i + 1;
  *datelen = (size_t)(q - *date);
  for (i = (size_t)(q - line) + 1; i < len; i++) {
    if (line[i] != ' ' && line[i] != '\t') {
      *why = "unexpected text after the expiry date";
      return -1;
    }
  }
  return 0;
}

static int curl_line(struct curl_import *c, const char *line, size_t len,
                     size_t lineno)
{
  const char *host, *date, *why;
  size_t hostlen, datelen;
  struct store_policy p;
  char norm[HSTS_HOST_MAX + 1], text[WHY_MAX];
  int sub;

  if (split(line, len, &host, &hostlen, &date, &datelen, &why) != 0)
    return bad_line(c, lineno, why);
  sub = hostlen > 0 && host[0] == '.';
  if (store_policy_host(host + sub, hostlen - (size_t)sub, norm, &why) !=
      STORE_OK) {
    char shown[NAME_SHOWN];

    store__printable(host, hostlen, shown, sizeof(shown));
    snprintf(text, sizeof(text), "\"%s\": %s", shown, why);
    return bad_line(c, lineno, text);
  }
  memset(&p, 0, sizeof(p));
  snprintf(p.host, sizeof(p.host), "%s", norm);
  p.source = HSTS_SOURCE_MANUAL;
  p.include_subdomains = sub;
  p.observed = c->now;
  snprintf(p.how, sizeof(p.how), "%s", HOW_CURL);
  if (datelen == sizeof(UNLIMITED) - 1 &&
      memcmp(date, UNLIMITED, datelen) == 0) {
    p.expires = STORE_NEVER;
  } else if (parse_date(date, datelen, &p.expires) != 0) {
    return bad_line(c, lineno,
                    "the expiry is neither \"YYYYMMDD HH:MM:SS\" "
                    "nor \"unlimited\"");
  } else if (p.expires < c->now) {
    c->expired++;
    return STORE_OK;
  } else {
    p.has_max_age = 1;
    p.max_age = p.expires - c->now > (int64_t)UINT32_MAX
                    ? UINT32_MAX
                    : (uint32_t)(p.expires - c->now);
  }
  c->imported++;
  return store__policy_put_manual(c->s, &p);
}

static int curl_lines(struct curl_import *c, const char *data, size_t len)
{
  struct store__lines it;
  const char *line, *nul = memchr(data, '\0', len);
  size_t n, i;
  int err;

  if (nul != NULL)
    return bad_line(c, store__line_of(data, (size_t)(nul - data), NULL),
                    "NUL byte: binary data, not a curl HSTS cache");
  store__lines_init(&it, data, len);
  while (store__lines_next(&it, &line, &n)) {
    if (n > STORE_LINE_MAX)
      return bad_line(c, it.lineno, "line too long");
    for (i = 0; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
      ;
    if (i == n || line[i] == '#')
      continue;
    err = curl_line(c, line + i, n - i, it.lineno);
    if (err != STORE_OK)
      return err;
  }
  return STORE_OK;
}

int store_policy_import_curl(struct store *s, const char *path, int64_t now,
                             size_t *imported, size_t *expired)
{
  char *data;
  size_t len;
  int err = store__read_file(s, path, &data, &len);

  if (err != STORE_OK)
    return err;
  err =
      store_policy_import_curl_text(s, path, data, len, now, imported, expired);
  free(data);
  return err;
}

int store_policy_import_curl_text(struct store *s, const char *name,
                                  const char *data, size_t len, int64_t now,
                                  size_t *imported, size_t *expired)
{
  struct curl_import c;
  int err;

  memset(&c, 0, sizeof(c));
  c.s = s;
  c.path = name;
  c.now = now;
  err = store__begin(s, "cannot start the import");
  if (err == STORE_OK) {
    err = curl_lines(&c, data, len);
    if (err == STORE_OK)
      err = store__commit(s);
    else
      store__rollback(s);
  }
  if (err == STORE_OK) {
    if (imported != NULL)
      *imported = c.imported;
    if (expired != NULL)
      *expired = c.expired;
  }
  return err;
}
