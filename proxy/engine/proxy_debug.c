/*
 * proxy_debug.c - the stderr debug log of `run --verbose`: one line per
 * event, prefixed with the worker, written with one call so that lines
 * of concurrent workers stay whole. A leaf: it calls nothing of the
 * engine.
 */
#include "proxy_debug.h"

#include <stdarg.h>
#include <stdio.h>

#include "proxy_server.h"

void proxy__debug(struct proxy_worker *w, const char *fmt, ...)
{
  char line[PROXY_DEBUG_LINE_MAX];
  va_list ap;
  int n;

  if (!w->server->cfg->verbose)
    return;
  n = snprintf(line, sizeof(line), "hstsproxy: worker %zu: ", w->index);
  va_start(ap, fmt);
  vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s\n", line); /* one call: lines stay whole */
}
