/* hsts_host.c: being written. */
