/*
 * cli_out.h - output for people, and the small parsers every subcommand
 * needs.
 *
 * Text output is aligned "key  value" rows and columns; colour (ANSI SGR)
 * only when cli_use_color() allows it for that stream. Numbers given on
 * the command line are parsed strictly: digits only, bounded.
 */
#ifndef CLI_OUT_H
#define CLI_OUT_H

#include <stdint.h>
#include <stdio.h>

#define CLI_OUT_KEY_WIDTH 20 /* column of the values in key/value rows */

enum cli_color {
  CLI_COLOR_RESET = 0,
  CLI_COLOR_GOOD, /* green: protected, valid */
  CLI_COLOR_BAD,  /* red: not protected, invalid, error */
  CLI_COLOR_WARN, /* yellow: warning */
  CLI_COLOR_DIM   /* dim: secondary detail */
};

struct cli_out {
  FILE *f;   /* not owned */
  int color; /* 1 when colour codes are written */
};

/* Sets up output on f, with colour when cli_use_color(f). */
void cli_out_init(struct cli_out *o, FILE *f);

/* The escape sequence for c, or "" without colour. */
const char *cli_out_color(const struct cli_out *o, enum cli_color c);

/* One aligned row: key padded to CLI_OUT_KEY_WIDTH, then the value. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void cli_out_row(const struct cli_out *o, const char *key, const char *fmt,
                 ...);

/* The same with the value coloured c. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
void cli_out_row_color(const struct cli_out *o, enum cli_color c,
                       const char *key, const char *fmt, ...);

/*
 * Parses the decimal digits of s (no sign, no blanks, no leading "0x")
 * into *out, refusing values above max. Returns 0, or -1.
 */
int cli_parse_u64(const char *s, uint64_t max, uint64_t *out);

/*
 * Flushes stdout. Returns CLI_EXIT_OK, or prints "hstsproxy <what>:
 * cannot write the output: <why>" (cli_error: `what` may be NULL) and
 * returns CLI_EXIT_FAIL.
 */
int cli_out_finish(const char *what);

#endif /* CLI_OUT_H */
