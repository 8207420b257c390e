/* http1.c: being written. */
