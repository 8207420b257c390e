/*
 * cli_conf.c - reading a config file of long options (cli_conf.h).
 *
 * The file is read whole (at most CLI_CONF_MAX bytes) into one buffer
 * that the caller keeps: option handlers store pointers to their values
 * (file names), exactly as they keep argv's strings. Each line is cut in
 * place; its name is looked up in the command's getopt table by exact
 * match, and the handler the command line uses is called with the value.
 * A misspelled name is answered with the nearest valid one, by edit
 * distance (Levenshtein), as git does for its commands.
 */
#include "cli_conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHERE_MAX    (CLI_PATH_MAX + 64)
#define NAME_MAX_LEN 64 /* names compared for a suggestion */

static int is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r';
}

static int refused_val(const int *refused, int val)
{
  for (; refused != NULL && *refused != 0; refused++)
    if (*refused == val)
      return 1;
  return 0;
}

/* Edit distance of a[0..n) and b, both at most NAME_MAX_LEN bytes. */
static size_t distance(const char *a, size_t n, const char *b)
{
  size_t row[NAME_MAX_LEN + 1], m = strlen(b), i, j;

  if (m > NAME_MAX_LEN)
    return (size_t)-1;
  for (j = 0; j <= m; j++)
    row[j] = j;
  for (i = 1; i <= n; i++) {
    size_t diag = row[0];

    row[0] = i;
    for (j = 1; j <= m; j++) {
      size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      diag = up;
      row[j] = best;
    }
  }
  return row[m];
}

const char *cli_conf_nearest(const struct option *opts, const char *name,
                             const int *refused)
{
  const char *best = NULL;
  size_t best_d = (size_t)-1, n = strlen(name);

  if (n > NAME_MAX_LEN)
    return NULL;
  for (; opts->name != NULL; opts++) {
    size_t d;

    if (refused_val(refused, opts->val))
      continue;
    d = distance(name, n, opts->name);
    if (d < best_d) {
      best_d = d;
      best = opts->name;
    }
  }
  return best;
}

static const struct option *find(const struct option *opts, const char *name)
{
  for (; opts->name != NULL; opts++)
    if (strcmp(opts->name, name) == 0)
      return opts;
  return NULL;
}

/* Reads path whole into a NUL-terminated *text. */
static int slurp(const struct cli_cmd *cmd, const char *path, char **text)
{
  FILE *f = fopen(path, "rb");
  size_t n = 0;
  char *buf = malloc(CLI_CONF_MAX + 1);

  *text = buf;
  if (buf == NULL || f == NULL) {
    cli_error(cmd->what, "--config %s: %s", path,
              buf == NULL ? "out of memory" : strerror(errno));
    goto fail;
  }
  n = fread(buf, 1, CLI_CONF_MAX + 1, f);
  if (ferror(f) || n > CLI_CONF_MAX || memchr(buf, '\0', n) != NULL) {
    cli_error(cmd->what, "--config %s: %s", path,
              ferror(f)          ? strerror(errno)
              : n > CLI_CONF_MAX ? "larger than 1 MiB"
                                 : "not a text file (a NUL byte)");
    goto fail;
  }
  buf[n] = '\0';
  fclose(f);
  return CLI_EXIT_OK;
fail:
  if (f != NULL)
    fclose(f);
  return CLI_EXIT_USAGE;
}

struct place {
  const struct cli_cmd *cmd;
  const int *refused;
  cli_conf_line_cb cb;
  void *arg;
  struct cli_cmd at; /* cmd, what = "run: FILE:LINE" */
  char where[WHERE_MAX];
};

/* An unknown name: the line and the nearest valid name. */
static void unknown(struct place *p, const char *name)
{
  const char *near = cli_conf_nearest(p->cmd->longopts, name, p->refused);

  if (near != NULL)
    cli_usage_error(&p->at, "unknown option \"%s\" (did you mean %s?)", name,
                    near);
  else
    cli_usage_error(&p->at, "unknown option \"%s\"", name);
}

/* One line, cut in place; returns 0 or -1 after the error line. */
static int one_line(struct place *p, char *s, unsigned line)
{
  const struct option *o;
  char *name, *value, *end;

  while (is_blank(*s))
    s++;
  if (*s == '\0' || *s == '#')
    return 0;
  name = s;
  while (*s != '\0' && !is_blank(*s))
    s++;
  value = s;
  while (is_blank(*value))
    value++;
  *s = '\0';
  end = value + strlen(value);
  while (end > value && is_blank(end[-1]))
    *--end = '\0';
  o = find(p->cmd->longopts, name);
  if (o == NULL) {
    unknown(p, name);
    return -1;
  }
  if (refused_val(p->refused, o->val)) {
    cli_usage_error(&p->at, "%s cannot be set in a config file", name);
    return -1;
  }
  if (o->has_arg == required_argument && *value == '\0') {
    cli_usage_error(&p->at, "%s needs a value", name);
    return -1;
  }
  if (o->has_arg == no_argument && *value != '\0') {
    cli_usage_error(&p->at, "%s takes no value (found \"%s\")", name, value);
    return -1;
  }
  return p->cb(&p->at, o->val, o->has_arg == no_argument ? NULL : value, line,
               p->arg);
}

int cli_conf_read(const struct cli_cmd *cmd, const char *path,
                  const int *refused, cli_conf_line_cb cb, void *arg,
                  char **text)
{
  struct place p;
  unsigned line = 0;
  char *s, *nl;

  if (slurp(cmd, path, text) != CLI_EXIT_OK)
    return CLI_EXIT_USAGE;
  memset(&p, 0, sizeof(p));
  p.cmd = cmd;
  p.refused = refused;
  p.cb = cb;
  p.arg = arg;
  p.at = *cmd;
  p.at.what = p.where;
  for (s = *text; s != NULL; s = nl != NULL ? nl + 1 : NULL) {
    nl = strchr(s, '\n');
    if (nl != NULL)
      *nl = '\0';
    line++;
    snprintf(p.where, sizeof(p.where), "%s: %s:%u", cmd->what, path, line);
    if (one_line(&p, s, line) < 0)
      return CLI_EXIT_USAGE;
  }
  return CLI_EXIT_OK;
}
