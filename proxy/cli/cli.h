/*
 * cli.h - what every hstsproxy subcommand shares.
 *
 * Exit statuses, the one-line error format ("hstsproxy <subcommand>:
 * <why>"), the option convention (cli_opt.c), the global options, and the
 * subcommand entry points that main.c dispatches to. Each cmd_* gets argv
 * starting at its own name, parses its options with cli_opt_next() and
 * its operands with cli_opt_operands(), and returns an exit status.
 */
#ifndef CLI_H
#define CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses (documented in README.md, docs/CLI.md and --help). */
#define CLI_EXIT_OK    0 /* success */
#define CLI_EXIT_NO    1 /* a negative answer to a question */
#define CLI_EXIT_USAGE 2 /* usage error */
#define CLI_EXIT_FAIL  3 /* runtime failure: I/O, network, database */

#define CLI_PATH_MAX 4096

#define CLI_DB_MAX 16 /* --db given several times (log, audit, store) */

struct cli_globals {
  const char *db_arg; /* --db as given (the first), or NULL */
  /* Every --db in order (db_args[0] == db_arg); ndb > 1 only for the
   * commands that read several stores as one. */
  const char *db_args[CLI_DB_MAX];
  size_t ndb;
};

/*
 * Prints "hstsproxy <what>: <why>\n" to stderr. `what` names the
 * subcommand ("audit", "policy add"), optionally followed by the object at
 * fault ("run --listen 10.0.0.1:80"); NULL (no subcommand: the global
 * options) prints "hstsproxy: <why>".
 */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void cli_error(const char *what, const char *fmt, ...);

/*
 * Resolves the store's path: --db, else $HSTSPROXY_DB, else
 * $XDG_STATE_HOME/hstsproxy/hstsproxy.db, else
 * ~/.local/state/hstsproxy/hstsproxy.db. Writes it to buf (NUL-terminated)
 * and returns 0, or -1 with an error already printed (naming `what`, the
 * subcommand). Creates nothing.
 */
int cli_db_path(const struct cli_globals *g, const char *what, char *buf,
                size_t size);

/* Returns 1 when colour may be used on `f` (a TTY and NO_COLOR unset). */
int cli_use_color(FILE *f);

/*
 * The option convention of every subcommand (cli_opt.c):
 * - options are long, `--name VALUE` or `--name=VALUE` (an unambiguous
 *   prefix is accepted, as getopt_long does); `-h` is `--help`;
 * - options and operands mix in any order (the global options excepted:
 *   they end at the subcommand); `--` ends the options, so an operand
 *   that starts with `-` goes after it;
 * - `--help` prints the usage on stdout at once, and the command exits 0;
 * - an unknown or ambiguous option, a missing value, a value given to an
 *   option that takes none and a wrong number of operands are usage
 *   errors (exit 2), one line naming the subcommand and the argument at
 *   fault: "hstsproxy <what>: unknown option -m in "-max-age" (...) (see
 *   hstsproxy <help> --help)".
 * Every longopts table maps "help" to 'h'.
 */
struct cli_cmd {
  /* The subcommand named in error lines ("policy add"); NULL: global. */
  const char *what;
  /* The command whose --help errors point at; NULL: hstsproxy itself. */
  const char *help;
  const char *usage;             /* the --help text; NULL: usage_fn */
  void (*usage_fn)(FILE *f);     /* prints the --help text */
  const struct option *longopts; /* ends with a zeroed entry */
  int in_order; /* 1: options end at the first operand (global options) */
  int started;  /* set by the first cli_opt_next() */
  int status;   /* the exit status after CLI_OPT_STOP */
};

/* No more options: the operands start at optind. */
#define CLI_OPT_END (-1)
/* --help answered or a usage error printed: exit with c->status. */
#define CLI_OPT_STOP (-2)

/* One option of a family of subcommands, with the bits of the members
 * that accept it (0: all of them). */
struct cli_opt_member {
  struct option opt;
  unsigned bits;
};

/*
 * Copies to out (n + 1 entries) the options of all[0..n) whose bits meet
 * `allowed`, and the zeroed entry that ends a longopts table: a
 * subcommand's own options, so getopt reports the others as unknown.
 */
void cli_opt_select(const struct cli_opt_member *all, size_t n,
                    unsigned allowed, struct option *out);

/*
 * The next option of argv (argv[0] is the subcommand's name): its val,
 * with optarg set for one that takes a value; CLI_OPT_END; or
 * CLI_OPT_STOP after printing the usage (--help) or a usage error.
 */
int cli_opt_next(struct cli_cmd *c, int argc, char **argv);

/*
 * After the options: requires exactly one operand named `name` (argv
 * [optind]), or none when name is NULL. Returns CLI_EXIT_OK, or prints
 * the usage error ("HOST is missing", "unexpected operand "x"") and
 * returns CLI_EXIT_USAGE.
 */
int cli_opt_operands(struct cli_cmd *c, int argc, char **argv,
                     const char *name);

/*
 * The window [since, until) of `log` and `audit`, both ends optional:
 * returns CLI_EXIT_OK, or prints the same usage error for an empty or
 * inverted one (since at or after until) and returns CLI_EXIT_USAGE.
 */
int cli_opt_window(const struct cli_cmd *c, int has_since, int64_t since_ms,
                   int has_until, int64_t until_ms);

/* Prints "hstsproxy <what>: <why> (see hstsproxy <help> --help)" and
 * returns CLI_EXIT_USAGE. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int cli_usage_error(const struct cli_cmd *c, const char *fmt, ...);

int cmd_run(int argc, char **argv, const struct cli_globals *g);
int cmd_preload(int argc, char **argv, const struct cli_globals *g);
int cmd_policy(int argc, char **argv, const struct cli_globals *g);
int cmd_check_header(int argc, char **argv, const struct cli_globals *g);
int cmd_log(int argc, char **argv, const struct cli_globals *g);
int cmd_audit(int argc, char **argv, const struct cli_globals *g);
int cmd_probe(int argc, char **argv, const struct cli_globals *g);
int cmd_reload(int argc, char **argv, const struct cli_globals *g);
int cmd_store(int argc, char **argv, const struct cli_globals *g);
int cmd_prune(int argc, char **argv, const struct cli_globals *g);

/* The renderers the console calls (struct proxy_console_ops in proxy.h):
 * `policy query --json` and the audit's HTML report, for a store path. */
int cmd_policy_console_json(const char *db_path, const char *host, FILE *f,
                            char *err, size_t errsz);
int cmd_audit_console_html(const char *db_path, int64_t since_ms,
                           int64_t until_ms, FILE *f, char *err, size_t errsz);

#endif /* CLI_H */
