/* cmd_policy.c: being written. */
#include "cli.h"

int cmd_policy(int argc, char **argv, const struct cli_globals *g)
{
  cli_error(argv[0], "not built yet");
  return CLI_EXIT_FAIL;
}
