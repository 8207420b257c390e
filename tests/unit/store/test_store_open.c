/*
 * test_store_open.c - opening the store: creation, schema migration,
 * reopening, and refusing what is not ours or too new.
 */
#include <sys/stat.h>

#include "store.h"
#include "store_policy.h"
#include "store_preload.h"
#include "store_testutil.h"
#include "testlib.h"

#define NOW 1700000000

static int pragma(const char *path, const char *sql)
{
  sqlite3 *db;
  sqlite3_stmt *st;
  int v = -1;

  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    return -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

static void test_fresh_file(void)
{
  char dir[TESTUTIL_PATH_MAX], path[TESTUTIL_PATH_MAX + 32];
  struct store *s;
  struct stat st;

  testutil_path("fresh/a/b", dir);
  snprintf(path, sizeof(path), "%s/store.db", dir);
  CHECK_INT(store_open(path, 0, &s), STORE_OK);
  CHECK_STR(store_errmsg(s), "");
  CHECK_INT(store_schema_version(s), STORE_SCHEMA_VERSION);
  store_close(&s);
  CHECK(s == NULL);
  /* Parents created 0700, the file 0600, WAL on, our application id. */
  CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
  CHECK_INT(st.st_mode & 0777, 0700);
  CHECK(stat(path, &st) == 0);
  CHECK_INT(st.st_mode & 0777, 0600);
  CHECK_INT(pragma(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
  CHECK_INT(pragma(path, "PRAGMA application_id"), STORE_APPLICATION_ID);
  CHECK_INT(pragma(path, "SELECT count(*) FROM sqlite_schema WHERE name IN "
                         "('preload_import', 'preload_entry', "
                         "'preload_active', 'policy')"),
            4);
  CHECK_INT(pragma(path, "SELECT journal_mode = 'wal' FROM "
                         "pragma_journal_mode"),
            1);
}

static void test_reopen_keeps_data(void)
{
  char path[TESTUTIL_PATH_MAX];
  struct store *s;
  struct store_policy p;

  testutil_path("reopen.db", path);
  CHECK_INT(store_open(path, 0, &s), STORE_OK);
  CHECK_INT(store_policy_add(s, "Example.COM", 1, 3600, "cli", NOW, NULL),
            STORE_OK);
  store_close(&s);
  CHECK_INT(store_open(path, 0, &s), STORE_OK);
  CHECK_INT(store_policy_get(s, "example.com", NOW, &p), STORE_OK);
  CHECK_STR(p.host, "example.com");
  CHECK_INT(p.expires, NOW + 3600);
  store_close(&s);
  /* Read-only: readable, writes refused with a message. */
  CHECK_INT(store_open(path, STORE_OPEN_READONLY, &s), STORE_OK);
  CHECK_INT(store_policy_get(s, "example.com", NOW, &p), STORE_OK);
  CHECK_INT(store_policy_add(s, "b.example", 0, 60, "cli", NOW, NULL),
            STORE_EREADONLY);
  CHECK(strstr(store_errmsg(s), "read-only") != NULL);
  store_close(&s);
}

struct refusal {
  const char *name;  /* file in the temp dir */
  const char *setup; /* SQL run on it first, or NULL for raw bytes */
  const char *bytes; /* raw content when setup is NULL */
  unsigned flags;
  int expect;
  const char *message; /* substring of store_errmsg() */
};

static const struct refusal refusals[] = {
  { "newer.db", "PRAGMA application_id = 1213420627; PRAGMA user_version = 8",
    NULL, 0, STORE_EVERSION, "schema version 8 is newer" },
  { "foreign.db", "CREATE TABLE t (x)", NULL, 0, STORE_ENOTDB,
    "not an hstsproxy database" },
  { "otherapp.db", "PRAGMA application_id = 42; CREATE TABLE t (x)", NULL, 0,
    STORE_ENOTDB, "application_id" },
  { "garbage.db", NULL,
    "this is not an SQLite file, just some bytes that "
    "fill more than the size of a header..............................."
    "...................................",
    0, STORE_ENOTDB, "not a database" },
  { "empty-ro.db", "PRAGMA user_version = 0", NULL, STORE_OPEN_READONLY,
    STORE_EVERSION, "not initialized" },
  { "missing-ro.db", "", NULL, STORE_OPEN_READONLY, STORE_EIO, "missing" },
  { NULL, NULL, NULL, 0, 0, NULL }
};

static void test_refusals(void)
{
  const struct refusal *r;
  char path[TESTUTIL_PATH_MAX];
  struct store *s;
  int i;

  for (i = 0, r = refusals; r->name != NULL; r++, i++) {
    if (r->setup != NULL && r->setup[0] != '\0') {
      testutil_path(r->name, path);
      CHECK_ROW(testutil_sql(path, r->setup) == 0, i);
    } else if (r->setup == NULL) {
      testutil_write(r->name, r->bytes, strlen(r->bytes), path);
    } else {
      testutil_path(r->name, path);
    }
    CHECK_ROW(store_open(path, r->flags, &s) == r->expect, i);
    CHECK_ROW(s != NULL, i);
    if (r->expect == STORE_EIO)
      CHECK_ROW(strstr(store_errmsg(s), path) != NULL, i);
    else
      CHECK_ROW(strstr(store_errmsg(s), r->message) != NULL, i);
    if (strstr(store_errmsg(s), path) == NULL)
      fprintf(stderr, "  row %d: message lacks the path: %s\n", i,
              store_errmsg(s));
    store_close(&s);
  }
  /* The refused newer file was not touched. */
  testutil_path("newer.db", path);
  CHECK_INT(pragma(path, "PRAGMA user_version"), 8);
}

static void test_parent_is_a_file(void)
{
  char file[TESTUTIL_PATH_MAX], path[TESTUTIL_PATH_MAX + 16];
  struct store *s;

  testutil_write("plainfile", "x", 1, file);
  snprintf(path, sizeof(path), "%s/sub/x.db", file);
  CHECK_INT(store_open(path, 0, &s), STORE_EIO);
  CHECK(strstr(store_errmsg(s), "plainfile") != NULL);
  store_close(&s);
  store_close(&s); /* NULL accepted */
  store_close(NULL);
}

static void test_memory_and_strerror(void)
{
  struct store *s;
  int e;

  CHECK_INT(store_open(":memory:", 0, &s), STORE_OK);
  CHECK_INT(store_schema_version(s), STORE_SCHEMA_VERSION);
  CHECK_STR(store_path(s), ":memory:");
  store_close(&s);
  for (e = STORE_OK; e <= STORE_ENOMEM; e++)
    CHECK(strcmp(store_strerror(e), "unknown store error") != 0);
  CHECK_STR(store_strerror(-1), "unknown store error");
  CHECK_STR(store_errmsg(NULL), "out of memory");
}

TEST_MAIN({ "fresh_file", test_fresh_file },
          { "reopen_keeps_data", test_reopen_keeps_data },
          { "refusals", test_refusals },
          { "parent_is_a_file", test_parent_is_a_file },
          { "memory_and_strerror", test_memory_and_strerror })
