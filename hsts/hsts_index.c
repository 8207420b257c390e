/*
 * hsts_index.c - the policy index (a compact hash of host names) and the
 * Chromium-order lookup that the proxy runs for every plain-HTTP request.
 *
 * Layout, chosen for bytes per entry and cache misses per lookup:
 *  - an arena of variable-size records, one per entry:
 *      meta (u32: source, flags, "has times")
 *      [max_age u32, observed i64, expires i64]   only when "has times"
 *      name length (u8), name bytes, NUL
 *    so a static entry costs 6 bytes plus its name, and its meta sits in
 *    the same cache line as the name the lookup compares;
 *  - a power-of-two table of 8-byte slots {hash, arena offset} with linear
 *    probing, load factor at most 0.7, and backward-shift deletion (no
 *    tombstones). Offset 0 marks an empty slot (the arena's first byte is
 *    never a record). The full 32-bit hash in the slot lets a probe skip
 *    the arena on a mismatch;
 *  - a one-word-per-probe Bloom filter, one byte per slot (2 bits set per
 *    entry in one 64-bit word), checked before the table: most suffixes of
 *    a host ("www.example.com" when only "example.com" is listed, or any
 *    name that is not listed at all) are rejected from a bitmap that stays
 *    in cache, instead of by a cache miss on the table. Removal leaves
 *    stale bits (extra probes, never wrong answers); growth and compaction
 *    rebuild the filter.
 *
 * Hashes are FNV-1a over the name read from its last byte to its first,
 * then a murmur3 finalizer. Read that way, the hash of every label suffix
 * of a host ("com", "example.com", "a.example.com") falls out of a single
 * pass over the host, which is all a lookup needs.
 *
 * Records orphaned by remove or by a put that changes a record's size are
 * garbage; the arena is compacted when garbage passes half of it.
 */
#include <stdlib.h>
#include <string.h>

#include "hsts_index.h"

#define SLOTS_MIN 16u
/* The table grows when count exceeds LOAD_NUM / LOAD_DEN of the slots. */
#define LOAD_NUM              7u
#define LOAD_DEN              10u
#define ARENA_MIN             256u
#define ARENA_GUESS_PER_ENTRY 24u    /* meta + length + a typical name */
#define COMPACT_MIN           65536u /* bytes of garbage before compacting */
#define ARENA_OFFSET_MAX      UINT32_MAX
#define LABELS_MAX            (HSTS_HOST_MAX / 2 + 1)

#define FNV_BASIS   2166136261u
#define FNV_PRIME   16777619u
#define FMIX_SHIFT1 16
#define FMIX_SHIFT2 13
#define FMIX_MUL1   0x85ebca6bu
#define FMIX_MUL2   0xc2b2ae35u

/* meta bits */
#define META_SOURCE_MASK                0x7u
#define META_INCLUDE_SUBDOMAINS         0x8u
#define META_INCLUDE_SUBDOMAINS_PINNING 0x10u
#define META_FORCE_HTTPS                0x20u
#define META_HAS_TIMES                  0x40u

#define FILTER_SLOTS_PER_WORD 8u /* 64 bits per word: 8 bits per slot */
#define FILTER_BIT_MASK       63u
#define FILTER_BIT2_SHIFT     6
#define FILTER_WORD_SHIFT     12

#define META_SIZE      4u
#define TIMES_SIZE     20u /* max_age u32, observed i64, expires i64 */
#define TIMES_OBSERVED 4u
#define TIMES_EXPIRES  12u

struct slot {
  uint32_t hash;
  uint32_t off; /* arena offset of the record; 0 = empty */
};

struct hsts_index {
  struct slot *slots; /* owned; `mask + 1` of them */
  size_t mask;
  size_t count;
  uint64_t *filter;     /* owned; (mask + 1) / FILTER_SLOTS_PER_WORD words */
  unsigned char *arena; /* owned; records back to back */
  size_t arena_len;
  size_t arena_cap;
  size_t garbage; /* bytes of orphaned records in the arena */
};

static uint32_t fmix32(uint32_t h)
{
  h ^= h >> FMIX_SHIFT1;
  h *= FMIX_MUL1;
  h ^= h >> FMIX_SHIFT2;
  h *= FMIX_MUL2;
  h ^= h >> FMIX_SHIFT1;
  return h;
}

static uint32_t name_hash(const char *name, size_t len)
{
  uint32_t h = FNV_BASIS;

  while (len > 0) {
    h = (h ^ (unsigned char)name[--len]) * FNV_PRIME;
  }
  return fmix32(h);
}

static uint32_t get_u32(const unsigned char *p)
{
  uint32_t v;

  memcpy(&v, p, sizeof(v));
  return v;
}

static int64_t get_i64(const unsigned char *p)
{
  int64_t v;

  memcpy(&v, p, sizeof(v));
  return v;
}

static size_t record_name_at(const unsigned char *rec)
{
  return META_SIZE + ((get_u32(rec) & META_HAS_TIMES) ? TIMES_SIZE : 0) + 1;
}

static size_t record_size(const unsigned char *rec)
{
  size_t name = record_name_at(rec);

  return name + rec[name - 1] + 1;
}

static int entry_has_times(const struct hsts_entry *e)
{
  return e->max_age != 0 || e->observed != 0 || e->expires != 0;
}

static uint32_t entry_meta(const struct hsts_entry *e)
{
  uint32_t meta = (uint32_t)e->source & META_SOURCE_MASK;

  meta |= e->include_subdomains ? META_INCLUDE_SUBDOMAINS : 0;
  meta |=
      e->include_subdomains_for_pinning ? META_INCLUDE_SUBDOMAINS_PINNING : 0;
  meta |= e->force_https ? META_FORCE_HTTPS : 0;
  meta |= entry_has_times(e) ? META_HAS_TIMES : 0;
  return meta;
}

/* Writes meta and times of `e` over the record at `rec`. */
static void record_set(unsigned char *rec, const struct hsts_entry *e)
{
  uint32_t meta = entry_meta(e);

  memcpy(rec, &meta, sizeof(meta));
  if (meta & META_HAS_TIMES) {
    memcpy(rec + META_SIZE, &e->max_age, sizeof(e->max_age));
    memcpy(rec + META_SIZE + TIMES_OBSERVED, &e->observed, sizeof(e->observed));
    memcpy(rec + META_SIZE + TIMES_EXPIRES, &e->expires, sizeof(e->expires));
  }
}

static void record_get(const unsigned char *rec, struct hsts_entry *out)
{
  uint32_t meta = get_u32(rec);

  memset(out, 0, sizeof(*out));
  out->host = (const char *)rec + record_name_at(rec);
  out->source = (enum hsts_source)(meta & META_SOURCE_MASK);
  out->include_subdomains = (meta & META_INCLUDE_SUBDOMAINS) != 0;
  out->include_subdomains_for_pinning =
      (meta & META_INCLUDE_SUBDOMAINS_PINNING) != 0;
  out->force_https = (meta & META_FORCE_HTTPS) != 0;
  if (meta & META_HAS_TIMES) {
    out->max_age = get_u32(rec + META_SIZE);
    out->observed = get_i64(rec + META_SIZE + TIMES_OBSERVED);
    out->expires = get_i64(rec + META_SIZE + TIMES_EXPIRES);
  }
}

static size_t filter_words(size_t slots)
{
  return slots / FILTER_SLOTS_PER_WORD;
}

static uint64_t filter_bits(uint32_t h)
{
  return ((uint64_t)1 << (h & FILTER_BIT_MASK)) |
         ((uint64_t)1 << ((h >> FILTER_BIT2_SHIFT) & FILTER_BIT_MASK));
}

static size_t filter_word(const struct hsts_index *ix, uint32_t h)
{
  return (h >> FILTER_WORD_SHIFT) & (filter_words(ix->mask + 1) - 1);
}

/* 0 when no entry has hash `h`; 1 when one may. */
static int filter_maybe(const struct hsts_index *ix, uint32_t h)
{
  uint64_t bits = filter_bits(h);

  return (ix->filter[filter_word(ix, h)] & bits) == bits;
}

static void filter_add(struct hsts_index *ix, uint32_t h)
{
  ix->filter[filter_word(ix, h)] |= filter_bits(h);
}

static void filter_rebuild(struct hsts_index *ix)
{
  size_t i;

  memset(ix->filter, 0, filter_words(ix->mask + 1) * sizeof(*ix->filter));
  for (i = 0; i <= ix->mask; i++) {
    if (ix->slots[i].off != 0) {
      filter_add(ix, ix->slots[i].hash);
    }
  }
}

/* The slot holding `name`, or -1. `h` is name_hash(name, len). */
static long find_slot(const struct hsts_index *ix, const char *name, size_t len,
                      uint32_t h)
{
  size_t i = h & ix->mask;

  if (!filter_maybe(ix, h)) {
    return -1;
  }
  for (;;) {
    const struct slot *s = &ix->slots[i];

    if (s->off == 0) {
      return -1;
    }
    if (s->hash == h) {
      const unsigned char *rec = ix->arena + s->off;
      size_t at = record_name_at(rec);

      if (rec[at - 1] == len && memcmp(rec + at, name, len) == 0) {
        return (long)i;
      }
    }
    i = (i + 1) & ix->mask;
  }
}

static void slots_insert(struct slot *slots, size_t mask, struct slot s)
{
  size_t i = s.hash & mask;

  while (slots[i].off != 0) {
    i = (i + 1) & mask;
  }
  slots[i] = s;
}

static int grow_slots(struct hsts_index *ix)
{
  size_t old_n = ix->mask + 1, n = old_n * 2, i;
  struct slot *slots;
  uint64_t *filter;

  slots = calloc(n, sizeof(*slots));
  filter = calloc(filter_words(n), sizeof(*filter));
  if (slots == NULL || filter == NULL) {
    free(slots);
    free(filter);
    return HSTS_ENOMEM;
  }
  for (i = 0; i < old_n; i++) {
    if (ix->slots[i].off != 0) {
      slots_insert(slots, n - 1, ix->slots[i]);
    }
  }
  free(ix->slots);
  free(ix->filter);
  ix->slots = slots;
  ix->filter = filter;
  ix->mask = n - 1;
  filter_rebuild(ix);
  return HSTS_OK;
}

/* Makes room for `need` more arena bytes. */
static int reserve_arena(struct hsts_index *ix, size_t need)
{
  size_t cap = ix->arena_cap;
  unsigned char *arena;

  if (need > ARENA_OFFSET_MAX - ix->arena_len) {
    return HSTS_ENOMEM;
  }
  if (ix->arena_len + need <= cap) {
    return HSTS_OK;
  }
  if (cap < ARENA_MIN) {
    cap = ARENA_MIN;
  }
  while (cap < ix->arena_len + need) {
    cap += cap / 2;
  }
  arena = realloc(ix->arena, cap);
  if (arena == NULL) {
    return HSTS_ENOMEM;
  }
  ix->arena = arena;
  ix->arena_cap = cap;
  return HSTS_OK;
}

/* Appends a record for `e` (host length `len`); returns its offset or 0. */
static uint32_t append_record(struct hsts_index *ix, const struct hsts_entry *e,
                              size_t len)
{
  size_t size = META_SIZE + (entry_has_times(e) ? TIMES_SIZE : 0) + 1 + len + 1;
  unsigned char *rec;
  size_t off;

  if (reserve_arena(ix, size) != HSTS_OK) {
    return 0;
  }
  off = ix->arena_len;
  rec = ix->arena + off;
  record_set(rec, e);
  rec[size - len - 2] = (unsigned char)len;
  memcpy(rec + size - len - 1, e->host, len);
  rec[size - 1] = '\0';
  ix->arena_len += size;
  return (uint32_t)off;
}

/* Copies live records into a fresh arena, dropping the garbage. */
static void compact(struct hsts_index *ix)
{
  size_t cap = ix->arena_len - ix->garbage, len = 1, i;
  unsigned char *arena;

  arena = malloc(cap);
  if (arena == NULL) {
    return; /* keep the garbage; try again on a later removal */
  }
  arena[0] = 0;
  for (i = 0; i <= ix->mask; i++) {
    if (ix->slots[i].off != 0) {
      const unsigned char *rec = ix->arena + ix->slots[i].off;
      size_t size = record_size(rec);

      memcpy(arena + len, rec, size);
      ix->slots[i].off = (uint32_t)len;
      len += size;
    }
  }
  free(ix->arena);
  ix->arena = arena;
  ix->arena_len = len;
  ix->arena_cap = cap;
  ix->garbage = 0;
  filter_rebuild(ix); /* drop the bits of removed entries */
}

static void add_garbage(struct hsts_index *ix, size_t bytes)
{
  ix->garbage += bytes;
  if (ix->garbage >= COMPACT_MIN && ix->garbage > ix->arena_len / 2) {
    compact(ix);
  }
}

int hsts_index_new(size_t hint, struct hsts_index **out)
{
  struct hsts_index *ix;
  size_t n = SLOTS_MIN, arena = ARENA_MIN;

  *out = NULL;
  while (n / LOAD_DEN * LOAD_NUM < hint) {
    n *= 2;
  }
  if (hint < (ARENA_OFFSET_MAX - ARENA_MIN) / ARENA_GUESS_PER_ENTRY) {
    arena += hint * ARENA_GUESS_PER_ENTRY;
  }
  ix = calloc(1, sizeof(*ix));
  if (ix == NULL) {
    goto fail;
  }
  ix->slots = calloc(n, sizeof(*ix->slots));
  if (ix->slots == NULL) {
    goto fail;
  }
  ix->filter = calloc(filter_words(n), sizeof(*ix->filter));
  if (ix->filter == NULL) {
    goto fail;
  }
  ix->arena = malloc(arena);
  if (ix->arena == NULL) {
    goto fail;
  }
  ix->arena[0] = 0; /* offset 0 is never a record */
  ix->arena_len = 1;
  ix->arena_cap = arena;
  ix->mask = n - 1;
  *out = ix;
  return HSTS_OK;

fail:
  if (ix != NULL) {
    free(ix->filter);
    free(ix->slots);
    free(ix);
  }
  return HSTS_ENOMEM;
}

void hsts_index_free(struct hsts_index **ix)
{
  if (ix == NULL || *ix == NULL) {
    return;
  }
  free((*ix)->slots);
  free((*ix)->filter);
  free((*ix)->arena);
  free(*ix);
  *ix = NULL;
}

int hsts_index_put(struct hsts_index *ix, const struct hsts_entry *e)
{
  size_t len = e->host == NULL ? 0 : strlen(e->host);
  uint32_t h, off;
  long i;

  if (len == 0) {
    return HSTS_EHOST_EMPTY;
  }
  if (len > HSTS_HOST_MAX) {
    return HSTS_EHOST_TOO_LONG;
  }
  h = name_hash(e->host, len);
  i = find_slot(ix, e->host, len, h);
  if (i >= 0) {
    unsigned char *rec = ix->arena + ix->slots[i].off;
    size_t old_size = record_size(rec);

    if ((entry_meta(e) & META_HAS_TIMES) == (get_u32(rec) & META_HAS_TIMES)) {
      record_set(rec, e); /* same shape: update in place */
      return HSTS_OK;
    }
    off = append_record(ix, e, len);
    if (off == 0) {
      return HSTS_ENOMEM;
    }
    ix->slots[i].off = off;
    add_garbage(ix, old_size);
    return HSTS_OK;
  }
  if ((ix->count + 1) * LOAD_DEN > (ix->mask + 1) * LOAD_NUM &&
      grow_slots(ix) != HSTS_OK) {
    return HSTS_ENOMEM;
  }
  off = append_record(ix, e, len);
  if (off == 0) {
    return HSTS_ENOMEM;
  }
  slots_insert(ix->slots, ix->mask, (struct slot){ h, off });
  filter_add(ix, h);
  ix->count++;
  return HSTS_OK;
}

int hsts_index_remove(struct hsts_index *ix, const char *host)
{
  size_t len = host == NULL ? 0 : strlen(host), i, j, size;
  long found;

  if (len == 0 || len > HSTS_HOST_MAX) {
    return HSTS_ENOTFOUND;
  }
  found = find_slot(ix, host, len, name_hash(host, len));
  if (found < 0) {
    return HSTS_ENOTFOUND;
  }
  i = (size_t)found;
  size = record_size(ix->arena + ix->slots[i].off);
  /* Backward shift: pull later members of the probe run into the hole. */
  for (j = (i + 1) & ix->mask; ix->slots[j].off != 0; j = (j + 1) & ix->mask) {
    size_t home = ix->slots[j].hash & ix->mask;

    if (((j - home) & ix->mask) >= ((j - i) & ix->mask)) {
      ix->slots[i] = ix->slots[j];
      i = j;
    }
  }
  ix->slots[i].off = 0;
  ix->count--;
  add_garbage(ix, size); /* may compact: only once the slot is gone */
  return HSTS_OK;
}

int hsts_index_get(const struct hsts_index *ix, const char *host, size_t len,
                   struct hsts_entry *out)
{
  long i;

  if (ix == NULL || len == 0 || len > HSTS_HOST_MAX) {
    return 0;
  }
  i = find_slot(ix, host, len, name_hash(host, len));
  if (i < 0) {
    return 0;
  }
  record_get(ix->arena + ix->slots[i].off, out);
  return 1;
}

size_t hsts_index_count(const struct hsts_index *ix)
{
  return ix == NULL ? 0 : ix->count;
}

size_t hsts_index_bytes(const struct hsts_index *ix)
{
  if (ix == NULL) {
    return 0;
  }
  return sizeof(*ix) + (ix->mask + 1) * sizeof(struct slot) +
         filter_words(ix->mask + 1) * sizeof(uint64_t) + ix->arena_cap;
}

int hsts_index_foreach(const struct hsts_index *ix,
                       int (*fn)(const struct hsts_entry *e, void *arg),
                       void *arg)
{
  struct hsts_entry e;
  size_t i;
  int rc;

  if (ix == NULL) {
    return 0;
  }
  for (i = 0; i <= ix->mask; i++) {
    if (ix->slots[i].off != 0) {
      record_get(ix->arena + ix->slots[i].off, &e);
      rc = fn(&e, arg);
      if (rc != 0) {
        return rc;
      }
    }
  }
  return 0;
}

/* Label suffixes of a host with their hashes, least specific first. */
struct suffixes {
  size_t n;
  size_t start[LABELS_MAX];
  uint32_t hash[LABELS_MAX];
};

static void suffixes_of(const char *host, size_t len, struct suffixes *sx)
{
  uint32_t h = FNV_BASIS;
  size_t i = len;

  sx->n = 0;
  while (i > 0) {
    i--;
    h = (h ^ (unsigned char)host[i]) * FNV_PRIME;
    if ((i == 0 || host[i - 1] == '.') && sx->n < LABELS_MAX) {
      sx->start[sx->n] = i;
      sx->hash[sx->n] = fmix32(h);
      sx->n++;
    }
  }
}

static int probe(const struct hsts_index *ix, const char *host, size_t len,
                 const struct suffixes *sx, size_t k, struct hsts_entry *e)
{
  size_t at = sx->start[k];
  long i = find_slot(ix, host + at, len - at, sx->hash[k]);

  if (i < 0) {
    return 0;
  }
  record_get(ix->arena + ix->slots[i].off, e);
  return 1;
}

/* Starts loading the home slot of every suffix the filter lets through, so
 * that the cache misses of a large static table overlap, not queue. */
static void prefetch_slots(const struct hsts_index *ix,
                           const struct suffixes *sx)
{
#if defined(__GNUC__) || defined(__clang__)
  size_t k;

  for (k = 0; k < sx->n; k++) {
    if (filter_maybe(ix, sx->hash[k])) {
      __builtin_prefetch(&ix->slots[sx->hash[k] & ix->mask]);
    }
  }
#else
  (void)ix;
  (void)sx;
#endif
}

/* Dynamic side: the first live entry that is the host or covers it. */
static void lookup_dynamic(const struct hsts_index *ix, const char *host,
                           size_t len, const struct suffixes *sx, int64_t now,
                           struct hsts_result *out)
{
  struct hsts_entry e;
  size_t k;

  for (k = sx->n; k-- > 0;) {
    if (!probe(ix, host, len, sx, k, &e)) {
      continue;
    }
    if (e.expires != 0 && now > e.expires) {
      continue; /* expired: as if absent (the store prunes it) */
    }
    if (sx->start[k] == 0 || e.include_subdomains) {
      out->has_dynamic = 1;
      out->dynamic_entry = e;
      return;
    }
  }
}

/* Static side: the most specific matching entry, when it covers the host;
 * returns 1 to upgrade. */
static int lookup_static(const struct hsts_index *ix, const char *host,
                         size_t len, const struct suffixes *sx,
                         struct hsts_result *out)
{
  struct hsts_entry e;
  size_t k;

  for (k = sx->n; k-- > 0;) {
    if (!probe(ix, host, len, sx, k, &e)) {
      continue;
    }
    if (sx->start[k] == 0) {
      out->has_static = 1;
      out->static_entry = e;
      return e.force_https;
    }
    if (e.include_subdomains || e.include_subdomains_for_pinning) {
      out->has_static = 1;
      out->static_entry = e;
      return e.force_https && e.include_subdomains;
    }
    /* The most specific entry decides, as Chromium's DecodeHSTSPreload:
     * one that does not cover the host hides every parent entry. */
    return 0;
  }
  return 0;
}

int hsts_lookup(const struct hsts_index *dynamic,
                const struct hsts_index *static_ix, const char *host,
                int64_t now, struct hsts_result *out)
{
  struct suffixes sx;
  size_t len = host == NULL ? 0 : strlen(host);
  int static_upgrades = 0;

  memset(out, 0, sizeof(*out));
  if (len == 0 || len > HSTS_HOST_MAX) {
    return 0;
  }
  suffixes_of(host, len, &sx);
  if (static_ix != NULL) {
    prefetch_slots(static_ix, &sx);
  }
  if (dynamic != NULL) {
    lookup_dynamic(dynamic, host, len, &sx, now, out);
  }
  if (static_ix != NULL) {
    static_upgrades = lookup_static(static_ix, host, len, &sx, out);
  }
  if (out->has_dynamic) {
    out->hsts = 1; /* a live dynamic entry always upgrades */
    out->source = out->dynamic_entry.source;
    out->winner = out->dynamic_entry;
  } else if (out->has_static) {
    out->hsts = static_upgrades;
    out->source = out->static_entry.source;
    out->winner = out->static_entry;
  }
  return out->hsts;
}
