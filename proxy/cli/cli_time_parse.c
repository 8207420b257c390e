/*
 * cli_time_parse.c - the WHEN of --since/--until (see cli_time.h).
 *
 * An age ("30s", "10m", "2h", "7d") counted back from a `now` the caller
 * passes, or an RFC 3339 instant (or a bare date), both as Unix
 * milliseconds. Kept apart from cli_time.c because it uses
 * cli_parse_u64() (cli_out.c), which cli_time.c's users need not link.
 */
#include "cli_out.h"
#include "cli_time.h"

#include <string.h>
#include <time.h>

#include "hsts.h"

#define AGO_MAX_SECONDS  (100ull * 366 * 24 * 3600) /* a century */
#define AGO_DIGITS_MAX   24 /* buffer for the digits of an age */
#define FRACTION_DIGITS  9  /* at most nanoseconds */
#define MS_DIGITS        3
#define DATE_LEN         10 /* "YYYY-MM-DD" */
#define TIME_LEN         9  /* "THH:MM:SS" */
#define OFFSET_LEN       6  /* "+HH:MM" */
#define SECONDS_PER_MIN  60
#define SECONDS_PER_HOUR 3600
#define SECONDS_PER_DAY  86400
#define TM_YEAR_BASE     1900

/* "30s", "10m", "2h", "7d": seconds into *out. Returns 0 or -1. */
static int parse_ago(const char *s, uint64_t *out)
{
  static const struct {
    char unit;
    uint64_t seconds;
  } units[] = { { 's', 1 },
                { 'm', SECONDS_PER_MIN },
                { 'h', SECONDS_PER_HOUR },
                { 'd', SECONDS_PER_DAY },
                { '\0', 0 } };
  char digits[AGO_DIGITS_MAX];
  size_t n = strlen(s);
  uint64_t v;
  int i;

  if (n < 2 || n - 1 >= sizeof(digits))
    return -1;
  memcpy(digits, s, n - 1);
  digits[n - 1] = '\0';
  for (i = 0; units[i].unit != '\0'; i++) {
    if (units[i].unit != s[n - 1])
      continue;
    if (cli_parse_u64(digits, AGO_MAX_SECONDS / units[i].seconds, &v) != 0)
      return -1;
    *out = v * units[i].seconds;
    return 0;
  }
  return -1;
}

int cli_time_parse_duration(const char *s, uint64_t *seconds)
{
  return parse_ago(s, seconds);
}

/* n decimal digits at s into *out; returns 0 or -1. */
static int digits(const char *s, int n, int *out)
{
  int i, v = 0;

  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

/* The fraction ".123456" at *s (may be absent) as ms; advances *s. */
static int parse_fraction(const char **s, int *ms)
{
  int i, d;

  *ms = 0;
  if (**s != '.')
    return 0;
  (*s)++;
  for (i = 0; (*s)[i] >= '0' && (*s)[i] <= '9'; i++) {
    if (i >= FRACTION_DIGITS)
      return -1;
    d = (*s)[i] - '0';
    if (i < MS_DIGITS)
      *ms = *ms * 10 + d;
  }
  if (i == 0)
    return -1;
  for (; i < MS_DIGITS; i++)
    *ms *= 10;
  *s += strspn(*s, "0123456789");
  return 0;
}

/* "Z", "+HH:MM" or "-HH:MM" at s (all of it) as seconds east of UTC;
 * no offset at all is UTC too (a date-time without one, as a bare date). */
static int parse_offset(const char *s, long *east)
{
  int hh, mm;

  if (s[0] == '\0' || ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0')) {
    *east = 0;
    return 0;
  }
  if ((s[0] != '+' && s[0] != '-') || strlen(s) != OFFSET_LEN || s[3] != ':' ||
      digits(s + 1, 2, &hh) != 0 || digits(s + 4, 2, &mm) != 0 || hh > 23 ||
      mm > 59)
    return -1;
  *east = (long)(hh * SECONDS_PER_HOUR + mm * SECONDS_PER_MIN);
  if (s[0] == '-')
    *east = -*east;
  return 0;
}

/* Checks the fields of tm against what timegm() made of them. */
static int tm_exact(const struct tm *want, time_t t)
{
  struct tm got;

  return gmtime_r(&t, &got) != NULL && got.tm_year == want->tm_year &&
         got.tm_mon == want->tm_mon && got.tm_mday == want->tm_mday &&
         got.tm_hour == want->tm_hour && got.tm_min == want->tm_min;
}

/* RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac][Z|+HH:MM]" (no offset: UTC), or
 * "YYYY-MM-DD". */
static int parse_rfc3339(const char *s, int64_t *ms_out)
{
  struct tm tm, want;
  int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
  long east = 0;
  time_t t;

  memset(&tm, 0, sizeof(tm));
  if (strlen(s) < DATE_LEN || digits(s, 4, &y) != 0 || s[4] != '-' ||
      digits(s + 5, 2, &mo) != 0 || s[7] != '-' || digits(s + 8, 2, &d) != 0)
    return -1;
  s += DATE_LEN;
  if (*s != '\0') {
    if ((*s != 'T' && *s != 't') || digits(s + 1, 2, &h) != 0 || s[3] != ':' ||
        digits(s + 4, 2, &mi) != 0 || s[6] != ':' ||
        digits(s + 7, 2, &sec) != 0 || h > 23 || mi > 59 || sec > 59)
      return -1;
    s += TIME_LEN;
    if (parse_fraction(&s, &ms) != 0 || parse_offset(s, &east) != 0)
      return -1;
  }
  tm.tm_year = y - TM_YEAR_BASE;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  if (mo < 1 || mo > 12 || d < 1)
    return -1;
  want = tm;
  t = timegm(&tm); /* normalizes tm: compare with what was asked */
  if (!tm_exact(&want, t))
    return -1; /* 2025-02-30 */
  *ms_out = ((int64_t)t - east) * HSTS_MS_PER_S + ms;
  return 0;
}

int cli_time_parse_when(const char *s, int64_t now_ms, int64_t *out_ms)
{
  uint64_t ago;

  if (parse_ago(s, &ago) == 0) {
    *out_ms = now_ms - (int64_t)ago * HSTS_MS_PER_S;
    return 0;
  }
  return parse_rfc3339(s, out_ms);
}
