/*
 * cmd_audit.h - what the files of `hstsproxy audit` share (module-private).
 *
 * cmd_audit.c parses the options, opens the store read-only and writes
 * the report in the chosen format. cmd_audit_build.c gathers the
 * evidence (store_audit.h, the policies and the preload list) into a
 * struct cmd_audit_report: one struct cmd_audit_host per host seen, the
 * registrable-domain rollup (libpsl), regressions, totals and the per-day
 * trend. cmd_audit_model.c holds the judgement as pure functions of that
 * evidence (category, problems, preload eligibility, regressions,
 * verdict), so the unit tests drive them with tables. The renderers are
 * cmd_audit_text.c, cmd_audit_data.c (JSON and CSV) and
 * cmd_audit_html.c; text and HTML start with the provenance block, JSON
 * holds it, CSV leaves it to --provenance FILE (cmd_audit_csv.c).
 *
 * The category rules and their precedence are documented in README.md
 * ("The audit") and at cmd_audit__categorize().
 */
#ifndef CMD_AUDIT_H
#define CMD_AUDIT_H

#include <stdint.h>
#include <stdio.h>

#include "cli_time.h"
#include "hsts_header.h"
#include "hsts_host.h"
#include "store_audit.h"
#include "store_preload.h"

#define CMD_AUDIT_YEAR            HSTS_MAX_AGE_CAP /* hsts vs weak-hsts */
#define CMD_AUDIT_EXPIRING_S      (30 * 86400)     /* proxy.policy.expiring */
#define CMD_AUDIT_PROBLEMS_MAX    40               /* per host; extra dropped */
#define CMD_AUDIT_CHECKS_MAX      8                /* preload checks per host */
#define CMD_AUDIT_TOP_MAX         10               /* top clear-text hosts */
#define CMD_AUDIT_TLS_VERSION_MAX 16
#define CMD_AUDIT_SOURCE_MAX      16 /* "builtin", "learned", ... */

enum cmd_audit_category {
  CMD_AUDIT_PRELOADED = 0,
  CMD_AUDIT_HSTS,
  CMD_AUDIT_WEAK_HSTS,
  CMD_AUDIT_INVALID_HSTS,
  CMD_AUDIT_REDIRECT_NO_HSTS,
  CMD_AUDIT_HTTP_ONLY,
  CMD_AUDIT_HTTPS_UNPROBED,
  CMD_AUDIT_CATEGORIES /* count */
};

/* Problem severities. Info never colours a verdict. */
enum cmd_audit_severity {
  CMD_AUDIT_INFO = 0,
  CMD_AUDIT_WARNING,
  CMD_AUDIT_ERROR
};

enum cmd_audit_verdict {
  CMD_AUDIT_GREEN = 0, /* no error, no warning */
  CMD_AUDIT_YELLOW,    /* warnings only */
  CMD_AUDIT_RED,       /* at least one error */
  CMD_AUDIT_VERDICTS
};

/* What the host sends over verified TLS, as last observed. */
enum cmd_audit_header {
  CMD_AUDIT_HDR_UNKNOWN = 0, /* never observed */
  CMD_AUDIT_HDR_NONE,        /* a probe read a response without one */
  CMD_AUDIT_HDR_INVALID,
  CMD_AUDIT_HDR_VALID
};

/* The latest probe's TLS result. */
enum cmd_audit_tls {
  CMD_AUDIT_TLS_UNKNOWN = 0, /* never probed */
  CMD_AUDIT_TLS_OK,
  CMD_AUDIT_TLS_CERT,       /* the chain or name did not verify */
  CMD_AUDIT_TLS_UNREACHABLE /* no TLS response at all */
};

/* The first redirect of a plain-HTTP URL (hstspreload.org's rule). */
enum cmd_audit_redirect {
  CMD_AUDIT_REDIR_UNKNOWN = 0, /* no plain-HTTP answer seen */
  CMD_AUDIT_REDIR_SECURE,      /* to https on the same host */
  CMD_AUDIT_REDIR_WWW,         /* to the www subdomain first */
  CMD_AUDIT_REDIR_INSECURE,    /* to http, or to another host */
  CMD_AUDIT_REDIR_NONE         /* clear text served, no redirect seen */
};

/* The evidence a category is decided from. */
struct cmd_audit_facts {
  int ip_literal;
  int localhost;    /* localhost or below it: never gets a policy */
  int single_label; /* an intranet name no policy covers: none expected */
  int static_force; /* a force-https preload/builtin entry covers it */
  int static_own;   /* ... and it is the host's own entry */
  enum cmd_audit_header header; /* newest header evidence */
  uint32_t header_max_age;      /* when VALID */
  int standing;                 /* own manual policy, or a parent's */
  uint32_t standing_max_age;
  int standing_parent; /* the standing policy is a parent's */
  int redirect_up;     /* a plain-HTTP answer redirected to https */
  uint64_t clear_text; /* plain-HTTP requests not upgraded */
  int probe_completed; /* the latest probe read an HTTPS response */
  int https_seen;      /* CONNECTs, or a probe was attempted */
};

/* One header observation (a completed probe). */
struct cmd_audit_obs {
  int64_t time; /* Unix s */
  enum cmd_audit_header header;
  int64_t max_age; /* VALID: effective max-age */
  int include_subdomains;
  int preload; /* the preload token */
};

struct cmd_audit_problem {
  const char *code; /* static */
  enum cmd_audit_severity severity;
  const char *message; /* static, one sentence */
};

/* A preload check that did not pass. */
struct cmd_audit_check {
  const char *check; /* "domain", "certificate", "http_redirect", "header",
                        "max_age", "include_subdomains", "preload" */
  int unknown;       /* 1: not observed; 0: failed */
  const char *code;  /* the problem code saying why, or NULL */
};

/* Where the header evidence came from. */
enum cmd_audit_from {
  CMD_AUDIT_FROM_NONE = 0,
  CMD_AUDIT_FROM_PROBE, /* the latest completed probe */
  CMD_AUDIT_FROM_POLICY /* the learned policy's raw header (newer) */
};

/* One host of the report. Heap strings are owned by the host. */
struct cmd_audit_host {
  char *host;                     /* owned */
  char domain[HSTS_HOST_MAX + 1]; /* registrable domain, or host */
  int registrable;                /* host == domain */
  struct store_audit_host counts; /* counts.host: NULL */
  uint64_t clear_text;            /* http_requests - traffic_upgrades */
  int counters_exact;             /* traffic lies inside the window */
  struct cmd_audit_facts facts;
  enum cmd_audit_category category;
  enum cmd_audit_verdict verdict;
  /* The policy in force now (lookup as the proxy does). */
  enum hsts_source source;             /* NONE: no policy */
  char policy_host[HSTS_HOST_MAX + 1]; /* the entry that decides */
  int policy_subdomains;
  int policy_has_max_age;
  uint32_t policy_max_age;
  int64_t policy_expires;  /* Unix s; 0: none (static); STORE_NEVER */
  int64_t policy_observed; /* Unix s; 0: static */
  /* The header evidence. */
  enum cmd_audit_from from;
  char *header_raw;         /* owned; NULL when none */
  int64_t header_time;      /* Unix s */
  int header_too_long;      /* cut by the store: fields from its parse */
  int sts_count;            /* STS fields in the latest probe's response */
  struct hsts_header parse; /* of header_raw, when not NULL */
  /* The latest probe (has_probe 0: none), and the latest completed. */
  int has_completed;
  struct cmd_audit_obs probe_obs; /* the completed one's header */
  int has_probe;
  int64_t probe_time;
  int probe_port;
  int probe_status; /* -1: none */
  enum cmd_audit_tls tls;
  char *probe_error; /* owned; NULL when ok */
  int manual_failed; /* a later probe from the command line failed: it was
                        verified against its own trust store, so it is
                        not evidence about the host */
  char tls_version[CMD_AUDIT_TLS_VERSION_MAX];
  /* The first redirect of a plain-HTTP URL. */
  enum cmd_audit_redirect redirect;
  char *redirect_location; /* owned; NULL when none */
  int64_t redirect_time_ms;
  /* The newest upgrade in the window. */
  int has_upgrade;
  char upgrade_source[CMD_AUDIT_SOURCE_MAX];
  char upgrade_policy_host[HSTS_HOST_MAX + 1];
  int64_t upgrade_time_ms;
  /* The judgement. */
  size_t nproblems;
  struct cmd_audit_problem problems[CMD_AUDIT_PROBLEMS_MAX];
  size_t nchecks;
  struct cmd_audit_check checks[CMD_AUDIT_CHECKS_MAX];
  int eligible;
};

enum cmd_audit_regression_kind {
  CMD_AUDIT_REG_MAX_AGE_CUT = 0,    /* a smaller max-age */
  CMD_AUDIT_REG_SUBDOMAINS_DROPPED, /* includeSubDomains gone */
  CMD_AUDIT_REG_MAX_AGE_ZERO,       /* max-age=0: policy deleted */
  CMD_AUDIT_REG_HEADER_GONE,        /* no header any more */
  CMD_AUDIT_REG_HEADER_INVALID,     /* an invalid header instead */
  CMD_AUDIT_REG_POLICY_VANISHED,    /* upgraded before, no policy now */
  CMD_AUDIT_REG_KINDS
};

struct cmd_audit_regression {
  const char *host; /* points to the report's host string */
  enum cmd_audit_regression_kind kind;
  struct cmd_audit_obs before;       /* POLICY_VANISHED: the last upgrade */
  struct cmd_audit_obs after;        /* POLICY_VANISHED: now, header UNKNOWN */
  char source[CMD_AUDIT_SOURCE_MAX]; /* POLICY_VANISHED: what upgraded */
  char policy_host[HSTS_HOST_MAX + 1]; /* ... and its entry */
};

/* A subdomain that would break if its domain were preloaded. */
struct cmd_audit_blocker {
  const char *host; /* points to the report's host string */
  int cert_error;   /* 1: certificate error; 0: plain HTTP only */
};

struct cmd_audit_domain {
  char *domain; /* owned */
  size_t hosts;
  size_t per_category[CMD_AUDIT_CATEGORIES];
  enum cmd_audit_verdict worst;
  int apex_seen;     /* the domain itself was seen */
  int apex_eligible; /* ... and passes every preload check */
  int preloaded;     /* the list covers it with its subdomains */
  int listed;        /* ... or has its own entry, without them */
  int candidate;     /* apex eligible, not preloaded, no blockers */
  size_t nblockers;
  struct cmd_audit_blocker *blockers; /* owned */
};

struct cmd_audit_day {
  int64_t day; /* Unix ms / STORE_AUDIT_MS_PER_DAY */
  uint64_t upgrades;
  uint64_t upstream_redirects;
  uint64_t redirects_up;
  uint64_t clear_text;
};

struct cmd_audit_totals {
  size_t per_category[CMD_AUDIT_CATEGORIES];
  size_t per_verdict[CMD_AUDIT_VERDICTS];
  size_t eligible;
  uint64_t http_requests;    /* counters */
  uint64_t traffic_upgrades; /* counters */
  uint64_t clear_text;       /* counters */
  uint64_t upgrades;         /* hops in the window */
  uint64_t upstream_redirects;
  uint64_t connects;
  uint64_t clear_unplaced;       /* clear text with no day: 0 since v4 */
  size_t top[CMD_AUDIT_TOP_MAX]; /* host indexes, most clear text first */
  size_t ntop;
  size_t probed;        /* hosts with a completed probe */
  size_t unprobed;      /* hosts never probed (IP literals excluded) */
  size_t probe_failed;  /* hosts whose latest probe failed */
  size_t beyond_window; /* hosts whose counters span beyond it */
};

struct cmd_audit_report {
  int64_t now; /* Unix s: policies and the list are judged now */
  struct store_audit_window window;
  struct store_list_info list;
  struct store_audit_meta meta;
  /* --db given several times: the stores read as one (not owned: valid
   * while the store is open); nstores 1 for one store. */
  const char *stores[STORE_ATTACH_MAX + 1];
  int nstores;
  const char *psl_file; /* static: the PSL libpsl was built with, or NULL */
  int64_t psl_time;     /* its file time (Unix s); 0 unknown */
  struct cmd_audit_host *hosts; /* owned; worst first once built */
  size_t nhosts;
  size_t hosts_cap;
  struct cmd_audit_domain *domains; /* owned */
  size_t ndomains;
  struct cmd_audit_regression *regs; /* owned */
  size_t nregs;
  size_t regs_cap;
  struct cmd_audit_day *days; /* owned; oldest first */
  size_t ndays;
  size_t days_cap;
  struct cmd_audit_totals totals;
};

/* --- The judgement (cmd_audit_model.c): pure functions. --- */

/* "preloaded", "hsts", ... as in the JSON; "red", "yellow", "green";
 * "info", "warning", "error"; "max_age_cut", ...; "probe", "policy". */
const char *cmd_audit__category_name(enum cmd_audit_category c);
const char *cmd_audit__verdict_name(enum cmd_audit_verdict v);
const char *cmd_audit__severity_name(enum cmd_audit_severity s);
const char *cmd_audit__regression_name(enum cmd_audit_regression_kind k);
const char *cmd_audit__from_name(enum cmd_audit_from f);

/* 0 for the worst category (http-only) up to preloaded: sort order. */
int cmd_audit__category_rank(enum cmd_audit_category c);

/* The category of a host from its facts (the rules: cmd_audit_model.c). */
enum cmd_audit_category cmd_audit__categorize(const struct cmd_audit_facts *f);

/* Fills h->problems from the host's evidence and h->category; sets
 * h->verdict. Needs `now` (Unix s) for expiring policies. */
void cmd_audit__problems(struct cmd_audit_host *h, int64_t now);

/* Fills h->checks with the preload checks that do not pass and sets
 * h->eligible (hstspreload.org's rules, docs/HSTS.md). */
void cmd_audit__eligibility(struct cmd_audit_host *h);

/*
 * Classifies a plain-HTTP URL's redirect of `host` (normalized) to the
 * resolved `location` (NULL accepted) as hstspreload.org does: https on
 * the same host is SECURE; the www subdomain (either scheme) WWW_FIRST;
 * anything else (http, another host, unparseable) INSECURE.
 */
enum cmd_audit_redirect cmd_audit__classify_redirect(const char *host,
                                                     const char *location);

/* The ways `after` is weaker than `before`: a bit (1u << kind) per
 * regression kind (never POLICY_VANISHED, judged by the builder). */
unsigned cmd_audit__regressions(const struct cmd_audit_obs *before,
                                const struct cmd_audit_obs *after);

/* Sort order of the host table: worst verdict, worst category, most
 * clear text, most requests, then name. qsort() comparator. */
int cmd_audit__host_cmp(const void *a, const void *b);

/* --- Gathering (cmd_audit_build.c). --- */

/*
 * Fills *r (zeroed first) from the store for the window *w at `now`.
 * Returns STORE_OK, or a store error with store_errmsg(s) set, or
 * STORE_ENOMEM. The report is released with cmd_audit__report_cleanup()
 * in every case.
 */
int cmd_audit__build(struct store *s, const struct store_audit_window *w,
                     int64_t now, struct cmd_audit_report *r);

/* The host named `host` (binary search: hosts sorted by name), or NULL. */
struct cmd_audit_host *cmd_audit__find(struct cmd_audit_report *r,
                                       const char *host);

/* Appends a regression of `host` (the report's own string). Returns
 * STORE_OK or STORE_ENOMEM. */
int cmd_audit__add_regression(struct cmd_audit_report *r, const char *host,
                              enum cmd_audit_regression_kind kind,
                              const struct cmd_audit_obs *before,
                              const struct cmd_audit_obs *after);

/* cmd_audit_rollup.c: the policy_vanished regressions (an upgrade in the
 * window whose policy is gone now); then sorting the hosts worst first,
 * the registrable-domain rollup (libpsl), the totals and the trend. */
struct hsts_index;
void cmd_audit__domain_of(struct cmd_audit_host *h);
int cmd_audit__vanished(struct cmd_audit_report *r,
                        const struct hsts_index *dix);
int cmd_audit__rollup(struct store *s, struct cmd_audit_report *r,
                      const struct hsts_index *six);

/* DESTRUCTOR. Frees what *r owns (NULL accepted) and zeroes it. */
void cmd_audit__report_cleanup(struct cmd_audit_report *r);

/* --- Rendering. Each returns 0, or -1 when writing failed. --- */

int cmd_audit__text(const struct cmd_audit_report *r, FILE *f, int color);
int cmd_audit__json(const struct cmd_audit_report *r, FILE *f);
int cmd_audit__csv(const struct cmd_audit_report *r, FILE *f);
/* The provenance rows as CSV: "key,value", then one record per row. */
int cmd_audit__csv_provenance(const struct cmd_audit_report *r, FILE *f);
int cmd_audit__html(const struct cmd_audit_report *r, FILE *f);

/* Shared by the renderers (cmd_audit_data.c, cmd_audit_csv.c). */

#define CMD_AUDIT_DATE_MAX 16   /* "2025-11-25" */
#define CMD_AUDIT_KV_MAX   4608 /* a provenance value: a path and more */
#define CMD_AUDIT_PROV_MAX 12   /* provenance rows */

/* Unix ms as RFC 3339 UTC (whole seconds). */
void cmd_audit__time_ms(int64_t ms, char out[CLI_TIME_MAX]);

/* A trend day (Unix ms / STORE_AUDIT_MS_PER_DAY) as "YYYY-MM-DD". */
void cmd_audit__date(int64_t day, char out[CMD_AUDIT_DATE_MAX]);

/* First and last evidence of a host, Unix ms (0: none). */
void cmd_audit__seen(const struct cmd_audit_host *h, int64_t *first,
                     int64_t *last);

/* "unknown", "none", "invalid", "valid"; "secure", "www_first", ... */
const char *cmd_audit__header_name(enum cmd_audit_header h);
const char *cmd_audit__redirect_name(enum cmd_audit_redirect r);

/* Rounded percentage of part in whole; -1 when whole is 0. */
int cmd_audit__percent(uint64_t part, uint64_t whole);

/* "preloaded", "listed", "candidate", "blocked" or "-". */
const char *cmd_audit__domain_state(const struct cmd_audit_domain *d);

/* One provenance row for people: "preload list" and its description. */
struct cmd_audit_kv {
  const char *key; /* static */
  char value[CMD_AUDIT_KV_MAX];
};

/* Fills out[] (CMD_AUDIT_PROV_MAX rows) with the provenance block that
 * heads the text, CSV and HTML forms; returns the number of rows. */
size_t cmd_audit__provenance(const struct cmd_audit_report *r,
                             struct cmd_audit_kv *out);

#endif /* CMD_AUDIT_H */
