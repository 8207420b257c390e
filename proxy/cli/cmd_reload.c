/*
 * cmd_reload.c - `hstsproxy reload [--pid-file PATH]`: SIGHUP to the
 * proxy whose pid `run --pid-file PATH` wrote.
 *
 * The pid file is a file the user names (or the default one): missing,
 * unreadable or not a pid is a usage error (exit 2). A pid that names no
 * running hstsproxy (the process is gone, or the number was reused by
 * another program, told by /proc/PID/comm) is a stale pid file, a fault
 * of the running system (exit 3): nothing is signalled.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "cli.h"
#include "cli_out.h"
#include "proxy.h"

#define WHAT         "reload"
#define PID_TEXT_MAX 32
#define COMM_MAX     64
#define PROC_NAME    "hstsproxy"
#define PID_MIN      2u       /* 1 is init: never ours */
#define PID_MAX      4194304u /* Linux's PID_MAX_LIMIT */

static const char usage_text[] =
    "usage: hstsproxy reload [--pid-file PATH]\n\n"
    "Asks the running proxy to reload the preload list and the policies\n"
    "from its store (SIGHUP to the pid that `hstsproxy run --pid-file\n"
    "PATH` wrote). Changes made with policy and preload commands take\n"
    "effect within 2 s without it; reload also re-reads --auth-file.\n\n"
    "Options:\n"
    "  --pid-file PATH   the proxy's pid file (default\n"
    "                    " PROXY_DEFAULT_PID_FILE ")\n"
    "  --help            this text\n\n"
    "Exit status: 0 signalled; 2 usage error, including a pid file that\n"
    "is missing, unreadable or holds no pid; 3 a stale pid file (no such\n"
    "process, or not hstsproxy) or a signal refused.\n";

/* The pid in path; returns 0, or -1 after the error line. */
static int read_pid(const char *path, long *pid)
{
  char text[PID_TEXT_MAX];
  FILE *f = fopen(path, "r");
  const char *why = NULL;
  unsigned v;
  size_t n;

  if (f == NULL) {
    cli_error(WHAT, "--pid-file %s: %s%s", path, strerror(errno),
              errno == ENOENT ? " (is the proxy running with --pid-file?)"
                              : "");
    return -1;
  }
  n = fread(text, 1, sizeof(text) - 1, f);
  fclose(f);
  text[n] = '\0';
  if (n > 0 && text[n - 1] == '\n')
    text[n - 1] = '\0';
  if (proxy_parse_uint(text, PID_MIN, PID_MAX, &v, &why) < 0) {
    cli_error(WHAT, "--pid-file %s: not a process id (%s)", path, why);
    return -1;
  }
  *pid = (long)v;
  return 0;
}

/* 1 when /proc/PID/comm says hstsproxy (or cannot be read), else 0. */
static int is_ours(long pid, char *comm, size_t size)
{
  char path[PID_TEXT_MAX + sizeof("/proc//comm")];
  FILE *f;

  snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
  f = fopen(path, "r");
  comm[0] = '\0';
  if (f == NULL)
    return 1;
  if (fgets(comm, (int)size, f) == NULL)
    comm[0] = '\0';
  fclose(f);
  comm[strcspn(comm, "\n")] = '\0';
  return comm[0] == '\0' || strcmp(comm, PROC_NAME) == 0;
}

static int signal_proxy(const char *path, long pid)
{
  char comm[COMM_MAX];

  if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
    cli_error(WHAT, "--pid-file %s: stale: no process %ld", path, pid);
    return CLI_EXIT_FAIL;
  }
  if (!is_ours(pid, comm, sizeof(comm))) {
    cli_error(WHAT, "--pid-file %s: stale: process %ld is %s, not " PROC_NAME,
              path, pid, comm);
    return CLI_EXIT_FAIL;
  }
  if (kill((pid_t)pid, SIGHUP) < 0) {
    cli_error(WHAT, "process %ld: %s", pid, strerror(errno));
    return CLI_EXIT_FAIL;
  }
  return CLI_EXIT_OK;
}

int cmd_reload(int argc, char **argv, const struct cli_globals *g)
{
  static const struct option opts[] = { { "pid-file", required_argument, NULL,
                                          'p' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  struct cli_cmd cmd = {
    .what = WHAT, .help = WHAT, .usage = usage_text, .longopts = opts
  };
  const char *path = PROXY_DEFAULT_PID_FILE;
  long pid;
  int c;

  (void)g;
  for (;;) {
    c = cli_opt_next(&cmd, argc, argv);
    if (c == CLI_OPT_END)
      break;
    if (c == CLI_OPT_STOP)
      return cmd.status;
    path = optarg;
  }
  if (cli_opt_operands(&cmd, argc, argv, NULL) != CLI_EXIT_OK)
    return CLI_EXIT_USAGE;
  if (read_pid(path, &pid) < 0)
    return CLI_EXIT_USAGE;
  return signal_proxy(path, pid);
}
