/*
 * proxy_mark.c - the firewall mark (SO_MARK) on the proxy's own outgoing
 * connections: origins and probes (--outgoing-mark, proxy_intercept.c).
 *
 * A gateway that redirects its LAN's ports 80 and 443 to the proxy must
 * not redirect the proxy's own connections back to it; the mark lets its
 * rules tell them apart. libuv creates a TCP handle's socket only when it
 * connects, too late for a socket option, so the socket is made here,
 * marked, and handed to the handle (uv_tcp_open) before the connect.
 * Setting SO_MARK needs CAP_NET_ADMIN (or CAP_NET_RAW).
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy_net.h"

/* A new socket of family, marked; returns it or a negative libuv error. */
static int marked_socket(int family, unsigned mark)
{
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int err;

  if (fd < 0)
    return uv_translate_sys_error(errno);
  if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == 0)
    return fd;
  err = uv_translate_sys_error(errno);
  close(fd);
  return err;
}

int proxy__mark_check(unsigned mark)
{
  int fd = marked_socket(AF_INET, mark);

  if (fd < 0)
    return fd;
  close(fd);
  return 0;
}

int proxy__tcp_mark(uv_tcp_t *tcp, int family, unsigned mark)
{
  int fd, err;

  if (mark == 0)
    return 0;
  fd = marked_socket(family, mark);
  if (fd < 0)
    return fd;
  err = uv_tcp_open(tcp, fd);
  if (err < 0)
    close(fd);
  return err;
}
