/*
 * cli_store.h - opening the store from a subcommand, and turning store
 * errors into the CLI's one-line messages and exit statuses.
 */
#ifndef CLI_STORE_H
#define CLI_STORE_H

#include "cli.h"
#include "store.h"

/*
 * Resolves the store's path (cli_db_path) and opens it with `flags`.
 * Returns CLI_EXIT_OK with *out set, or prints "hstsproxy <what>: <why>"
 * and returns CLI_EXIT_FAIL (*out NULL).
 */
int cli_store_open(const struct cli_globals *g, const char *what,
                   unsigned flags, struct store **out);

/*
 * Opens the store read-only for a command that only reads what the proxy
 * wrote: it must exist already. A missing file is reported as "<path>: no
 * store yet (hstsproxy run creates it)", another stat(2) failure with its
 * strerror. Returns CLI_EXIT_OK with *out set, or prints the error and
 * returns CLI_EXIT_FAIL (*out NULL).
 */
int cli_store_open_existing(const struct cli_globals *g, const char *what,
                            struct store **out);

/*
 * For a command that only reads (policy query, list, export; preload
 * stats): opens the store read-write as before (creating a missing one,
 * migrating an older schema), and when that fails because the store
 * cannot be written (another user's file, a read-only directory or
 * medium) opens it read-only instead (store.h: mode=ro, or immutable=1),
 * with no migration: a schema older than this program is then an error
 * saying so. Returns as cli_store_open().
 */
int cli_store_open_reader(const struct cli_globals *g, const char *what,
                          struct store **out);

/*
 * --db given several times: returns CLI_EXIT_OK when they name distinct
 * files, else prints "--db B: the same store as --db A, given twice" and
 * returns CLI_EXIT_USAGE.
 */
int cli_store_distinct(const struct cli_globals *g, const char *what);

/*
 * For `log` over several stores: checks they are distinct, opens the
 * first as cli_store_open_existing() does and attaches the others
 * (store_attach: read-only, each checked; one that cannot be read is
 * named, CLI_EXIT_FAIL). With one --db (or none) this is
 * cli_store_open_existing().
 */
int cli_store_open_several(const struct cli_globals *g, const char *what,
                           struct store **out);

/*
 * Prints store_errmsg(s) as "hstsproxy <what>: <message>" and returns the
 * exit status for err: CLI_EXIT_USAGE for STORE_EHOST and STORE_EINVAL,
 * CLI_EXIT_NO for STORE_ENOTFOUND and STORE_EPRELOADED, CLI_EXIT_FAIL for
 * the rest.
 */
int cli_store_error(const char *what, const struct store *s, int err);

#endif /* CLI_STORE_H */
