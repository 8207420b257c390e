/*
 * cli_conf.h - a config file whose names are a command's long options.
 *
 * One option per line, "name value" (the value is the rest of the line,
 * blanks around it dropped, no quoting), or "name" alone for an option
 * that takes no value; blank lines and lines whose first non-blank
 * character is '#' are skipped. The names are exactly the long options
 * of the command's getopt table without "--" (no abbreviation), so the
 * file and the command line share one table and one parser of values:
 * each line is handed to the command's own option handler.
 */
#ifndef CLI_CONF_H
#define CLI_CONF_H

#include "cli.h"

#define CLI_CONF_MAX (1u << 20) /* bytes: a larger file is refused */

/*
 * Called for each option line: val is the option's getopt val, value the
 * text (NULL for an option without a value; it points into the file's
 * text, which lives until cli_conf_read's caller frees it), line its
 * number. `at` is the command with `what` naming the place ("run:
 * FILE:LINE"), for the handler's usage errors. Returns 0, or -1 after
 * printing an error.
 */
typedef int (*cli_conf_line_cb)(struct cli_cmd *at, int val, const char *value,
                                unsigned line, void *arg);

/*
 * Reads the config file at path and calls cb for each option line, in
 * order. Options whose val is in refused (ended by 0) may not appear in
 * a file. *text receives the file's text (owned by the caller: free()
 * it; the values point into it), also on failure. Returns CLI_EXIT_OK,
 * or CLI_EXIT_USAGE after one error line: an unreadable file, or
 * "FILE:LINE: ..." for an unknown name (with the nearest valid one), a
 * refused name, a missing or unexpected value, or cb's refusal.
 */
int cli_conf_read(const struct cli_cmd *cmd, const char *path,
                  const int *refused, cli_conf_line_cb cb, void *arg,
                  char **text);

/* The long option of opts nearest to name (edit distance), or NULL. */
const char *cli_conf_nearest(const struct option *opts, const char *name,
                             const int *refused);

#endif /* CLI_CONF_H */
