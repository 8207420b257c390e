/*
 * store_import_int.h - what the importers share (private to the store).
 *
 * Reading a whole input file and splitting it into lines (store_read.c),
 * the JSON scanner that gives the Chromium importer its line numbers
 * (store_json_scan.c), and the import in progress that the format parsers
 * feed (store_import.c, store_chromium.c). Used by the preload importers
 * and by the curl --hsts cache importer (policy/store_curl.c). Built on
 * the core of store_internal.h.
 */
#ifndef STORE_IMPORT_INT_H
#define STORE_IMPORT_INT_H

#include "store_internal.h"
#include "store_preload.h"

/*
 * Reads the file at `path` into a new buffer (*data, NUL-terminated, freed
 * by the caller; *len bytes) of at most STORE_IMPORT_MAX_BYTES.
 */
int store__read_file(struct store *s, const char *path, char **data,
                     size_t *len);

/* Line iteration over a buffer: lines without their "\n" or "\r\n". */
struct store__lines {
  const char *p;   /* next unread byte */
  const char *end; /* end of the buffer */
  size_t lineno;   /* 1-based number of the line last returned */
};

void store__lines_init(struct store__lines *it, const char *data, size_t len);

/* Returns 1 with the next line in *line and *len, 0 at the end. */
int store__lines_next(struct store__lines *it, const char **line, size_t *len);

/* The 1-based line (and column) of byte `off` of data. */
size_t store__line_of(const char *data, size_t off, size_t *column);

/* Result of scanning a JSON document (store_json_scan.c). */
struct store__json_scan {
  int ok;                /* 1: valid JSON (RFC 8259) */
  size_t error_offset;   /* when !ok: where the first error is */
  const char *error;     /* when !ok: static description */
  int top_object;        /* the document is an object */
  int entries_found;     /* it has a top-level "entries" member */
  int entries_array;     /* ... which is an array */
  size_t *entry_offsets; /* owned: offset of each element of entries */
  size_t nentries;
};

/*
 * Validates `len` bytes of JSON text (UTF-8, nesting at most
 * STORE_JSON_DEPTH_MAX) and locates the elements of $.entries. Returns
 * STORE_OK (check out->ok) or STORE_ENOMEM. Free with
 * store__json_scan_cleanup().
 */
#define STORE_JSON_DEPTH_MAX 64
int store__json_scan(const char *text, size_t len,
                     struct store__json_scan *out);
void store__json_scan_cleanup(struct store__json_scan *sc);

/*
 * An import in progress (store_import.c): the parsers feed it entries.
 * It owns the prepared statements and the counts.
 */
struct store__import {
  struct store *s;
  int64_t list_id;        /* the history row being filled */
  sqlite3_stmt *insert;   /* owned: INSERT ... ON CONFLICT DO NOTHING */
  sqlite3_stmt *existing; /* owned: flags of an already inserted host */
  struct store_list_info info;
  size_t active_entries; /* STORE_IMPORT_GUARD: less than half refused */
};

/*
 * Adds one entry named by `len` bytes at `name`. A name that can never
 * apply (an IP literal, not a valid host) is skipped: counted in
 * imp->info.skipped, the first ones named in imp->info.skipped_names, and
 * STORE_OK. On a conflicting repeat returns STORE_EFORMAT with a reason
 * (no location) in `why`; the parser prefixes its location. Other errors:
 * STORE_EDB.
 */
int store__import_add(struct store__import *imp, const char *name, size_t len,
                      int include_subdomains, int subdomains_for_pinning,
                      int force_https, char *why, size_t whysz);

/* The format parsers: each feeds `imp` and fails with a located message. */
int store__import_chromium(struct store__import *imp, const char *data,
                           size_t len);
int store__import_mozilla(struct store__import *imp, const char *data,
                          size_t len);
int store__import_text(struct store__import *imp, const char *data, size_t len);

/* The built-in preload list: fills *out as store_preload_info() does for
 * it, with imports 0 (store_static.c). */
void store__builtin_info(struct store_list_info *out);

#endif /* STORE_IMPORT_INT_H */
