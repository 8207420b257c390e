/* hsts.c: being written. */
