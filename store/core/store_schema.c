/*
 * store_schema.c - the versioned schema and its forward migrations.
 *
 * migrations[i] takes a file from PRAGMA user_version i to i + 1. They run
 * in order, all in one IMMEDIATE transaction (a second process opening the
 * same file at the same time waits, then finds nothing left to do), and
 * set application_id so that a foreign SQLite file is refused rather than
 * written into. A file newer than STORE_SCHEMA_VERSION is refused: its
 * meaning is unknown to this program. To change the schema, append a
 * migration and bump STORE_SCHEMA_VERSION; never edit a released one.
 * v2 adds the hop log and per-host counters (store_writer.h); v3 the TLS
 * probe results (store_probe.h); v4 the per-host counters per UTC day
 * (store_audit.h reads them for windows and the trend); v7 the origin
 * of a probe (the proxy's own, or the command line's); v8 the preload
 * list's date, skipped entries and reset rows, the list of a hop; v9 how
 * a hop's client reached the proxy (via).
 */
#include <stdio.h>

#include "store_audit.h"
#include "store_internal.h"

/* Version 1: preload lists with their history, learned/manual policies. */
static const char migration_v1[] =
    /* One row per import, kept as history; never deleted. */
    "CREATE TABLE preload_import ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"   /* list name, e.g. "chromium" */
    "  source TEXT NOT NULL," /* path or URL as given */
    "  format TEXT NOT NULL"
    "    CHECK (format IN ('chromium', 'mozilla', 'text')),"
    "  sha256 TEXT NOT NULL," /* hex digest of the file's bytes */
    "  bytes INTEGER NOT NULL,"
    "  imported INTEGER NOT NULL," /* Unix seconds */
    "  entries INTEGER NOT NULL,"  /* distinct hosts */
    "  with_subdomains INTEGER NOT NULL,"
    "  force_https INTEGER NOT NULL,"
    "  duplicates INTEGER NOT NULL" /* repeats merged */
    ");"
    /* The entries of the active list only (older lists' rows are deleted
     * when a new one becomes active). */
    "CREATE TABLE preload_entry ("
    "  list_id INTEGER NOT NULL REFERENCES preload_import(id),"
    "  host TEXT NOT NULL," /* normalized */
    "  include_subdomains INTEGER NOT NULL CHECK (include_subdomains IN (0,1)),"
    "  subdomains_for_pinning INTEGER NOT NULL"
    "    CHECK (subdomains_for_pinning IN (0,1)),"
    "  force_https INTEGER NOT NULL CHECK (force_https IN (0,1)),"
    "  PRIMARY KEY (list_id, host)"
    ") WITHOUT ROWID;"
    /* The active list marker: at most one row. No row: builtin. */
    "CREATE TABLE preload_active ("
    "  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),"
    "  list_id INTEGER NOT NULL REFERENCES preload_import(id)"
    ");"
    /* Learned and manual policies, one per host. */
    "CREATE TABLE policy ("
    "  host TEXT PRIMARY KEY NOT NULL," /* normalized */
    "  source TEXT NOT NULL CHECK (source IN ('learned', 'manual')),"
    "  include_subdomains INTEGER NOT NULL CHECK (include_subdomains IN (0,1)),"
    "  max_age INTEGER CHECK (max_age IS NULL OR max_age > 0),"
    "  observed INTEGER NOT NULL," /* Unix seconds */
    "  expires INTEGER,"           /* Unix seconds; NULL: never */
    "  raw_header TEXT,"           /* the STS value it came from */
    "  how TEXT NOT NULL"          /* probe, proxy, cli, curl */
    ") WITHOUT ROWID;"
    "CREATE INDEX policy_expires ON policy(expires)"
    "  WHERE expires IS NOT NULL;";

/* The hop_json view (v2; v8 adds policy_list between its two halves, v9
 * via at the end): each hop as the JSON object of `log --json` and `run
 * --log-json`, every field present, null where it does not apply. */
#define HOP_JSON_HEAD                                                    \
  "CREATE VIEW hop_json (id, json) AS SELECT id, json_object("           \
  "  'time', strftime('%Y-%m-%dT%H:%M:%S', time_ms / 1000, 'unixepoch')" \
  "          || printf('.%03dZ', time_ms % 1000),"                       \
  "  'duration_ms', round(duration_us / 1000.0, 3),"                     \
  "  'request_id', request_id,"                                          \
  "  'chain_id', chain_id,"                                              \
  "  'hop', hop,"                                                        \
  "  'client', client,"                                                  \
  "  'user_agent', user_agent,"                                          \
  "  'method', method,"                                                  \
  "  'url', url,"                                                        \
  "  'http_version', http_version,"                                      \
  "  'status', status,"                                                  \
  "  'reason', reason,"                                                  \
  "  'location', location,"                                              \
  "  'kind', kind,"                                                      \
  "  'policy_source', policy_source,"                                    \
  "  'policy_host', policy_host,"

#define HOP_JSON_TAIL                                                    \
  "  'include_subdomains',"                                              \
  "    json(CASE include_subdomains WHEN 1 THEN 'true'"                  \
  "         WHEN 0 THEN 'false' END),"                                   \
  "  'expires', strftime('%Y-%m-%dT%H:%M:%SZ', expires, 'unixepoch'),"   \
  "  'upstream_ip', upstream_ip,"                                        \
  "  'sts_header', sts_header,"                                          \
  "  'scheme_change', scheme_change,"                                    \
  "  'same_host',"                                                       \
  "    json(CASE same_host WHEN 1 THEN 'true' WHEN 0 THEN 'false' END)," \
  "  'bootstrap',"                                                       \
  "    json(CASE bootstrap WHEN 1 THEN 'true' ELSE 'false' END),"        \
  "  'error', error"

#define HOP_JSON_END ") FROM hop;"

/*
 * Version 2: the hop log (store_writer.h), per-host traffic counters and the
 * log writer's counters. Times are Unix milliseconds unless named
 * otherwise; `expires` is Unix seconds as in policy.
 */
static const char migration_v2[] =
    /* One row per hop, in the order the writer committed them. */
    "CREATE TABLE hop ("
    "  id INTEGER PRIMARY KEY,"
    "  time_ms INTEGER NOT NULL,"     /* request head complete */
    "  duration_us INTEGER NOT NULL," /* to the response head */
    "  request_id TEXT NOT NULL,"     /* 16 lowercase hex digits */
    "  chain_id TEXT NOT NULL,"       /* the chain's first request_id */
    "  hop INTEGER NOT NULL CHECK (hop >= 0)," /* 0: first of its chain */
    "  client TEXT,"                           /* IP address as text */
    "  user_agent TEXT,"
    "  method TEXT,"
    "  url TEXT,"
    "  host TEXT," /* url's host normalized (IPv6 unbracketed), or NULL */
    "  http_version TEXT,"
    "  status INTEGER," /* NULL: no response */
    "  reason TEXT,"
    "  location TEXT," /* resolved against url; as sent if unresolvable */
    "  kind TEXT NOT NULL"
    "    CHECK (kind IN ('hsts-upgrade', 'upstream-redirect')),"
    "  policy_source TEXT CHECK (policy_source IN"
    "    ('none', 'builtin', 'preload', 'learned', 'manual')),"
    "  policy_host TEXT,"
    "  include_subdomains INTEGER CHECK (include_subdomains IN (0,1)),"
    "  expires INTEGER," /* Unix seconds; NULL: none */
    "  upstream_ip TEXT,"
    "  sts_header TEXT," /* raw, when the response carried one */
    "  scheme_change TEXT CHECK (scheme_change IN ('up', 'down', 'none')),"
    "  same_host INTEGER CHECK (same_host IN (0,1)),"
    "  bootstrap INTEGER NOT NULL CHECK (bootstrap IN (0,1)),"
    "  error TEXT"
    ");"
    "CREATE INDEX hop_time ON hop(time_ms);"
    "CREATE INDEX hop_host ON hop(host);"
    "CREATE INDEX hop_client ON hop(client);"
    "CREATE INDEX hop_kind ON hop(kind);"
    "CREATE INDEX hop_chain ON hop(chain_id);"
    /* Per-host counters of what went through the proxy. */
    "CREATE TABLE host_traffic ("
    "  host TEXT PRIMARY KEY NOT NULL," /* normalized, or an IP literal */
    "  first_seen INTEGER NOT NULL,"    /* Unix ms */
    "  last_seen INTEGER NOT NULL,"     /* Unix ms */
    "  http_requests INTEGER NOT NULL DEFAULT 0," /* plain HTTP */
    "  upgrades INTEGER NOT NULL DEFAULT 0,"      /* hsts-upgrade hops */
    "  upstream_redirects INTEGER NOT NULL DEFAULT 0,"
    "  redirects_to_https INTEGER NOT NULL DEFAULT 0," /* scheme up */
    "  connects INTEGER NOT NULL DEFAULT 0"
    ") WITHOUT ROWID;"
    "CREATE TABLE host_connect_port ("
    "  host TEXT NOT NULL,"
    "  port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),"
    "  count INTEGER NOT NULL,"
    "  PRIMARY KEY (host, port)"
    ") WITHOUT ROWID;"
    /* One row per writer (proxy run): what it could not record. */
    "CREATE TABLE writer_stats ("
    "  id INTEGER PRIMARY KEY,"
    "  pid INTEGER NOT NULL,"
    "  started INTEGER NOT NULL," /* Unix ms */
    "  updated INTEGER NOT NULL," /* Unix ms of the last batch */
    "  submitted INTEGER NOT NULL DEFAULT 0,"
    "  written INTEGER NOT NULL DEFAULT 0,"
    "  dropped INTEGER NOT NULL DEFAULT 0," /* the queue was full */
    "  failed INTEGER NOT NULL DEFAULT 0"   /* given up: store failing */
    ");" HOP_JSON_HEAD HOP_JSON_TAIL HOP_JSON_END;

/*
 * Version 3: TLS probe results (store_probe.h), every probe kept (the
 * audit reads the history); probe_latest is the newest row per host.
 */
static const char migration_v3[] =
    "CREATE TABLE probe ("
    "  id INTEGER PRIMARY KEY,"
    "  host TEXT NOT NULL," /* normalized */
    "  port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),"
    "  time INTEGER NOT NULL," /* Unix seconds: the probe ended */
    "  ok INTEGER NOT NULL CHECK (ok IN (0,1))," /* verified TLS, a head */
    "  error TEXT,"                              /* why not ok */
    "  address TEXT,"                            /* ip:port last tried */
    "  tls_version TEXT,"                        /* "TLSv1.3" */
    "  method TEXT CHECK (method IN ('HEAD', 'GET')),"
    "  status INTEGER,"  /* NULL: no response */
    "  sts_header TEXT," /* the first STS value (1024 bytes kept) */
    "  sts_count INTEGER NOT NULL DEFAULT 0 CHECK (sts_count >= 0),"
    "  valid INTEGER CHECK (valid IN (0,1))," /* NULL: no header */
    "  max_age INTEGER,"                      /* effective, capped */
    "  include_subdomains INTEGER CHECK (include_subdomains IN (0,1)),"
    "  preload INTEGER CHECK (preload IN (0,1)),"
    "  problems TEXT," /* JSON array of problem codes; NULL: no header */
    "  outcome TEXT NOT NULL"
    "    CHECK (outcome IN ('learned', 'deleted', 'ignored')),"
    "  reason TEXT," /* a stable code when ignored, else NULL */
    "  reason_text TEXT NOT NULL"
    ");"
    "CREATE INDEX probe_host ON probe(host, id);"
    "CREATE VIEW probe_latest AS SELECT * FROM probe"
    "  WHERE id IN (SELECT max(id) FROM probe GROUP BY host);";

/*
 * Version 4: host_traffic split per UTC day (day = Unix ms / 86400000,
 * STORE_AUDIT_MS_PER_DAY), so that the audit counts a window's plain-HTTP
 * requests and CONNECTs, and its per-day trend, exactly (to the day).
 * The writer adds to both tables in the same transaction, so each
 * host's rows here sum to its host_traffic row.
 *
 * Backfill: what was counted before v4 has no day; each host's totals
 * are put on the day of its last_seen. This is the only approximation
 * of the day counters, and only for traffic recorded before the store
 * was migrated to v4.
 */
static const char migration_v4[] =
    "CREATE TABLE host_traffic_day ("
    "  host TEXT NOT NULL,"   /* as in host_traffic */
    "  day INTEGER NOT NULL," /* UTC day: Unix ms / 86400000 */
    "  http_requests INTEGER NOT NULL DEFAULT 0,"
    "  upgrades INTEGER NOT NULL DEFAULT 0,"
    "  upstream_redirects INTEGER NOT NULL DEFAULT 0,"
    "  redirects_to_https INTEGER NOT NULL DEFAULT 0,"
    "  connects INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (host, day)"
    ") WITHOUT ROWID;"
    "INSERT INTO host_traffic_day (host, day, http_requests, upgrades,"
    "  upstream_redirects, redirects_to_https, connects)"
    "  SELECT host, last_seen / 86400000, http_requests, upgrades,"
    "  upstream_redirects, redirects_to_https, connects FROM host_traffic;";

_Static_assert(STORE_AUDIT_MS_PER_DAY == 86400000, "migration_v4 says so");

/*
 * Version 5: two indexes of the hop log that no query uses and every
 * insert pays for (the writer commits one row per upgrade, tens of
 * thousands a second: docs/BENCHMARKS.md). hop_kind has two values, so
 * kind filters are served better by hop_time's range; chain_id is random,
 * so hop_chain took a random page per insert, and chains are assembled
 * by window functions over the rows a query already selected.
 */
static const char migration_v5[] = "DROP INDEX IF EXISTS hop_kind;"
                                   "DROP INDEX IF EXISTS hop_chain;";

/*
 * Version 6: hop_host too. Host names are spread all over the index, so
 * it took a random page per insert; without it the writer commits about
 * 1.5 times as many hops (tests/bench/bench_store_log.c). No lookup needs
 * it: `log --host` matches subdomains too (no index helps), and the audit
 * groups a time range's hops by host, which hop_time and a sort serve.
 */
static const char migration_v6[] = "DROP INDEX IF EXISTS hop_host;";

/*
 * Version 7: who made a probe. 'run' for the proxy's own probes (evidence
 * of traffic through it), 'cli' for `hstsproxy probe` from the command
 * line, which never makes a host "seen" and is verified against the
 * command's own trust store. Rows from before are taken as the proxy's.
 */
static const char migration_v7[] =
    "ALTER TABLE probe ADD COLUMN origin TEXT NOT NULL DEFAULT 'run'"
    "  CHECK (origin IN ('run', 'cli'));";

/*
 * Version 8: a preload list's own date (its "as of" date, or the day it was
 * imported), the entries skipped because they can never apply, and rows
 * marked builtin that record a `preload reset` (the list they activate is
 * the binary's built-in one; they hold no entries). hop.policy_list names
 * the list whose entry decided an upgrade (an audit says which list
 * judged it), and hop_json shows it.
 */
static const char migration_v8[] =
    "ALTER TABLE preload_import ADD COLUMN list_date TEXT;"
    "ALTER TABLE preload_import ADD COLUMN skipped INTEGER NOT NULL"
    "  DEFAULT 0;"
    "ALTER TABLE preload_import ADD COLUMN builtin INTEGER NOT NULL"
    "  DEFAULT 0 CHECK (builtin IN (0,1));"
    "UPDATE preload_import SET list_date ="
    "  strftime('%Y-%m-%d', imported, 'unixepoch');"
    "ALTER TABLE hop ADD COLUMN policy_list TEXT;"
    "DROP VIEW IF EXISTS hop_json;" HOP_JSON_HEAD
    "  'policy_list', policy_list," HOP_JSON_TAIL HOP_JSON_END;

/*
 * Version 9: how a hop's client reached the proxy (`via`): "proxy" for a
 * client configured to use it, "intercept" for one the network redirected
 * to it (run --intercept); NULL for hops recorded before. The JSON shape
 * gains the field last.
 */
static const char migration_v9[] =
    "ALTER TABLE hop ADD COLUMN via TEXT"
    "  CHECK (via IN ('proxy', 'intercept'));"
    "DROP VIEW IF EXISTS hop_json;" HOP_JSON_HEAD
    "  'policy_list', policy_list," HOP_JSON_TAIL ", 'via', via" HOP_JSON_END;

static const char *const migrations[] = {
  migration_v1, migration_v2, migration_v3, migration_v4, migration_v5,
  migration_v6, migration_v7, migration_v8, migration_v9, NULL /* sentinel */
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
                   STORE_SCHEMA_VERSION + 1,
               "one migration per schema version");

static int read_pragma(struct store *s, const char *sql, int *out)
{
  sqlite3_stmt *st;
  int err = store__prepare(s, sql, &st);

  if (err != STORE_OK)
    return err;
  if (sqlite3_step(st) != SQLITE_ROW) {
    err = store__dbfail(s, "cannot read the schema version");
    sqlite3_finalize(st);
    return err;
  }
  *out = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return STORE_OK;
}

/* Refuses what is not ours, or too new. Sets *version. */
static int check_identity(struct store *s, int *version)
{
  int app = 0, tables = 0;
  int err = read_pragma(s, "PRAGMA user_version", version);

  if (err == STORE_OK)
    err = read_pragma(s, "PRAGMA application_id", &app);
  if (err == STORE_OK)
    err = read_pragma(s, "SELECT count(*) FROM sqlite_schema", &tables);
  if (err != STORE_OK)
    return err;
  if (*version > STORE_SCHEMA_VERSION)
    return store__fail(s, STORE_EVERSION,
                       "%s: database schema version %d is newer than this "
                       "hstsproxy supports (%d): upgrade hstsproxy",
                       s->path, *version, STORE_SCHEMA_VERSION);
  if (app != 0 && app != STORE_APPLICATION_ID)
    return store__fail(s, STORE_ENOTDB,
                       "%s: not an hstsproxy database (application_id "
                       "0x%08x)",
                       s->path, (unsigned)app);
  if ((*version == 0 && tables > 0) || (*version > 0 && app == 0))
    return store__fail(s, STORE_ENOTDB,
                       "%s: not an hstsproxy database (it holds other "
                       "tables)",
                       s->path);
  return STORE_OK;
}

static int set_version(struct store *s, int version)
{
  char sql[64];

  snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
  return store__exec(s, sql);
}

static int apply(struct store *s)
{
  char sql[64];
  int version, err;

  /* Read again inside the transaction: another process may have won. */
  err = check_identity(s, &version);
  if (err != STORE_OK)
    return err;
  if (version == 0) {
    snprintf(sql, sizeof(sql), "PRAGMA application_id = %d",
             STORE_APPLICATION_ID);
    err = store__exec(s, sql);
  }
  for (; err == STORE_OK && version < STORE_SCHEMA_VERSION; version++) {
    if (sqlite3_exec(s->db, migrations[version], NULL, NULL, NULL) !=
        SQLITE_OK) {
      char what[64];

      snprintf(what, sizeof(what), "migration to schema version %d failed",
               version + 1);
      return store__dbfail(s, what);
    }
    err = set_version(s, version + 1);
  }
  return err;
}

int store__migrate(struct store *s)
{
  int version, err;

  err = check_identity(s, &version);
  if (err != STORE_OK || version == STORE_SCHEMA_VERSION)
    return err;
  if ((s->flags & STORE_OPEN_READONLY) != 0)
    return store__fail(s, STORE_EVERSION,
                       "%s: %s (schema version %d, this hstsproxy needs %d); "
                       "open it read-write once to migrate",
                       s->path,
                       version == 0 ? "not initialized" : "older schema",
                       version, STORE_SCHEMA_VERSION);
  err = store__begin(s, "cannot start the schema migration");
  if (err != STORE_OK)
    return err;
  err = apply(s);
  if (err != STORE_OK) {
    store__rollback(s);
    return err;
  }
  return store__commit(s);
}

int store_schema_version(struct store *s)
{
  int version = 0;

  if (read_pragma(s, "PRAGMA user_version", &version) != STORE_OK)
    return -1;
  return version;
}
