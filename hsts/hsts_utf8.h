/*
 * hsts_utf8.h - UTF-8 validation (RFC 3629), the one copy every layer
 * uses: the store's JSON scanner (which refuses invalid strings), the hop
 * log (which stores them cleaned) and the CLI's JSON writer (which prints
 * U+FFFD for what is invalid).
 *
 * Valid means RFC 3629 section 4: no overlong form, no surrogate
 * (U+D800-U+DFFF), nothing above U+10FFFF. Pure: no allocation, no state.
 */
#ifndef HSTS_UTF8_H
#define HSTS_UTF8_H

#include <stddef.h>

/*
 * Returns the length (1 to 4) of the valid UTF-8 sequence at p, of which
 * `avail` bytes may be read, or 0 when the bytes there are not valid
 * UTF-8 (a stray continuation byte, a lead byte that is never used, an
 * overlong form, a surrogate, a code point above U+10FFFF, or a sequence
 * cut short by `avail`). An ASCII byte, NUL included, is a sequence of 1.
 * Returns 0 when `avail` is 0; p may then be NULL.
 */
size_t hsts_utf8_len(const unsigned char *p, size_t avail);

#endif /* HSTS_UTF8_H */
