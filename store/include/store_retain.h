/*
 * store_retain.h - keeping the store's history bounded: what is in it
 * (store_stats) and deleting what is older than a cutoff (store_prune_*).
 *
 * Kept for months, a proxy's store grows by a hop row per upgrade or
 * origin redirect, a probe row per probe and a host_traffic_day row per
 * host and day. store_prune_step() deletes the oldest of these, older
 * than a cutoff, in one small transaction of at most `batch` rows per
 * table, so that the writer (`run --retain`, between its batches) and
 * `hstsproxy prune` (beside a running proxy) never hold the store's write
 * lock for long. The totals (host_traffic, host_connect_port), the
 * policies, the preload lists and writer_stats are kept.
 *
 * Hops and probes are found from their oldest rowid on (rows are
 * inserted in time order, give or take a batch): a step reads at most
 * `batch` rows per table, however large the table. Per-day rows have no
 * such order and are found by a scan of host_traffic_day (small: hosts x
 * days), at most once per UTC day by the writer.
 */
#ifndef STORE_RETAIN_H
#define STORE_RETAIN_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_PRUNE_BATCH   1000u /* rows per table and step */
#define STORE_RETAIN_TABLES 7

/* One table: its rows and, for those with a time, the oldest and newest
 * (Unix ms; 0 when the table is empty or has no time). */
struct store_table_stats {
  const char *name; /* static */
  int64_t rows;
  int64_t oldest_ms, newest_ms;
  int timed; /* the table has a time */
};

struct store_stats {
  int schema_version;
  int64_t file_bytes; /* the database file */
  int64_t wal_bytes;  /* its -wal file; 0 when none */
  int read_only;      /* opened read-only */
  int immutable;      /* read-only with immutable=1 (store.h) */
  struct store_table_stats t[STORE_RETAIN_TABLES];
};

/* Fills *out (every table, in a fixed order: hop, probe,
 * host_traffic_day, host_traffic, policy, preload_entry, writer_stats).
 * One read transaction. Returns STORE_OK or an error (store_errmsg). */
int store_stats(struct store *s, struct store_stats *out);

/* What the status page shows of the store (cheap: two stat(2) calls and
 * the first hop by rowid). */
struct store_size {
  int64_t file_bytes, wal_bytes;
  int64_t oldest_hop_ms; /* 0: no hop */
};

/* Fills *out. Returns STORE_OK or an error (store_errmsg). */
int store_size(struct store *s, struct store_size *out);

/* Rows deleted, per kind. */
struct store_prune_counts {
  uint64_t hops, probes, days;
};

/*
 * One step: deletes at most `batch` hops and `batch` probes older than
 * cutoff_ms (Unix ms), and with days set at most `batch` host_traffic_day
 * rows of days before the cutoff's, in one transaction; adds what it
 * deleted to *c. Returns STORE_OK and sets *more when a table may hold
 * more to delete (call again), or an error (rolled back; a locked store
 * waits the busy timeout first).
 */
int store_prune_step(struct store *s, int64_t cutoff_ms, unsigned batch,
                     int days, struct store_prune_counts *c, int *more);

/* VACUUM: gives the freed pages back to the file system. Needs the write
 * lock for the whole copy: for `prune --vacuum`, not for the writer. */
int store_vacuum(struct store *s);

#endif /* STORE_RETAIN_H */
