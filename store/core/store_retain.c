/*
 * store_retain.c - what the store holds (store_stats) and pruning it in
 * small steps (store_prune_step); see store_retain.h.
 *
 * Counting: COUNT(*) per table; the oldest and newest rows of hop and
 * probe are those of the smallest and largest rowid (rows are inserted
 * in time order; probe has no index on its time, and a scan for MIN()
 * over millions of rows would take seconds), of the other tables MIN and
 * MAX over their time column (small tables). Times are Unix ms.
 *
 * Pruning: each step is one IMMEDIATE transaction that deletes, among the
 * `batch` oldest rows (by rowid) of hop and of probe, those older than
 * the cutoff, and with `days`, up to `batch` host_traffic_day rows of an
 * older UTC day. A step costs the same whether the table holds a
 * thousand rows or millions.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store_internal.h"
#include "store_retain.h"

#define WAL_SUFFIX "-wal"

struct table_sql {
  const char *name;
  const char *count;
  const char *range; /* oldest, newest in ms; NULL: no time */
};

static const struct table_sql tables[STORE_RETAIN_TABLES] = {
  { "hop", "SELECT count(*) FROM hop",
    "SELECT (SELECT time_ms FROM hop ORDER BY id LIMIT 1),"
    " (SELECT time_ms FROM hop ORDER BY id DESC LIMIT 1)" },
  { "probe", "SELECT count(*) FROM probe",
    "SELECT (SELECT time * 1000 FROM probe ORDER BY id LIMIT 1),"
    " (SELECT time * 1000 FROM probe ORDER BY id DESC LIMIT 1)" },
  { "host_traffic_day", "SELECT count(*) FROM host_traffic_day",
    "SELECT min(day) * 86400000, max(day) * 86400000 FROM host_traffic_day" },
  { "host_traffic", "SELECT count(*) FROM host_traffic",
    "SELECT min(first_seen), max(last_seen) FROM host_traffic" },
  { "policy", "SELECT count(*) FROM policy",
    "SELECT min(observed) * 1000, max(observed) * 1000 FROM policy" },
  { "preload_entry", "SELECT count(*) FROM preload_entry", NULL },
  { "writer_stats", "SELECT count(*) FROM writer_stats",
    "SELECT min(started), max(updated) FROM writer_stats" },
};

static const char sql_prune_hop[] =
    "DELETE FROM hop WHERE id IN (SELECT id FROM hop ORDER BY id LIMIT ?2)"
    " AND time_ms < ?1";
static const char sql_prune_probe[] =
    "DELETE FROM probe WHERE id IN (SELECT id FROM probe ORDER BY id LIMIT ?2)"
    " AND time < ?1 / 1000";
static const char sql_prune_day[] =
    "DELETE FROM host_traffic_day WHERE (host, day) IN (SELECT host, day"
    " FROM host_traffic_day WHERE day < ?1 / 86400000 LIMIT ?2)";

/* Runs sql (one row of up to two integers) into v[0], v[1]. */
static int query_ints(struct store *s, const char *sql, int64_t v[2])
{
  sqlite3_stmt *st;
  int err = store__prepare(s, sql, &st), rc, i;

  v[0] = v[1] = 0;
  if (err != STORE_OK)
    return err;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    for (i = 0; i < sqlite3_column_count(st) && i < 2; i++)
      v[i] = sqlite3_column_int64(st, i);
  else if (rc != SQLITE_DONE)
    err = store__dbfail(s, "cannot read the store's statistics");
  sqlite3_finalize(st);
  return err;
}

static int64_t file_size(const char *path, const char *suffix)
{
  char name[STORE_ERRMSG_MAX];
  struct stat st;

  snprintf(name, sizeof(name), "%s%s", path, suffix);
  return stat(name, &st) == 0 ? (int64_t)st.st_size : 0;
}

int store_stats(struct store *s, struct store_stats *out)
{
  int64_t v[2];
  int err = STORE_OK, i;

  memset(out, 0, sizeof(*out));
  out->schema_version = store_schema_version(s);
  out->file_bytes = file_size(s->path, "");
  out->wal_bytes = file_size(s->path, WAL_SUFFIX);
  out->read_only = (s->flags & STORE_OPEN_READONLY) != 0;
  out->immutable = s->immutable;
  if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    return store__dbfail(s, "cannot read the store's statistics");
  for (i = 0; i < STORE_RETAIN_TABLES && err == STORE_OK; i++) {
    struct store_table_stats *t = &out->t[i];

    t->name = tables[i].name;
    t->timed = tables[i].range != NULL;
    err = query_ints(s, tables[i].count, v);
    t->rows = v[0];
    if (err == STORE_OK && t->timed && t->rows > 0) {
      err = query_ints(s, tables[i].range, v);
      t->oldest_ms = v[0];
      t->newest_ms = v[1];
    }
  }
  store__rollback(s);
  return err;
}

int store_size(struct store *s, struct store_size *out)
{
  int64_t v[2];
  int err = query_ints(s, "SELECT time_ms FROM hop ORDER BY id LIMIT 1", v);

  out->file_bytes = file_size(s->path, "");
  out->wal_bytes = file_size(s->path, WAL_SUFFIX);
  out->oldest_hop_ms = err == STORE_OK ? v[0] : 0;
  return err;
}

/* Deletes with sql (?1 cutoff, ?2 batch); adds the rows to *n and sets
 * *full when the batch was used up. */
static int prune_one(struct store *s, const char *sql, int64_t cutoff_ms,
                     unsigned batch, uint64_t *n, int *full)
{
  sqlite3_stmt *st;
  int err = store__prepare(s, sql, &st), changes;

  if (err != STORE_OK)
    return err;
  sqlite3_bind_int64(st, 1, cutoff_ms);
  sqlite3_bind_int64(st, 2, batch);
  if (sqlite3_step(st) != SQLITE_DONE)
    err = store__dbfail(s, "cannot delete old rows");
  sqlite3_finalize(st);
  if (err != STORE_OK)
    return err;
  changes = sqlite3_changes(s->db);
  *n += (uint64_t)changes;
  *full |= changes > 0;
  return STORE_OK;
}

int store_prune_step(struct store *s, int64_t cutoff_ms, unsigned batch,
                     int days, struct store_prune_counts *c, int *more)
{
  int err;

  *more = 0;
  err = store__begin(s, "cannot start pruning");
  if (err != STORE_OK)
    return err;
  err = prune_one(s, sql_prune_hop, cutoff_ms, batch, &c->hops, more);
  if (err == STORE_OK)
    err = prune_one(s, sql_prune_probe, cutoff_ms, batch, &c->probes, more);
  if (err == STORE_OK && days)
    err = prune_one(s, sql_prune_day, cutoff_ms, batch, &c->days, more);
  if (err != STORE_OK) {
    store__rollback(s);
    return err;
  }
  return store__commit(s);
}

int store_vacuum(struct store *s)
{
  if ((s->flags & STORE_OPEN_READONLY) != 0)
    return store__fail(s, STORE_EREADONLY, "%s: VACUUM: opened read-only",
                       s->path);
  return store__exec(s, "VACUUM");
}
