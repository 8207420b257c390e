/*
 * cmd_store.c - `hstsproxy store stats` (what a store holds, of one or
 * several stores) and `hstsproxy prune` (deleting old history by hand).
 *
 * store stats opens each store read-only (store.h: it works on a store
 * it cannot write, and beside a running proxy) and prints its file size,
 * schema version and, per table, the rows and the oldest and newest row.
 * With --db given several times (the stores of several proxies), each
 * store is shown, then their sum ("all"): rows added, the oldest of the
 * oldest, the newest of the newest. A store named twice (the same file,
 * by any path) is a usage error; a store that cannot be read (a newer
 * schema, say) stops the command naming it.
 *
 * prune deletes hops, probes and per-day counters older than
 * --older-than in small steps (store_retain.h), each its own short
 * transaction with a pause between them, so that a proxy writing the
 * same store gets the lock between two steps; a step that finds the
 * store locked waits the busy timeout and is retried. --vacuum then
 * gives the freed pages back (it holds the lock for the whole copy).
 */
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "cli_json.h"
#include "cli_out.h"
#include "cli_store.h"
#include "cli_time.h"
#include "store_retain.h"

#define WHAT_STATS     "store stats"
#define WHAT_PRUNE     "prune"
#define PRUNE_PAUSE_NS 20000000L /* between steps: the proxy's turn */
#define PRUNE_RETRIES  6         /* steps that found the store locked */
#define MIB            (1024.0 * 1024.0)

static const char store_usage[] =
    "usage: hstsproxy [--db PATH]... store stats [--json]\n"
    "\n"
    "Shows what the store holds: its file size, schema version and, per\n"
    "table, the rows and the oldest and newest row. Opens the store\n"
    "read-only: works beside a running proxy and on a store it cannot\n"
    "write. With --db given several times, shows each store and their\n"
    "sum (the stores of several proxies, read as one).\n"
    "\n"
    "Exit status: 0 success, 2 usage error (a store named twice), 3 a\n"
    "store cannot be read.\n";

static const char prune_usage[] =
    "usage: hstsproxy prune --older-than DURATION [--vacuum]\n"
    "\n"
    "Deletes hops, probes and per-day counters older than DURATION\n"
    "(30d, 12h, 90m, 3600s), in small transactions: a proxy writing\n"
    "the store keeps writing meanwhile. Totals per host, policies and\n"
    "preload lists are kept. --vacuum then shrinks the file (it locks\n"
    "the store while it copies it).\n"
    "\n"
    "Exit status: 0 success, 2 usage error, 3 the store failed.\n";

/* ---- store stats ---- */

/* Adds the tables of b to a (the sum of several stores). */
static void add_stats(struct store_stats *a, const struct store_stats *b)
{
  int i;

  a->file_bytes += b->file_bytes;
  a->wal_bytes += b->wal_bytes;
  for (i = 0; i < STORE_RETAIN_TABLES; i++) {
    struct store_table_stats *x = &a->t[i];
    const struct store_table_stats *y = &b->t[i];

    x->name = y->name;
    x->timed = y->timed;
    if (y->rows > 0 && y->timed) {
      if (x->rows == 0 || y->oldest_ms < x->oldest_ms)
        x->oldest_ms = y->oldest_ms;
      if (x->rows == 0 || y->newest_ms > x->newest_ms)
        x->newest_ms = y->newest_ms;
    }
    x->rows += y->rows;
  }
}

static void json_stats(const char *path, size_t nstores,
                       const struct store_stats *st)
{
  struct cli_json j;
  int i;

  cli_json_init(&j, stdout);
  cli_json_object_begin(&j);
  if (path != NULL) {
    cli_json_kstring(&j, "path", path);
    cli_json_kint(&j, "schema_version", st->schema_version);
    cli_json_kbool(&j, "immutable", st->immutable);
  } else {
    cli_json_knull(&j, "path");
    cli_json_kuint(&j, "stores", nstores);
  }
  cli_json_kint(&j, "file_bytes", st->file_bytes);
  cli_json_kint(&j, "wal_bytes", st->wal_bytes);
  cli_json_key(&j, "tables");
  cli_json_object_begin(&j);
  for (i = 0; i < STORE_RETAIN_TABLES; i++) {
    const struct store_table_stats *t = &st->t[i];

    cli_json_key(&j, t->name);
    cli_json_object_begin(&j);
    cli_json_kint(&j, "rows", t->rows);
    if (t->timed && t->rows > 0) {
      cli_json_ktime(&j, "oldest", t->oldest_ms / 1000);
      cli_json_ktime(&j, "newest", t->newest_ms / 1000);
    } else {
      cli_json_knull(&j, "oldest");
      cli_json_knull(&j, "newest");
    }
    cli_json_object_end(&j);
  }
  cli_json_object_end(&j);
  cli_json_object_end(&j);
}

static void text_stats(const char *path, size_t nstores,
                       const struct store_stats *st)
{
  char a[CLI_TIME_MAX], b[CLI_TIME_MAX];
  struct cli_out o;
  int i;

  cli_out_init(&o, stdout);
  if (path != NULL) {
    cli_out_row(&o, "store", "%s", path);
    cli_out_row(&o, "schema version", "%d", st->schema_version);
    if (st->immutable)
      cli_out_row(&o, "opened",
                  "read-only, immutable (no -shm possible: "
                  "a -wal file's rows are not seen)");
  } else {
    cli_out_row(&o, "all", "%zu stores", nstores);
  }
  cli_out_row(&o, "file", "%.1f MiB (-wal %.1f MiB)", st->file_bytes / MIB,
              st->wal_bytes / MIB);
  for (i = 0; i < STORE_RETAIN_TABLES; i++) {
    const struct store_table_stats *t = &st->t[i];

    if (!t->timed || t->rows == 0) {
      cli_out_row(&o, t->name, "%" PRId64 " rows", t->rows);
      continue;
    }
    cli_time_rfc3339(t->oldest_ms / 1000, a);
    cli_time_rfc3339(t->newest_ms / 1000, b);
    cli_out_row(&o, t->name, "%" PRId64 " rows, %s to %s", t->rows, a, b);
  }
}

/* Reads one store's stats (g names it alone). */
static int one_store(const struct cli_globals *g, struct store_stats *st,
                     char *path, size_t size)
{
  struct store *s;
  int rc = cli_store_open_existing(g, WHAT_STATS, &s), err;

  if (rc != CLI_EXIT_OK)
    return rc;
  snprintf(path, size, "%s", store_path(s));
  err = store_stats(s, st);
  if (err != STORE_OK)
    rc = cli_store_error(WHAT_STATS, s, err);
  store_close(&s);
  return rc;
}

static int do_stats(int argc, char **argv, const struct cli_globals *g)
{
  static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  struct cli_cmd cmd = {
    .what = WHAT_STATS, .help = "store", .usage = store_usage, .longopts = opts
  };
  struct store_stats st, all;
  struct cli_globals one = { NULL, { NULL }, 0 };
  char path[CLI_PATH_MAX];
  size_t n = g->ndb > 1 ? g->ndb : 1, i;
  int c, json = 0, rc;

  for (;;) {
    c = cli_opt_next(&cmd, argc, argv);
    if (c == CLI_OPT_END)
      break;
    if (c == CLI_OPT_STOP)
      return cmd.status;
    json = 1;
  }
  if (cli_opt_operands(&cmd, argc, argv, NULL) != CLI_EXIT_OK ||
      cli_store_distinct(g, WHAT_STATS) != CLI_EXIT_OK)
    return CLI_EXIT_USAGE;
  memset(&all, 0, sizeof(all));
  for (i = 0; i < n; i++) {
    one.db_arg = g->ndb > 1 ? g->db_args[i] : g->db_arg;
    rc = one_store(&one, &st, path, sizeof(path));
    if (rc != CLI_EXIT_OK)
      return rc;
    if (json)
      json_stats(path, 1, &st);
    else
      text_stats(path, 1, &st);
    if (!json && n > 1)
      putchar('\n');
    add_stats(&all, &st);
  }
  if (n > 1 && json)
    json_stats(NULL, n, &all);
  else if (n > 1)
    text_stats(NULL, n, &all);
  return cli_out_finish(WHAT_STATS);
}

int cmd_store(int argc, char **argv, const struct cli_globals *g)
{
  if (argc >= 2 && strcmp(argv[1], "stats") == 0)
    return do_stats(argc - 1, argv + 1, g);
  if (argc >= 2 &&
      (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    fputs(store_usage, stdout);
    return cli_out_finish("store");
  }
  cli_error("store", "%s (see hstsproxy store --help)",
            argc < 2 ? "a subcommand is missing: stats"
                     : "unknown subcommand (stats)");
  return CLI_EXIT_USAGE;
}

/* ---- prune ---- */

static void pause_ns(long ns)
{
  struct timespec ts = { 0, ns };

  nanosleep(&ts, NULL);
}

/* Steps until nothing older is left; a locked store is retried. */
static int prune_all(struct store *s, int64_t cutoff_ms,
                     struct store_prune_counts *c)
{
  int more = 1, err, tries = 0;

  while (more) {
    err = store_prune_step(s, cutoff_ms, STORE_PRUNE_BATCH, 1, c, &more);
    if (err != STORE_OK) {
      if (err != STORE_EDB || ++tries > PRUNE_RETRIES)
        return cli_store_error(WHAT_PRUNE, s, err);
      more = 1;
      continue;
    }
    tries = 0;
    if (more)
      pause_ns(PRUNE_PAUSE_NS);
  }
  return CLI_EXIT_OK;
}

static int parse_prune(struct cli_cmd *cmd, int argc, char **argv,
                       uint64_t *age, int *vacuum)
{
  const char *older = NULL;
  int c;

  for (;;) {
    c = cli_opt_next(cmd, argc, argv);
    if (c == CLI_OPT_END)
      break;
    if (c == CLI_OPT_STOP)
      return cmd->status;
    if (c == 'o')
      older = optarg;
    else
      *vacuum = 1;
  }
  if (cli_opt_operands(cmd, argc, argv, NULL) != CLI_EXIT_OK)
    return CLI_EXIT_USAGE;
  if (older == NULL)
    return cli_usage_error(cmd, "--older-than DURATION is missing");
  if (cli_time_parse_duration(older, age) != 0 || *age == 0)
    return cli_usage_error(cmd,
                           "--older-than %s: expected a duration such "
                           "as 90d, 12h, 30m or 3600s",
                           older);
  return -1;
}

int cmd_prune(int argc, char **argv, const struct cli_globals *g)
{
  static const struct option opts[] = { { "older-than", required_argument, NULL,
                                          'o' },
                                        { "vacuum", no_argument, NULL, 'v' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  struct cli_cmd cmd = { .what = WHAT_PRUNE,
                         .help = WHAT_PRUNE,
                         .usage = prune_usage,
                         .longopts = opts };
  struct store_prune_counts c = { 0, 0, 0 };
  struct store_stats before, after;
  char t[CLI_TIME_MAX];
  struct store *s;
  uint64_t age = 0;
  int vacuum = 0, rc = parse_prune(&cmd, argc, argv, &age, &vacuum), err;
  int64_t cutoff_ms;

  if (rc >= 0)
    return rc;
  rc = cli_store_open_existing(g, WHAT_PRUNE, &s);
  if (rc != CLI_EXIT_OK)
    return rc;
  store_close(&s); /* it exists: now read-write */
  rc = cli_store_open(g, WHAT_PRUNE, 0, &s);
  if (rc != CLI_EXIT_OK)
    return rc;
  cutoff_ms = cli_time_now_ms() - (int64_t)age * 1000;
  rc = prune_all(s, cutoff_ms, &c);
  if (rc == CLI_EXIT_OK && vacuum) {
    err = store_stats(s, &before);
    if (err == STORE_OK)
      err = store_vacuum(s);
    if (err == STORE_OK)
      err = store_stats(s, &after);
    if (err != STORE_OK)
      rc = cli_store_error(WHAT_PRUNE, s, err);
  }
  store_close(&s);
  if (rc != CLI_EXIT_OK)
    return rc;
  cli_time_rfc3339(cutoff_ms / 1000, t);
  printf("pruned %" PRIu64 " hops, %" PRIu64 " probes, %" PRIu64
         " per-day rows older than %s\n",
         c.hops, c.probes, c.days, t);
  if (vacuum)
    printf("vacuumed: %.1f MiB -> %.1f MiB\n",
           (before.file_bytes + before.wal_bytes) / MIB,
           (after.file_bytes + after.wal_bytes) / MIB);
  return cli_out_finish(WHAT_PRUNE);
}
