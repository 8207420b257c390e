/*
 * store_policy.h - learned and manual ("dynamic") policies.
 *
 * A learned policy comes from a Strict-Transport-Security header received
 * over verified TLS (RFC 6797 section 8.1): expiry = observed + max-age,
 * max-age=0 deletes the learned entry (never a preloaded one, nor a manual
 * one). A manual policy is added by the user (`policy add`, or imported
 * from a curl --hsts cache) and takes precedence: learning never changes
 * it. No policy is ever recorded for an IP literal, nor for localhost and
 * its subdomains. Expired entries are ignored by every reader and removed
 * by store_policy_prune().
 *
 * curl's --hsts cache format (lib/hsts.c) is read and written for interop:
 * one line per host, `[.]host "YYYYMMDD HH:MM:SS"` (UTC expiry, a leading
 * dot for includeSubDomains, "unlimited" for none), `#` comments.
 */
#ifndef STORE_POLICY_H
#define STORE_POLICY_H

#include <stdio.h>

#include "hsts_header.h"
#include "hsts_host.h"
#include "hsts_index.h"
#include "store.h"

#define STORE_RAW_HEADER_MAX 1024 /* longer headers are not recorded */
#define STORE_HOW_MAX        16

/* One stored policy. */
struct store_policy {
  char host[HSTS_HOST_MAX + 1]; /* normalized */
  enum hsts_source source;      /* LEARNED or MANUAL */
  int include_subdomains;
  int has_max_age;         /* 0 when unknown (curl import) */
  uint32_t max_age;        /* seconds */
  int64_t observed;        /* Unix seconds: learned or added */
  int64_t expires;         /* Unix seconds, or STORE_NEVER */
  char how[STORE_HOW_MAX]; /* "probe", "proxy", "cli", "curl" */
  char raw_header[STORE_RAW_HEADER_MAX + 1]; /* "" when not learned */
};

enum store_learn {
  STORE_LEARN_RECORDED = 0, /* the policy was added or refreshed */
  STORE_LEARN_DELETED,      /* max-age=0 removed the learned entry */
  STORE_LEARN_IGNORED       /* nothing changed; *why says why */
};

/*
 * Records what the header `h` (parsed from `raw`, a NUL-terminated value)
 * says for `host` (as received; normalized here), learned by `how` at
 * `now`. Sets *outcome and *why (a static sentence; "" when recorded) and,
 * when recorded, fills *out (may be NULL). An invalid header, an IP literal,
 * localhost, an over-long raw value or a manual entry for the host leave
 * the store unchanged (STORE_LEARN_IGNORED). Returns STORE_OK, STORE_EDB
 * or STORE_EREADONLY.
 */
int store_policy_learn(struct store *s, const char *host,
                       const struct hsts_header *h, const char *raw,
                       const char *how, int64_t now, enum store_learn *outcome,
                       const char **why, struct store_policy *out);

/* What a header teaches (store_policy_learn_rule()). */
enum store_learn_rule {
  STORE_RULE_IGNORE = 0, /* nothing changes; *why says why */
  STORE_RULE_DELETE,     /* max-age=0: the learned entry goes, if any */
  STORE_RULE_PUT         /* learn or refresh the entry *out */
};

/*
 * The learning rule, pure, shared by store_policy_learn() and the proxy's
 * copy of the policies (proxy_learn.c): what the header h (raw_len bytes
 * as received), observed at now, teaches about a host whose current
 * dynamic entry has source cur (HSTS_SOURCE_NONE: none, or not known to
 * the caller). IGNORE for an invalid header, a raw value longer than
 * STORE_RAW_HEADER_MAX or a manual entry (the user's decision wins);
 * DELETE for max-age=0 (only a learned entry is ever deleted); else PUT
 * with *out filled (may be NULL; its host is left NULL): a learned,
 * upgrading entry expiring at now + max-age. *why is a static sentence,
 * "" unless IGNORE.
 */
enum store_learn_rule store_policy_learn_rule(const struct hsts_header *h,
                                              size_t raw_len, int64_t now,
                                              enum hsts_source cur,
                                              struct hsts_entry *out,
                                              const char **why);

/*
 * Adds or replaces a manual policy for `host` expiring at now + max_age
 * (1 to UINT32_MAX seconds); `how` names the way it was added ("cli").
 * Fills *out (may be NULL). Returns STORE_OK, STORE_EHOST (invalid, IP
 * literal, localhost), STORE_EINVAL (max_age 0), STORE_EDB, STORE_EREADONLY.
 */
int store_policy_add(struct store *s, const char *host, int include_subdomains,
                     uint32_t max_age, const char *how, int64_t now,
                     struct store_policy *out);

/*
 * Deletes the learned or manual policy for `host`, copying it to *deleted
 * (may be NULL) first. Returns STORE_OK; STORE_ENOTFOUND when there is
 * none; STORE_EPRELOADED when there is none and the host itself is on the
 * active (or builtin) preload list, which cannot be deleted; STORE_EHOST.
 */
int store_policy_delete(struct store *s, const char *host,
                        struct store_policy *deleted);

/* Fills *out with the live policy for exactly `host`. STORE_ENOTFOUND. */
int store_policy_get(struct store *s, const char *host, int64_t now,
                     struct store_policy *out);

/*
 * Calls fn(p, arg) for every live policy (source `only`, or all with
 * HSTS_SOURCE_NONE), sorted by host, until fn returns non-zero (returned).
 */
int store_policy_foreach(struct store *s, enum hsts_source only, int64_t now,
                         int (*fn)(const struct store_policy *p, void *arg),
                         void *arg);

/* Deletes policies expired at `now`; their number in *pruned (or NULL). */
int store_policy_prune(struct store *s, int64_t now, size_t *pruned);

/*
 * CONSTRUCTOR. Builds an index of the live dynamic policies at `now` (only
 * those named by `only_host` and its parents when not NULL) into *out;
 * entries never expiring get expires = STORE_NEVER. Free with
 * hsts_index_free(). Returns STORE_OK, STORE_EDB or STORE_ENOMEM.
 */
int store_load_dynamic(struct store *s, const char *only_host, int64_t now,
                       struct hsts_index **out);

/*
 * Normalizes the `len` bytes of `host` into `out` for a policy. Returns
 * STORE_OK, or STORE_EHOST with *why (static, for people): not a valid
 * host name, an IP literal, or localhost (never a policy).
 */
int store_policy_host(const char *host, size_t len, char out[HSTS_HOST_MAX + 1],
                      const char **why);

/* Writes the live policies to `f` in curl's --hsts cache format. */
int store_policy_export_curl(struct store *s, FILE *f, int64_t now);

/*
 * Imports a curl --hsts cache file as manual policies (how "curl"), in one
 * transaction: a malformed line fails the whole import (STORE_EFORMAT,
 * store unchanged, the message names the line). Entries already expired at
 * `now` are skipped and counted in *expired; *imported counts the rest.
 */
int store_policy_import_curl(struct store *s, const char *path, int64_t now,
                             size_t *imported, size_t *expired);

/* The same for the `len` bytes at `data`, read from `name` (messages). */
int store_policy_import_curl_text(struct store *s, const char *name,
                                  const char *data, size_t len, int64_t now,
                                  size_t *imported, size_t *expired);

enum store_policy_format {
  STORE_POLICY_CURL = 0, /* curl's --hsts cache */
  STORE_POLICY_JSON      /* the object `policy export --format json` writes */
};

/*
 * Imports FILE as manual policies in either format `policy export` writes,
 * detected from content: JSON when its first byte other than blanks (after
 * an optional UTF-8 BOM) is '{', curl's format otherwise; *format (may be
 * NULL) says which. JSON: the object {"format": "hstsproxy-policies",
 * "version": 1, "policies": [...]}, each policy's host, include_subdomains
 * (boolean), max_age (integer or null) and expires (RFC 3339 UTC, or null
 * for never) are read (how "json"); anything else in it is ignored. As
 * store_policy_import_curl: one transaction, a malformed entry fails the
 * whole import (STORE_EFORMAT, the message names it: "policies[N]",
 * counted from 1), expired entries skipped and counted.
 */
int store_policy_import(struct store *s, const char *path, int64_t now,
                        size_t *imported, size_t *expired,
                        enum store_policy_format *format);

#endif /* STORE_POLICY_H */
