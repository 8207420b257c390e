/*
 * store_builtin.h - the built-in preload list, as the build generates it.
 *
 * gen_builtin.c turns the Chromium snapshot in store/preload/data into a C
 * file defining these symbols; store_static.c decodes them. The names are
 * normalized, sorted by strcmp() and front-coded: each entry is a flags
 * byte (STORE_BUILTIN_*), a byte counting the bytes it shares with the
 * previous name, a byte of suffix length, then the suffix.
 */
#ifndef STORE_BUILTIN_H
#define STORE_BUILTIN_H

#include <stddef.h>

#define STORE_BUILTIN_FORCE_HTTPS 0x1u
#define STORE_BUILTIN_SUBDOMAINS  0x2u

extern const char store__builtin_name[];       /* "chromium-2026-06-01" */
extern const char store__builtin_date[];       /* "2026-06-01" */
extern const size_t store__builtin_count;      /* entries kept */
extern const size_t store__builtin_subdomains; /* of which subdomains */
extern const size_t store__builtin_skipped;    /* never apply: left out */
extern const unsigned char store__builtin_names[];
extern const size_t store__builtin_names_len;

#endif /* STORE_BUILTIN_H */
