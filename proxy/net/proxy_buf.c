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
 * read) and head buffers of the first size (PROXY_IN_INITIAL: every
 * request head, which an idle connection gives back) are recycled
 * through free lists per thread, that is per worker
 * (each worker runs its loop on its own thread and frees its wreqs in its
 * own write callbacks). Freeing one to malloc let glibc trim the arena's
 * top and fault the pages back on the next read (docs/BENCHMARKS.md).
 * The lists hold at most PROXY_READ_CACHE_MAX chunks and
 * PROXY_HEAD_CACHE_MAX head buffers (beyond, they go back to malloc) and
 * are freed when their thread exits. Ownership does not change: a buffer
 * on a list is owned by the list alone; one handed out is owned by its
 * caller alone, until proxy__wreq_free() or proxy__buf_free() gives it
 * back.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

#include "hsts.h"
#include "proxy_net.h"

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

struct free_list {
  struct free_chunk *head; /* owned: the free blocks, as malloc'd */
  size_t count;
};

struct chunk_cache {
  struct free_list chunks; /* read chunks, with their wreq prefix */
  struct free_list heads;  /* head buffers of PROXY_IN_INITIAL bytes */
};

static _Thread_local struct chunk_cache cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static int cache_key_ok;

static void list_release(struct free_list *l)
{
  while (l->head != NULL) {
    struct free_chunk *f = l->head;

    l->head = f->next;
    free(f);
  }
  l->count = 0;
}

/* Thread exit: gives the thread's free buffers back to malloc. */
static void cache_release(void *arg)
{
  struct chunk_cache *c = arg;

  list_release(&c->chunks);
  list_release(&c->heads);
}

static void cache_key_init(void)
{
  cache_key_ok = pthread_key_create(&cache_key, cache_release) == 0;
}

static void *list_pop(struct free_list *l)
{
  struct free_chunk *f = l->head;

  l->head = f->next;
  l->count--;
  return f;
}

/* Keeps block p on l; 0, or -1 when l is full (or the thread cannot
 * release the lists at exit): then the caller frees p. */
static int list_push(struct free_list *l, size_t max, void *p)
{
  struct free_chunk *f = p;

  if (l->count >= max)
    return -1;
  if (cache.chunks.count == 0 && cache.heads.count == 0) {
    pthread_once(&cache_once, cache_key_init);
    if (!cache_key_ok || pthread_setspecific(cache_key, &cache) != 0)
      return -1;
  }
  f->next = l->head;
  l->head = f;
  l->count++;
  return 0;
}

struct proxy_wreq *proxy__wreq_new(size_t cap)
{
  union wreq_prefix *p;
  struct proxy_wreq *w;

  if (cap == PROXY_READ_CHUNK && cache.chunks.head != NULL) {
    p = list_pop(&cache.chunks);
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

  if (w == NULL)
    return;
  p = (union wreq_prefix *)(void *)w - 1;
  if (p->cap != PROXY_READ_CHUNK ||
      list_push(&cache.chunks, PROXY_READ_CACHE_MAX, p) < 0)
    free(p);
}

void proxy__buf_free(char **buf, size_t *cap)
{
  if (*buf != NULL && (*cap != PROXY_IN_INITIAL ||
                       list_push(&cache.heads, PROXY_HEAD_CACHE_MAX, *buf) < 0))
    free(*buf);
  *buf = NULL;
  *cap = 0;
}

int proxy__write(uv_stream_t *s, uv_write_t *req, uv_buf_t *bufs,
                 unsigned nbufs, int direct, uv_write_cb cb)
{
  size_t done = 0, left = 0;
  unsigned i;
  int n, err;

  if (direct) {
    n = uv_try_write(s, bufs, nbufs);
    if (n < 0 && n != UV_EAGAIN)
      return n;
    done = n > 0 ? (size_t)n : 0;
  }
  for (i = 0; i < nbufs && done >= bufs[i].len; i++)
    done -= bufs[i].len;
  if (i == nbufs)
    return 0;
  bufs[i].base += done;
  bufs[i].len -= done;
  err = uv_write(req, s, bufs + i, nbufs - i, cb);
  if (err < 0)
    return err;
  for (; i < nbufs; i++)
    left += bufs[i].len;
  return (int)left;
}

int proxy__wreq_send(uv_stream_t *s, struct proxy_wreq *w, int direct,
                     uv_write_cb cb)
{
  uv_buf_t buf = uv_buf_init(w->data, (unsigned)w->len);
  int n = proxy__write(s, &w->req, &buf, 1, direct, cb);

  if (n == 0)
    proxy__wreq_free(w);
  else if (n > 0)
    w->len = (size_t)n;
  return n;
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
  if (*cap == 0 && ncap == PROXY_IN_INITIAL && cache.heads.head != NULL)
    p = list_pop(&cache.heads);
  else
    p = realloc(*buf, ncap);
  if (p == NULL)
    return 0;
  *buf = p;
  *cap = ncap;
  return ncap - len;
}

uint64_t proxy__ms(unsigned seconds)
{
  return (uint64_t)seconds * HSTS_MS_PER_S;
}
