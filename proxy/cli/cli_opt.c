/*
 * cli_opt.c - the one option convention of every subcommand (cli.h).
 *
 * A thin layer over getopt_long: it resets getopt for each command, lets
 * options and operands mix (GNU order; the global options stop at the
 * subcommand), answers --help and -h, and turns every getopt error into a
 * usage error that names the argument at fault. getopt reports that
 * argument in three ways, told apart here: an unknown or ambiguous long
 * option has optopt 0 and is argv[optind - 1]; a long option missing its
 * value (':') or given one it does not take has optopt set to its val;
 * an unknown short option has optopt set to the character, and sits in
 * argv[optind - 1] when it ended its word ("-x") or in argv[optind] when
 * more characters follow ("-max-age": getopt stops at 'm').
 */
#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include "cli.h"
#include "cli_out.h"

#define WHY_MAX 512

int cli_usage_error(const struct cli_cmd *c, const char *fmt, ...)
{
  char why[WHY_MAX];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  if (c->help != NULL)
    cli_error(c->what, "%s (see hstsproxy %s --help)", why, c->help);
  else
    cli_error(c->what, "%s (see hstsproxy --help)", why);
  return CLI_EXIT_USAGE;
}

static const struct option *by_val(const struct option *o, int val)
{
  for (; o->name != NULL; o++)
    if (o->val == val && o->flag == NULL)
      return o;
  return NULL;
}

/* How many long options start with the n bytes of name. */
static size_t prefix_count(const struct option *o, const char *name, size_t n)
{
  size_t count = 0;

  for (; o->name != NULL; o++)
    if (strncmp(o->name, name, n) == 0)
      count++;
  return count;
}

/* "--name" of the long option with this val, for messages. */
static const char *long_name(const struct cli_cmd *c, int val)
{
  const struct option *o = by_val(c->longopts, val);

  return o != NULL ? o->name : "?";
}

/* An unknown or ambiguous --word (optopt is 0). */
static int bad_long(struct cli_cmd *c, const char *arg)
{
  const char *eq = strchr(arg, '=');
  int n = (int)(eq != NULL ? (size_t)(eq - arg) : strlen(arg));

  if (n > 2 && prefix_count(c->longopts, arg + 2, (size_t)n - 2) > 1)
    return cli_usage_error(c, "ambiguous option %.*s", n, arg);
  return cli_usage_error(c, "unknown option %.*s", n, arg);
}

/* An unknown short option: the character and the word it came in. */
static int bad_short(struct cli_cmd *c, int argc, char **argv)
{
  const char *w = argv[optind - 1];

  if (!(w[0] == '-' && w[1] == optopt && w[2] == '\0') && optind < argc)
    w = argv[optind];
  if (w[0] == '-' && w[1] == optopt && w[2] == '\0')
    return cli_usage_error(c, "unknown option -%c", optopt);
  return cli_usage_error(c,
                         "unknown option -%c in \"%s\" (long options take "
                         "two dashes; put -- before an operand that starts "
                         "with -)",
                         optopt, w);
}

/* Reports the error getopt_long returned as ch; returns CLI_OPT_STOP. */
static int bad_option(struct cli_cmd *c, int ch, int argc, char **argv)
{
  const char *last = argv[optind - 1];

  if (ch == ':')
    c->status = cli_usage_error(c, "--%s needs a value", long_name(c, optopt));
  else if (optopt == 0)
    c->status = bad_long(c, last);
  else if (strncmp(last, "--", 2) == 0 && strchr(last, '=') != NULL)
    c->status = cli_usage_error(c, "--%s takes no value", long_name(c, optopt));
  else
    c->status = bad_short(c, argc, argv);
  return CLI_OPT_STOP;
}

void cli_opt_select(const struct cli_opt_member *all, size_t n,
                    unsigned allowed, struct option *out)
{
  size_t i, k = 0;

  for (i = 0; i < n; i++)
    if (all[i].bits == 0 || (allowed & all[i].bits) != 0)
      out[k++] = all[i].opt;
  memset(&out[k], 0, sizeof(out[k]));
}

int cli_opt_next(struct cli_cmd *c, int argc, char **argv)
{
  int ch;

  if (!c->started) {
    optind = 0; /* glibc: a full restart, permutation state included */
    opterr = 0;
    c->started = 1;
  }
  ch = getopt_long(argc, argv, c->in_order ? "+:h" : ":h", c->longopts, NULL);
  if (ch == -1)
    return CLI_OPT_END;
  if (ch == 'h') {
    if (c->usage_fn != NULL)
      c->usage_fn(stdout);
    else
      fputs(c->usage, stdout);
    c->status = cli_out_finish(c->what);
    return CLI_OPT_STOP;
  }
  if (ch == '?' || ch == ':')
    return bad_option(c, ch, argc, argv);
  return ch;
}

int cli_opt_operands(struct cli_cmd *c, int argc, char **argv, const char *name)
{
  int max = name != NULL ? 1 : 0;

  if (argc - optind < max)
    return cli_usage_error(c, "%s is missing", name);
  if (argc - optind > max && name != NULL)
    return cli_usage_error(c, "unexpected operand \"%s\" (only one %s)",
                           argv[optind + max], name);
  if (argc - optind > max)
    return cli_usage_error(c, "unexpected operand \"%s\"", argv[optind]);
  return CLI_EXIT_OK;
}

int cli_opt_window(const struct cli_cmd *c, int has_since, int64_t since_ms,
                   int has_until, int64_t until_ms)
{
  if (has_since && has_until && since_ms >= until_ms)
    return cli_usage_error(c, "the window is empty: --since is not before "
                              "--until");
  return CLI_EXIT_OK;
}
