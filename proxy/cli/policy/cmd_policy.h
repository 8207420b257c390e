/*
 * cmd_policy.h - what the files of `hstsproxy policy` share (private to
 * cmd_policy.c and cmd_policy_query.c).
 */
#ifndef CMD_POLICY_H
#define CMD_POLICY_H

#include "cli.h"

/* Options a policy subcommand may accept (bits of `allowed`). */
#define CMD_POLICY_OPT_JSON       0x01u
#define CMD_POLICY_OPT_MAX_AGE    0x02u
#define CMD_POLICY_OPT_SUBDOMAINS 0x04u
#define CMD_POLICY_OPT_SOURCE     0x08u
#define CMD_POLICY_OPT_FORMAT     0x10u

#define CMD_POLICY_WHY_MAX 160 /* a usage error's reason */

struct cmd_policy__opts {
  int json;
  int help; /* parsing stopped (--help answered or a usage error):
               the caller returns the status at once */
  int include_subdomains;
  const char *max_age; /* as given, or NULL */
  const char *source;  /* as given, or NULL */
  const char *format;  /* as given, or NULL */
};

/*
 * Parses the options of argv (argv[0] is the subcommand's name) with
 * cli_opt_next(), leaving optind at the first operand. An option not in
 * `allowed` is unknown to the subcommand. When parsing stops (--help
 * answered, or a usage error printed) sets o->help and returns the exit
 * status; otherwise returns CLI_EXIT_OK.
 */
int cmd_policy__parse(int argc, char **argv, const char *what, unsigned allowed,
                      struct cmd_policy__opts *o);

/* Prints "hstsproxy <what>: <why> (see ...)"; returns CLI_EXIT_USAGE. */
int cmd_policy__usage_error(const char *what, const char *why);

/* `policy query HOST [--json]` (cmd_policy_query.c). */
int cmd_policy__query(int argc, char **argv, const struct cli_globals *g);

#endif /* CMD_POLICY_H */
