/*
 * proxy_hsts.h - the policy snapshots the workers read (proxy_hsts.c).
 *
 * A snapshot is immutable once published: built off the loops (from the
 * store, or derived from the current one with a few changes), then only
 * read, without a lock (hsts_index.h: concurrent readers are fine).
 * proxy_hsts.c explains how snapshots are published and freed.
 */
#ifndef PROXY_HSTS_H
#define PROXY_HSTS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "hsts_index.h"
#include "proxy.h"

struct proxy_server;
struct proxy_worker;

struct proxy_hsts {
  struct hsts_index *static_ix;        /* owned: preload or builtin */
  struct hsts_index *dynamic;          /* owned: learned and manual */
  char list_name[PROXY_LIST_NAME_MAX]; /* "builtin", "chromium", ... */
  size_t list_hosts;                   /* distinct hosts on the list */
  size_t learned;                      /* live dynamic entries */
  uint64_t gen;                        /* 1, 2, ... as published */
  struct proxy_hsts *next;             /* the server's retired list */
  int static_borrowed; /* static_ix is owned by a newer snapshot (a
                          derived one shares it) */
  int stale_days;      /* the list's age past 70 days (stale), else 0 */
  int64_t list_time;   /* when the list was current: store_list_time() */
};

/* A SIGHUP reload in flight on the thread pool (one at a time). */
struct proxy_hsts_reload {
  uv_work_t req;
  struct proxy_hsts *snap; /* built by the work, then published or freed */
  char err[PROXY_ERROR_TEXT * 2]; /* why the build failed */
  int busy;                       /* queued and not done yet */
  int again;                      /* another SIGHUP came meanwhile */
};

/*
 * CONSTRUCTOR. Opens the store at db_path with store_flags, builds the
 * static and dynamic indexes at the current time, closes the store.
 * Blocking: never on a loop thread. Returns 0 with *out set, or -1 with a
 * one-line cause (naming the file) in err.
 */
int proxy__hsts_load(const char *db_path, unsigned store_flags,
                     struct proxy_hsts **out, char *err, size_t errsz);
/* DESTRUCTOR. NULL accepted; sets *snap to NULL. */
void proxy__hsts_free(struct proxy_hsts **snap);

/* Changes a copy of a dynamic index: returns how many entries changed,
 * or -1 (out of memory). */
typedef int (*proxy__hsts_edit_cb)(struct hsts_index *ix, void *arg);
/*
 * CONSTRUCTOR. Main thread: a new snapshot made of cur's static index
 * (from now on owned by the new one, which cur is told) and a copy of
 * cur's live dynamic entries (room for `more` besides) changed by
 * edit(ix, arg). Returns it, ready for proxy__hsts_publish(); NULL when
 * nothing changed (*err 0) or out of memory (*err 1).
 */
struct proxy_hsts *proxy__hsts_derive(struct proxy_hsts *cur, size_t more,
                                      proxy__hsts_edit_cb edit, void *arg,
                                      int *err);

/* Loads the first snapshot (creating the store); fills *e on failure. */
int proxy__hsts_open(struct proxy_server *s, struct proxy_error *e);
/* Frees every snapshot: the workers have been joined. */
void proxy__hsts_close(struct proxy_server *s);
/* Main thread, SIGHUP: rebuilds on the thread pool, then publishes. */
void proxy__hsts_reload(struct proxy_server *s);
/* Main thread: frees the retired snapshots no worker reads any more. */
void proxy__hsts_sweep(struct proxy_server *s);
/* Main thread: makes snap (owned from now on) the current snapshot with
 * the next generation, retires the old one and pokes every worker. */
void proxy__hsts_publish(struct proxy_server *s, struct proxy_hsts *snap);
/* Worker thread: moves w->hsts to the newest snapshot and says so. */
void proxy__hsts_adopt(struct proxy_worker *w);
/* The announce and status line counts of a snapshot. */
void proxy__hsts_counts(const struct proxy_hsts *snap,
                        struct proxy_store_counts *out);

#endif /* PROXY_HSTS_H */
