/*
 * store_policy.c - learned and manual policies (RFC 6797 sections 8.1, 11).
 *
 * The policy table holds one row per host. Learning upserts a "learned"
 * row but never touches a "manual" one (the user's decision wins over the
 * site's); max-age=0 deletes only a learned row. Readers see only live
 * rows (expires NULL, or not before now: an entry is live through its
 * expiry second, as in Chromium); store_policy_prune() deletes the rest.
 * The normalization, IP-literal and localhost refusals use hsts/ so that
 * they match the proxy's lookups exactly.
 */
#include <stdio.h>
#include <string.h>

#include "hsts_idna.h"
#include "store_internal.h"
#include "store_preload.h"
#include "store_policy.h"

#define COLUMNS                                                         \
  "host, source, include_subdomains, max_age, observed, expires, how, " \
  "raw_header"
#define LIVE "(expires IS NULL OR expires >= ?1)" /* as hsts_lookup */

static const char SQL_LEARN[] =
    "INSERT INTO policy (" COLUMNS ") VALUES (?1, 'learned', ?2, ?3, ?4, ?5,"
    " ?6, ?7) ON CONFLICT (host) DO UPDATE SET"
    " include_subdomains = excluded.include_subdomains,"
    " max_age = excluded.max_age, observed = excluded.observed,"
    " expires = excluded.expires, how = excluded.how,"
    " raw_header = excluded.raw_header WHERE policy.source = 'learned'";
static const char SQL_MANUAL[] =
    "INSERT OR REPLACE INTO policy (" COLUMNS ") VALUES (?1, 'manual', ?2,"
    " ?3, ?4, ?5, ?6, NULL)";
static const char SQL_UNLEARN[] =
    "DELETE FROM policy WHERE host = ?1 AND source = 'learned'";
static const char SQL_DELETE[] =
    "DELETE FROM policy WHERE host = ?1 RETURNING " COLUMNS;
static const char SQL_GET[] =
    "SELECT " COLUMNS " FROM policy WHERE host = ?2 AND " LIVE;
static const char SQL_LIST[] = "SELECT " COLUMNS " FROM policy WHERE " LIVE
                               " AND (?2 IS NULL OR source = ?2) ORDER BY host";
static const char SQL_PRUNE[] =
    "DELETE FROM policy WHERE expires IS NOT NULL AND expires < ?1";

int store_policy_host(const char *host, size_t len, char out[HSTS_HOST_MAX + 1],
                      const char **why)
{
  enum hsts_host_kind kind;
  int err = hsts_host_normalize_idna(host, len, out, &kind, NULL);

  if (err != HSTS_OK) {
    *why = hsts_strerror(err);
    return STORE_EHOST;
  }
  if (kind != HSTS_HOST_NAME) {
    *why = "an IP literal never has an HSTS policy (RFC 6797 section 8.1)";
    return STORE_EHOST;
  }
  if (hsts_host_is_localhost(out)) {
    *why = "localhost and its subdomains never get an HSTS policy";
    return STORE_EHOST;
  }
  return STORE_OK;
}

/* Normalizes `host`; refuses IP literals and localhost. *why for people. */
static int normalize(const char *host, char out[HSTS_HOST_MAX + 1],
                     const char **why)
{
  return store_policy_host(host, strlen(host), out, why);
}

static int host_fail(struct store *s, const char *host, const char *why)
{
  char shown[HSTS_HOST_MAX + 8];

  store__printable(host, strlen(host), shown, sizeof(shown));
  return store__fail(s, STORE_EHOST, "%s: %s", shown, why);
}

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t size)
{
  const unsigned char *t = sqlite3_column_text(st, col);

  snprintf(out, size, "%s", t != NULL ? (const char *)t : "");
}

/* A row selected with COLUMNS into *p. */
static void row_policy(sqlite3_stmt *st, struct store_policy *p)
{
  char source[16];

  memset(p, 0, sizeof(*p));
  copy_col(st, 0, p->host, sizeof(p->host));
  copy_col(st, 1, source, sizeof(source));
  p->source = hsts_source_parse(source);
  p->include_subdomains = sqlite3_column_int(st, 2) != 0;
  p->has_max_age = sqlite3_column_type(st, 3) != SQLITE_NULL;
  p->max_age = (uint32_t)sqlite3_column_int64(st, 3);
  p->observed = sqlite3_column_int64(st, 4);
  p->expires = sqlite3_column_type(st, 5) == SQLITE_NULL
                   ? STORE_NEVER
                   : sqlite3_column_int64(st, 5);
  copy_col(st, 6, p->how, sizeof(p->how));
  copy_col(st, 7, p->raw_header, sizeof(p->raw_header));
}

/* Runs a one-row statement binding host (?1) and returns its changes. */
static int run(struct store *s, sqlite3_stmt *st, const char *what,
               int *changes)
{
  int err = STORE_OK;

  if (sqlite3_step(st) != SQLITE_DONE)
    err = store__dbfail(s, what);
  else if (changes != NULL)
    *changes = sqlite3_changes(s->db);
  sqlite3_finalize(st);
  return err;
}

static int learn_delete(struct store *s, const char *host,
                        enum store_learn *outcome, const char **why)
{
  sqlite3_stmt *st;
  int changes = 0, err = store__prepare(s, SQL_UNLEARN, &st);

  if (err != STORE_OK)
    return err;
  sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
  err = run(s, st, "cannot delete a learned policy", &changes);
  if (err != STORE_OK)
    return err;
  *outcome = changes > 0 ? STORE_LEARN_DELETED : STORE_LEARN_IGNORED;
  *why = changes > 0 ? ""
                     : "max-age=0, and nothing learned to delete "
                       "(preloaded and manual entries stay)";
  return STORE_OK;
}

static void fill(struct store_policy *p, const char *host,
                 enum hsts_source source, int sub, uint32_t max_age,
                 int64_t now, const char *how, const char *raw)
{
  memset(p, 0, sizeof(*p));
  snprintf(p->host, sizeof(p->host), "%s", host);
  p->source = source;
  p->include_subdomains = sub != 0;
  p->has_max_age = 1;
  p->max_age = max_age;
  p->observed = now;
  p->expires = now + (int64_t)max_age;
  snprintf(p->how, sizeof(p->how), "%s", how);
  snprintf(p->raw_header, sizeof(p->raw_header), "%s", raw != NULL ? raw : "");
}

static void bind_policy(sqlite3_stmt *st, const struct store_policy *p)
{
  sqlite3_bind_text(st, 1, p->host, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, p->include_subdomains);
  if (p->has_max_age)
    sqlite3_bind_int64(st, 3, p->max_age);
  else
    sqlite3_bind_null(st, 3);
  sqlite3_bind_int64(st, 4, p->observed);
  if (p->expires == STORE_NEVER)
    sqlite3_bind_null(st, 5);
  else
    sqlite3_bind_int64(st, 5, p->expires);
  sqlite3_bind_text(st, 6, p->how, -1, SQLITE_STATIC);
  if (p->source == HSTS_SOURCE_LEARNED)
    sqlite3_bind_text(st, 7, p->raw_header, -1, SQLITE_STATIC);
}

enum store_learn_rule store_policy_learn_rule(const struct hsts_header *h,
                                              size_t raw_len, int64_t now,
                                              enum hsts_source cur,
                                              struct hsts_entry *out,
                                              const char **why)
{
  *why = "";
  if (!h->valid || !h->has_max_age) {
    *why = "the Strict-Transport-Security header is invalid";
    return STORE_RULE_IGNORE;
  }
  if (raw_len > STORE_RAW_HEADER_MAX) {
    *why = "the header is longer than 1024 bytes";
    return STORE_RULE_IGNORE;
  }
  if (cur == HSTS_SOURCE_MANUAL) {
    *why = "a manual policy for this host takes precedence";
    return STORE_RULE_IGNORE;
  }
  if (h->max_age == 0)
    return STORE_RULE_DELETE;
  if (out != NULL) {
    memset(out, 0, sizeof(*out));
    out->source = HSTS_SOURCE_LEARNED;
    out->include_subdomains = h->include_subdomains != 0;
    out->force_https = 1;
    out->max_age = h->max_age;
    out->observed = now;
    out->expires = now + (int64_t)h->max_age;
  }
  return STORE_RULE_PUT;
}

/*
 * The rule above decides; the table then enforces the manual precedence
 * itself (SQL_LEARN updates and SQL_UNLEARN deletes only a learned row),
 * since the current row is not read first.
 */
int store_policy_learn(struct store *s, const char *host,
                       const struct hsts_header *h, const char *raw,
                       const char *how, int64_t now, enum store_learn *outcome,
                       const char **why, struct store_policy *out)
{
  char norm[HSTS_HOST_MAX + 1];
  struct store_policy p;
  struct hsts_entry e;
  sqlite3_stmt *st;
  int err, changes = 0;

  *outcome = STORE_LEARN_IGNORED;
  if (normalize(host, norm, why) != STORE_OK)
    return STORE_OK;
  switch (
      store_policy_learn_rule(h, strlen(raw), now, HSTS_SOURCE_NONE, &e, why)) {
  case STORE_RULE_IGNORE:
    return STORE_OK;
  case STORE_RULE_DELETE:
    return learn_delete(s, norm, outcome, why);
  case STORE_RULE_PUT:
    break;
  }
  fill(&p, norm, e.source, e.include_subdomains, e.max_age, e.observed, how,
       raw);
  err = store__prepare(s, SQL_LEARN, &st);
  if (err != STORE_OK)
    return err;
  bind_policy(st, &p);
  err = run(s, st, "cannot record a learned policy", &changes);
  if (err != STORE_OK)
    return err;
  if (changes == 0) {
    *why = "a manual policy for this host takes precedence";
    return STORE_OK;
  }
  *outcome = STORE_LEARN_RECORDED;
  *why = "";
  if (out != NULL)
    *out = p;
  return STORE_OK;
}

int store__policy_put_manual(struct store *s, const struct store_policy *p)
{
  sqlite3_stmt *st;
  int err = store__prepare(s, SQL_MANUAL, &st);

  if (err != STORE_OK)
    return err;
  bind_policy(st, p);
  return run(s, st, "cannot record a manual policy", NULL);
}

int store_policy_add(struct store *s, const char *host, int include_subdomains,
                     uint32_t max_age, const char *how, int64_t now,
                     struct store_policy *out)
{
  char norm[HSTS_HOST_MAX + 1];
  const char *why;
  struct store_policy p;
  int err;

  if (normalize(host, norm, &why) != STORE_OK)
    return host_fail(s, host, why);
  if (max_age == 0)
    return store__fail(s, STORE_EINVAL,
                       "%s: max-age must be at least 1 "
                       "second",
                       norm);
  if ((s->flags & STORE_OPEN_READONLY) != 0)
    return store__fail(s, STORE_EREADONLY, "%s: opened read-only", s->path);
  fill(&p, norm, HSTS_SOURCE_MANUAL, include_subdomains, max_age, now, how,
       NULL);
  err = store__policy_put_manual(s, &p);
  if (err == STORE_OK && out != NULL)
    *out = p;
  return err;
}

int store_policy_delete(struct store *s, const char *host,
                        struct store_policy *deleted)
{
  char norm[HSTS_HOST_MAX + 1], list[STORE_LIST_NAME_MAX];
  struct store_policy p;
  struct hsts_entry e;
  const char *why;
  sqlite3_stmt *st;
  int err, rc, found;

  if (normalize(host, norm, &why) != STORE_OK)
    return host_fail(s, host, why);
  err = store__prepare(s, SQL_DELETE, &st);
  if (err != STORE_OK)
    return err;
  sqlite3_bind_text(st, 1, norm, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    row_policy(st, &p);
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    rc = sqlite3_reset(st) == SQLITE_OK ? rc : SQLITE_ERROR;
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    err = store__dbfail(s, "cannot delete a policy");
  sqlite3_finalize(st);
  if (err != STORE_OK)
    return err;
  if (rc == SQLITE_ROW) {
    if (deleted != NULL)
      *deleted = p;
    return STORE_OK;
  }
  found = store__static_exact(s, norm, &e, list, sizeof(list));
  if (found < 0)
    return STORE_EDB;
  if (found)
    return store__fail(s, STORE_EPRELOADED,
                       "%s: preloaded (list %s): "
                       "preloaded hosts cannot be deleted, only learned and "
                       "manual policies",
                       norm, list);
  return store__fail(s, STORE_ENOTFOUND, "%s: no learned or manual policy",
                     norm);
}

int store_policy_get(struct store *s, const char *host, int64_t now,
                     struct store_policy *out)
{
  sqlite3_stmt *st;
  int err = store__prepare(s, SQL_GET, &st), rc;

  if (err != STORE_OK)
    return err;
  sqlite3_bind_int64(st, 1, now);
  sqlite3_bind_text(st, 2, host, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    row_policy(st, out);
  else if (rc == SQLITE_DONE)
    err = store__fail(s, STORE_ENOTFOUND, "%s: no learned or manual policy",
                      host);
  else
    err = store__dbfail(s, "cannot read a policy");
  sqlite3_finalize(st);
  return err;
}

int store_policy_foreach(struct store *s, enum hsts_source only, int64_t now,
                         int (*fn)(const struct store_policy *p, void *arg),
                         void *arg)
{
  struct store_policy p;
  sqlite3_stmt *st;
  int err = store__prepare(s, SQL_LIST, &st), rc = 0, step = SQLITE_DONE;

  if (err != STORE_OK)
    return err;
  sqlite3_bind_int64(st, 1, now);
  if (only != HSTS_SOURCE_NONE)
    sqlite3_bind_text(st, 2, hsts_source_name(only), -1, SQLITE_STATIC);
  while (rc == 0) {
    step = sqlite3_step(st);
    if (step != SQLITE_ROW)
      break;
    row_policy(st, &p);
    rc = fn(&p, arg);
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = store__dbfail(s, "cannot list policies");
  sqlite3_finalize(st);
  return rc;
}

int store_policy_prune(struct store *s, int64_t now, size_t *pruned)
{
  sqlite3_stmt *st;
  int changes = 0, err;

  if ((s->flags & STORE_OPEN_READONLY) != 0)
    return store__fail(s, STORE_EREADONLY, "%s: opened read-only", s->path);
  err = store__prepare(s, SQL_PRUNE, &st);
  if (err != STORE_OK)
    return err;
  sqlite3_bind_int64(st, 1, now);
  err = run(s, st, "cannot prune expired policies", &changes);
  if (err == STORE_OK && pruned != NULL)
    *pruned = (size_t)changes;
  return err;
}

struct load_ctx {
  struct hsts_index *ix;
  const char *only_host;
};

static int load_one(const struct store_policy *p, void *arg)
{
  struct load_ctx *c = arg;
  struct hsts_entry e;
  size_t n = strlen(p->host), h;

  if (c->only_host != NULL) {
    h = strlen(c->only_host);
    if (n > h || strcmp(c->only_host + h - n, p->host) != 0 ||
        (n < h && c->only_host[h - n - 1] != '.'))
      return 0;
  }
  memset(&e, 0, sizeof(e));
  e.host = p->host;
  e.source = p->source;
  e.include_subdomains = p->include_subdomains != 0;
  e.force_https = 1;
  e.max_age = p->max_age;
  e.observed = p->observed;
  e.expires = p->expires;
  return hsts_index_put(c->ix, &e) == HSTS_OK ? 0 : STORE_ENOMEM;
}

int store_load_dynamic(struct store *s, const char *only_host, int64_t now,
                       struct hsts_index **out)
{
  struct load_ctx c;
  int err;

  *out = NULL;
  if (hsts_index_new(only_host != NULL ? 8 : 1024, out) != HSTS_OK)
    return store__fail(s, STORE_ENOMEM, "%s: out of memory", s->path);
  c.ix = *out;
  c.only_host = only_host;
  err = store_policy_foreach(s, HSTS_SOURCE_NONE, now, load_one, &c);
  if (err == STORE_ENOMEM)
    store__fail(s, err, "%s: out of memory loading policies", s->path);
  if (err != STORE_OK)
    hsts_index_free(out);
  return err;
}
