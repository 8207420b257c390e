/*
 * cli_json.h - a tiny streaming JSON writer for the CLI's --json output.
 *
 * Values are written straight to a FILE as they come, compact, with the
 * commas and colons placed by the writer. A finished top-level value ends
 * with "\n", so a command printing several objects produces JSON Lines.
 * Strings are escaped per RFC 8259: `"`, `\` and control bytes (as \n, \t,
 * ... or \u00XX), DEL as \u007f, U+2028/U+2029 as \u2028/\u2029 (so the
 * output is also safe JavaScript); a byte that is not part of valid UTF-8
 * becomes U+FFFD, so the output is always valid UTF-8.
 *
 * Misuse (a value where a key is due, unbalanced ends, nesting deeper than
 * CLI_JSON_DEPTH_MAX) sets `failed` and writes nothing more. Write errors
 * are the FILE's: check ferror() when done.
 */
#ifndef CLI_JSON_H
#define CLI_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_JSON_DEPTH_MAX 16

struct cli_json {
  FILE *f;        /* not owned */
  unsigned depth; /* open containers */
  unsigned char is_object[CLI_JSON_DEPTH_MAX];
  unsigned char count[CLI_JSON_DEPTH_MAX]; /* 0: empty so far, else 1 */
  int key_pending;                         /* a key was written, value due */
  int failed;                              /* misuse detected */
};

void cli_json_init(struct cli_json *j, FILE *f);

void cli_json_object_begin(struct cli_json *j);
void cli_json_object_end(struct cli_json *j);
void cli_json_array_begin(struct cli_json *j);
void cli_json_array_end(struct cli_json *j);

/* A member name inside an object; the next call writes its value. */
void cli_json_key(struct cli_json *j, const char *key);

/* Values. cli_json_string(NULL) writes null. */
void cli_json_string(struct cli_json *j, const char *s);
void cli_json_string_len(struct cli_json *j, const char *s, size_t len);
void cli_json_int(struct cli_json *j, int64_t v);
void cli_json_uint(struct cli_json *j, uint64_t v);
void cli_json_bool(struct cli_json *j, int v);
void cli_json_null(struct cli_json *j);

/* Key and value in one call. */
void cli_json_kstring(struct cli_json *j, const char *key, const char *s);
void cli_json_kint(struct cli_json *j, const char *key, int64_t v);
void cli_json_kuint(struct cli_json *j, const char *key, uint64_t v);
void cli_json_kbool(struct cli_json *j, const char *key, int v);
void cli_json_knull(struct cli_json *j, const char *key);

/*
 * Key and the time t (Unix seconds) as an RFC 3339 string
 * (cli_time_rfc3339), or null when t is STORE_NEVER (an expiry that never
 * comes).
 */
void cli_json_ktime(struct cli_json *j, const char *key, int64_t t);

/* Writes `len` bytes as a JSON string body (no quotes) to f. */
void cli_json_escape(FILE *f, const char *s, size_t len);

#endif /* CLI_JSON_H */
