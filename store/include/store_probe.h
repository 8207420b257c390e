/*
 * store_probe.h - TLS probe results, and what they teach (RFC 6797 8.1).
 *
 * A probe (proxy_probe.h) connects to a host over TLS, verifies the
 * certificate chain and name, sends HEAD / and reads the response head.
 * Its result is a struct store_probe filled by the prober; recording it
 * applies the learning rule of docs/HSTS.md ("When a header counts"):
 * only the first Strict-Transport-Security header of a response received
 * over verified TLS counts, a valid one is learned (store_policy_learn,
 * how "probe"), max-age=0 deletes what was learned, and anything else
 * teaches nothing, with a reason. Every probe is kept as a row of table
 * `probe` (schema v3): the latest per host is the view `probe_latest`,
 * the rest is history for the audit.
 *
 * Blocking, like every store call: the CLI or the writer thread calls
 * store_probe_record(), never an event loop.
 */
#ifndef STORE_PROBE_H
#define STORE_PROBE_H

#include "hsts_header.h"
#include "store.h"
#include "store_policy.h"

#define STORE_PROBE_ERROR_MAX  768 /* bytes of a failure message */
#define STORE_PROBE_ADDR_MAX   64  /* "[v6 address]:65535" */
#define STORE_PROBE_SHORT_MAX  16  /* "TLSv1.3", "HEAD" */
#define STORE_PROBE_REASON_MAX 256 /* bytes of the reason sentence */

/* What the probe taught. */
enum store_probe_outcome {
  STORE_PROBE_LEARNED = 0, /* a policy was added or refreshed */
  STORE_PROBE_DELETED,     /* max-age=0 removed the learned policy */
  STORE_PROBE_IGNORED      /* nothing changed: see the reason */
};

/* Why nothing was learned (STORE_PROBE_IGNORED), as a stable code. */
enum store_probe_reason {
  STORE_PROBE_R_NONE = 0,         /* learned or deleted */
  STORE_PROBE_R_UNREACHABLE,      /* DNS, connect, TLS, timeout, bad HTTP */
  STORE_PROBE_R_CERTIFICATE,      /* the chain or the name did not verify */
  STORE_PROBE_R_IP_LITERAL,       /* never for an IP literal */
  STORE_PROBE_R_LOCALHOST,        /* never for localhost and below */
  STORE_PROBE_R_NO_HEADER,        /* probed, no Strict-Transport-Security */
  STORE_PROBE_R_INVALID_HEADER,   /* see the problem codes */
  STORE_PROBE_R_HEADER_TOO_LONG,  /* over STORE_RAW_HEADER_MAX bytes */
  STORE_PROBE_R_MANUAL_POLICY,    /* a manual policy takes precedence */
  STORE_PROBE_R_NOTHING_TO_DELETE /* max-age=0 with nothing learned */
};

/* "learned", "deleted", "ignored". */
const char *store_probe_outcome_name(enum store_probe_outcome o);

/* "unreachable", "certificate", "ip_literal", "localhost", "no_header",
 * "invalid_header", "header_too_long", "manual_policy",
 * "nothing_to_delete"; NULL for STORE_PROBE_R_NONE. */
const char *store_probe_reason_name(enum store_probe_reason r);

/* One probe. The prober fills the first part; store_probe_record() the
 * second. Plain value type: no pointers to free. */
struct store_probe {
  char host[HSTS_HOST_MAX + 1]; /* normalized */
  unsigned port;                /* 1-65535 */
  int64_t time;                 /* Unix seconds: when the probe ended */
  int ok;         /* a response head was read over TLS whose chain and
                     host name verified */
  int cert_error; /* !ok because verification failed */
  char error[STORE_PROBE_ERROR_MAX];       /* why !ok; "" when ok */
  char address[STORE_PROBE_ADDR_MAX];      /* "ip:port" last tried; "" */
  char tls_version[STORE_PROBE_SHORT_MAX]; /* "TLSv1.3"; "" none */
  char method[STORE_PROBE_SHORT_MAX];      /* "HEAD", or "GET" (retry) */
  int status;                              /* final status; 0 none */
  size_t sts_count; /* Strict-Transport-Security fields received */
  size_t sts_len;   /* bytes of the first one (may exceed what is kept) */
  char sts_header[STORE_RAW_HEADER_MAX + 1]; /* the first, cut to fit */
  struct hsts_header parse; /* of the whole first value (sts_count > 0) */
  int manual; /* 1: `hstsproxy probe` (origin 'cli'); 0: the proxy's own */

  enum store_probe_outcome outcome;
  enum store_probe_reason reason;
  char reason_text[STORE_PROBE_REASON_MAX]; /* one sentence for people */
  int64_t id;                               /* the row in table probe */
};

/*
 * Decides what the probe `p` teaches, applies it (store_policy_learn with
 * how "probe" at p->time) and appends p as a row of table probe, all in
 * one transaction. Sets p->outcome, p->reason, p->reason_text and p->id,
 * and *learned (may be NULL) when the outcome is STORE_PROBE_LEARNED.
 * The rule, in order: IP literal, failed probe (certificate or
 * unreachable), localhost, no header, invalid header, header too long;
 * otherwise store_policy_learn decides (learned, deleted, or ignored
 * because of a manual policy or nothing to delete). Returns STORE_OK,
 * STORE_EHOST (p->host is not a valid host name; nothing recorded),
 * STORE_EINVAL (port), STORE_EDB or STORE_EREADONLY (nothing recorded).
 */
int store_probe_record(struct store *s, struct store_probe *p,
                       struct store_policy *learned);

#endif /* STORE_PROBE_H */
