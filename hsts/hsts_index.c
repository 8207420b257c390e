/* hsts_index.c: being written. */
