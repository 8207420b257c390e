/* cmd_check_header.c: being written. */
#include "cli.h"

int cmd_check_header(int argc, char **argv, const struct cli_globals *g)
{
  cli_error(argv[0], "not built yet");
  return CLI_EXIT_FAIL;
}
