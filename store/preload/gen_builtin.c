/*
 * gen_builtin.c - build-time generator of the built-in preload list.
 *
 * Usage: gen_builtin LIST.json NAME DATE OUT.c
 *
 * Reads the force-https entries of a Chromium list in the shape the
 * repository ships (store/preload/data: one entry per line, as Chromium's
 * own file writes them), normalizes every name as an import does, skips
 * names that can never apply (IP literals, invalid names), sorts them and
 * writes OUT.c: the names front-coded (each entry is a byte of flags, a
 * byte counting the bytes shared with the previous name, a byte of suffix
 * length and the suffix), about 1.2 MB for 94,600 names, decoded once at
 * start (store_static.c). No compression library is needed at build or
 * run time. Any line the generator does not understand fails the build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsts_host.h"
#include "store_builtin.h"

#define LINE_MAX_BYTES 4096
#define BYTES_PER_LINE 64

struct name {
  char host[HSTS_HOST_MAX + 1];
  unsigned flags;
};

struct list {
  struct name *v; /* owned */
  size_t n, cap;
  size_t subdomains, skipped;
};

static int die(const char *what, size_t lineno)
{
  fprintf(stderr, "gen_builtin: line %zu: %s\n", lineno, what);
  return -1;
}

/* The string value after `"key": "` on the line, or NULL. */
static const char *string_after(const char *line, const char *key, size_t *len)
{
  const char *p = strstr(line, key), *end;

  if (p == NULL)
    return NULL;
  p += strlen(key);
  end = strchr(p, '"');
  if (end == NULL)
    return NULL;
  *len = (size_t)(end - p);
  return p;
}

static int push(struct list *l, const char *host, unsigned flags)
{
  struct name *v;

  if (l->n == l->cap) {
    l->cap = l->cap != 0 ? l->cap * 2 : 1024;
    v = realloc(l->v, l->cap * sizeof(*v));
    if (v == NULL)
      return -1;
    l->v = v;
  }
  snprintf(l->v[l->n].host, sizeof(l->v[l->n].host), "%s", host);
  l->v[l->n].flags = flags;
  l->n++;
  return 0;
}

static int one_line(struct list *l, const char *line, size_t lineno)
{
  char host[HSTS_HOST_MAX + 1];
  enum hsts_host_kind kind;
  const char *name;
  size_t len;
  unsigned flags = 0;

  name = string_after(line, "\"name\": \"", &len);
  if (name == NULL)
    return 0; /* comments, braces, "entries" */
  if (strstr(line, "\"mode\": \"force-https\"") == NULL)
    return die("an entry without \"mode\": \"force-https\"", lineno);
  flags |= STORE_BUILTIN_FORCE_HTTPS;
  if (strstr(line, "\"include_subdomains\": true") != NULL)
    flags |= STORE_BUILTIN_SUBDOMAINS;
  if (hsts_host_normalize(name, len, host, &kind) != HSTS_OK ||
      kind != HSTS_HOST_NAME) {
    l->skipped++; /* never applies: as an import skips it */
    return 0;
  }
  l->subdomains += (flags & STORE_BUILTIN_SUBDOMAINS) != 0;
  return push(l, host, flags) == 0 ? 0 : die("out of memory", lineno);
}

static int by_host(const void *a, const void *b)
{
  return strcmp(((const struct name *)a)->host, ((const struct name *)b)->host);
}

static int read_list(const char *path, struct list *l)
{
  char line[LINE_MAX_BYTES];
  size_t lineno = 0;
  FILE *f = fopen(path, "r");
  int err = 0;

  if (f == NULL) {
    perror(path);
    return -1;
  }
  while (err == 0 && fgets(line, sizeof(line), f) != NULL) {
    lineno++;
    if (strchr(line, '\n') == NULL && !feof(f))
      err = die("line too long", lineno);
    else
      err = one_line(l, line, lineno);
  }
  fclose(f);
  if (err == 0 && l->n == 0)
    err = die("no entries", lineno);
  if (err == 0)
    qsort(l->v, l->n, sizeof(*l->v), by_host);
  for (size_t i = 1; err == 0 && i < l->n; i++)
    if (strcmp(l->v[i - 1].host, l->v[i].host) == 0)
      err = die("a name repeats", 0);
  return err;
}

struct out {
  FILE *f;
  size_t bytes;
};

/* The bytes go out as string literals (compiled far faster than an
 * initializer list): printable bytes as they are, others as three-digit
 * octal escapes, which never absorb the next character. */
static void put_byte(struct out *o, unsigned char b)
{
  if (o->bytes % BYTES_PER_LINE == 0)
    fputs(o->bytes == 0 ? "\n  \"" : "\"\n  \"", o->f);
  if (b >= ' ' && b <= '~' && b != '"' && b != '\\' && b != '?')
    fputc(b, o->f);
  else
    fprintf(o->f, "\\%03o", b);
  o->bytes++;
}

static void write_names(struct out *o, const struct list *l)
{
  const char *prev = "";
  size_t i, shared, len, k;

  for (i = 0; i < l->n; i++) {
    const char *h = l->v[i].host;

    for (shared = 0; prev[shared] != '\0' && prev[shared] == h[shared];
         shared++)
      ;
    len = strlen(h) - shared;
    put_byte(o, (unsigned char)l->v[i].flags);
    put_byte(o, (unsigned char)shared);
    put_byte(o, (unsigned char)len);
    for (k = 0; k < len; k++)
      put_byte(o, (unsigned char)h[shared + k]);
    prev = h;
  }
}

static int write_c(const char *path, const char *name, const char *date,
                   const struct list *l)
{
  struct out o = { fopen(path, "w"), 0 };

  if (o.f == NULL) {
    perror(path);
    return -1;
  }
  fprintf(o.f,
          "/* Generated by gen_builtin from the built-in list: do not "
          "edit. */\n#include \"store_builtin.h\"\n\n"
          "const char store__builtin_name[] = \"%s\";\n"
          "const char store__builtin_date[] = \"%s\";\n"
          "const size_t store__builtin_count = %zu;\n"
          "const size_t store__builtin_subdomains = %zu;\n"
          "const size_t store__builtin_skipped = %zu;\n"
          "const unsigned char store__builtin_names[] =",
          name, date, l->n, l->subdomains, l->skipped);
  write_names(&o, l);
  fprintf(o.f, "\";\nconst size_t store__builtin_names_len = %zu;\n", o.bytes);
  if (fclose(o.f) != 0) {
    perror(path);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv)
{
  struct list l;
  int err;

  if (argc != 5) {
    fprintf(stderr, "usage: gen_builtin LIST.json NAME DATE OUT.c\n");
    return 2;
  }
  memset(&l, 0, sizeof(l));
  err = read_list(argv[1], &l);
  if (err == 0)
    err = write_c(argv[4], argv[2], argv[3], &l);
  free(l.v);
  return err == 0 ? 0 : 1;
}
