/* proxy.c: being written. */
