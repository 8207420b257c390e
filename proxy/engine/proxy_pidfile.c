/*
 * proxy_pidfile.c - `run --pid-file PATH`: checked before anything
 * starts, written once the proxy listens, removed when it exits.
 *
 * The check (proxy_pid_file_check) runs before the store is opened or any
 * address bound, so an unwritable path is a usage error with nothing
 * half-started; it leaves no file behind. The write happens on the main
 * thread after every listener is bound and the workers run, so a pid
 * read from the file belongs to a proxy that accepts connections and
 * handles SIGHUP (`hstsproxy reload`).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proxy_server.h"

#define PID_FILE_MODE 0644
#define PID_TEXT_MAX  32

static int fail(struct proxy_error *e, const char *path, int err)
{
  snprintf(e->what, sizeof(e->what), "--pid-file %s", path);
  snprintf(e->why, sizeof(e->why), "%s", strerror(err));
  return -1;
}

int proxy_pid_file_check(const char *path, struct proxy_error *e)
{
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

  if (fd >= 0) {
    close(fd);
    return 0;
  }
  if (errno != ENOENT)
    return fail(e, path, errno);
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, PID_FILE_MODE);
  if (fd < 0)
    return fail(e, path, errno);
  close(fd);
  unlink(path); /* only a trial: written once the proxy listens */
  return 0;
}

int proxy__pid_write(const char *path, struct proxy_error *e)
{
  char text[PID_TEXT_MAX];
  int fd, n, err;

  n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, PID_FILE_MODE);
  if (fd < 0)
    return fail(e, path, errno);
  if (write(fd, text, (size_t)n) != n) {
    err = errno != 0 ? errno : EIO;
    close(fd);
    unlink(path);
    return fail(e, path, err);
  }
  if (close(fd) < 0) {
    err = errno;
    unlink(path);
    return fail(e, path, err);
  }
  return 0;
}

void proxy__pid_remove(const char *path)
{
  unlink(path);
}
