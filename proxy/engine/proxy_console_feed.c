/*
 * proxy_console_feed.c - GET /api/hops/stream: every hop the writer
 * commits, as Server-Sent Events, to any number of consoles.
 *
 * The hop log writer hands each committed hop's JSON (the `log --json`
 * shape) to proxy__console_feed_push() on its own thread. While no stream
 * is open that returns at once; otherwise it copies the text (allocated
 * outside the lock) into the feed: a ring of the last
 * PROXY_CONSOLE_FEED_SLOTS hops, under a mutex held for a pointer swap.
 * The writer never waits for a stream.
 *
 * Each stream is a client connection in the `stream` phase with its own
 * cursor into the feed: that is its queue, bounded by the ring. Its
 * phase timer polls every PROXY_CONSOLE_POLL_MS (an atomic load when
 * nothing is new) and writes what is new, at most
 * PROXY_CONSOLE_STREAM_CHUNK bytes per poll, as `event: hop` lines. A
 * stream that falls behind, because the ring overtook its cursor or
 * because its client does not read (more than PROXY_WRITE_HIGH_WATER
 * bytes unsent), skips what it missed and is told with
 * `event: dropped` (`{"dropped": N}`). So a slow console costs at most
 * its unsent bytes, and never holds back the writer or a worker.
 * A comment line every PROXY_CONSOLE_PING_MS finds dead clients; the
 * stream ends when the client closes, or when the worker drains.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_conn.h"
#include "proxy_console.h"
#include "proxy_server.h"

#define EVENT_HOP         "event: hop\ndata: "
#define EVENT_END         "\n\n"
#define EVENT_DROPPED_MAX 64

static const char stream_head[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
    "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
    "Connection: close\r\n\r\nretry: 2000\n: hstsproxy hop stream\n\n";

int proxy__console_feed_wanted(void *arg)
{
  const struct proxy_console *c = arg;

  return atomic_load_explicit(&c->streams, memory_order_relaxed) > 0;
}

void proxy__console_feed_push(const char *json, size_t len, void *arg)
{
  struct proxy_console *c = arg;
  char *copy, *old;
  size_t slot;

  if (atomic_load_explicit(&c->streams, memory_order_relaxed) == 0)
    return;
  copy = malloc(len + 1);
  if (copy == NULL)
    return; /* the streams see a gap they are not told of: rare enough */
  memcpy(copy, json, len + 1);
  uv_mutex_lock(&c->mu);
  slot = c->feed_next % PROXY_CONSOLE_FEED_SLOTS;
  old = c->feed[slot];
  c->feed[slot] = copy;
  c->feed_len[slot] = len;
  c->feed_next++;
  atomic_store_explicit(&c->pushed, c->feed_next, memory_order_release);
  uv_mutex_unlock(&c->mu);
  free(old);
}

void proxy__console_feed_free(struct proxy_console *c)
{
  size_t i;

  for (i = 0; i < PROXY_CONSOLE_FEED_SLOTS; i++) {
    free(c->feed[i]);
    c->feed[i] = NULL;
  }
}

/* ---- the stream phase ---- */

static enum proxy_rbuf stream_buf(const struct proxy_conn *conn)
{
  (void)conn;
  return PROXY_RBUF_DISCARD;
}

static int stream_wants(const struct proxy_conn *conn, int reading)
{
  (void)conn;
  (void)reading;
  return 1; /* only to see the client leave */
}

static void stream_read(struct proxy_conn *conn, ssize_t nread, char *base)
{
  (void)base;
  if (nread < 0)
    proxy__conn_close(conn, "stream ended by the client");
}

/* Bytes of the events for feed entries [from, to) that fit `room`;
 * *end is set to the first entry not taken. Under c->mu. */
static size_t batch_size(const struct proxy_console *c, uint64_t from,
                         uint64_t to, size_t room, uint64_t *end)
{
  size_t total = 0, one;
  uint64_t i;

  for (i = from; i < to; i++) {
    one = strlen(EVENT_HOP) + c->feed_len[i % PROXY_CONSOLE_FEED_SLOTS] +
          strlen(EVENT_END);
    if (total > 0 && total + one > room)
      break;
    total += one;
  }
  *end = i;
  return total;
}

static size_t put(char *p, const char *s, size_t n)
{
  memcpy(p, s, n);
  return n;
}

/* Writes the events from the cursor on (or the news of a gap). */
static void stream_flush(struct proxy_conn *conn, struct proxy_console *c)
{
  uint64_t next, end, i, dropped = 0;
  struct proxy_wreq *w;
  char note[EVENT_DROPPED_MAX];
  size_t size, off = 0, slot;
  int nl = 0;

  uv_mutex_lock(&c->mu);
  next = c->feed_next;
  if (next - conn->console_seq > PROXY_CONSOLE_FEED_SLOTS) {
    dropped = next - PROXY_CONSOLE_FEED_SLOTS - conn->console_seq;
    conn->console_seq = next - PROXY_CONSOLE_FEED_SLOTS;
  }
  if (conn->client_wpending > PROXY_WRITE_HIGH_WATER) { /* not reading */
    dropped += next - conn->console_seq;
    conn->console_seq = next;
  }
  if (dropped > 0)
    nl = snprintf(note, sizeof(note),
                  "event: dropped\ndata: {\"dropped\":%llu}"
                  "\n\n",
                  (unsigned long long)dropped);
  size =
      batch_size(c, conn->console_seq, next, PROXY_CONSOLE_STREAM_CHUNK, &end) +
      (size_t)nl;
  w = size > 0 ? proxy__wreq_new(size) : NULL;
  if (w != NULL) {
    off += put(w->data, note, (size_t)nl);
    for (i = conn->console_seq; i < end; i++) {
      slot = i % PROXY_CONSOLE_FEED_SLOTS;
      off += put(w->data + off, EVENT_HOP, strlen(EVENT_HOP));
      off += put(w->data + off, c->feed[slot], c->feed_len[slot]);
      off += put(w->data + off, EVENT_END, strlen(EVENT_END));
    }
    conn->console_seq = end;
  }
  uv_mutex_unlock(&c->mu);
  if (size > 0 && w == NULL) {
    proxy__conn_close(conn, "out of memory");
    return;
  }
  if (w != NULL) {
    w->len = off;
    proxy__conn_write(conn, w);
  }
}

static void stream_timeout(struct proxy_conn *conn)
{
  struct proxy_console *c = conn->worker->server->console;
  uint64_t now = uv_now(conn->client.loop);

  if (conn->worker->draining) {
    proxy__conn_close(conn, "stream ended: shutting down");
    return;
  }
  if (atomic_load_explicit(&c->pushed, memory_order_acquire) !=
      conn->console_seq)
    stream_flush(conn, c);
  else if (now - conn->active_ms >= PROXY_CONSOLE_PING_MS)
    proxy__conn_write_copy(conn, ": ping\n\n", strlen(": ping\n\n"));
  proxy__conn_timer(conn, PROXY_CONSOLE_POLL_MS);
}

static const struct proxy_phase phase_stream = {
  .name = "stream",
  .client_buf = stream_buf,
  .client_wants = stream_wants,
  .client_read = stream_read,
  .timeout = stream_timeout,
};

void proxy__console_stream(struct proxy_conn *conn)
{
  struct proxy_console *c = conn->worker->server->console;

  if (conn->req.is_head || proxy__body_unread(conn)) {
    proxy__console_fail(conn, 400, "a stream is a GET without a body");
    return;
  }
  conn->resp_started = 1;
  conn->keep_alive = 0;
  conn->console_stream = 1;
  atomic_fetch_add(&c->streams, 1);
  conn->console_seq = atomic_load_explicit(&c->pushed, memory_order_acquire);
  proxy__conn_write_copy(conn, stream_head, strlen(stream_head));
  proxy__conn_enter(conn, &phase_stream, PROXY_CONSOLE_POLL_MS);
}

void proxy__console_stream_closed(struct proxy_conn *conn)
{
  if (!conn->console_stream)
    return;
  conn->console_stream = 0;
  atomic_fetch_sub(&conn->worker->server->console->streams, 1);
}
