/*
 * store.h - the SQLite store: opening, schema migrations, errors.
 *
 * One SQLite file (WAL journal, so readers such as `policy query` work
 * while the proxy writes) holds the active preload list and its import
 * history (store_preload.h) and the learned and manual policies
 * (store_policy.h). The schema is versioned with PRAGMA user_version and
 * migrated forward, in one transaction, when the store is opened
 * read-write; a file with a newer version is refused. store/ is the only
 * code that includes sqlite3.h.
 *
 * Every call blocks on disk I/O (and for up to STORE_BUSY_TIMEOUT_MS on a
 * lock held by another process): never call it on an event loop thread.
 * A struct store is used by one thread at a time.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include "hsts.h"

/* Error codes of every store_ function. 0 is success. */
enum store_err {
  STORE_OK = 0,
  STORE_EIO,        /* a file or directory could not be read or created */
  STORE_EDB,        /* SQLite failed: locked, disk full, corrupt */
  STORE_ENOTDB,     /* the file is not an hstsproxy database */
  STORE_EVERSION,   /* schema version newer than this program knows */
  STORE_EREADONLY,  /* a write on a store opened read-only */
  STORE_EFORMAT,    /* a malformed import file (the message names the line) */
  STORE_EHOST,      /* an invalid host, an IP literal or localhost */
  STORE_ENOTFOUND,  /* no such entry */
  STORE_EPRELOADED, /* refused: the host is on the preload list */
  STORE_EINVAL,     /* an argument out of range */
  STORE_ENOMEM,     /* out of memory */
  STORE_EFULL,      /* the hop-log queue is full: the record was dropped */
  STORE_ESHRINK     /* refused: a list of fewer than half the active's */
};

/* Returns a static English description of a store_err. Never NULL. */
const char *store_strerror(int err);

#define STORE_SCHEMA_VERSION  9 /* what this program creates and reads */
#define STORE_APPLICATION_ID  0x48535453 /* PRAGMA application_id, "HSTS" */
#define STORE_BUSY_TIMEOUT_MS 5000       /* wait for another process's lock */
#define STORE_ERRMSG_MAX      512        /* bytes of a detailed error message */
#define STORE_NEVER           INT64_MAX  /* an expiry that never comes */

#define STORE_ATTACH_MAX 9 /* stores read with one (SQLite: 10 in all) */

/* store_open() flags. */
#define STORE_OPEN_READONLY 0x1u /* no writes, no migration, no creation */

struct store;

/*
 * CONSTRUCTOR. Opens (read-write: creating the file with mode 0600 and its
 * missing parent directories with mode 0700) the store at `path`, sets
 * WAL, the busy timeout and foreign keys, and migrates the schema forward.
 * ":memory:" opens a private in-memory store (tests).
 *
 * Returns STORE_OK, or an error; in both cases *out is set to a handle
 * (NULL only when memory ran out) whose store_errmsg() says what failed,
 * naming the file and the cause. The caller always calls store_close().
 * A read-only open refuses a file whose schema is older than ours (it
 * cannot migrate) and one that does not exist; it never writes, nor
 * creates anything but SQLite's -shm file where it may (mode=ro; where it
 * may not, immutable=1: see store_is_immutable()).
 */
int store_open(const char *path, unsigned flags, struct store **out);

/* DESTRUCTOR. Closes *s (NULL accepted) and sets *s to NULL. */
void store_close(struct store **s);

/*
 * The detailed message of the last failed call on `s`: one line naming the
 * thing and the cause, e.g. "/x/list.json: entry 12 \"a..b\" (line 240):
 * invalid name: ...". User-supplied bytes in it are escaped (printable
 * ASCII only). "out of memory" when s is NULL. Valid until the next call.
 */
const char *store_errmsg(const struct store *s);

/* The path the store was opened with. */
const char *store_path(const struct store *s);

/*
 * Reads the store at path together with s (opened read-only), as schema
 * "s<N>" (N = 1, 2, ... in the order attached): checked as a read-only
 * store_open() would (identity, schema version; mode=ro, else
 * immutable=1), so a store of another schema fails naming its path.
 * Returns STORE_OK or an error (store_errmsg(s)); STORE_EINVAL past
 * STORE_ATTACH_MAX. For `log` over several proxies' stores.
 */
int store_attach(struct store *s, const char *path);

/*
 * After store_attach(): the audit's tables read over every store as one
 * (TEMP views that shadow them): hops, probes and writer runs side by
 * side, per-host counters summed per host (per day, per port), policies
 * merged per host (the most recently observed one). The preload list is
 * the first store's. Returns STORE_OK or STORE_EDB (stores whose tables
 * differ, such as two schema versions).
 */
int store_merge_attached(struct store *s);

/* How many stores are attached to s; the path of the N-th (1-based;
 * 0: s's own). */
int store_attached(const struct store *s);
const char *store_attached_path(const struct store *s, int n);

/* 1 when a read-only open had to use SQLite's immutable=1 (its -shm file
 * could not be created: an unwritable directory, read-only media): no
 * locks, and what only the -wal file holds is not seen. */
int store_is_immutable(const struct store *s);

/* The schema version of the open file (STORE_SCHEMA_VERSION once open). */
int store_schema_version(struct store *s);

/*
 * PRAGMA data_version into *out: a number that changes when another
 * connection (another process, or another store_open) has committed to
 * the file since this connection last asked; this connection's own
 * commits leave it alone. Returns STORE_OK or an error (store_errmsg).
 */
int store_data_version(struct store *s, int64_t *out);

#endif /* STORE_H */
