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
 */
#include <stddef.h>
#include <stdlib.h>

#include "proxy_int.h"

struct proxy_wreq *proxy__wreq_new(size_t cap)
{
  struct proxy_wreq *w = malloc(sizeof(*w) + cap);

  if (w != NULL)
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
  free(w);
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
