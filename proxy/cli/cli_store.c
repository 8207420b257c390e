/*
 * cli_store.c - the store as the subcommands open it (see cli_store.h).
 */
#include "cli_store.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* Opens the store at path; with must_exist, refuses a missing file first
 * (store_open would create it, or fail with a less helpful message). */
static int open_path(const char *path, const char *what, unsigned flags,
                     int must_exist, struct store **out)
{
  struct stat st;
  int err;

  if (must_exist && stat(path, &st) != 0) {
    cli_error(what, "%s: %s", path,
              errno == ENOENT ? "no store yet (hstsproxy run creates it)"
                              : strerror(errno));
    return CLI_EXIT_FAIL;
  }
  err = store_open(path, flags, out);
  if (err != STORE_OK) {
    cli_error(what, "%s", store_errmsg(*out));
    store_close(out);
    return CLI_EXIT_FAIL;
  }
  return CLI_EXIT_OK;
}

int cli_store_open(const struct cli_globals *g, const char *what,
                   unsigned flags, struct store **out)
{
  char path[CLI_PATH_MAX];

  *out = NULL;
  if (cli_db_path(g, what, path, sizeof(path)) != 0)
    return CLI_EXIT_FAIL;
  return open_path(path, what, flags, 0, out);
}

int cli_store_open_reader(const struct cli_globals *g, const char *what,
                          struct store **out)
{
  char path[CLI_PATH_MAX];
  struct stat st;
  int err;

  *out = NULL;
  if (cli_db_path(g, what, path, sizeof(path)) != 0)
    return CLI_EXIT_FAIL;
  if (stat(path, &st) != 0) /* none yet: created, as it always was */
    return open_path(path, what, 0, 0, out);
  err = store_open(path, 0, out);
  if (err == STORE_OK)
    return CLI_EXIT_OK;
  if (err != STORE_EIO && err != STORE_EREADONLY && err != STORE_EDB) {
    cli_error(what, "%s", store_errmsg(*out));
    store_close(out);
    return CLI_EXIT_FAIL;
  }
  store_close(out); /* not ours to write: read it as it is */
  return open_path(path, what, STORE_OPEN_READONLY, 1, out);
}

int cli_store_open_existing(const struct cli_globals *g, const char *what,
                            struct store **out)
{
  char path[CLI_PATH_MAX];

  *out = NULL;
  if (cli_db_path(g, what, path, sizeof(path)) != 0)
    return CLI_EXIT_FAIL;
  return open_path(path, what, STORE_OPEN_READONLY, 1, out);
}

int cli_store_distinct(const struct cli_globals *g, const char *what)
{
  struct stat st[CLI_DB_MAX];
  size_t i, k;

  for (i = 0; i < g->ndb; i++) {
    if (stat(g->db_args[i], &st[i]) != 0)
      continue; /* the open says why */
    for (k = 0; k < i; k++)
      if (st[k].st_dev == st[i].st_dev && st[k].st_ino == st[i].st_ino &&
          stat(g->db_args[k], &st[k]) == 0) {
        cli_error(what, "--db %s: the same store as --db %s, given twice",
                  g->db_args[i], g->db_args[k]);
        return CLI_EXIT_USAGE;
      }
  }
  return CLI_EXIT_OK;
}

int cli_store_open_several(const struct cli_globals *g, const char *what,
                           struct store **out)
{
  size_t i;
  int rc = cli_store_distinct(g, what), err;

  *out = NULL;
  if (rc != CLI_EXIT_OK)
    return rc;
  rc = cli_store_open_existing(g, what, out);
  for (i = 1; rc == CLI_EXIT_OK && i < g->ndb; i++) {
    err = store_attach(*out, g->db_args[i]);
    if (err != STORE_OK) {
      cli_error(what, "%s", store_errmsg(*out));
      store_close(out);
      rc = CLI_EXIT_FAIL;
    }
  }
  return rc;
}

int cli_store_error(const char *what, const struct store *s, int err)
{
  cli_error(what, "%s", store_errmsg(s));
  switch (err) {
  case STORE_EHOST:
  case STORE_EINVAL:
    return CLI_EXIT_USAGE;
  case STORE_ENOTFOUND:
  case STORE_EPRELOADED:
    return CLI_EXIT_NO;
  default:
    return CLI_EXIT_FAIL;
  }
}
