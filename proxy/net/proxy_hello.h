/*
 * proxy_hello.h - the server name of a TLS ClientHello, read from the
 * raw bytes a client sent (proxy_hello.c): pure, no I/O, no allocation,
 * nothing consumed (the caller keeps the bytes and passes them on).
 *
 * Used by --intercept-tls (proxy_intercept.c), which splices redirected
 * TLS untouched and only wants the name for its log, its counters and a
 * probe. The bytes may arrive in pieces: the caller calls again with
 * everything so far until the answer is not PROXY_HELLO_MORE.
 */
#ifndef PROXY_HELLO_H
#define PROXY_HELLO_H

#include <stddef.h>

/* The largest ClientHello handshake message read (its 4-byte header
 * included); a longer one is PROXY_HELLO_TOO_BIG. */
#define PROXY_HELLO_HANDSHAKE_MAX 16384
/* A host_name (RFC 6066 section 3: a DNS name, at most 255 bytes) and its
 * NUL. */
#define PROXY_HELLO_NAME_MAX 256

enum proxy_hello_status {
  PROXY_HELLO_MORE = 0,  /* a well-formed prefix so far: read on */
  PROXY_HELLO_SNI,       /* complete, with a host_name (in the output) */
  PROXY_HELLO_NO_SNI,    /* complete, without a server_name extension */
  PROXY_HELLO_MALFORMED, /* not a TLS ClientHello, or a broken one */
  PROXY_HELLO_TOO_BIG    /* over PROXY_HELLO_HANDSHAKE_MAX */
};

/*
 * Reads p[0..len), the first bytes a client sent: TLS records (RFC 8446
 * section 5.1, type 22 handshake, any 3.x version) whose fragments carry
 * one ClientHello (section 4.1.2; the message may span records). With a
 * server_name extension (RFC 6066 section 3) whose first entry is a
 * host_name, copies that name NUL-terminated into name (at least
 * PROXY_HELLO_NAME_MAX bytes) as sent: the caller normalizes and
 * validates it. An empty name or one with a NUL byte is MALFORMED.
 * Bytes after the hello are ignored. Returns a proxy_hello_status;
 * name is set only for PROXY_HELLO_SNI.
 */
enum proxy_hello_status proxy_hello_sni(const unsigned char *p, size_t len,
                                        char *name);

/* A static English word for a status ("incomplete", "no SNI", ...). */
const char *proxy_hello_strstatus(enum proxy_hello_status st);

#endif /* PROXY_HELLO_H */
