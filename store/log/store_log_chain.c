/*
 * store_log_chain.c - redirect chains: the map of recent Locations.
 *
 * A chain is what a client follows: hop n's resolved Location is the URL
 * of hop n + 1, requested by the same client. The writer thread remembers
 * each hop's (client, Location) with its chain and index in a map of at
 * most `capacity` entries (the oldest insertions are overwritten: a ring
 * of slots, doubly linked buckets for lookup, so that both the eviction
 * and the removal of an entry are O(1)). Each key is remembered at most
 * once: remembering a (client, Location) again replaces the older entry
 * (the newest one is the one a match would continue anyway), which keeps
 * buckets short when one client requests one URL over and over. A new hop
 * whose (client, URL) is remembered, no more than STORE_CHAIN_WINDOW_MS
 * away, continues that chain and consumes the entry, so a later,
 * unrelated visit to the same URL starts a chain of its own. URLs
 * are compared in the form store__url_key() gives (what a browser would
 * send for the Location: no fragment, lowercase scheme and host, no
 * default port). Also here: the UTF-8 cleaner for stored text.
 */
#include <stdlib.h>
#include <string.h>

#include "hsts_host.h"
#include "hsts_url.h"
#include "hsts_utf8.h"
#include "store_log_int.h"

#define FNV_OFFSET    1469598103934665603ULL
#define FNV_PRIME     1099511628211ULL
#define NO_SLOT       (-1)
#define KEY_SEPARATOR '\n' /* between client and URL: in neither */
#define KEY_MAX       (STORE_HOP_SHORT_MAX + 2 * STORE_HOP_URL_MAX + 2)
#define PORT_TEXT_MAX 8 /* ":65535" */

struct chain_entry {
  char *key; /* owned; NULL: free slot */
  uint64_t hash;
  uint64_t chain_id;
  int64_t time_ms;
  int32_t hop_index;
  int32_t next; /* next slot in the bucket, or NO_SLOT */
  int32_t prev; /* previous slot in the bucket, or NO_SLOT: its head */
  uint32_t bucket;
};

struct store__chains {
  struct chain_entry *slots; /* owned; capacity */
  int32_t *buckets;          /* owned; nbuckets heads */
  size_t capacity;
  size_t nbuckets;
  size_t next_slot;  /* the ring's insertion point */
  char key[KEY_MAX]; /* scratch */
};

struct store__chains *store__chains_new(size_t capacity)
{
  struct store__chains *c = calloc(1, sizeof(*c));
  size_t i;

  if (c == NULL)
    return NULL;
  c->capacity = capacity;
  c->nbuckets = 2 * capacity;
  c->slots = calloc(capacity, sizeof(*c->slots));
  c->buckets = malloc(c->nbuckets * sizeof(*c->buckets));
  if (c->slots == NULL || c->buckets == NULL) {
    store__chains_free(&c);
    return NULL;
  }
  for (i = 0; i < c->nbuckets; i++)
    c->buckets[i] = NO_SLOT;
  return c;
}

void store__chains_free(struct store__chains **cp)
{
  struct store__chains *c;
  size_t i;

  if (cp == NULL || *cp == NULL)
    return;
  c = *cp;
  if (c->slots != NULL)
    for (i = 0; i < c->capacity; i++)
      free(c->slots[i].key);
  free(c->slots);
  free(c->buckets);
  free(c);
  *cp = NULL;
}

static uint64_t hash_key(const char *s)
{
  uint64_t h = FNV_OFFSET;

  for (; *s != '\0'; s++)
    h = (h ^ (unsigned char)*s) * FNV_PRIME;
  return h;
}

/* Unlinks slot i from its bucket (O(1)) and frees its key. */
static void remove_slot(struct store__chains *c, int32_t i)
{
  struct chain_entry *e = &c->slots[i];

  if (e->prev != NO_SLOT)
    c->slots[e->prev].next = e->next;
  else
    c->buckets[e->bucket] = e->next;
  if (e->next != NO_SLOT)
    c->slots[e->next].prev = e->prev;
  free(e->key);
  e->key = NULL;
}

/* The live entry for key (there is at most one), or NO_SLOT. */
static int32_t find(const struct store__chains *c, const char *key,
                    uint64_t hash)
{
  int32_t i = c->buckets[hash % c->nbuckets];

  for (; i != NO_SLOT; i = c->slots[i].next) {
    const struct chain_entry *e = &c->slots[i];

    if (e->hash == hash && strcmp(e->key, key) == 0)
      return i;
  }
  return NO_SLOT;
}

/* Whether entry i is no more than STORE_CHAIN_WINDOW_MS from time_ms. */
static int in_window(const struct store__chains *c, int32_t i, int64_t time_ms)
{
  int64_t age = time_ms - c->slots[i].time_ms;

  return age <= STORE_CHAIN_WINDOW_MS && age >= -STORE_CHAIN_WINDOW_MS;
}

static void insert(struct store__chains *c, const char *key, uint64_t hash,
                   const struct store__rec_hop *h)
{
  int32_t i = (int32_t)c->next_slot, old = find(c, key, hash);
  struct chain_entry *e = &c->slots[i];
  char *copy = strdup(key);

  if (old != NO_SLOT)
    remove_slot(c, old); /* the newest entry for a key replaces the older */
  if (copy == NULL)
    return; /* the chain just ends here */
  c->next_slot = (c->next_slot + 1) % c->capacity;
  if (e->key != NULL)
    remove_slot(c, i);
  e->key = copy;
  e->hash = hash;
  e->chain_id = h->chain_id;
  e->time_ms = h->time_ms;
  e->hop_index = h->hop_index;
  e->bucket = (uint32_t)(hash % c->nbuckets);
  e->prev = NO_SLOT;
  e->next = c->buckets[e->bucket];
  if (e->next != NO_SLOT)
    c->slots[e->next].prev = i;
  c->buckets[e->bucket] = i;
}

/* c->key = client "\n" url-key (of u when the caller split url);
 * returns 0 when it does not fit. */
static int make_key(struct store__chains *c, const char *client,
                    const char *url, const struct hsts_url *u)
{
  size_t n = strlen(client);

  if (n + 2 > sizeof(c->key))
    return 0;
  memcpy(c->key, client, n);
  c->key[n++] = KEY_SEPARATOR;
  if (u != NULL)
    return store__url_key_of(u, c->key + n, sizeof(c->key) - n) > 0;
  return store__url_key(url, c->key + n, sizeof(c->key) - n) > 0;
}

void store__chains_assign(struct store__chains *c, struct store__rec_hop *h,
                          const char *client, const char *url,
                          const struct hsts_url *url_parsed,
                          const char *resolved,
                          const struct hsts_url *resolved_parsed)
{
  int32_t i = NO_SLOT;
  uint64_t hash = 0;

  if (client == NULL)
    client = "";
  if (url != NULL && make_key(c, client, url, url_parsed)) {
    hash = hash_key(c->key);
    i = find(c, c->key, hash);
  }
  if (i != NO_SLOT && !in_window(c, i, h->time_ms))
    i = NO_SLOT;
  if (i != NO_SLOT) {
    h->chain_id = c->slots[i].chain_id;
    h->hop_index = c->slots[i].hop_index + 1;
    remove_slot(c, i);
  } else {
    h->chain_id = h->request_id;
    h->hop_index = 0;
  }
  if (resolved != NULL && make_key(c, client, resolved, resolved_parsed))
    insert(c, c->key, hash_key(c->key), h);
}

/* --- URL comparison form --- */

static size_t copy_lower(char *out, const char *in, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    char ch = in[i];

    out[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
  }
  return n;
}

size_t store__url_key(const char *url, char *out, size_t outsz)
{
  size_t len = strcspn(url, "#");
  struct hsts_url u;

  if (hsts_url_parse(url, len, &u) == HSTS_OK)
    return store__url_key_of(&u, out, outsz);
  len = strlen(url);
  if (len + 1 > outsz)
    return 0;
  memcpy(out, url, len + 1);
  return len;
}

size_t store__url_key_of(const struct hsts_url *u, char *out, size_t outsz)
{
  size_t n = 0, path_len = u->path_len > 0 ? u->path_len : 1;
  char port[PORT_TEXT_MAX] = "";

  if (u->port != 0 && u->port != hsts_url_default_port(u))
    snprintf(port, sizeof(port), ":%u", u->port);
  if (u->scheme_len + u->host_len + path_len + strlen(port) + sizeof("://[]") >
      outsz)
    return 0;
  n += copy_lower(out + n, u->scheme, u->scheme_len);
  memcpy(out + n, "://", 3);
  n += 3;
  if (u->is_ipv6)
    out[n++] = '[';
  n += copy_lower(out + n, u->host, u->host_len);
  if (u->is_ipv6)
    out[n++] = ']';
  memcpy(out + n, port, strlen(port));
  n += strlen(port);
  memcpy(out + n, u->path_len > 0 ? u->path : "/", path_len);
  n += path_len;
  out[n] = '\0';
  return n;
}

/* --- UTF-8 --- */

size_t store__utf8_clean(const char *in, size_t len, char *out)
{
  static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
  const unsigned char *s = (const unsigned char *)in;
  size_t i = 0, o = 0;

  while (i < len) {
    size_t run = i, k;

    while (run < len && s[run] < 0x80) /* ASCII, most of it: as it is */
      run++;
    memcpy(out + o, s + i, run - i);
    o += run - i;
    i = run;
    if (i == len)
      break;
    k = hsts_utf8_len(s + i, len - i);
    if (k == 0) {
      memcpy(out + o, replacement, sizeof(replacement) - 1);
      o += sizeof(replacement) - 1;
      i++;
      continue;
    }
    memcpy(out + o, s + i, k);
    o += k;
    i += k;
  }
  out[o] = '\0';
  return o;
}
