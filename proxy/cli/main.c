/*
 * main.c - the hstsproxy command: global options, then a subcommand.
 *
 *   hstsproxy [--db PATH] [--help] [--version] SUBCOMMAND [ARGS...]
 *
 * Global options come before the subcommand; each subcommand parses its
 * own, with the same convention (cli_opt_next). With no subcommand, a
 * short usage on stderr and exit 2. Exit statuses are in cli.h.
 */
#include "cli.h"
#include "cli_out.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

struct command {
  const char *name;
  int (*fn)(int argc, char **argv, const struct cli_globals *g);
  const char *summary;
};

static const struct command commands[] = {
  { "run", cmd_run, "run the proxy" },
  { "preload", cmd_preload, "import, update or show the preload list" },
  { "policy", cmd_policy, "query, add, delete, list, export, import policies" },
  { "check-header", cmd_check_header,
    "check a Strict-Transport-Security value" },
  { "log", cmd_log, "show the log of upgrades and redirect hops" },
  { "audit", cmd_audit, "report the HSTS coverage of the hosts seen" },
  { "probe", cmd_probe, "probe a host over TLS and learn its HSTS policy" },
  { "reload", cmd_reload, "make the running proxy reload its store" },
  { "store", cmd_store, "show what the store holds (store stats)" },
  { "prune", cmd_prune, "delete hops, probes and per-day rows past an age" },
  { NULL, NULL, NULL }
};

static void usage(FILE *f)
{
  const struct command *c;

  fprintf(f, "usage: hstsproxy [--db PATH] SUBCOMMAND [ARGS...]\n"
             "       hstsproxy help SUBCOMMAND\n\n"
             "An HSTS-aware forward proxy.\n\nSubcommands:\n");
  for (c = commands; c->name != NULL; c++)
    fprintf(f, "  %-14s %s\n", c->name, c->summary);
  fprintf(f, "\nGlobal options:\n"
             "  --db PATH      the SQLite store (default: $HSTSPROXY_DB, else\n"
             "                 $XDG_STATE_HOME/hstsproxy/hstsproxy.db, else\n"
             "                 ~/.local/state/hstsproxy/hstsproxy.db)\n"
             "  --help         this text\n"
             "  --version      the version\n\n"
             "Options come after their subcommand, in any order with its\n"
             "operands; -- ends them. SUBCOMMAND --help describes each.\n\n"
             "Exit status: 0 success, 1 negative answer, 2 usage error,\n"
             "3 runtime failure.\n");
}

/* No subcommand at all: a reminder on stderr, not the whole text. */
static void short_usage(void)
{
  const struct command *c;

  fputs("usage: hstsproxy [--db PATH] SUBCOMMAND [ARGS...]\n"
        "subcommands:",
        stderr);
  for (c = commands; c->name != NULL; c++)
    fprintf(stderr, " %s%s", c->name, c[1].name != NULL ? "," : "\n");
  fputs("see hstsproxy --help, or hstsproxy help SUBCOMMAND\n", stderr);
}

static const struct command *find_command(const char *name)
{
  const struct command *c;

  for (c = commands; c->name != NULL; c++)
    if (strcmp(c->name, name) == 0)
      return c;
  return NULL;
}

static int run_command(const char *name, int argc, char **argv,
                       const struct cli_globals *g)
{
  const struct command *c = find_command(name);

  if (c == NULL) {
    cli_error(NULL, "unknown subcommand \"%s\" (see hstsproxy --help)", name);
    return CLI_EXIT_USAGE;
  }
  if (g->ndb > 1 && strcmp(name, "store") != 0 && strcmp(name, "log") != 0 &&
      strcmp(name, "audit") != 0) {
    cli_error(NULL,
              "--db given %zu times: only log, audit and store stats read "
              "several stores",
              g->ndb);
    return CLI_EXIT_USAGE;
  }
  return c->fn(argc, argv, g);
}

static int help_command(int argc, char **argv, const struct cli_globals *g)
{
  char help[] = "--help";
  char *args[3];

  if (argc < 2) {
    usage(stdout);
    return CLI_EXIT_OK;
  }
  args[0] = argv[1];
  args[1] = help;
  args[2] = NULL;
  return run_command(argv[1], 2, args, g);
}

int main(int argc, char **argv)
{
  static const struct option opts[] = { { "db", required_argument, NULL, 'd' },
                                        { "help", no_argument, NULL, 'h' },
                                        { "version", no_argument, NULL, 'V' },
                                        { NULL, 0, NULL, 0 } };
  struct cli_cmd cmd = { .what = NULL,
                         .help = NULL,
                         .usage_fn = usage,
                         .longopts = opts,
                         .in_order = 1 };
  struct cli_globals g = { NULL };
  int c;

  for (;;) {
    c = cli_opt_next(&cmd, argc, argv);
    if (c == CLI_OPT_END)
      break;
    if (c == CLI_OPT_STOP)
      return cmd.status;
    if (c == 'd') {
      if (g.ndb == CLI_DB_MAX) {
        cli_error(NULL, "--db given more than %d times", CLI_DB_MAX);
        return CLI_EXIT_USAGE;
      }
      g.db_args[g.ndb++] = optarg;
      g.db_arg = g.db_args[0];
    } else {
      printf("hstsproxy %s\n", HSTSPROXY_VERSION);
      return cli_out_finish(NULL);
    }
  }
  if (optind >= argc) {
    short_usage();
    return CLI_EXIT_USAGE;
  }
  argc -= optind;
  argv += optind;
  if (strcmp(argv[0], "help") == 0)
    return help_command(argc, argv, &g);
  return run_command(argv[0], argc, argv, &g);
}
