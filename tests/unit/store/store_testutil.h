/*
 * store_testutil.h - helpers shared by the test_store_*.c unit tests.
 *
 * A private temporary directory per test program (removed at exit), files
 * written into it, and a dump of the store's tables read with SQLite
 * directly (not through the store), so that "the store is unchanged" is
 * checked independently of the code under test.
 */
#ifndef STORE_TESTUTIL_H
#define STORE_TESTUTIL_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TESTUTIL_PATH_MAX 512
#define TESTUTIL_DIR_MAX  256

static char testutil_dir[TESTUTIL_DIR_MAX];

static inline void testutil_cleanup(void)
{
  char cmd[TESTUTIL_PATH_MAX + 16];

  if (testutil_dir[0] == '\0')
    return;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", testutil_dir);
  if (system(cmd) != 0)
    fprintf(stderr, "warning: could not remove %s\n", testutil_dir);
}

/* The test's private directory, created on first use. */
static inline const char *testutil_tmpdir(void)
{
  const char *base = getenv("TMPDIR");

  if (testutil_dir[0] != '\0')
    return testutil_dir;
  snprintf(testutil_dir, sizeof(testutil_dir), "%s/hstsproxy-test-XXXXXX",
           base != NULL && *base != '\0' ? base : "/tmp");
  if (mkdtemp(testutil_dir) == NULL) {
    perror("mkdtemp");
    exit(EXIT_FAILURE);
  }
  atexit(testutil_cleanup);
  return testutil_dir;
}

/* out = tmpdir/name */
static inline void testutil_path(const char *name, char out[TESTUTIL_PATH_MAX])
{
  snprintf(out, TESTUTIL_PATH_MAX, "%s/%s", testutil_tmpdir(), name);
}

/* Writes len bytes to tmpdir/name; its path in out. */
static inline void testutil_write(const char *name, const void *data,
                                  size_t len, char out[TESTUTIL_PATH_MAX])
{
  FILE *f;

  testutil_path(name, out);
  f = fopen(out, "wb");
  if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
    perror(out);
    exit(EXIT_FAILURE);
  }
}

static inline int testutil_dump_row(void *arg, int n, char **vals, char **cols)
{
  char **acc = arg;
  size_t have = *acc != NULL ? strlen(*acc) : 0, need = have + 2;
  int i;

  for (i = 0; i < n; i++)
    need += strlen(cols[i]) + (vals[i] != NULL ? strlen(vals[i]) : 4) + 3;
  *acc = realloc(*acc, need);
  if (*acc == NULL)
    exit(EXIT_FAILURE);
  (*acc)[have] = '\0';
  for (i = 0; i < n; i++) {
    strcat(*acc, cols[i]);
    strcat(*acc, "=");
    strcat(*acc, vals[i] != NULL ? vals[i] : "NULL");
    strcat(*acc, ";");
  }
  strcat(*acc, "\n");
  return 0;
}

/* Every row of the store's tables, in a fixed order. Caller frees. */
static inline char *testutil_dump(const char *db_path)
{
  static const char *const queries[] = {
    "SELECT * FROM preload_import ORDER BY id", "SELECT * FROM preload_active",
    "SELECT * FROM preload_entry ORDER BY list_id, host",
    "SELECT * FROM policy ORDER BY host", NULL
  };
  sqlite3 *db;
  char *acc = calloc(1, 1);
  int i;

  if (acc == NULL ||
      sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    exit(EXIT_FAILURE);
  for (i = 0; queries[i] != NULL; i++) {
    if (sqlite3_exec(db, queries[i], testutil_dump_row, &acc, NULL) !=
        SQLITE_OK) {
      fprintf(stderr, "dump: %s: %s\n", queries[i], sqlite3_errmsg(db));
      exit(EXIT_FAILURE);
    }
  }
  sqlite3_close(db);
  return acc;
}

/* Runs one SQL statement on the file directly (to set up odd states). */
static inline int testutil_sql(const char *db_path, const char *sql)
{
  sqlite3 *db;
  int rc;

  if (sqlite3_open(db_path, &db) != SQLITE_OK)
    return -1;
  rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  sqlite3_close(db);
  return rc == SQLITE_OK ? 0 : -1;
}

/* A file of the test data folder, $HSTSPROXY_SHARED (ctest sets it from
 * the CMake cache variable HSTSPROXY_SHARED_DIR). Unset, the path names
 * the missing variable, so the test fails saying so. */
static inline void testutil_shared(const char *name,
                                   char out[TESTUTIL_PATH_MAX])
{
  const char *dir = getenv("HSTSPROXY_SHARED");

  snprintf(out, TESTUTIL_PATH_MAX, "%s/%s",
           dir != NULL && *dir != '\0' ? dir : "$HSTSPROXY_SHARED-is-unset",
           name);
}

#endif /* STORE_TESTUTIL_H */
