/*
 * store.c - opening and closing the store, errors, shared helpers.
 *
 * store_open() creates what is missing (parent directories 0700, the file
 * 0600: the hop log it will hold is browsing history), configures the
 * connection (WAL so that readers never wait for the proxy, a busy timeout
 * for writers, foreign keys) and checks that the file is ours before
 * store__migrate() (store_schema.c) brings its schema up to date. Every
 * failure leaves a one-line message in the store naming the file and the
 * cause. Also here: the escaping of user bytes in messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

#define DIR_MODE    0700
#define FILE_MODE   0600
#define MEMORY_PATH ":memory:"

const char *store_strerror(int err)
{
  switch (err) {
  case STORE_OK:
    return "success";
  case STORE_EIO:
    return "file input/output failed";
  case STORE_EDB:
    return "database error";
  case STORE_ENOTDB:
    return "not an hstsproxy database";
  case STORE_EVERSION:
    return "unsupported database schema version";
  case STORE_EREADONLY:
    return "the store is read-only";
  case STORE_EFORMAT:
    return "malformed file";
  case STORE_EHOST:
    return "invalid host";
  case STORE_ENOTFOUND:
    return "no such entry";
  case STORE_EPRELOADED:
    return "the host is preloaded";
  case STORE_EINVAL:
    return "invalid argument";
  case STORE_ENOMEM:
    return "out of memory";
  case STORE_EFULL:
    return "the hop-log queue is full";
  case STORE_ESHRINK:
    return "the new list has fewer than half the active list's entries";
  default:
    return "unknown store error";
  }
}

int store__fail(struct store *s, int code, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
  va_end(ap);
  return code;
}

int store__dbfail(struct store *s, const char *what)
{
  int rc = s->db != NULL ? sqlite3_errcode(s->db) : SQLITE_NOMEM;
  const char *msg = s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory";
  int code = STORE_EDB;

  switch (rc & 0xff) {
  case SQLITE_NOTADB:
    code = STORE_ENOTDB;
    break;
  case SQLITE_READONLY:
    code = STORE_EREADONLY;
    break;
  case SQLITE_NOMEM:
    code = STORE_ENOMEM;
    break;
  case SQLITE_BUSY:
    msg = "the database is locked by another process (waited 5 s)";
    break;
  default:
    break;
  }
  return store__fail(s, code, "%s: %s: %s", s->path, what, msg);
}

int store__exec(struct store *s, const char *sql)
{
  if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return store__dbfail(s, "query failed");
  return STORE_OK;
}

int store__prepare(struct store *s, const char *sql, sqlite3_stmt **st)
{
  if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
    *st = NULL;
    return store__dbfail(s, "cannot prepare a query");
  }
  return STORE_OK;
}

int store__begin(struct store *s, const char *what)
{
  if ((s->flags & STORE_OPEN_READONLY) != 0)
    return store__fail(s, STORE_EREADONLY, "%s: %s: opened read-only", s->path,
                       what);
  if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return store__dbfail(s, what);
  return STORE_OK;
}

int store__commit(struct store *s)
{
  if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    int err = store__dbfail(s, "commit failed");

    store__rollback(s);
    return err;
  }
  return STORE_OK;
}

void store__rollback(struct store *s)
{
  if (!sqlite3_get_autocommit(s->db))
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

void store__printable(const char *in, size_t len, char *out, size_t outsz)
{
  static const char hex[] = "0123456789abcdef";
  size_t i, o = 0;

  if (outsz == 0)
    return;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)in[i];
    char tmp[4];
    size_t n = 0;

    if (c == '"' || c == '\\') {
      tmp[n++] = '\\';
      tmp[n++] = (char)c;
    } else if (c < 0x20 || c >= 0x7f) {
      tmp[n++] = '\\';
      tmp[n++] = 'x';
      tmp[n++] = hex[c >> 4];
      tmp[n++] = hex[c & 0xf];
    } else {
      tmp[n++] = (char)c;
    }
    if (o + n + sizeof("...") > outsz) {
      memcpy(out + o, "...", sizeof("...") - 1);
      o += sizeof("...") - 1;
      break;
    }
    memcpy(out + o, tmp, n);
    o += n;
  }
  out[o] = '\0';
}

/* mkdir -p of the directory part of `path`, each new level mode 0700. */
static int make_parents(struct store *s, const char *path)
{
  char *dir = strdup(path);
  char *p;
  int err = STORE_OK;
  struct stat st;

  if (dir == NULL)
    return store__fail(s, STORE_ENOMEM, "%s: out of memory", path);
  for (p = strchr(dir + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
    *p = '\0';
    if (mkdir(dir, DIR_MODE) != 0 && errno != EEXIST) {
      err = store__fail(s, STORE_EIO, "%s: cannot create directory %s: %s",
                        path, dir, strerror(errno));
      break;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
      err = store__fail(s, STORE_EIO, "%s: %s is not a directory", path, dir);
      break;
    }
    *p = '/';
  }
  free(dir);
  return err;
}

/* Creates the file with mode 0600 when missing (SQLite would use 0644). */
/* Creates the file when it is missing. An existing file is left alone:
 * closing a descriptor of it would drop every POSIX lock this process
 * holds on it, those of its other connections too (the proxy opens the
 * store again on its thread pool while the writer's connection is open),
 * and another process could then take the database for unused. So it is
 * only checked: access() says what opening it read-write would. */
static int create_file(struct store *s, const char *path)
{
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);

  if (fd < 0 && errno == EEXIST && access(path, R_OK | W_OK) == 0)
    return STORE_OK; /* what open(O_RDWR) would find, without an fd */
  if (fd < 0)
    return store__fail(s, STORE_EIO, "%s: cannot open or create: %s", path,
                       strerror(errno));
  close(fd);
  return STORE_OK;
}

static int configure(struct store *s)
{
  sqlite3_stmt *st;
  int err, is_memory = strcmp(s->path, MEMORY_PATH) == 0;
  const unsigned char *mode;

  sqlite3_extended_result_codes(s->db, 1);
  sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
  err = store__exec(s, "PRAGMA foreign_keys = ON");
  if (err != STORE_OK || (s->flags & STORE_OPEN_READONLY) != 0)
    return err;
  err = store__prepare(s, "PRAGMA journal_mode = WAL", &st);
  if (err != STORE_OK)
    return err;
  if (sqlite3_step(st) != SQLITE_ROW) {
    err = store__dbfail(s, "cannot set the WAL journal");
    sqlite3_finalize(st);
    return err;
  }
  mode = sqlite3_column_text(st, 0);
  if (!is_memory && (mode == NULL || strcmp((const char *)mode, "wal") != 0)) {
    err = store__fail(s, STORE_EDB,
                      "%s: the file system refused the WAL "
                      "journal (journal mode stays \"%s\")",
                      s->path, mode != NULL ? (const char *)mode : "?");
  }
  sqlite3_finalize(st);
  if (err != STORE_OK)
    return err;
  return store__exec(s, "PRAGMA synchronous = NORMAL");
}

/*
 * Once per process, before SQLite initializes: no memory statistics
 * (SQLite would take a global mutex around every allocation to keep them;
 * nothing here reads them). Too late after another part of the process
 * initialized SQLite: then SQLite refuses, harmlessly.
 */
static void sqlite_setup(void)
{
  (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/*
 * A struct store is used by one thread at a time (store.h), so its
 * connection is opened without SQLite's per-call mutex (NOMUTEX: the
 * "multi-thread" mode): the hop-log writer binds 25 values per hop, and
 * each call took and released that mutex.
 */
int store_open(const char *path, unsigned flags, struct store **out)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  struct store *s = calloc(1, sizeof(*s));
  int readonly = (flags & STORE_OPEN_READONLY) != 0;
  int oflags = SQLITE_OPEN_NOMUTEX |
               (readonly ? SQLITE_OPEN_READONLY
                         : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int err;

  pthread_once(&once, sqlite_setup);
  *out = s;
  if (s == NULL)
    return STORE_ENOMEM;
  s->flags = flags;
  s->path = strdup(path);
  if (s->path == NULL)
    return store__fail(s, STORE_ENOMEM, "%s: out of memory", path);
  if (!readonly && strcmp(path, MEMORY_PATH) != 0) {
    err = make_parents(s, path);
    if (err == STORE_OK)
      err = create_file(s, path);
    if (err != STORE_OK)
      return err;
  }
  if (sqlite3_open_v2(path, &s->db, oflags, NULL) != SQLITE_OK) {
    err = store__dbfail(s, "cannot open");
    return err == STORE_EDB ? STORE_EIO : err;
  }
  err = configure(s);
  if (err != STORE_OK)
    return err;
  return store__migrate(s);
}

void store_close(struct store **s)
{
  if (s == NULL || *s == NULL)
    return;
  sqlite3_close_v2((*s)->db);
  free((*s)->path);
  free(*s);
  *s = NULL;
}

const char *store_errmsg(const struct store *s)
{
  if (s == NULL)
    return "out of memory";
  return s->errmsg;
}

const char *store_path(const struct store *s)
{
  return s->path;
}
