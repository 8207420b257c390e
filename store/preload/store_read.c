/*
 * store_read.c - what the importers share to read their input: the whole
 * file at once, bounded by STORE_IMPORT_MAX_BYTES (preload lists and
 * curl's --hsts cache are read whole, then parsed in one transaction),
 * line splitting, and turning a byte offset into a line and column for
 * error messages. Declared in store_import_int.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_import_int.h"

#define READ_CHUNK 65536

void store__lines_init(struct store__lines *it, const char *data, size_t len)
{
  it->p = data;
  it->end = data + len;
  it->lineno = 0;
}

int store__lines_next(struct store__lines *it, const char **line, size_t *len)
{
  const char *nl;
  size_t n;

  if (it->p >= it->end)
    return 0;
  nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
  n = nl != NULL ? (size_t)(nl - it->p) : (size_t)(it->end - it->p);
  *line = it->p;
  *len = n > 0 && it->p[n - 1] == '\r' ? n - 1 : n;
  it->p += nl != NULL ? n + 1 : n;
  it->lineno++;
  return 1;
}

size_t store__line_of(const char *data, size_t off, size_t *column)
{
  size_t line = 1, start = 0, i;

  for (i = 0; i < off; i++) {
    if (data[i] == '\n') {
      line++;
      start = i + 1;
    }
  }
  if (column != NULL)
    *column = off - start + 1;
  return line;
}

static int grow(struct store *s, const char *path, char **buf, size_t *cap,
                size_t need)
{
  size_t ncap = *cap == 0 ? READ_CHUNK : *cap;
  char *nbuf;

  while (ncap < need)
    ncap *= 2;
  /* Room for one byte past the limit (to detect it) and the NUL. */
  if (ncap > (size_t)STORE_IMPORT_MAX_BYTES + 2)
    ncap = (size_t)STORE_IMPORT_MAX_BYTES + 2;
  nbuf = realloc(*buf, ncap);
  if (nbuf == NULL)
    return store__fail(s, STORE_ENOMEM, "%s: out of memory reading it", path);
  *buf = nbuf;
  *cap = ncap;
  return STORE_OK;
}

static int too_large(struct store *s, const char *path)
{
  return store__fail(s, STORE_EFORMAT, "%s: larger than %u MiB", path,
                     STORE_IMPORT_MAX_BYTES >> 20);
}

int store__read_file(struct store *s, const char *path, char **data,
                     size_t *len)
{
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t cap = 0, n = 0, got;
  struct stat st;
  int err = STORE_OK;

  if (f == NULL)
    return store__fail(s, STORE_EIO, "%s: %s", path, strerror(errno));
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
      st.st_size > (off_t)STORE_IMPORT_MAX_BYTES) {
    err = too_large(s, path);
    goto fail;
  }
  for (;;) {
    if (n + READ_CHUNK + 1 > cap) {
      err = grow(s, path, &buf, &cap, n + READ_CHUNK + 1);
      if (err != STORE_OK)
        goto fail;
    }
    got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (n > STORE_IMPORT_MAX_BYTES) {
      err = too_large(s, path); /* a pipe or a file that grew */
      goto fail;
    }
    if (got == 0)
      break;
  }
  if (ferror(f)) {
    err = store__fail(s, STORE_EIO, "%s: %s", path, strerror(errno));
    goto fail;
  }
  fclose(f);
  buf[n] = '\0';
  *data = buf;
  *len = n;
  return STORE_OK;
fail:
  fclose(f);
  free(buf);
  return err;
}
