/*
 * cli_time.c - RFC 3339 and relative times for the CLI (see cli_time.h).
 */
#include "cli_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "hsts.h"

#define MINUTE           60u
#define HOUR             (60u * MINUTE)
#define DAY              (24u * HOUR)
#define UNIT_MIN_COUNT   2u /* switch to a larger unit from 2 of it */
#define TIME_MIN_SECONDS (-62167219200LL) /* 0000-01-01T00:00:00Z */
#define TIME_MAX_SECONDS 253402300799LL   /* 9999-12-31T23:59:59Z */

void cli_time_rfc3339(int64_t t, char out[CLI_TIME_MAX])
{
  struct tm tm;
  time_t tt;

  if (t < TIME_MIN_SECONDS)
    t = TIME_MIN_SECONDS;
  if (t > TIME_MAX_SECONDS)
    t = TIME_MAX_SECONDS;
  tt = (time_t)t;
  if (gmtime_r(&tt, &tm) == NULL) {
    snprintf(out, CLI_TIME_MAX, "invalid");
    return;
  }
  snprintf(out, CLI_TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02dZ",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
           tm.tm_sec);
}

static void duration(uint64_t s, char *out, size_t size)
{
  if (s >= UNIT_MIN_COUNT * DAY)
    snprintf(out, size, "%" PRIu64 " d", s / DAY);
  else if (s >= UNIT_MIN_COUNT * HOUR)
    snprintf(out, size, "%" PRIu64 " h", s / HOUR);
  else if (s >= UNIT_MIN_COUNT * MINUTE)
    snprintf(out, size, "%" PRIu64 " min", s / MINUTE);
  else
    snprintf(out, size, "%" PRIu64 " s", s);
}

void cli_time_duration(uint64_t s, char out[CLI_TIME_MAX])
{
  duration(s, out, CLI_TIME_MAX);
}

void cli_time_relative(int64_t t, int64_t now, char out[CLI_TIME_MAX])
{
  char d[CLI_TIME_MAX - 8]; /* room for "in " or " ago" */
  uint64_t diff;

  if (t == now) {
    snprintf(out, CLI_TIME_MAX, "now");
    return;
  }
  diff = t > now ? (uint64_t)t - (uint64_t)now : (uint64_t)now - (uint64_t)t;
  duration(diff, d, sizeof(d));
  if (t > now)
    snprintf(out, CLI_TIME_MAX, "in %s", d);
  else
    snprintf(out, CLI_TIME_MAX, "%s ago", d);
}

int64_t cli_time_now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * HSTS_MS_PER_S + ts.tv_nsec / HSTS_NS_PER_MS;
}
