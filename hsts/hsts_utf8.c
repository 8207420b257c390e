/*
 * hsts_utf8.c - the UTF-8 sequence validator of hsts_utf8.h (RFC 3629).
 *
 * The lead byte gives the length and the first bits of the code point;
 * each continuation byte must be 10xxxxxx. Lead bytes 0xc0, 0xc1 and
 * 0xf5-0xff can only start overlong or out-of-range forms and are refused
 * at once; the remaining overlong 3- and 4-byte forms, the surrogates and
 * code points above U+10FFFF are refused from the decoded value.
 */
#include "hsts_utf8.h"

#include <stdint.h>

#define UTF8_MAX_CP 0x10ffffu

size_t hsts_utf8_len(const unsigned char *p, size_t avail)
{
  size_t need, i;
  uint32_t cp;

  if (avail == 0)
    return 0;
  if (p[0] < 0x80)
    return 1;
  if (p[0] >= 0xc2 && p[0] <= 0xdf) {
    need = 2;
    cp = p[0] & 0x1fu;
  } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
    need = 3;
    cp = p[0] & 0x0fu;
  } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
    need = 4;
    cp = p[0] & 0x07u;
  } else {
    return 0;
  }
  if (avail < need)
    return 0;
  for (i = 1; i < need; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3fu);
  }
  if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
      cp > UTF8_MAX_CP || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return need;
}
