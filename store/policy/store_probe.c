/*
 * store_probe.c - recording TLS probe results and what they teach.
 *
 * store_probe_record() is the one place where a probe becomes knowledge:
 * it decides, in the order store_probe.h lists, whether the response may
 * teach anything (RFC 6797 section 8.1: verified TLS only, the first
 * header only, never an IP literal or localhost), lets store_policy_learn
 * apply a valid header, and appends the probe to table probe, both in one
 * transaction so that a policy never changes without its probe row.
 */
#include <stdio.h>
#include <string.h>

#include "store_internal.h"
#include "store_probe.h"

#define HOW_PROBE "probe"
#define PORT_MAX  65535u
/* A JSON array of problem codes: quotes, commas and brackets included. */
#define PROBLEMS_JSON_MAX (HSTS_PROBLEMS_MAX * 64 + 4)

static const char SQL_INSERT[] =
    "INSERT INTO probe (host, port, time, ok, error, address, tls_version,"
    " method, status, sts_header, sts_count, valid, max_age,"
    " include_subdomains, preload, problems, outcome, reason, reason_text,"
    " origin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
    " ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)";

const char *store_probe_outcome_name(enum store_probe_outcome o)
{
  switch (o) {
  case STORE_PROBE_LEARNED:
    return "learned";
  case STORE_PROBE_DELETED:
    return "deleted";
  default:
    return "ignored";
  }
}

const char *store_probe_reason_name(enum store_probe_reason r)
{
  static const char *const names[] = { NULL,
                                       "unreachable",
                                       "certificate",
                                       "ip_literal",
                                       "localhost",
                                       "no_header",
                                       "invalid_header",
                                       "header_too_long",
                                       "manual_policy",
                                       "nothing_to_delete" };

  if ((size_t)r >= sizeof(names) / sizeof(names[0]))
    return NULL;
  return names[r];
}

static void ignore(struct store_probe *p, enum store_probe_reason r,
                   const char *text)
{
  p->outcome = STORE_PROBE_IGNORED;
  p->reason = r;
  snprintf(p->reason_text, sizeof(p->reason_text), "%s", text);
}

/*
 * The decisions that need no database. Returns 1 when decided (ignored),
 * 0 when store_policy_learn is to decide.
 */
static int decide_early(struct store_probe *p, enum hsts_host_kind kind)
{
  if (kind != HSTS_HOST_NAME) {
    ignore(p, STORE_PROBE_R_IP_LITERAL,
           "an IP literal never has an HSTS policy (RFC 6797 section 8.1)");
  } else if (!p->ok && p->cert_error && p->manual) {
    ignore(p, STORE_PROBE_R_CERTIFICATE,
           "the certificate did not verify against this command's trust "
           "store (--ca-file, or the system's): nothing is learned, and the "
           "audit does not hold it against the host");
  } else if (!p->ok && p->cert_error) {
    ignore(p, STORE_PROBE_R_CERTIFICATE,
           "the certificate did not verify: a header over such a "
           "connection teaches nothing (RFC 6797 section 8.1)");
  } else if (!p->ok) {
    ignore(p, STORE_PROBE_R_UNREACHABLE,
           "the probe did not complete: no response to learn from");
  } else if (hsts_host_is_localhost(p->host)) {
    ignore(p, STORE_PROBE_R_LOCALHOST,
           "localhost and its subdomains never get an HSTS policy");
  } else if (p->sts_count == 0) {
    ignore(p, STORE_PROBE_R_NO_HEADER,
           "the response carried no Strict-Transport-Security header");
  } else if (!p->parse.valid || !p->parse.has_max_age) {
    ignore(p, STORE_PROBE_R_INVALID_HEADER,
           "the Strict-Transport-Security header is invalid: browsers "
           "ignore it");
  } else if (p->sts_len > STORE_RAW_HEADER_MAX) {
    ignore(p, STORE_PROBE_R_HEADER_TOO_LONG,
           "the header is longer than 1024 bytes: not recorded");
  } else {
    return 0;
  }
  return 1;
}

/* Applies the header through store_policy_learn and sets the outcome. */
static int learn(struct store *s, struct store_probe *p,
                 struct store_policy *learned)
{
  enum store_learn how;
  const char *why = "";
  struct store_policy pol;
  int err = store_policy_learn(s, p->host, &p->parse, p->sts_header, HOW_PROBE,
                               p->time, &how, &why, &pol);

  if (err != STORE_OK)
    return err;
  if (how == STORE_LEARN_RECORDED) {
    p->outcome = STORE_PROBE_LEARNED;
    p->reason = STORE_PROBE_R_NONE;
    snprintf(p->reason_text, sizeof(p->reason_text), "%s",
             "a valid header over verified TLS (RFC 6797 section 8.1)");
    if (learned != NULL)
      *learned = pol;
  } else if (how == STORE_LEARN_DELETED) {
    p->outcome = STORE_PROBE_DELETED;
    p->reason = STORE_PROBE_R_NONE;
    snprintf(p->reason_text, sizeof(p->reason_text), "%s",
             "max-age=0 removed the learned policy");
  } else {
    ignore(p,
           p->parse.max_age == 0 ? STORE_PROBE_R_NOTHING_TO_DELETE
                                 : STORE_PROBE_R_MANUAL_POLICY,
           why);
  }
  return STORE_OK;
}

/* ["code",...] of p's header; codes are static ASCII without quotes. */
static void problems_json(const struct hsts_header *h, char *out, size_t size)
{
  size_t i, used = 0;
  int n;

  n = snprintf(out, size, "[");
  used = n > 0 ? (size_t)n : 0;
  for (i = 0; i < h->nproblems && used < size; i++) {
    n = snprintf(out + used, size - used, "%s\"%s\"", i > 0 ? "," : "",
                 h->problems[i].code);
    if (n < 0 || (size_t)n >= size - used)
      break;
    used += (size_t)n;
  }
  if (used + 2 <= size)
    memcpy(out + used, "]", 2);
}

static void bind_text_or_null(sqlite3_stmt *st, int col, const char *v)
{
  if (v != NULL && v[0] != '\0')
    sqlite3_bind_text(st, col, v, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null(st, col);
}

static void bind_header(sqlite3_stmt *st, const struct store_probe *p)
{
  char problems[PROBLEMS_JSON_MAX];

  if (p->sts_count == 0)
    return; /* columns 10, 12-16 stay NULL */
  sqlite3_bind_text(st, 10, p->sts_header, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(st, 12, p->parse.valid != 0);
  if (p->parse.has_max_age)
    sqlite3_bind_int64(st, 13, p->parse.max_age);
  sqlite3_bind_int(st, 14, p->parse.include_subdomains != 0);
  sqlite3_bind_int(st, 15, p->parse.preload != 0);
  problems_json(&p->parse, problems, sizeof(problems));
  sqlite3_bind_text(st, 16, problems, -1, SQLITE_TRANSIENT);
}

static int insert(struct store *s, struct store_probe *p)
{
  sqlite3_stmt *st;
  int err = store__prepare(s, SQL_INSERT, &st);

  if (err != STORE_OK)
    return err;
  sqlite3_bind_text(st, 1, p->host, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, (int)p->port);
  sqlite3_bind_int64(st, 3, p->time);
  sqlite3_bind_int(st, 4, p->ok != 0);
  bind_text_or_null(st, 5, p->ok ? NULL : p->error);
  bind_text_or_null(st, 6, p->address);
  bind_text_or_null(st, 7, p->tls_version);
  bind_text_or_null(st, 8, p->status != 0 ? p->method : NULL);
  if (p->status != 0)
    sqlite3_bind_int(st, 9, p->status);
  sqlite3_bind_int64(st, 11, (int64_t)p->sts_count);
  bind_header(st, p);
  sqlite3_bind_text(st, 17, store_probe_outcome_name(p->outcome), -1,
                    SQLITE_STATIC);
  bind_text_or_null(st, 18, store_probe_reason_name(p->reason));
  sqlite3_bind_text(st, 19, p->reason_text, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 20, p->manual ? "cli" : "run", -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_DONE)
    err = store__dbfail(s, "cannot record a probe");
  else
    p->id = sqlite3_last_insert_rowid(s->db);
  sqlite3_finalize(st);
  return err;
}

int store_probe_record(struct store *s, struct store_probe *p,
                       struct store_policy *learned)
{
  char norm[HSTS_HOST_MAX + 1], shown[HSTS_HOST_MAX + 8];
  enum hsts_host_kind kind;
  int err;

  if (hsts_host_normalize(p->host, strlen(p->host), norm, &kind) != HSTS_OK) {
    store__printable(p->host, strlen(p->host), shown, sizeof(shown));
    return store__fail(s, STORE_EHOST, "%s: not a valid host name", shown);
  }
  if (p->port < 1 || p->port > PORT_MAX)
    return store__fail(s, STORE_EINVAL, "%s: port %u out of range", norm,
                       p->port);
  memcpy(p->host, norm, sizeof(norm));
  err = store__begin(s, "cannot record a probe");
  if (err != STORE_OK)
    return err;
  if (!decide_early(p, kind))
    err = learn(s, p, learned);
  if (err == STORE_OK)
    err = insert(s, p);
  if (err != STORE_OK) {
    store__rollback(s);
    return err;
  }
  return store__commit(s);
}
