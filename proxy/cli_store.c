/*
 * cli_store.c - the store as the subcommands open it (see cli_store.h).
 */
#include "cli_store.h"

int cli_store_open(const struct cli_globals *g, const char *what,
                   unsigned flags, struct store **out)
{
  char path[CLI_PATH_MAX];
  int err;

  *out = NULL;
  if (cli_db_path(g, path, sizeof(path)) != 0)
    return CLI_EXIT_FAIL;
  err = store_open(path, flags, out);
  if (err != STORE_OK) {
    cli_error(what, "%s", store_errmsg(*out));
    store_close(out);
    return CLI_EXIT_FAIL;
  }
  return CLI_EXIT_OK;
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
