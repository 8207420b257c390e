/*
 * relay.c - the least a TCP relay can do, as a peer for scripts/bench.sh
 * (loads 3 and 5): what bounds any proxy's bulk throughput on the bench
 * machine.
 *
 *   relay LISTEN_PORT ORIGIN_PORT
 *
 * Accepts on 127.0.0.1:LISTEN_PORT and relays each connection to
 * 127.0.0.1:ORIGIN_PORT, unchanged: no HTTP, no parsing, no timeouts, no
 * limits. Each direction is one thread moving bytes with blocking
 * splice(2) through its own pipe of RELAY_PIPE bytes (hstsproxy's
 * PROXY_SPLICE_PIPE), so the bytes never enter user space and the only
 * CPU spent is the kernel's: sockets, pipes, wake-ups. When a direction
 * reads end of file it shuts down the other side's write half; the
 * connection closes when both directions ended. A benchmark tool, not a
 * server: it trusts its peers and stops only when killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_PIPE    (256 * 1024)  /* bytes a direction holds */
#define RELAY_MOVE    (1024 * 1024) /* most bytes asked of one splice() */
#define RELAY_BACKLOG 1024

struct way {
  int from, to;
};

struct conn {
  int client, origin;
  struct way up, down;
};

static struct sockaddr_in origin_addr;

static struct sockaddr_in loopback(unsigned short port)
{
  struct sockaddr_in a;

  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/* Moves all of n bytes out of the pipe; 0, or -1 when `to` failed. */
static int drain(int pipe_out, int to, ssize_t n)
{
  while (n > 0) {
    ssize_t m = splice(pipe_out, NULL, to, NULL, (size_t)n, SPLICE_F_MOVE);

    if (m < 0 && errno == EINTR)
      continue;
    if (m <= 0)
      return -1;
    n -= m;
  }
  return 0;
}

/* One direction, until end of file or an error on either side. */
static void *pump(void *arg)
{
  struct way *w = arg;
  int p[2];

  if (pipe2(p, O_CLOEXEC) < 0)
    goto out;
  (void)fcntl(p[1], F_SETPIPE_SZ, RELAY_PIPE); /* the default works too */
  for (;;) {
    ssize_t n = splice(w->from, NULL, p[1], NULL, RELAY_MOVE, SPLICE_F_MOVE);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0 || drain(p[0], w->to, n) < 0)
      break;
  }
  close(p[0]);
  close(p[1]);
out:
  shutdown(w->to, SHUT_WR);
  return NULL;
}

static void *serve(void *arg)
{
  struct conn *c = arg;
  pthread_t up;
  int one = 1;

  c->origin = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->origin < 0 || connect(c->origin, (struct sockaddr *)&origin_addr,
                               sizeof(origin_addr)) < 0) {
    perror("relay: connect to the origin");
    goto done;
  }
  setsockopt(c->origin, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  setsockopt(c->client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  c->up = (struct way){ c->client, c->origin };
  c->down = (struct way){ c->origin, c->client };
  if (pthread_create(&up, NULL, pump, &c->up) != 0) {
    fputs("relay: cannot start a thread\n", stderr);
    goto done;
  }
  pump(&c->down);
  pthread_join(up, NULL);
done:
  if (c->origin >= 0)
    close(c->origin);
  close(c->client);
  free(c);
  return NULL;
}

static int listen_on(unsigned short port)
{
  struct sockaddr_in a = loopback(port);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

  if (fd < 0)
    return -1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
      listen(fd, RELAY_BACKLOG) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static unsigned short port_arg(const char *s)
{
  char *end;
  long v = strtol(s, &end, 10);

  return *s != '\0' && *end == '\0' && v > 0 && v < 65536 ? (unsigned short)v
                                                          : 0;
}

int main(int argc, char **argv)
{
  unsigned short lport, oport;
  int l;

  if (argc != 3 || (lport = port_arg(argv[1])) == 0 ||
      (oport = port_arg(argv[2])) == 0) {
    fputs("usage: relay LISTEN_PORT ORIGIN_PORT\n", stderr);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN); /* a peer gone is an error from splice() */
  origin_addr = loopback(oport);
  l = listen_on(lport);
  if (l < 0) {
    fprintf(stderr, "relay: listen on 127.0.0.1:%u: %s\n", lport,
            strerror(errno));
    return 1;
  }
  for (;;) {
    struct conn *c;
    pthread_t t;
    int fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0)
      continue;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
      close(fd);
      continue;
    }
    c->client = fd;
    c->origin = -1;
    if (pthread_create(&t, NULL, serve, c) != 0) {
      free(c);
      close(fd);
      continue;
    }
    pthread_detach(t);
  }
}
