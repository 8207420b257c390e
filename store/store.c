/* store.c: being written. */
