/*
 * cmd_run_preload.c - `run --preload-refresh DURATION|off` and
 * `--preload-url URL`: the options of the preload list's refresh
 * (proxy_refresh.c), parsed apart from cmd_run.c's table.
 *
 * A duration is a whole number with a unit: s, m, h or d (24h, 90m), from
 * one second to 365 days; "off" turns the refresh off. The URL must be
 * one the HTTPS client accepts (proxy_fetch_url_check).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_time.h"
#include "cmd_run_preload.h"
#include "hsts.h"
#include "proxy_fetch.h"

#define SECONDS_MAX (365ull * 86400ull)

int cli_parse_refresh(const char *arg, uint64_t *out_ms)
{
  uint64_t seconds = 0;

  if (strcmp(arg, "off") == 0) {
    *out_ms = 0;
    return 0;
  }
  if (cli_time_parse_duration(arg, &seconds) != 0 || seconds == 0 ||
      seconds > SECONDS_MAX)
    return -1;
  *out_ms = seconds * HSTS_MS_PER_S;
  return 0;
}

int cli_run_preload_option(struct proxy_config *cfg, int is_url,
                           const char *arg)
{
  const char *why = NULL;

  if (is_url) {
    if (proxy_fetch_url_check(arg, &why) < 0) {
      cli_error("run", "--preload-url %s: %s", arg, why);
      return -1;
    }
    cfg->preload_url = arg;
    return 0;
  }
  if (cli_parse_refresh(arg, &cfg->preload_refresh_ms) < 0) {
    cli_error("run",
              "--preload-refresh %s: expected off or a duration such as "
              "24h, 90m, 7d (1s to 365d)",
              arg);
    return -1;
  }
  return 0;
}
