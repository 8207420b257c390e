/*
 * proxy_base64.c - the one base64 decoder of the proxy (RFC 4648
 * section 4): Basic credentials (proxy_auth.c, RFC 7617) and the base64
 * bodies of the HTTPS fetch (proxy_fetch.c).
 *
 * Strict, as the rest of the proxy: only the standard alphabet, padding
 * only at the end and only to complete the last quantum, no whitespace
 * (but CR and LF where the caller allows line breaks). Pure: no I/O, no
 * allocation.
 */
#include "proxy_net.h"

#define B64_QUANTUM 4 /* characters per 3 bytes */
#define B64_BYTES   3
#define B64_BITS    6
#define B64_PAD_MAX 2
#define BYTE_BITS   8
#define BYTE_MASK   0xffu

/* The 6-bit value of c, or -1 outside the alphabet. */
static int b64_value(unsigned char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

ssize_t proxy__base64_decode(const char *in, size_t len, int lines, char *out,
                             size_t cap)
{
  size_t i, chars = 0, pads = 0, n = 0;
  unsigned long acc = 0;
  unsigned bits = 0;

  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)in[i];
    int v;

    if (lines && (c == '\r' || c == '\n'))
      continue;
    chars++;
    if (c == '=') {
      if (++pads > B64_PAD_MAX)
        return -1;
      continue;
    }
    v = b64_value(c);
    if (v < 0 || pads > 0)
      return -1; /* outside the alphabet, or data after the padding */
    acc = (acc << B64_BITS) | (unsigned long)v;
    bits += B64_BITS;
    if (bits >= BYTE_BITS) {
      bits -= BYTE_BITS;
      if (out != NULL && n >= cap)
        return -1;
      if (out != NULL)
        out[n] = (char)((acc >> bits) & BYTE_MASK);
      n++;
    }
  }
  if (chars == 0 || chars % B64_QUANTUM != 0)
    return -1;
  return (ssize_t)n;
}
