/*
 * test_store_learn_rule.c - the learning rule, pure
 * (store_policy_learn_rule): what a Strict-Transport-Security header
 * teaches about a host, given the source of its current dynamic entry.
 *
 * Rows pin the one definition that store_policy_learn() and the proxy's
 * copy of the policies (proxy_learn.c) both apply: an invalid header, a
 * raw value over STORE_RAW_HEADER_MAX or a manual entry change nothing;
 * max-age=0 deletes; anything else is a learned, upgrading entry that
 * expires at now + max-age.
 */
#include <string.h>

#include "hsts_header.h"
#include "store_policy.h"
#include "testlib.h"

#define NOW 1700000000 /* 2023-11-14T22:13:20Z */

struct row {
  const char *header;
  size_t raw_len; /* 0: the header's own length */
  enum hsts_source cur;
  enum store_learn_rule rule;
  int sub; /* PUT: include_subdomains */
};

static const struct row rows[] = {
  { "max-age=600", 0, HSTS_SOURCE_NONE, STORE_RULE_PUT, 0 },
  { "max-age=600; includeSubDomains", 0, HSTS_SOURCE_LEARNED, STORE_RULE_PUT,
    1 },
  { "max-age=600", 0, HSTS_SOURCE_MANUAL, STORE_RULE_IGNORE, 0 },
  { "max-age=0", 0, HSTS_SOURCE_LEARNED, STORE_RULE_DELETE, 0 },
  { "max-age=0", 0, HSTS_SOURCE_NONE, STORE_RULE_DELETE, 0 },
  { "max-age=0", 0, HSTS_SOURCE_MANUAL, STORE_RULE_IGNORE, 0 },
  { "includeSubDomains", 0, HSTS_SOURCE_NONE, STORE_RULE_IGNORE, 0 },
  { "max-age=abc", 0, HSTS_SOURCE_NONE, STORE_RULE_IGNORE, 0 },
  { "max-age=600", STORE_RAW_HEADER_MAX, HSTS_SOURCE_NONE, STORE_RULE_PUT, 0 },
  { "max-age=600", STORE_RAW_HEADER_MAX + 1, HSTS_SOURCE_NONE,
    STORE_RULE_IGNORE, 0 },
  { NULL, 0, HSTS_SOURCE_NONE, STORE_RULE_IGNORE, 0 } /* sentinel */
};

static void test_rows(void)
{
  const struct row *r;

  for (r = rows; r->header != NULL; r++) {
    int row = (int)(r - rows);
    size_t len = strlen(r->header);
    struct hsts_header h;
    struct hsts_entry e;
    const char *why = NULL;
    enum store_learn_rule rule;

    (void)hsts_header_parse(r->header, len, &h);
    rule = store_policy_learn_rule(&h, r->raw_len != 0 ? r->raw_len : len, NOW,
                                   r->cur, &e, &why);
    CHECK_ROW(rule == r->rule, row);
    CHECK_ROW(why != NULL && (why[0] != '\0') == (rule == STORE_RULE_IGNORE),
              row);
    if (rule != STORE_RULE_PUT)
      continue;
    CHECK_ROW(e.source == HSTS_SOURCE_LEARNED && e.force_https &&
                  e.include_subdomains == (unsigned)r->sub &&
                  e.max_age == h.max_age && e.observed == NOW &&
                  e.expires == NOW + (int64_t)h.max_age && e.host == NULL,
              row);
  }
}

TEST_MAIN({ "rows", test_rows })
