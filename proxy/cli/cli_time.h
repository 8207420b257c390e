/*
 * cli_time.h - times and durations as the CLI prints them.
 *
 * Machine form: RFC 3339 in UTC with a "Z" ("2026-05-04T12:00:00Z"), used
 * in JSON and next to a relative form for people ("in 293 d", "5 min
 * ago"), so that a reader sees both the instant and how far away it is.
 * The WHEN of --since/--until is parsed here too (cli_time_parse.c).
 */
#ifndef CLI_TIME_H
#define CLI_TIME_H

#include <stdint.h>

#define CLI_TIME_MAX 80 /* with room for what the compiler cannot rule out */

/*
 * Writes `t` (Unix seconds) as RFC 3339 UTC into out. Times outside years
 * 0000-9999 are clamped to the nearest representable instant.
 */
void cli_time_rfc3339(int64_t t, char out[CLI_TIME_MAX]);

/*
 * Writes how far `t` is from `now`: "in 293 d", "3 h ago", "now". The unit
 * is the largest of s, min, h, d that keeps the number at least 2 (so
 * 90 s stays "90 s", 36 h stays "36 h"); the number is rounded down.
 */
void cli_time_relative(int64_t t, int64_t now, char out[CLI_TIME_MAX]);

/* Writes a duration in seconds the same way without direction: "365 d". */
void cli_time_duration(uint64_t seconds, char out[CLI_TIME_MAX]);

/* The wall clock (CLOCK_REALTIME) in Unix milliseconds. */
int64_t cli_time_now_ms(void);

/*
 * Parses the WHEN of --since/--until into Unix milliseconds:
 * - an age counted back from now_ms: decimal digits then one unit of s,
 *   m, h or d ("30s", "10m", "2h", "7d"), at most about a century;
 * - an RFC 3339 instant "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"
 *   ("T" and "Z" in either case; 1 to 9 fraction digits, the first 3
 *   kept; without an offset, UTC), or a bare date "YYYY-MM-DD" (midnight
 *   UTC). Dates that do not
 *   exist (2025-02-30) and leap seconds are refused.
 * Returns 0 with *out_ms set, or -1 with *out_ms untouched; prints
 * nothing (the caller names the option in its message). s and out_ms
 * must not be NULL. Defined in cli_time_parse.c.
 */
int cli_time_parse_when(const char *s, int64_t now_ms, int64_t *out_ms);

/* A duration "30s", "10m", "2h", "90d" (a positive count and one unit,
 * at most a century) into *seconds. Returns 0, or -1 when malformed.
 * Defined in cli_time_parse.c. */
int cli_time_parse_duration(const char *s, uint64_t *seconds);

#endif /* CLI_TIME_H */
