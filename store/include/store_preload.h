/*
 * store_preload.h - the preload list: import, statistics, loading.
 *
 * One list is active at a time. An import replaces it atomically, in one
 * transaction: broken syntax rolls everything back, so the store is
 * unchanged and the error names the line. An entry that can never apply
 * (an IP literal, a name that is not a valid host) is skipped and counted.
 * Three formats (docs/HSTS.md): Chromium's
 * transport_security_state_static.json (with `//` comment lines; only
 * "mode": "force-https" entries upgrade, the others are kept inert),
 * Firefox's nsSTSPreloadList.inc (`host, 0|1` lines between two
 * `%%` lines) and text (a host per line, optionally followed by the word
 * includeSubDomains; `#` comments). Every import is recorded in a history
 * (source, SHA-256 of the bytes, counts, time, format, the list's date).
 *
 * With no list imported, or after store_preload_reset(), the built-in list
 * is active: Chromium's force-https entries as of the snapshot the binary
 * carries (named "chromium-2026-06-01"). A list is stale when its date is
 * more than STORE_PRELOAD_STALE_DAYS old (Chrome's ten weeks).
 */
#ifndef STORE_PRELOAD_H
#define STORE_PRELOAD_H

#include "hsts_index.h"
#include "store.h"

#define STORE_IMPORT_MAX_BYTES   (128u << 20) /* larger files are refused */
#define STORE_LINE_MAX           4096 /* longest line: text, .inc, curl */
#define STORE_SOURCE_MAX         4096 /* bytes kept of an import's source */
#define STORE_LIST_NAME_MAX      32
#define STORE_LIST_DATE_MAX      11  /* "YYYY-MM-DD" and NUL */
#define STORE_SKIPPED_SHOWN      160 /* bytes of skipped names kept */
#define STORE_PRELOAD_STALE_DAYS 70

enum store_format {
  STORE_FORMAT_AUTO = 0, /* sniffed from the content */
  STORE_FORMAT_CHROMIUM,
  STORE_FORMAT_MOZILLA,
  STORE_FORMAT_TEXT
};

/* "auto", "chromium", "mozilla", "text". */
const char *store_format_name(enum store_format format);

/* Parses a name as above into *out. Returns STORE_OK or STORE_EINVAL. */
int store_format_parse(const char *name, enum store_format *out);

/* The active list, or one import of the history. */
struct store_list_info {
  char name[STORE_LIST_NAME_MAX]; /* "FORMAT-DATE": "chromium-2026-06-01" */
  char list_date[STORE_LIST_DATE_MAX]; /* the list's "as of" date, or the
                                          UTC day it was imported */
  int builtin;                         /* 1 for the built-in list */
  int64_t id;                          /* history row; 0 for builtin */
  char source[STORE_SOURCE_MAX];       /* path or URL as given; "" builtin */
  enum store_format format;            /* AUTO for builtin */
  char sha256[65];        /* hex of the imported bytes; "" builtin */
  int64_t imported;       /* Unix seconds; 0 for builtin */
  uint64_t bytes;         /* size of the imported file */
  size_t entries;         /* distinct hosts */
  size_t with_subdomains; /* entries with include_subdomains */
  size_t force_https;     /* entries that upgrade */
  size_t duplicates;      /* merged repeats of the same host */
  size_t imports;         /* rows in the history (all imports) */
  size_t skipped;         /* entries that can never apply */
  char skipped_names[STORE_SKIPPED_SHOWN]; /* the first ones, after an
                                              import only: "1.0.0.1, ..." */
};

/*
 * Reads the file at `path` (at most STORE_IMPORT_MAX_BYTES) and imports it
 * as the new active list, recording `path` as its source. `format` AUTO
 * sniffs it. A host repeated (after normalization) with the same flags is
 * merged and counted in `duplicates`; with different flags it is an error.
 * Fills *out (may be NULL) with the new list. Returns STORE_OK, STORE_EIO,
 * STORE_EFORMAT (store unchanged), STORE_EDB or STORE_EREADONLY.
 */
int store_preload_import_file(struct store *s, const char *path,
                              enum store_format format, int64_t now,
                              struct store_list_info *out);

/* The same for `len` bytes in memory; `source` names them (a URL). */
int store_preload_import_mem(struct store *s, const char *data, size_t len,
                             const char *source, enum store_format format,
                             int64_t now, struct store_list_info *out);

/*
 * The same two with flags. STORE_IMPORT_GUARD refuses (STORE_ESHRINK, the
 * store unchanged) a list with fewer than half the entries of the active
 * one: a truncated download must not shrink protection. The CLI's import
 * and update and the proxy's refresh guard; --force does not.
 */
#define STORE_IMPORT_GUARD 0x1u
int store_preload_import_file_flags(struct store *s, const char *path,
                                    enum store_format format, int64_t now,
                                    unsigned flags,
                                    struct store_list_info *out);
int store_preload_import_mem_flags(struct store *s, const char *data,
                                   size_t len, const char *source,
                                   enum store_format format, int64_t now,
                                   unsigned flags, struct store_list_info *out);

/*
 * Makes the built-in list active again, atomically, and records it in the
 * history (a row marked builtin). Fills *out (may be NULL). Returns
 * STORE_OK, STORE_EDB or STORE_EREADONLY.
 */
int store_preload_reset(struct store *s, int64_t now,
                        struct store_list_info *out);

/* Days from the list's date to `now` (0 when unknown or in the future);
 * 1 when that is more than STORE_PRELOAD_STALE_DAYS. */
int store_list_age_days(const struct store_list_info *in, int64_t now);
/* When the list was current (Unix s): its import time when it is dated the
 * day it was imported (a list with no date of its own), else the start of
 * its date (the built-in list's, or a Chromium list's "as of" day). */
int64_t store_list_time(const struct store_list_info *in);
int store_list_stale(const struct store_list_info *in, int64_t now);

/* Fills *out with the active list (the builtin when none was imported). */
int store_preload_info(struct store *s, struct store_list_info *out);

/*
 * CONSTRUCTOR. Builds a new index of the active list (or the builtin) into
 * *out and describes the list in *info (may be NULL). With `only_host` (a
 * normalized name) the index holds only the entries named by the host and
 * its parent domains: all a lookup of that host needs. The caller frees
 * *out with hsts_index_free(). Returns STORE_OK, STORE_EDB, STORE_ENOMEM.
 */
int store_load_static(struct store *s, const char *only_host,
                      struct hsts_index **out, struct store_list_info *info);

/*
 * Calls fn(e, arg) for each entry of the imported active list (source
 * PRELOAD; none when nothing was imported) or, with `builtin`, of the
 * builtin list, sorted by host, until fn returns non-zero (returned).
 * e->host is valid during the call only.
 */
int store_preload_foreach(struct store *s, int builtin,
                          int (*fn)(const struct hsts_entry *e, void *arg),
                          void *arg);

/* Writes the SHA-256 of `len` bytes as 64 hex digits and a NUL (what the
 * history records). Returns 0, or -1 when OpenSSL fails. */
int store_sha256_hex(const char *data, size_t len, char out[65]);

/* The built-in list's number of entries. */
size_t store_builtin_count(void);

#endif /* STORE_PRELOAD_H */
