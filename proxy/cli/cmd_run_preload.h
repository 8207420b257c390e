/*
 * cmd_run_preload.h - the preload refresh options of `hstsproxy run`.
 */
#ifndef CMD_RUN_PRELOAD_H
#define CMD_RUN_PRELOAD_H

#include <stdint.h>

#include "proxy.h"

/* Parses "off" (0) or a duration "N{s,m,h,d}" into *out_ms. Returns 0,
 * or -1 when malformed or out of range (1 s to 365 d). */
int cli_parse_refresh(const char *arg, uint64_t *out_ms);

/* Applies --preload-url (is_url) or --preload-refresh to cfg; `arg` must
 * outlive it. Returns 0, or -1 after printing the usage error. */
int cli_run_preload_option(struct proxy_config *cfg, int is_url,
                           const char *arg);

#endif /* CMD_RUN_PRELOAD_H */
