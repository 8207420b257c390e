/*
 * cmd_log.h - what the files of `hstsproxy log` share (module-private).
 *
 * cmd_log.c parses the options, opens the store read-only, runs the query
 * (and the --follow loop) and hands each row to the form chosen: text columns
 * or chain blocks (cmd_log_text.c), JSON lines (the hop_json view's text, as
 * is), or HAR 1.2 entries (cmd_log_har.c).
 */
#ifndef CMD_LOG_H
#define CMD_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "cli_out.h"
#include "cli_time.h"
#include "store_log_read.h"

#define CMD_LOG_ID_MAX   32  /* a chain_id with room to spare */
#define CMD_LOG_WHY_MAX  512 /* one policy description */
#define CMD_LOG_TIME_MAX CLI_TIME_MAX

enum cmd_log_mode {
  CMD_LOG_TEXT = 0, /* aligned columns */
  CMD_LOG_CHAINS,   /* one block per chain */
  CMD_LOG_JSON,     /* JSON lines */
  CMD_LOG_HAR       /* one HAR 1.2 document */
};

/* The printing state across rows (and across --follow polls). */
struct cmd_log__out {
  struct cli_out o;
  enum cmd_log_mode mode;
  int64_t last_id;                 /* largest id printed */
  char last_chain[CMD_LOG_ID_MAX]; /* chain of the last hop printed */
  uint64_t rows;                   /* hops printed */
  int header_done;                 /* the text header line is out */
};

/* Unix ms as RFC 3339 UTC with milliseconds: 2025-11-25T19:00:00.042Z. */
void cmd_log__time(int64_t ms, char out[CMD_LOG_TIME_MAX]);

/*
 * Why the hop happened, for people: "preload a.test, subdomains" for an
 * upgrade; "upstream 192.0.2.1, bootstrap" for an upstream redirect.
 */
void cmd_log__describe(const struct store_log_row *r, char *out, size_t size);

/* Writes s to f, control bytes as '?' (text output from the network). */
void cmd_log__safe(FILE *f, const char *s);

/* Text forms (cmd_log_text.c). */
void cmd_log__text_row(struct cmd_log__out *o, const struct store_log_row *r);
void cmd_log__chain_row(struct cmd_log__out *o, const struct store_log_row *r);

/* HAR 1.2 (cmd_log_har.c): begin, one entry per hop, end. */
void cmd_log__har_begin(FILE *f);
void cmd_log__har_entry(FILE *f, const struct store_log_row *r, int first);
void cmd_log__har_end(FILE *f);

#endif /* CMD_LOG_H */
