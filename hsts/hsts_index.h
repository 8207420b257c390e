/*
 * hsts_index.h - the in-memory policy index and Chromium-order lookup.
 *
 * An index is a hash of normalized host names to entries. The proxy keeps
 * two: a static one (the preload list, or the builtin list) that is built
 * once and then only read, and a dynamic one (learned and manual entries)
 * that is updated as policies are learned. A lookup tries each label
 * suffix of the host, most specific first (RFC 6797 section 8.2):
 *
 *  1. dynamic: the first entry that is the host itself, or includes
 *     subdomains, decides; expired entries never match;
 *  2. static: the most specific entry matching a label suffix decides;
 *     when it does not cover the host (its own name, or a subdomain when
 *     include_subdomains or, for pin-only entries,
 *     include_subdomains_for_pinning), nothing static applies; an entry
 *     without force_https never upgrades and hides any higher entry;
 *  3. otherwise no HSTS.
 *
 * Details (Chromium's PreloadDecoder, net/http/transport_security_state.cc):
 * an entry covers its subdomains when include_subdomains or
 * include_subdomains_for_pinning is set, and upgrades them only when it has
 * both force_https and include_subdomains. A more specific entry that does
 * not cover the host (a listed parent's child without include_subdomains)
 * hides the parent, as in Chromium's DecodeHSTSPreload (the 2026 list:
 * www.figma.com hides figma.com's include_subdomains from
 * x.www.figma.com); RFC 6797 section 8.2 would skip it instead. A live
 * dynamic entry always upgrades; its force_https bit is not consulted. A
 * dynamic entry expires when now > expires; expires == 0 means never.
 * Names are compared exactly: pass them through hsts_host_normalize().
 *
 * An index is not thread-safe: concurrent readers are fine while nobody
 * writes; writers need the caller's exclusion.
 */
#ifndef HSTS_INDEX_H
#define HSTS_INDEX_H

#include "hsts.h"
#include "hsts_host.h"

/* One policy entry. In an index, `host` is owned by the index. */
struct hsts_entry {
  const char *host; /* normalized name */
  enum hsts_source source;
  unsigned include_subdomains : 1;             /* STS covers subdomains */
  unsigned include_subdomains_for_pinning : 1; /* static pin-only coverage */
  unsigned force_https : 1;                    /* upgrades (dynamic: always) */
  uint32_t max_age;                            /* dynamic: seconds */
  int64_t observed;                            /* dynamic: Unix seconds */
  int64_t expires; /* dynamic: Unix seconds; 0 static */
};

struct hsts_index;

/*
 * CONSTRUCTOR. Creates an empty index sized for about `hint` entries.
 * Returns HSTS_OK or HSTS_ENOMEM. Free with hsts_index_free().
 */
int hsts_index_new(size_t hint, struct hsts_index **out);

/* DESTRUCTOR. Frees *ix (NULL accepted) and sets *ix to NULL. */
void hsts_index_free(struct hsts_index **ix);

/*
 * Adds `e`, or replaces the entry with the same host. The host string is
 * copied; it must already be normalized. Returns HSTS_OK or HSTS_ENOMEM
 * (HSTS_EHOST_EMPTY / HSTS_EHOST_TOO_LONG for an empty or over-long host).
 * Entries returned earlier by hsts_index_get() or hsts_lookup() stay valid
 * until the next put or remove.
 */
int hsts_index_put(struct hsts_index *ix, const struct hsts_entry *e);

/* Removes `host`. Returns HSTS_OK, or HSTS_ENOTFOUND. */
int hsts_index_remove(struct hsts_index *ix, const char *host);

/*
 * Exact lookup of `len` bytes of a normalized host. On a hit fills *out
 * (out->host points into the index) and returns 1; returns 0 otherwise.
 */
int hsts_index_get(const struct hsts_index *ix, const char *host, size_t len,
                   struct hsts_entry *out);

/* Number of entries; bytes of memory the index holds (for benchmarks). */
size_t hsts_index_count(const struct hsts_index *ix);
size_t hsts_index_bytes(const struct hsts_index *ix);

/*
 * Calls fn(e, arg) for every entry, in no particular order, until fn
 * returns non-zero (which is then returned). The index must not change
 * during the walk.
 */
int hsts_index_foreach(const struct hsts_index *ix,
                       int (*fn)(const struct hsts_entry *e, void *arg),
                       void *arg);

/* The answer of a lookup, with both sides in full (net-internals style).
 * When a static entry without force_https decides (pin-only), hsts is 0
 * while source and winner name that entry: it is why nothing upgrades. */
struct hsts_result {
  int hsts;                 /* 1 when the host must be upgraded */
  enum hsts_source source;  /* the side that decided, or NONE */
  struct hsts_entry winner; /* valid when source != NONE */
  int has_static;           /* a static entry covers the host */
  struct hsts_entry static_entry;
  int has_dynamic; /* a live dynamic entry covers the host */
  struct hsts_entry dynamic_entry;
};

/*
 * Looks up the normalized name `host` (not an IP literal: callers check
 * hsts_host_normalize()'s kind) in `dynamic` then `static_ix`, either of
 * which may be NULL, at time `now` (Unix seconds). Fills *out; returns
 * out->hsts. Entry hosts in *out point into the indexes.
 */
int hsts_lookup(const struct hsts_index *dynamic,
                const struct hsts_index *static_ix, const char *host,
                int64_t now, struct hsts_result *out);

#endif /* HSTS_INDEX_H */
