/*
 * hsts_idna.h - internationalized host names typed by people (IDNA 2008).
 *
 * On the wire, clients send internationalized names as A-labels
 * ("xn--bcher-kva.de"), and hsts_host_normalize() treats those as
 * ordinary labels, refusing any other byte. People type U-labels
 * ("bücher.de") into the command line (policy query|add|delete, probe,
 * --map). These functions are the one place where such names are
 * converted, with libidn2: IDNA 2008 with the UTS #46 non-transitional
 * mapping, as browsers do (so "straße.de" stays "xn--strae-oqa.de", the
 * name is NFC-normalized and lowercased first). Pure: no I/O.
 */
#ifndef HSTS_IDNA_H
#define HSTS_IDNA_H

#include "hsts_host.h"

/* Bytes of a typed name accepted for conversion (UTF-8 takes up to four
 * bytes per character of a 253-octet A-label name). */
#define HSTS_IDNA_INPUT_MAX 1024
/* A buffer that holds the Unicode form of any normalized name. */
#define HSTS_UNICODE_MAX (HSTS_IDNA_INPUT_MAX + 1)

/*
 * hsts_host_normalize() for a name people typed: a name with bytes
 * outside ASCII is first converted to A-labels (then *converted = 1; 0
 * for a name already ASCII, which is normalized as it is). Returns what
 * hsts_host_normalize() returns, or HSTS_EHOST_IDNA when the name is not
 * a valid internationalized domain name (or is longer than
 * HSTS_IDNA_INPUT_MAX bytes), or HSTS_ENOMEM. `converted` may be NULL.
 */
int hsts_host_normalize_idna(const char *in, size_t len,
                             char out[HSTS_HOST_MAX + 1],
                             enum hsts_host_kind *kind, int *converted);

/*
 * The Unicode form of the normalized name `host`, for display: each
 * A-label decoded to its U-label. Returns 1 and fills `out` (NUL
 * terminated, at most `size` bytes) when some label was an A-label that
 * decodes; returns 0 (out = "") when there is nothing to show besides
 * `host` itself, or it does not decode or fit.
 */
int hsts_host_unicode(const char *host, char *out, size_t size);

#endif /* HSTS_IDNA_H */
