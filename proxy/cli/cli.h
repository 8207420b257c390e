/*
 * cli.h - what every hstsproxy subcommand shares.
 *
 * Exit statuses, the one-line error format ("hstsproxy: <what>: <why>"),
 * the global options, and the subcommand entry points that main.c
 * dispatches to. Each cmd_* gets argv starting at its own name, parses its
 * own options (getopt_long, optind reset), answers --help itself, and
 * returns an exit status.
 */
#ifndef CLI_H
#define CLI_H

#include <stddef.h>
#include <stdio.h>

/* Exit statuses (documented in README.md). */
#define CLI_EXIT_OK 0    /* success */
#define CLI_EXIT_NO 1    /* a negative answer to a question */
#define CLI_EXIT_USAGE 2 /* usage error */
#define CLI_EXIT_FAIL 3  /* runtime failure: I/O, network, database */

#define CLI_PATH_MAX 4096

struct cli_globals {
  const char *db_arg; /* --db as given, or NULL */
};

/* Prints "hstsproxy: <what>: <why>\n" to stderr. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void cli_error(const char *what, const char *fmt, ...);

/*
 * Resolves the store's path: --db, else $HSTSPROXY_DB, else
 * $XDG_STATE_HOME/hstsproxy/hstsproxy.db, else
 * ~/.local/state/hstsproxy/hstsproxy.db. Writes it to buf (NUL-terminated)
 * and returns 0, or -1 with an error already printed. Creates nothing.
 */
int cli_db_path(const struct cli_globals *g, char *buf, size_t size);

/* Returns 1 when colour may be used on `f` (a TTY and NO_COLOR unset). */
int cli_use_color(FILE *f);

int cmd_run(int argc, char **argv, const struct cli_globals *g);
int cmd_preload(int argc, char **argv, const struct cli_globals *g);
int cmd_policy(int argc, char **argv, const struct cli_globals *g);
int cmd_check_header(int argc, char **argv, const struct cli_globals *g);
int cmd_log(int argc, char **argv, const struct cli_globals *g);
int cmd_audit(int argc, char **argv, const struct cli_globals *g);
int cmd_probe(int argc, char **argv, const struct cli_globals *g);

#endif /* CLI_H */
