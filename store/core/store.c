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
/* "file:PATH?<query>" with '%', '?' and '#' of PATH percent-encoded;
 * NULL when out of memory. */
static char *file_uri(const char *path, const char *query)
{
  size_t n = strlen(path), i, o = 0;
  char *uri = malloc(sizeof("file:") + 3 * n + strlen(query) + 1);

  if (uri == NULL)
    return NULL;
  o += (size_t)sprintf(uri, "file:");
  for (i = 0; i < n; i++) {
    if (path[i] == '%' || path[i] == '?' || path[i] == '#')
      o += (size_t)sprintf(uri + o, "%%%02X", (unsigned char)path[i]);
    else
      uri[o++] = path[i];
  }
  sprintf(uri + o, "?%s", query);
  return uri;
}

/* One read-only attempt: the URI with `query`, configured and checked. */
static int open_ro(struct store *s, const char *query)
{
  char *uri = file_uri(s->path, query);
  int err;

  if (uri == NULL)
    return store__fail(s, STORE_ENOMEM, "%s: out of memory", s->path);
  sqlite3_close_v2(s->db);
  s->db = NULL;
  if (sqlite3_open_v2(uri, &s->db,
                      SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX |
                          SQLITE_OPEN_URI,
                      NULL) != SQLITE_OK) {
    err = store__dbfail(s, "cannot open");
    err = err == STORE_EDB ? STORE_EIO : err;
  } else {
    err = configure(s);
    if (err == STORE_OK)
      err = store__migrate(s);
  }
  free(uri);
  return err;
}

/*
 * Read-only: `mode=ro` first, which reads a live WAL store (the proxy
 * may be writing) but needs its -shm file, created if missing; where it
 * cannot be (a directory we may not write, read-only media), the file is
 * opened `immutable=1`: no locks, no -shm, and what only a -wal file
 * holds is not seen (a store copied after its proxy stopped has none).
 * When both fail, the first attempt's message stays, unless the second
 * read the file and found it is not ours or of another schema.
 */
static int open_readonly(struct store *s)
{
  char first[STORE_ERRMSG_MAX];
  int err = open_ro(s, "mode=ro"), second;

  if (err == STORE_OK || err == STORE_ENOTDB || err == STORE_EVERSION ||
      err == STORE_ENOMEM)
    return err;
  snprintf(first, sizeof(first), "%s", s->errmsg);
  second = open_ro(s, "immutable=1");
  s->immutable = second == STORE_OK;
  if (second == STORE_OK || second == STORE_ENOTDB || second == STORE_EVERSION)
    return second; /* read, or what it holds said */
  snprintf(s->errmsg, sizeof(s->errmsg), "%s", first);
  return err;
}

int store_open(const char *path, unsigned flags, struct store **out)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  struct store *s = calloc(1, sizeof(*s));
  int readonly = (flags & STORE_OPEN_READONLY) != 0;
  int oflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  int err;

  pthread_once(&once, sqlite_setup);
  *out = s;
  if (s == NULL)
    return STORE_ENOMEM;
  s->flags = flags;
  s->path = strdup(path);
  if (s->path == NULL)
    return store__fail(s, STORE_ENOMEM, "%s: out of memory", path);
  if (readonly)
    return open_readonly(s);
  if (strcmp(path, MEMORY_PATH) != 0) {
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

int store_attach(struct store *s, const char *path)
{
  struct store *t = NULL;
  sqlite3_stmt *st;
  char alias[16], sql[48], *uri;
  int err = store_open(path, STORE_OPEN_READONLY, &t), immutable;

  if (err != STORE_OK) {
    store__fail(s, err, "%s", store_errmsg(t));
    store_close(&t);
    return err;
  }
  immutable = t->immutable;
  store_close(&t);
  if (s->nattached >= STORE_ATTACH_MAX)
    return store__fail(s, STORE_EINVAL, "%s: more than %d stores at once", path,
                       STORE_ATTACH_MAX + 1);
  uri = file_uri(path, immutable ? "immutable=1" : "mode=ro");
  s->attached[s->nattached] = strdup(path);
  if (uri == NULL || s->attached[s->nattached] == NULL) {
    free(uri);
    return store__fail(s, STORE_ENOMEM, "%s: out of memory", path);
  }
  snprintf(alias, sizeof(alias), "s%d", s->nattached + 1);
  snprintf(sql, sizeof(sql), "ATTACH DATABASE ?1 AS %s", alias);
  err = store__prepare(s, sql, &st);
  if (err == STORE_OK) {
    sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
      err = store__fail(s, STORE_EIO, "%s: cannot read it with %s: %s", path,
                        s->path, sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
  }
  free(uri);
  if (err != STORE_OK) {
    free(s->attached[s->nattached]);
    s->attached[s->nattached] = NULL;
    return err;
  }
  s->nattached++;
  return STORE_OK;
}

/* The audit's tables over every store: hop, probe and writer_stats rows
 * side by side; per-host counters summed per host (and day, port);
 * policies merged per host (the most recently observed). */
static const char *const merged[][2] = {
  { "hop", "%s" },
  { "probe", "%s" },
  { "writer_stats", "%s" },
  { "host_traffic",
    "SELECT host, min(first_seen) AS first_seen, max(last_seen) AS last_seen,"
    " sum(http_requests) AS http_requests, sum(upgrades) AS upgrades,"
    " sum(upstream_redirects) AS upstream_redirects,"
    " sum(redirects_to_https) AS redirects_to_https, sum(connects) AS"
    " connects FROM (%s) GROUP BY host" },
  { "host_traffic_day",
    "SELECT host, day, sum(http_requests) AS http_requests, sum(upgrades) AS"
    " upgrades, sum(upstream_redirects) AS upstream_redirects,"
    " sum(redirects_to_https) AS redirects_to_https, sum(connects) AS"
    " connects FROM (%s) GROUP BY host, day" },
  { "host_connect_port",
    "SELECT host, port, sum(count) AS count FROM (%s) GROUP BY host, port" },
  { "policy",
    "SELECT host, source, include_subdomains, max_age, max(observed) AS"
    " observed, expires, raw_header, how FROM (%s) GROUP BY host" },
};

#define MERGE_SQL 8192

/* "SELECT * FROM main.T UNION ALL SELECT * FROM s1.T ..." into out. */
static void union_all(const struct store *s, const char *table, char *out,
                      size_t size)
{
  size_t n = 0;
  int k;

  out[0] = '\0';
  for (k = 0; k <= s->nattached && n < size; k++) {
    char name[16];

    if (k == 0)
      snprintf(name, sizeof(name), "main");
    else
      snprintf(name, sizeof(name), "s%d", k);
    n += (size_t)snprintf(out + n, size - n, "%sSELECT * FROM %s.%s",
                          k > 0 ? " UNION ALL " : "", name, table);
  }
}

int store_merge_attached(struct store *s)
{
  char u[MERGE_SQL], body[2 * MERGE_SQL], sql[3 * MERGE_SQL];
  size_t i;
  int err = STORE_OK;

  for (i = 0; i < sizeof(merged) / sizeof(merged[0]) && err == STORE_OK; i++) {
    union_all(s, merged[i][0], u, sizeof(u));
    snprintf(body, sizeof(body), merged[i][1], u);
    snprintf(sql, sizeof(sql), "CREATE TEMP VIEW %s AS %s", merged[i][0], body);
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
      err = store__fail(s, STORE_EDB,
                        "%s: cannot read the stores as one "
                        "(%s): %s",
                        s->path, merged[i][0], sqlite3_errmsg(s->db));
  }
  return err;
}

int store_attached(const struct store *s)
{
  return s->nattached;
}

const char *store_attached_path(const struct store *s, int n)
{
  return n == 0 ? s->path : s->attached[n - 1];
}

void store_close(struct store **s)
{
  int i;

  if (s == NULL || *s == NULL)
    return;
  for (i = 0; i < (*s)->nattached; i++)
    free((*s)->attached[i]);
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

int store_data_version(struct store *s, int64_t *out)
{
  sqlite3_stmt *st = NULL;
  int rc = store__prepare(s, "PRAGMA data_version", &st);

  if (rc != STORE_OK)
    return rc;
  if (sqlite3_step(st) == SQLITE_ROW) {
    *out = sqlite3_column_int64(st, 0);
  } else {
    rc = store__dbfail(s, "data_version");
  }
  sqlite3_finalize(st);
  return rc;
}

int store_is_immutable(const struct store *s)
{
  return s->immutable;
}
