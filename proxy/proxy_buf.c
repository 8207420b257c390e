/*
 * proxy_buf.c - the two kinds of buffer the proxy uses.
 *
 * A struct proxy_wreq is a uv_write_t followed by the bytes it writes:
 * allocated when bytes are read or built, handed to uv_write, freed in
 * the write callback, so each byte in flight has exactly one owner. Head
 * buffers (conn->in, up->in) are contiguous and grow by doubling up to a
 * fixed cap, so an idle connection costs a small buffer and no request
 * can make one grow without bound. A head buffer may move while a head
 * is incomplete: the parser fills its views only once the head is whole.
 *
 * Read chunks (wreqs of PROXY_READ_CHUNK bytes: every body and tunnel
 * read) are recycled through a free list per thread, that is per worker
 * (each worker runs its loop on its own thread and frees its wreqs in its
 * own write callbacks). Freeing one to malloc let glibc trim the arena's
 * top and fault the pages back on the next read (docs/BENCHMARKS.md).
 * The list holds at most PROXY_READ_CACHE_MAX chunks (beyond, they go
 * back to malloc) and is freed when its thread exits. Ownership does not
 * change: a chunk on the list is owned by the list alone; one handed out
 * by proxy__wreq_new() is owned by its caller alone, until
 * proxy__wreq_free() gives it back.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

#include "proxy_int.h"

/* Hidden before each wreq: its capacity, so that a free can tell a read
 * chunk; the union keeps the wreq aligned as malloc would. */
union wreq_prefix {
  size_t cap;
  max_align_t align;
};

/* A free read chunk: the link lives in the chunk itself. */
struct free_chunk {
  struct free_chunk *next;
};

struct chunk_cache {
  struct free_chunk *head; /* owned: the free chunks, as malloc'd blocks */
  size_t count;
};

static _Thread_local struct chunk_cache cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static int cache_key_ok;

/* Thread exit: gives the thread's free chunks back to malloc. */
static void cache_release(void *arg)
{
  struct chunk_cache *c = arg;

  while (c->head != NULL) {
    struct free_chunk *f = c->head;

    c->head = f->next;
    free(f);
  }
  c->count = 0;
}

static void cache_key_init(void)
{
  cache_key_ok = pthread_key_create(&cache_key, cache_release) == 0;
}

struct proxy_wreq *proxy__wreq_new(size_t cap)
{
  union wreq_prefix *p;
  struct proxy_wreq *w;

  if (cap == PROXY_READ_CHUNK && cache.head != NULL) {
    p = (union wreq_prefix *)(void *)cache.head;
    cache.head = cache.head->next;
    cache.count--;
  } else {
    p = malloc(sizeof(*p) + sizeof(*w) + cap);
    if (p == NULL)
      return NULL;
  }
  p->cap = cap;
  w = (struct proxy_wreq *)(void *)(p + 1);
  w->len = 0;
  return w;
}

struct proxy_wreq *proxy__wreq_of(const char *data)
{
  return (struct proxy_wreq *)(void *)(data -
                                       offsetof(struct proxy_wreq, data));
}

void proxy__wreq_free(struct proxy_wreq *w)
{
  union wreq_prefix *p;
  struct free_chunk *f;

  if (w == NULL)
    return;
  p = (union wreq_prefix *)(void *)w - 1;
  if (p->cap != PROXY_READ_CHUNK || cache.count >= PROXY_READ_CACHE_MAX) {
    free(p);
    return;
  }
  if (cache.count == 0) {
    pthread_once(&cache_once, cache_key_init);
    if (!cache_key_ok || pthread_setspecific(cache_key, &cache) != 0) {
      free(p); /* no way to free the list at thread exit: keep none */
      return;
    }
  }
  f = (struct free_chunk *)(void *)p;
  f->next = cache.head;
  cache.head = f;
  cache.count++;
}

size_t proxy__buf_room(char **buf, size_t *cap, size_t len, size_t max)
{
  size_t ncap;
  char *p;

  if (len < *cap)
    return *cap - len;
  if (*cap >= max)
    return 0;
  ncap = *cap == 0 ? PROXY_IN_INITIAL : *cap * 2;
  if (ncap > max)
    ncap = max;
  p = realloc(*buf, ncap);
  if (p == NULL)
    return 0;
  *buf = p;
  *cap = ncap;
  return ncap - len;
}

uint64_t proxy__ms(unsigned seconds)
{
  return (uint64_t)seconds * PROXY_MS_PER_S;
}
