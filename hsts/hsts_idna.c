/*
 * hsts_idna.c - U-labels typed by people to A-labels, and back for
 * display (see hsts_idna.h), with libidn2.
 *
 * idn2_to_ascii_8z() with IDN2_NONTRANSITIONAL applies the UTS #46
 * mapping (case folding, NFC) before IDNA 2008, as current browsers and
 * curl do; its result is then checked by hsts_host_normalize() like any
 * name from the wire. libidn2 allocates its results; they are copied
 * into the caller's bounded buffers and freed here.
 */
#include <idn2.h>
#include <stdlib.h>
#include <string.h>

#include "hsts_idna.h"

static int has_non_ascii(const char *s, size_t len)
{
  size_t i;

  for (i = 0; i < len; i++) {
    if ((unsigned char)s[i] >= 0x80) {
      return 1;
    }
  }
  return 0;
}

int hsts_host_normalize_idna(const char *in, size_t len,
                             char out[HSTS_HOST_MAX + 1],
                             enum hsts_host_kind *kind, int *converted)
{
  char typed[HSTS_IDNA_INPUT_MAX + 1];
  char *ascii = NULL;
  int rc, err;

  if (converted != NULL) {
    *converted = 0;
  }
  if (!has_non_ascii(in, len)) {
    return hsts_host_normalize(in, len, out, kind);
  }
  *kind = HSTS_HOST_NAME;
  out[0] = '\0';
  if (len > HSTS_IDNA_INPUT_MAX || memchr(in, '\0', len) != NULL) {
    return HSTS_EHOST_IDNA;
  }
  memcpy(typed, in, len);
  typed[len] = '\0';
  rc = idn2_to_ascii_8z(typed, &ascii, IDN2_NONTRANSITIONAL);
  if (rc == IDN2_MALLOC) {
    return HSTS_ENOMEM;
  }
  if (rc != IDN2_OK) {
    return HSTS_EHOST_IDNA;
  }
  err = hsts_host_normalize(ascii, strlen(ascii), out, kind);
  idn2_free(ascii);
  if (err == HSTS_OK && converted != NULL) {
    *converted = 1;
  }
  return err;
}

int hsts_host_unicode(const char *host, char *out, size_t size)
{
  char *text = NULL;
  int shown = 0;

  out[0] = '\0';
  if (strstr(host, "xn--") == NULL) {
    return 0;
  }
  if (idn2_to_unicode_8z8z(host, &text, 0) != IDN2_OK) {
    return 0;
  }
  if (strcmp(text, host) != 0 && strlen(text) < size) {
    memcpy(out, text, strlen(text) + 1);
    shown = 1;
  }
  idn2_free(text);
  return shown;
}
