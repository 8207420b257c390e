/*
 * store_internal.h - the core every store_*.c file shares (module-private).
 *
 * The definition of struct store, error reporting into its message buffer,
 * transactions, the escaping of user bytes in messages, and the few calls
 * one part of the store makes into another (the preload list's exact
 * entry for a host, a manual policy's insertion). What only the importers
 * share (whole-file reading, line splitting, the JSON scanner, the import
 * in progress) is in preload/store_import_int.h. Nothing here is part of
 * the store's public API.
 */
#ifndef STORE_INTERNAL_H
#define STORE_INTERNAL_H

#include <sqlite3.h>

#include "store.h"
#include "hsts_index.h"

struct store {
  sqlite3 *db;    /* owned; closed by store_close() */
  char *path;     /* owned copy of the path given to store_open() */
  unsigned flags; /* STORE_OPEN_* */
  int immutable;  /* read-only, opened immutable=1 (no -shm possible) */
  /* store_attach(): the other stores read with this one, as schemas
   * s1..sN; owned copies of their paths. */
  char *attached[STORE_ATTACH_MAX];
  int nattached;
  char errmsg[STORE_ERRMSG_MAX];
};

/* Sets s->errmsg from the format and returns `code`. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int store__fail(struct store *s, int code, const char *fmt, ...);

/*
 * Sets s->errmsg to "<path>: <what>: <SQLite's message>" and returns the
 * store_err matching SQLite's last error on s->db (STORE_ENOTDB for a file
 * that is not a database, STORE_EREADONLY, STORE_ENOMEM, else STORE_EDB).
 */
int store__dbfail(struct store *s, const char *what);

/* Runs SQL without results. Returns STORE_OK or store__dbfail(). */
int store__exec(struct store *s, const char *sql);

/* Prepares one statement. Returns STORE_OK or store__dbfail(). */
int store__prepare(struct store *s, const char *sql, sqlite3_stmt **st);

/* BEGIN IMMEDIATE (refused with STORE_EREADONLY on a read-only store). */
int store__begin(struct store *s, const char *what);
int store__commit(struct store *s);
void store__rollback(struct store *s); /* keeps s->errmsg */

/* The schema migrations (store_schema.c). Inside store_open() only. */
int store__migrate(struct store *s);

/*
 * Copies at most `len` bytes of `in` into out (`outsz` bytes, NUL-ended)
 * as printable ASCII: other bytes as \xNN, `"` and `\` escaped, cut with
 * "..." when longer than fits. For user data in error messages.
 */
void store__printable(const char *in, size_t len, char *out, size_t outsz);

/* Fills *e with the exact static entry for `host` (active list, or the
 * builtin). Returns 1 when found, 0 when not, -1 on a database error. */
int store__static_exact(struct store *s, const char *host, struct hsts_entry *e,
                        char *list, size_t listsz);

struct store_policy;

/* Inserts or replaces *p as a manual policy (store_policy.c). */
int store__policy_put_manual(struct store *s, const struct store_policy *p);

#endif /* STORE_INTERNAL_H */
