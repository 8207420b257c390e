/* hsts_url.c: being written. */
