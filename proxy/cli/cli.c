/*
 * cli.c - helpers shared by the subcommands: error lines, the store's
 * default path, colour policy.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_error(const char *what, const char *fmt, ...)
{
  va_list ap;

  if (what != NULL)
    fprintf(stderr, "hstsproxy %s: ", what);
  else
    fputs("hstsproxy: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static int join(const char *what, char *buf, size_t size, const char *a,
                const char *b)
{
  int n = snprintf(buf, size, "%s%s", a, b);

  if (n < 0 || (size_t)n >= size) {
    cli_error(what, "the database path is longer than %zu bytes", size - 1);
    return -1;
  }
  return 0;
}

int cli_db_path(const struct cli_globals *g, const char *what, char *buf,
                size_t size)
{
  const char *v;

  if (g->db_arg != NULL)
    return join(what, buf, size, g->db_arg, "");
  v = getenv("HSTSPROXY_DB");
  if (v != NULL && *v != '\0')
    return join(what, buf, size, v, "");
  v = getenv("XDG_STATE_HOME");
  if (v != NULL && *v == '/')
    return join(what, buf, size, v, "/hstsproxy/hstsproxy.db");
  v = getenv("HOME");
  if (v == NULL || *v == '\0') {
    cli_error(what, "no database path: neither --db, HSTSPROXY_DB, "
                    "XDG_STATE_HOME nor HOME is set");
    return -1;
  }
  return join(what, buf, size, v, "/.local/state/hstsproxy/hstsproxy.db");
}

int cli_use_color(FILE *f)
{
  const char *nc = getenv("NO_COLOR");

  if (nc != NULL && *nc != '\0')
    return 0;
  return isatty(fileno(f));
}
