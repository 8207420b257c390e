/*
 * store_log_read.c - the hop log's queries (see store_log_read.h).
 *
 * One SELECT is assembled from fixed fragments, one per filter present,
 * with named parameters bound afterwards (never user text in the SQL).
 * "The newest N" is an inner query in descending id order with a LIMIT,
 * re-sorted ascending outside; chains are grouped with window functions
 * (each chain ordered by its first hop's id, then by hop index).
 */
#include <stdio.h>
#include <string.h>

#include "store_internal.h"
#include "store_log_read.h"

#define SQL_MAX  16384 /* room for STORE_ATTACH_MAX + 1 stores */
#define PART_MAX 1024

enum col {
  C_ID = 0,
  C_TIME,
  C_DURATION,
  C_REQUEST_ID,
  C_CHAIN_ID,
  C_HOP,
  C_CLIENT,
  C_USER_AGENT,
  C_METHOD,
  C_URL,
  C_HOST,
  C_HTTP_VERSION,
  C_STATUS,
  C_REASON,
  C_LOCATION,
  C_KIND,
  C_POLICY_SOURCE,
  C_POLICY_HOST,
  C_INCLUDE_SUBDOMAINS,
  C_EXPIRES,
  C_UPSTREAM_IP,
  C_STS_HEADER,
  C_SCHEME_CHANGE,
  C_SAME_HOST,
  C_BOOTSTRAP,
  C_ERROR,
  C_VIA,
  C_JSON,
  C_CHAIN_HOPS,         /* one store */
  C_SRC = C_CHAIN_HOPS, /* several: the store's index, then the count */
  C_CHAIN_HOPS_SEVERAL
};

/* The hop columns the reader needs, in C_* order (several stores are
 * read as one through a UNION ALL of these; each store has this schema:
 * an older one is refused at open). */
static const char hop_cols[] =
    "id, time_ms, duration_us, request_id, chain_id, hop, client, user_agent,"
    " method, url, host, http_version, status, reason, location, kind,"
    " policy_source, policy_host, include_subdomains, expires, upstream_ip,"
    " sts_header, scheme_change, same_host, bootstrap, error, via";

static const char sql_columns[] =
    "SELECT h.id AS id, h.time_ms, h.duration_us, h.request_id,"
    " h.chain_id AS chain_id, h.hop AS hop, h.client, h.user_agent,"
    " h.method, h.url, h.host, h.http_version, h.status, h.reason,"
    " h.location, h.kind, h.policy_source, h.policy_host,"
    " h.include_subdomains, h.expires, h.upstream_ip, h.sts_header,"
    " h.scheme_change, h.same_host, h.bootstrap, h.error, h.via, ";

enum filter { F_SINCE, F_UNTIL, F_HOST, F_KIND, F_CLIENT, F_AFTER, F_COUNT };

static const char *const filter_sql[F_COUNT] = {
  " AND h.time_ms >= :since",
  " AND h.time_ms < :until",
  (" AND (h.host = :host OR (length(h.host) > length(:host) AND"
   " substr(h.host, -length(:host) - 1) = '.' || :host))"),
  " AND h.kind = :kind",
  " AND h.client = :client",
  " AND h.id > :after"
};

/* Whether filter i is asked for. */
static int present(const struct store_log_filter *f, enum filter i)
{
  switch (i) {
  case F_SINCE:
    return f->has_since;
  case F_UNTIL:
    return f->has_until;
  case F_HOST:
    return f->host != NULL;
  case F_KIND:
    return f->kind != NULL;
  case F_CLIENT:
    return f->client != NULL;
  case F_AFTER:
    return f->after_id > 0;
  default:
    return 0;
  }
}

static void append(char *sql, const char *part)
{
  size_t n = strlen(sql);

  snprintf(sql + n, SQL_MAX - n, "%s", part);
}

/* Schema k's name: "main" for 0, "s<k>" for the attached ones. */
static void schema_name(int k, char *out, size_t size)
{
  if (k == 0)
    snprintf(out, size, "main");
  else
    snprintf(out, size, "s%d", k);
}

/* Several stores: each hop's JSON from its own store, with "store" set
 * to that store's path (:store<k>), and the store's index. */
static void append_json_several(char *sql, int n)
{
  char part[PART_MAX], name[16];
  int k;

  append(sql, "CASE h.src");
  for (k = 0; k <= n; k++) {
    schema_name(k, name, sizeof(name));
    snprintf(part, sizeof(part),
             " WHEN %d THEN (SELECT json_set(json, '$.store', :store%d)"
             " FROM %s.hop_json j WHERE j.id = h.id)",
             k, k, name);
    append(sql, part);
  }
  append(sql, " END");
}

/* FROM: the store's hop table, or the stores' hop tables as one. */
static void append_from(char *sql, int n)
{
  char part[PART_MAX], name[16];
  int k;

  if (n == 0) {
    append(sql, " FROM hop h WHERE 1");
    return;
  }
  append(sql, " FROM (");
  for (k = 0; k <= n; k++) {
    schema_name(k, name, sizeof(name));
    snprintf(part, sizeof(part), "%sSELECT %d AS src, %s FROM %s.hop",
             k > 0 ? " UNION ALL " : "", k, hop_cols, name);
    append(sql, part);
  }
  append(sql, ") h WHERE 1");
}

/* One store: in id order; several: in time order, then by store. */
static void build_sql(const struct store_log_filter *f, unsigned flags, int n,
                      char *sql)
{
  int i, chains = (flags & STORE_LOG_CHAINS) != 0;

  sql[0] = '\0';
  if (chains && n == 0)
    append(sql, "SELECT *, count(*) OVER (PARTITION BY chain_id),"
                " min(id) OVER (PARTITION BY chain_id) AS chain_first"
                " FROM (");
  else if (chains)
    append(sql, "SELECT *, count(*) OVER (PARTITION BY src, chain_id),"
                " min(time_ms) OVER (PARTITION BY src, chain_id)"
                " AS chain_first FROM (");
  else if (f->limit > 0)
    append(sql, "SELECT * FROM (");
  append(sql, sql_columns);
  if ((flags & STORE_LOG_JSON) == 0)
    append(sql, "NULL");
  else if (n == 0)
    append(sql, "(SELECT json FROM hop_json j WHERE j.id = h.id)");
  else
    append_json_several(sql, n);
  if (n > 0)
    append(sql, ", h.src AS src");
  append_from(sql, n);
  for (i = 0; i < F_COUNT; i++)
    if (present(f, (enum filter)i))
      append(sql, filter_sql[i]);
  if (f->limit > 0)
    append(sql, n == 0 ? " ORDER BY h.id DESC LIMIT :limit"
                       : " ORDER BY h.time_ms DESC, h.src DESC, h.id DESC"
                         " LIMIT :limit");
  if (chains)
    append(sql, n == 0 ? ") ORDER BY chain_first, hop, id"
                       : ") ORDER BY chain_first, src, chain_id, hop, id");
  else if (f->limit > 0)
    append(sql, n == 0 ? ") ORDER BY id" : ") ORDER BY time_ms, src, id");
  else
    append(sql, n == 0 ? " ORDER BY h.id" : " ORDER BY h.time_ms, h.src, h.id");
}

static void bind_named_text(sqlite3_stmt *st, const char *name, const char *v)
{
  int i = sqlite3_bind_parameter_index(st, name);

  if (i > 0)
    sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void bind_named_int(sqlite3_stmt *st, const char *name, int64_t v)
{
  int i = sqlite3_bind_parameter_index(st, name);

  if (i > 0)
    sqlite3_bind_int64(st, i, v);
}

static void bind_filter(sqlite3_stmt *st, const struct store_log_filter *f)
{
  bind_named_int(st, ":since", f->since_ms);
  bind_named_int(st, ":until", f->until_ms);
  bind_named_text(st, ":host", f->host);
  bind_named_text(st, ":kind", f->kind);
  bind_named_text(st, ":client", f->client);
  bind_named_int(st, ":after", f->after_id);
  bind_named_int(st, ":limit",
                 f->limit > INT64_MAX ? INT64_MAX : (int64_t)f->limit);
}

/* :store<k> of every store read (several stores only). */
static void bind_stores(sqlite3_stmt *st, const struct store *s)
{
  char name[24];
  int k;

  for (k = 0; k <= store_attached(s) && store_attached(s) > 0; k++) {
    snprintf(name, sizeof(name), ":store%d", k);
    bind_named_text(st, name, store_attached_path(s, k));
  }
}

static const char *text(sqlite3_stmt *st, int col)
{
  return (const char *)sqlite3_column_text(st, col);
}

static int int_or(sqlite3_stmt *st, int col, int null_value)
{
  if (sqlite3_column_type(st, col) == SQLITE_NULL)
    return null_value;
  return sqlite3_column_int(st, col);
}

static void read_row(const struct store *s, sqlite3_stmt *st, unsigned flags,
                     struct store_log_row *r)
{
  int several = store_attached(s) > 0;

  memset(r, 0, sizeof(*r));
  r->id = sqlite3_column_int64(st, C_ID);
  r->time_ms = sqlite3_column_int64(st, C_TIME);
  r->duration_us = sqlite3_column_int64(st, C_DURATION);
  r->request_id = text(st, C_REQUEST_ID);
  r->chain_id = text(st, C_CHAIN_ID);
  r->hop = sqlite3_column_int(st, C_HOP);
  r->client = text(st, C_CLIENT);
  r->user_agent = text(st, C_USER_AGENT);
  r->method = text(st, C_METHOD);
  r->url = text(st, C_URL);
  r->host = text(st, C_HOST);
  r->http_version = text(st, C_HTTP_VERSION);
  r->status = int_or(st, C_STATUS, 0);
  r->reason = text(st, C_REASON);
  r->location = text(st, C_LOCATION);
  r->kind = text(st, C_KIND);
  r->policy_source = text(st, C_POLICY_SOURCE);
  r->policy_host = text(st, C_POLICY_HOST);
  r->include_subdomains = int_or(st, C_INCLUDE_SUBDOMAINS, -1);
  r->expires = sqlite3_column_int64(st, C_EXPIRES);
  r->upstream_ip = text(st, C_UPSTREAM_IP);
  r->sts_header = text(st, C_STS_HEADER);
  r->scheme_change = text(st, C_SCHEME_CHANGE);
  r->same_host = int_or(st, C_SAME_HOST, -1);
  r->bootstrap = sqlite3_column_int(st, C_BOOTSTRAP);
  r->error = text(st, C_ERROR);
  r->via = text(st, C_VIA);
  r->json = text(st, C_JSON);
  if (several)
    r->store = store_attached_path(s, sqlite3_column_int(st, C_SRC));
  if ((flags & STORE_LOG_CHAINS) != 0)
    r->chain_hops =
        sqlite3_column_int64(st, several ? C_CHAIN_HOPS_SEVERAL : C_CHAIN_HOPS);
}

int store_log_foreach(struct store *s, const struct store_log_filter *f,
                      unsigned flags,
                      int (*fn)(const struct store_log_row *row, void *arg),
                      void *arg)
{
  char sql[SQL_MAX];
  struct store_log_row row;
  sqlite3_stmt *st;
  int err, rc, stop = 0;

  build_sql(f, flags, store_attached(s), sql);
  err = store__prepare(s, sql, &st);
  if (err != STORE_OK)
    return err;
  bind_filter(st, f);
  bind_stores(st, s);
  for (;;) {
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
      break;
    read_row(s, st, flags, &row);
    stop = fn(&row, arg);
    if (stop != 0)
      break;
  }
  if (stop == 0 && rc != SQLITE_DONE)
    err = store__dbfail(s, "cannot read the hop log");
  sqlite3_finalize(st);
  return stop != 0 ? stop : err;
}

int store_log_max_id(struct store *s, int64_t *out)
{
  sqlite3_stmt *st;
  int err = store__prepare(s, "SELECT coalesce(max(id), 0) FROM hop", &st);

  if (err != STORE_OK)
    return err;
  if (sqlite3_step(st) == SQLITE_ROW)
    *out = sqlite3_column_int64(st, 0);
  else
    err = store__dbfail(s, "cannot read the hop log");
  sqlite3_finalize(st);
  return err;
}
