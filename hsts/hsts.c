/*
 * hsts.c - the hsts module's shared vocabulary: error strings and the names
 * of policy sources.
 *
 * Every hsts_ function reports failure with an enum hsts_err; callers turn
 * it into a message with hsts_strerror(). Policy sources have one stable
 * spelling ("preload", "learned", ...) used by the store's schema, the CLI
 * and the JSON output, so both directions of the mapping live here.
 */
#include <string.h>

#include "hsts.h"

struct source_name {
  enum hsts_source source;
  const char *name;
};

static const struct source_name source_names[] = {
  { HSTS_SOURCE_NONE, "none" },       { HSTS_SOURCE_BUILTIN, "builtin" },
  { HSTS_SOURCE_PRELOAD, "preload" }, { HSTS_SOURCE_LEARNED, "learned" },
  { HSTS_SOURCE_MANUAL, "manual" },   { HSTS_SOURCE_NONE, NULL }
};

const char *hsts_strerror(int err)
{
  switch (err) {
  case HSTS_OK:
    return "success";
  case HSTS_EHOST_EMPTY:
    return "the host name is empty";
  case HSTS_EHOST_TOO_LONG:
    return "the host name is longer than 253 octets";
  case HSTS_ELABEL_EMPTY:
    return "the host name has an empty label";
  case HSTS_ELABEL_TOO_LONG:
    return "a label of the host name is longer than 63 octets";
  case HSTS_EHOST_CHAR:
    return "the host name has a character that cannot appear in a DNS name";
  case HSTS_EHOST_IP:
    return "the host is an IP address, which never has an HSTS policy";
  case HSTS_EHEADER_INVALID:
    return "the Strict-Transport-Security header is invalid";
  case HSTS_EURL:
    return "the URL is malformed";
  case HSTS_ENOSPC:
    return "the output buffer is too small";
  case HSTS_ENOMEM:
    return "out of memory";
  case HSTS_EHOST_IDNA:
    return "the host name is not a valid internationalized domain name "
           "(IDNA 2008)";
  case HSTS_ENOTFOUND:
    return "no such entry";
  default:
    return "unknown hsts error";
  }
}

const char *hsts_source_name(enum hsts_source source)
{
  const struct source_name *s;

  for (s = source_names; s->name != NULL; s++) {
    if (s->source == source) {
      return s->name;
    }
  }
  return "none";
}

enum hsts_source hsts_source_parse(const char *name)
{
  const struct source_name *s;

  if (name == NULL) {
    return HSTS_SOURCE_NONE;
  }
  for (s = source_names; s->name != NULL; s++) {
    if (strcmp(s->name, name) == 0) {
      return s->source;
    }
  }
  return HSTS_SOURCE_NONE;
}
