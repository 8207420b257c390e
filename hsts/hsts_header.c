/* hsts_header.c: being written. */
