/*
 * cli_out.c - aligned, optionally coloured text output; strict numbers.
 */
#include "cli_out.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "cli.h"

static const char *const colors[] = {
  "\033[0m",  /* CLI_COLOR_RESET */
  "\033[32m", /* CLI_COLOR_GOOD */
  "\033[31m", /* CLI_COLOR_BAD */
  "\033[33m", /* CLI_COLOR_WARN */
  "\033[2m"   /* CLI_COLOR_DIM */
};

void cli_out_init(struct cli_out *o, FILE *f)
{
  o->f = f;
  o->color = cli_use_color(f);
}

const char *cli_out_color(const struct cli_out *o, enum cli_color c)
{
  if (!o->color || (unsigned)c >= sizeof(colors) / sizeof(colors[0]))
    return "";
  return colors[c];
}

static void row(const struct cli_out *o, enum cli_color c, const char *key,
                const char *fmt, va_list ap)
{
  fprintf(o->f, "%-*s %s", CLI_OUT_KEY_WIDTH - 1, key, cli_out_color(o, c));
  vfprintf(o->f, fmt, ap);
  fprintf(o->f, "%s\n",
          c != CLI_COLOR_RESET ? cli_out_color(o, CLI_COLOR_RESET) : "");
}

void cli_out_row(const struct cli_out *o, const char *key, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  row(o, CLI_COLOR_RESET, key, fmt, ap);
  va_end(ap);
}

void cli_out_row_color(const struct cli_out *o, enum cli_color c,
                       const char *key, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  row(o, c, key, fmt, ap);
  va_end(ap);
}

int cli_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
  uint64_t v = 0;
  unsigned d;

  if (s == NULL || *s == '\0')
    return -1;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9')
      return -1;
    d = (unsigned)(*s - '0');
    if (d > max || v > (max - d) / 10)
      return -1;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

int cli_out_finish(const char *what)
{
  if (fflush(stdout) != 0 || ferror(stdout)) {
    cli_error(what, "cannot write the output: %s", strerror(errno));
    return CLI_EXIT_FAIL;
  }
  return CLI_EXIT_OK;
}
